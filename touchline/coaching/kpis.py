"""The manager's coaching KPIs, computed here and stored by the KPI engine (source
"provided"): coaching coverage, action items done on time, two-way conversations and
sellers with a development action.

A manager's value is over their direct reports (the sellers they coach); a unit's over
its active sellers that have a manager, at any depth; the company's over all of them.
In the running period, the period counts up to today.

``compute_period`` asks ``coaching_values`` along with every other KPI. Holding or
signing off a conversation and closing an action item refresh these KPIs at once for
the periods they touch (``refresh_coaching_kpis``), without recomputing the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, delete, exists, insert, select
from sqlalchemy.orm import Session

from touchline.auth.policy import UnitTree
from touchline.coaching.access import today as company_today
from touchline.coaching.models import (
    DEFAULT_CADENCE_DAYS,
    ActionItem,
    AgendaItem,
    CoachingCadence,
    CoachingNote,
    Conversation,
)
from touchline.config import get_settings
from touchline.kpis.builtin import COACHING_KPIS
from touchline.kpis.catalogue import Versions
from touchline.kpis.compute import periods_for
from touchline.kpis.engine import Organisation, load_organisation
from touchline.kpis.models import (
    COMPANY_SUBJECT_ID,
    ComputedPeriod,
    Kpi,
    KpiValue,
    SubjectKind,
)
from touchline.kpis.providers import register
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period

CODES = [kpi.code for kpi in COACHING_KPIS]
# A conversation this many days past its due date still counts as on cadence.
GRACE_DAYS = 3


class _Sellers:
    """The organisation's sellers with their manager's position and who counts."""

    def __init__(self, connection: Connection, organisation: Organisation) -> None:
        rows = {
            row.id: row
            for row in connection.execute(
                select(Seller.id, Seller.manager_id, Seller.active, Seller.unit_id)
            )
        }
        ids = organisation.seller_ids.tolist()
        position = {seller_id: index for index, seller_id in enumerate(ids)}
        self.ids = ids
        self.unit_of = [rows[i].unit_id for i in ids]
        self.manager_at = np.array(
            [position.get(rows[i].manager_id, -1) if rows[i].manager_id else -1 for i in ids],
            dtype=np.int64,
        )
        self.counts = np.array(
            [bool(rows[i].active) and rows[i].manager_id is not None for i in ids], dtype=bool
        )
        self.position = position


def _roll_up(
    organisation: Organisation,
    sellers: _Sellers,
    numerator: NDArray[np.float64],
    denominator: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Return numerator / denominator per subject: a manager over their direct reports,
    a unit over its sellers, the company over everyone (NaN where nothing counts)."""
    n = len(sellers.ids)
    num = np.where(sellers.counts, numerator, 0.0)
    den = np.where(sellers.counts, denominator, 0.0)
    by_manager_num, by_manager_den = np.zeros(n), np.zeros(n)
    has_manager = sellers.manager_at >= 0
    np.add.at(by_manager_num, sellers.manager_at[has_manager], num[has_manager])
    np.add.at(by_manager_den, sellers.manager_at[has_manager], den[has_manager])
    total_num = np.concatenate((by_manager_num, organisation.membership @ num, [num.sum()]))
    total_den = np.concatenate((by_manager_den, organisation.membership @ den, [den.sum()]))
    result = np.full(len(total_num), np.nan)
    has = total_den > 0
    result[has] = total_num[has] / total_den[has]
    return result


def _cadences(connection: Connection, sellers: _Sellers) -> list[int]:
    rows = connection.execute(
        select(CoachingCadence.unit_id, CoachingCadence.seller_id, CoachingCadence.every_days)
    ).all()
    by_seller = {row.seller_id: row.every_days for row in rows if row.seller_id is not None}
    by_unit = {row.unit_id: row.every_days for row in rows if row.unit_id is not None}
    tree = UnitTree.from_pairs(
        (row.id, row.parent_id) for row in connection.execute(select(Unit.id, Unit.parent_id))
    )
    found = []
    for seller_id, unit_id in zip(sellers.ids, sellers.unit_of, strict=True):
        days = by_seller.get(seller_id)
        if days is None:
            days = next((by_unit[u] for u in tree.chain(unit_id) if u in by_unit), None)
        found.append(days or DEFAULT_CADENCE_DAYS)
    return found


def on_cadence(held: list[date], every_days: int, first: date, last: date) -> bool:
    """True when, from ``first`` to ``last``, no conversation came more than ``every_days``
    + ``GRACE_DAYS`` days after the one before, and the last was no longer ago at ``last``
    (``held`` sorted)."""
    allowed = timedelta(days=every_days + GRACE_DAYS)
    before = [day for day in held if day <= first]
    previous = before[-1] if before else None
    for day in [day for day in held if first < day <= last] + [last]:
        if previous is None or day - previous > allowed:
            return False
        previous = day
    return True


