"""Reports of a period: the reference workload, computed from the events, and every KPI of
the catalogue for every seller, unit or the company.

Both are computed afresh from the CRM data (not read from stored values), so they double
as the check of what is stored. Sums are exact to the cent; ratios and medians
are given unrounded in CSV and JSON and rounded only in the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.config import get_settings
from touchline.kpis.catalogue import sync_builtin_kpis
from touchline.kpis.engine import compute
from touchline.kpis.metrics import METRICS, REFERENCE_WORKLOAD, Unit
from touchline.kpis.models import (
    COMPANY_SUBJECT_ID,
    ComputedPeriod,
    Kpi,
    KpiSource,
    KpiValue,
    SubjectKind,
)
from touchline.org.models import Seller
from touchline.org.models import Unit as OrgUnit
from touchline.org.periods import Period

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportRow:
    """One subject's figures: ``kind`` is company, unit or seller."""

    kind: str
    external_id: str
    name: str
    values: dict[str, Decimal | int | float | None]


def exact(code: str, value: float) -> Decimal | int | float | None:
    """Return a metric's value in its exact form: cents as Decimal, counts as int."""
    if math.isnan(value):
        return None
    unit = METRICS[code].unit
    if unit is Unit.MONEY and code != "avg_deal_size":
        return (Decimal(round(value * 100)) / 100).quantize(CENT)
    if unit is Unit.COUNT:
        return round(value)
    return value


def workload_report(
    session: Session, *, actor: Actor, period: Period, zone: ZoneInfo | None = None
) -> list[ReportRow]:
    """Return the company, every unit and every seller with the reference workload.

    Leaders and admins only: the report covers the whole company.
    """
    actor.require(Role.LEADER)
    zone = zone or ZoneInfo(get_settings().timezone)
    organisation, values = compute(session.connection(), period.start, period.end, zone=zone)
    units = {
        row.id: (row.external_id, row.name)
        for row in session.execute(select(OrgUnit.id, OrgUnit.external_id, OrgUnit.name))
    }
    sellers = {
        row.id: (row.external_id, row.name)
        for row in session.execute(select(Seller.id, Seller.external_id, Seller.name))
    }
    subjects = (
        [("seller", *sellers[int(i)]) for i in organisation.seller_ids]
        + [("unit", *units[int(i)]) for i in organisation.unit_ids]
        + [("company", "", "")]
    )
    rows = [
        ReportRow(
            kind,
            external_id,
            name,
            {code: exact(code, float(values[code][position])) for code in REFERENCE_WORKLOAD},
        )
        for position, (kind, external_id, name) in enumerate(subjects)
    ]
    order = {"company": 0, "unit": 1, "seller": 2}
    return sorted(rows, key=lambda row: (order[row.kind], row.external_id.encode()))


def _fresh_values(
    session: Session, period: Period, subject_kind: str, subject_ids: list[int] | None
) -> dict[tuple[str, int, int], float | None]:
    """Compute every KPI of ``period`` afresh and return it, storing nothing.

    The computation runs in a savepoint that is rolled back, so what is stored (and when
    the period was computed) stays as it was.
    """
    from touchline.kpis.compute import compute_period

    savepoint = session.begin_nested()
    try:
        compute_period(session, period, trigger="report")
        return _read_values(session, period, subject_kind, subject_ids)
    finally:
        savepoint.rollback()


def _read_values(
    session: Session, period: Period, subject_kind: str, subject_ids: list[int] | None
) -> dict[tuple[str, int, int], float | None]:
    query = select(
        KpiValue.subject_kind, KpiValue.subject_id, KpiValue.kpi_id, KpiValue.value
    ).where(KpiValue.period == period.label)
    if subject_kind != "all":
        query = query.where(KpiValue.subject_kind == subject_kind)
    if subject_ids is not None:
        query = query.where(KpiValue.subject_id.in_(subject_ids))
    return {(kind, subject, kpi): value for kind, subject, kpi, value in session.execute(query)}


def report_kpis(session: Session) -> list[Kpi]:
    """Return the KPIs a report shows: every KPI not retired, built-in first, by code."""
    sync_builtin_kpis(session)
    return list(
        session.scalars(
            select(Kpi).where(Kpi.status != "retired").order_by(Kpi.builtin.desc(), Kpi.id)
        )
    )


def stored_or_computed(
    session: Session, period: Period, subject_kind: str, subject_ids: list[int]
) -> tuple[bool, list[Kpi], dict[tuple[int, int], float | None]]:
    """Return whether ``period`` is stored, the KPIs, and their values by (subject, KPI).

    A period computed before is read as stored; any other is computed afresh and not
    stored (``touchline compute`` stores it).
    """
    kpis = report_kpis(session)
    computed = session.get(ComputedPeriod, period.label) is not None
    if computed:
        found = _read_values(session, period, subject_kind, subject_ids)
    else:
        found = _fresh_values(session, period, subject_kind, subject_ids)
    return computed, kpis, {(subject, kpi): value for (_k, subject, kpi), value in found.items()}


@dataclass(frozen=True)
class KpiReport:
    """Every KPI of the catalogue for every subject of one kind and a period."""

    period: Period
    kpis: list[Kpi]
    rows: list[ReportRow]


def kpi_value(kpi: Kpi, value: float | None) -> Decimal | int | float | None:
    """Return a KPI's value in its exact form: built-in metrics as ``exact`` gives them."""
    if value is None or math.isnan(value):
        return None
    if kpi.source == KpiSource.METRIC and kpi.code in METRICS:
        return exact(kpi.code, value)
    return value


def kpi_report(session: Session, *, actor: Actor, period: Period, by: str) -> KpiReport:
    """Return every KPI, computed afresh, for each seller, unit or the company (``by``).

    Rows: one per subject, sellers and units in external id order (as bytes), even a
    subject with no value at all. The company row carries the id ``company`` and the
    name of the top unit. Leaders and admins only: the report covers the whole company.
    """
    actor.require(Role.LEADER)
    kpis = report_kpis(session)
    kinds = {"seller": SubjectKind.SELLER, "unit": SubjectKind.UNIT, "company": SubjectKind.COMPANY}
    wanted = [kinds[by]] if by in kinds else list(kinds.values())
    found = _fresh_values(session, period, "all", None)
    rows: list[ReportRow] = []
    for kind in wanted:
        if kind == SubjectKind.COMPANY:
            roots = list(session.scalars(select(OrgUnit.name).where(OrgUnit.parent_id.is_(None))))
            subjects = [(COMPANY_SUBJECT_ID, "company", roots[0] if len(roots) == 1 else "")]
        else:
            model = Seller if kind == SubjectKind.SELLER else OrgUnit
            subjects = [
                (row.id, row.external_id, row.name)
                for row in session.execute(select(model.id, model.external_id, model.name))
            ]
            subjects.sort(key=lambda subject: subject[1].encode())
        for subject_id, external_id, name in subjects:
            values = {
                kpi.code: kpi_value(kpi, found.get((kind.value, subject_id, kpi.id)))
                for kpi in kpis
            }
            rows.append(ReportRow(kind.value, external_id, name, values))
    return KpiReport(period, kpis, rows)
