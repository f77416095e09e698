"""The reference workload report: every built-in metric for a period, computed from the events.

The report is computed afresh from the CRM data (not read from stored values), so it
doubles as the check of what is stored. Sums are exact to the cent; ratios and medians
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
from touchline.kpis.engine import compute
from touchline.kpis.metrics import METRICS, REFERENCE_WORKLOAD, Unit
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
