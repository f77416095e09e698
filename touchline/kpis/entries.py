"""Values entered by hand: Foundation and Will KPIs such as CRM training or admin time."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.policy import Actor
from touchline.config import get_settings
from touchline.errors import Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import get_kpi
from touchline.kpis.compute import refresh
from touchline.kpis.models import KpiSource, ManualEntry
from touchline.org.models import Seller
from touchline.org.periods import PeriodError, parse_period


def enter_value(
    session: Session,
    *,
    actor: Actor,
    seller: Seller,
    kpi_code: str,
    period: str,
    value: float,
    note: str = "",
) -> ManualEntry:
    """Store (or replace) a hand-entered value and recompute the periods it belongs to.

    Whoever manages the seller may enter values, and the seller for themself (their own
    admin time, say). Refuses a KPI that is not entered by hand, a bad period label, a
    value that is not a finite number and a ratio outside 0..1.
    """
    if not (actor.can_manage_seller(seller) or actor.own_seller_id == seller.id):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    kpi = get_kpi(session, kpi_code)
    if kpi.source != KpiSource.MANUAL:
        raise InvalidInput(
            _("%(kpi)s is computed, not entered by hand.", kpi=kpi.code), field="kpi"
        )
    if kpi.status == "retired":
        raise Forbidden(_("%(kpi)s is retired.", kpi=kpi.code))
    try:
        chosen = parse_period(period, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="period") from None
    if not math.isfinite(value):
        raise InvalidInput(_("The value must be a number."), field="value")
    if kpi.unit == "ratio" and not 0.0 <= value <= 1.0:
        raise InvalidInput(
            _("A share lies between 0 and 1 (0 %% and 100 %%), not %(value)s.", value=value),
            field="value",
        )
    entry = session.scalar(
        select(ManualEntry).where(
            ManualEntry.kpi_id == kpi.id,
            ManualEntry.seller_id == seller.id,
            ManualEntry.period == chosen.label,
        )
    )
    before = None if entry is None else {"value": entry.value, "note": entry.note}
    if entry is None:
        entry = ManualEntry(kpi_id=kpi.id, seller_id=seller.id, period=chosen.label)
        session.add(entry)
    entry.value, entry.note, entry.entered_by = value, note, actor.label
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="enter",
        entity="kpi_entry",
        entity_id=f"{kpi.code}/{seller.external_id}/{chosen.label}",
        before=before,
        after={"value": value, "note": note},
    )
    refresh(session, spans=[(chosen.start, chosen.end)], trigger="entry")
    return entry


def entries_of(session: Session, *, actor: Actor, seller: Seller) -> list[ManualEntry]:
    """Return the seller's hand-entered values, newest period first."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    return list(
        session.scalars(
            select(ManualEntry)
            .where(ManualEntry.seller_id == seller.id)
            .order_by(ManualEntry.period.desc(), ManualEntry.kpi_id)
        )
    )
