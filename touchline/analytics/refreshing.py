"""After an import the stored analyses of the periods it reached are run again, once the
KPI values they read are refreshed (the KPI engine's hook runs first).

Only periods analysed before are run again, as the KPI refresh leaves periods never
computed alone; a period the import did not reach keeps its results.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

import touchline.kpis.compute  # noqa: F401 (its refresh hook must be registered first)
from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import run_analytics
from touchline.config import get_settings
from touchline.crm.importing.changes import Changes
from touchline.crm.importing.report import ImportReport
from touchline.crm.service import AFTER_IMPORT
from touchline.org.periods import Period, PeriodError, parse_period


def reached_periods(session: Session, changes: Changes) -> list[Period]:
    """Return the analysed periods whose days the import changed, in label order."""
    start_month = get_settings().fiscal_year_start_month
    labels = session.scalars(
        select(AnalyticsResult.period).distinct().order_by(AnalyticsResult.period)
    )
    days = {day for table in changes.tables.values() for day in table.days}
    found = []
    for label in labels:
        try:
            period = parse_period(label, fiscal_start_month=start_month)
        except PeriodError:
            continue
        touched = (
            changes.everything
            or any(period.start <= day <= period.end for day in days)
            or any(
                first <= period.end and last >= period.start for first, last in changes.other_spans
            )
        )
        if touched:
            found.append(period)
    return found


def analyse_after_import(
    session: Session,
    report: ImportReport,
    changes: Changes,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Run the analyses of every analysed period the import reached again."""
    for period in reached_periods(session, changes):

        def step(key: str, label: str = period.label) -> None:
            if progress:
                progress(f"analysing {label}: {key}", 0)

        run_analytics(session, period, trigger="import", progress=step)


if analyse_after_import not in AFTER_IMPORT:
    AFTER_IMPORT.append(analyse_after_import)