def coaching_values(
    connection: Connection, organisation: Organisation, period: Period, codes: list[str]
) -> dict[str, NDArray[np.float64]]:
    """Return the coaching KPIs ``codes`` for every subject of ``organisation``."""
    today = company_today()
    found: dict[str, NDArray[np.float64]] = {}
    if period.start > today:
        return {code: np.full(organisation.n_subjects, np.nan) for code in codes}
    first, last = period.start, min(period.end, today)
    sellers = _Sellers(connection, organisation)
    n = len(sellers.ids)
    ones = np.ones(n)
    if "coaching_coverage" in codes:
        held: dict[int, list[date]] = {}
        for seller_id, day in connection.execute(
            select(Conversation.seller_id, Conversation.held_on)
            .where(Conversation.held_on.is_not(None), Conversation.held_on <= last)
            .order_by(Conversation.held_on)
        ):
            if day is not None:
                held.setdefault(seller_id, []).append(day)
        every = _cadences(connection, sellers)
        covered = np.array(
            [
                on_cadence(held.get(seller_id, []), days, first, last)
                for seller_id, days in zip(sellers.ids, every, strict=True)
            ],
            dtype=np.float64,
        )
        found["coaching_coverage"] = _roll_up(organisation, sellers, covered, ones)
    if "action_follow_through" in codes:
        due, on_time = np.zeros(n), np.zeros(n)
        for seller_id, status, due_on, closed_on in connection.execute(
            select(
                ActionItem.seller_id, ActionItem.status, ActionItem.due_on, ActionItem.closed_on
            ).where(ActionItem.due_on >= first, ActionItem.due_on <= last)
        ):
            index = sellers.position.get(seller_id)
            if index is None:
                continue
            due[index] += 1
            on_time[index] += status == "done" and closed_on is not None and closed_on <= due_on
        found["action_follow_through"] = _roll_up(organisation, sellers, on_time, due)
    if "seller_voice" in codes:
        held_count, voiced = np.zeros(n), np.zeros(n)
        seller_note = exists().where(
            CoachingNote.agenda_item_id == AgendaItem.id,
            AgendaItem.conversation_id == Conversation.id,
            CoachingNote.side == "seller",
            CoachingNote.text != "",
        )
        seller_item = exists().where(
            AgendaItem.conversation_id == Conversation.id, AgendaItem.added_by_side == "seller"
        )
        for seller_id, reflection, noted, topic in connection.execute(
            select(
                Conversation.seller_id, Conversation.seller_reflection, seller_note, seller_item
            ).where(Conversation.held_on >= first, Conversation.held_on <= last)
        ):
            index = sellers.position.get(seller_id)
            if index is None:
                continue
            held_count[index] += 1
            voiced[index] += bool(reflection) or bool(noted) or bool(topic)
        found["seller_voice"] = _roll_up(organisation, sellers, voiced, held_count)
    if "development_plans" in codes:
        soft = select(Kpi.id).where(Kpi.kind == "soft")
        with_plan = np.zeros(n)
        for (seller_id,) in connection.execute(
            select(ActionItem.seller_id)
            .where(
                ActionItem.created_on <= last,
                (ActionItem.kpi_id.in_(soft)) | (ActionItem.competence != ""),
                (ActionItem.status == "open")
                | and_(ActionItem.status == "done", ActionItem.closed_on >= first),
            )
            .distinct()
        ):
            index = sellers.position.get(seller_id)
            if index is not None:
                with_plan[index] = 1.0
        found["development_plans"] = _roll_up(organisation, sellers, with_plan, ones)
    return found


register(CODES, coaching_values)


def refresh_coaching_kpis(session: Session, *, days: Iterable[date]) -> None:
    """Store the coaching KPIs afresh for the computed periods holding any of ``days``
    (and the running ones), leaving every other KPI as it is."""
    wanted_days = sorted(set(days))
    if not wanted_days:
        return
    start_month = get_settings().fiscal_year_start_month
    computed = set(session.scalars(select(ComputedPeriod.period)))
    today = company_today()
    periods: dict[str, Period] = {}
    for day in wanted_days:
        for period in periods_for(day, day, fiscal_start_month=start_month):
            if period.label in computed or period.contains(today):
                periods.setdefault(period.label, period)
    if not periods:
        return
    kpis = list(session.scalars(select(Kpi).where(Kpi.code.in_(CODES), Kpi.status != "retired")))
    if not kpis:
        return
    versions = Versions.load(session)
    connection = session.connection()
    organisation = load_organisation(connection)
    kinds = (
        [SubjectKind.SELLER.value] * len(organisation.seller_ids)
        + [SubjectKind.UNIT.value] * len(organisation.unit_ids)
        + [SubjectKind.COMPANY.value]
    )
    subjects = [
        *organisation.seller_ids.tolist(),
        *organisation.unit_ids.tolist(),
        COMPANY_SUBJECT_ID,
    ]
    for period in periods.values():
        values = coaching_values(connection, organisation, period, [k.code for k in kpis])
        rows = []
        for kpi in kpis:
            version = versions.in_force(kpi.id, period.start)
            column = values[kpi.code]
            for position in np.flatnonzero(~np.isnan(column)).tolist():
                rows.append(
                    {
                        "kpi_id": kpi.id,
                        "version_id": version.id,
                        "period": period.label,
                        "period_start": period.start,
                        "subject_kind": kinds[position],
                        "subject_id": subjects[position],
                        "value": float(column[position]),
                    }
                )
        session.execute(
            delete(KpiValue).where(
                KpiValue.period == period.label, KpiValue.kpi_id.in_([k.id for k in kpis])
            )
        )
        if rows:
            session.execute(insert(KpiValue), rows)
    session.flush()
