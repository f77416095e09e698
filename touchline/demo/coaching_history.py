"""The demo's coaching history, seller by seller, written in bulk.

A plan of rows is made in memory (conversations, action items, agenda items, notes,
impediments, linked by their positions), then written table by table through Core
inserts with ids given here; on PostgreSQL the id sequences are moved past them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from touchline.auth.models import User
from touchline.coaching.models import (
    ActionItem,
    AgendaItem,
    CoachingNote,
    Conversation,
    Impediment,
    ImpedimentCategory,
)
from touchline.config import get_settings
from touchline.db import Base
from touchline.demo.coaching_texts import (
    ACTIONS,
    ADDED,
    DROP_REASONS,
    IMPEDIMENTS,
    MANAGER_NOTES,
    PRIVATE_NOTES,
    REFLECTIONS,
    SELLER_NOTES,
    SUMMARIES,
    TOPICS,
)
from touchline.kpis.catalogue import Versions
from touchline.kpis.models import Kpi, KpiValue, ScorecardLine, SubjectKind
from touchline.kpis.scorecards import attainment, scaled_target
from touchline.org.models import Seller
from touchline.org.periods import PeriodKind, period_containing


@dataclass
class HistoryPlan:
    """One seller's history, with local numbers linking its rows before they have ids."""

    conversations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)  # "_conversation": index
    items: list[dict[str, Any]] = field(default_factory=list)  # "_conversation", "_action"
    notes: list[dict[str, Any]] = field(default_factory=list)  # "_item"
    impediments: list[dict[str, Any]] = field(default_factory=list)  # "_item"


class KpiFacts:
    """The off-track KPIs of a seller's card in a quarter, read off the stored values."""

    def __init__(self, session: Session, kpis: dict[str, Kpi]) -> None:
        self.kpis = kpis
        self.versions = Versions.load(session)
        lines = session.scalars(select(ScorecardLine).where(ScorecardLine.template_id.is_not(None)))
        self.targets = {line.kpi_id: line.target for line in lines if line.target is not None}
        by_id = {kpi.id: kpi for kpi in kpis.values()}
        self.values: dict[tuple[int, str], list[tuple[Kpi, float]]] = {}
        for seller_id, kpi_id, label, value in session.execute(
            select(KpiValue.subject_id, KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
                KpiValue.subject_kind == SubjectKind.SELLER,
                KpiValue.kpi_id.in_(sorted(self.targets)),
                KpiValue.period.like("%-Q%"),
            )
        ):
            if value is not None:
                self.values.setdefault((seller_id, label), []).append((by_id[kpi_id], value))

    def off_track(self, seller_id: int, day: date) -> list[dict[str, Any]]:
        """Return up to two KPIs below target in the quarter of ``day``, worst first."""
        quarter = period_containing(
            day, PeriodKind.QUARTER, fiscal_start_month=get_settings().fiscal_year_start_month
        )
        found: list[dict[str, Any]] = []
        for kpi, value in self.values.get((seller_id, quarter.label), []):
            target = scaled_target(self.targets[kpi.id], kpi, quarter)
            share = attainment(value, target, kpi.direction)
            if share is None or share >= 100:
                continue
            rule = self.versions.in_force(kpi.id, quarter.start).decision_rule
            found.append(
                {
                    "kpi_id": kpi.id,
                    "facts": {
                        "kpi": kpi.code,
                        "period": quarter.label,
                        "light": "amber" if share >= 85 else "red",
                        "attainment": share,
                        "actual": value,
                        "target": target,
                        "rule": rule,
                    },
                }
            )
        return sorted(found, key=lambda f: float(f["facts"]["attainment"]))[:2]


def at(day: date, hour: int) -> datetime:
    """Return ``day`` at ``hour`` o'clock, UTC."""
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def seller_history(
    plan: HistoryPlan,
    rng: np.random.Generator,
    seller: Seller,
    coach: User,
    own_user: User | None,
    every: int,
    start: date,
    today: date,
    facts: KpiFacts,
    categories: list[ImpedimentCategory],
) -> None:
    """Add one seller's conversations up to ``today`` to ``plan``, on their cadence."""
    day = start + timedelta(days=int(rng.integers(0, every)))
    late_seller = rng.random() < 0.15
    # Most are on cadence; some missed their latest conversation and are overdue now.
    missed = rng.random() < 0.25
    stop = today - timedelta(
        days=every + int(rng.integers(2, 15)) if missed else int(rng.integers(0, 4))
    )
    open_actions: list[int] = []
    held_days: list[date] = []
    while day <= stop:
        held_days.append(day)
        late = late_seller and rng.random() < 0.3
        day += timedelta(
            days=every + int(rng.integers(-2, 3)) + (int(rng.integers(5, 12)) if late else 0)
        )
    for number, held in enumerate(held_days):
        last = number == len(held_days) - 1
        awaiting = last and rng.random() < 0.3
        index = len(plan.conversations)
        seller_name = own_user.name if own_user else seller.name
        coach_name = coach.name or coach.email
        signed = None if awaiting else at(held, 17)
        plan.conversations.append(
            {
                "seller_id": seller.id,
                "manager_user_id": coach.id,
                "status": "held" if awaiting else "locked",
                "scheduled_at": at(held, 9),
                "held_on": held,
                "summary": SUMMARIES[int(rng.integers(len(SUMMARIES)))],
                "seller_reflection": REFLECTIONS[int(rng.integers(len(REFLECTIONS)))],
                "private_note": PRIVATE_NOTES[int(rng.integers(len(PRIVATE_NOTES)))]
                if rng.random() < 0.3
                else "",
                "version": 6,
                "field_versions": {},
                "private_version": 1,
                "manager_signed_version": 6,
                "manager_signed_at": at(held, 16),
                "seller_signed_version": None if awaiting else 6,
                "seller_signed_at": signed,
                "locked_at": signed,
                "created_at": at(held - timedelta(days=5), 8),
                "updated_at": at(held, 17),
            }
        )
        items: list[dict[str, Any]] = []
        for action_index in open_actions:
            action = plan.actions[action_index]
            items.append(
                {
                    "source": "action_item",
                    "facts": {
                        "title": action["title"],
                        "owner": action["owner"],
                        "due_on": action["due_on"].isoformat(),
                        "overdue": action["due_on"] < held,
                    },
                    "kpi_id": action["kpi_id"],
                    "_action": action_index,
                }
            )
        for found in facts.off_track(seller.id, held):
            items.append(
                {"source": "off_track_kpi", "facts": found["facts"], "kpi_id": found["kpi_id"]}
            )
        if rng.random() < 0.45:
            items.append(
                {
                    "source": "seller_topic",
                    "title": TOPICS[int(rng.integers(len(TOPICS)))],
                    "added_by_side": "seller",
                    "added_by_id": own_user.id if own_user else None,
                }
            )
        if rng.random() < 0.3:
            items.append(
                {
                    "source": "added",
                    "title": ADDED[int(rng.integers(len(ADDED)))],
                    "added_by_side": "manager",
                    "added_by_id": coach.id,
                }
            )
        first_item = len(plan.items)
        for position, item in enumerate(items):
            plan.items.append(
                {
                    "facts": {},
                    "title": "",
                    "kpi_id": None,
                    "added_by_side": None,
                    "added_by_id": None,
                    **item,
                    "_conversation": index,
                    "position": position,
                    "dropped": False,
                    "created_at": at(held - timedelta(days=5), 8),
                }
            )
            if rng.random() < 0.6:
                plan.notes.append(
                    {
                        "_item": first_item + position,
                        "side": "manager",
                        "author_id": coach.id,
                        "author_name": coach_name,
                        "text": MANAGER_NOTES[int(rng.integers(len(MANAGER_NOTES)))],
                        "version": 1,
                        "updated_at": at(held, 10),
                    }
                )
            if rng.random() < 0.45:
                plan.notes.append(
                    {
                        "_item": first_item + position,
                        "side": "seller",
                        "author_id": own_user.id if own_user else None,
                        "author_name": seller_name,
                        "text": SELLER_NOTES[int(rng.integers(len(SELLER_NOTES)))],
                        "version": 1,
                        "updated_at": at(held, 10),
                    }
                )
        if items and rng.random() < 0.15:
            category = categories[(index + int(rng.integers(5))) % len(categories)]
            plan.impediments.append(
                {
                    "_item": first_item + int(rng.integers(len(items))),
                    "seller_id": seller.id,
                    "category": category.value,
                    "within_control": bool(
                        category
                        in (ImpedimentCategory.WORK_ENVIRONMENT, ImpedimentCategory.PERSONAL)
                        and rng.random() < 0.4
                    ),
                    "description": IMPEDIMENTS[category],
                    "recorded_by_id": coach.id,
                    "recorded_on": held,
                }
            )
        # Follow-ups: open items of earlier conversations get done, dropped or stay open.
        next_held = held_days[number + 1] if not last else today
        still_open = []
        for action_index in open_actions:
            if not _close(plan.actions[action_index], rng, held, next_held if not last else today):
                still_open.append(action_index)
        open_actions = still_open
        for _new in range(int(rng.integers(1, 3))):
            due = held + timedelta(days=int(rng.integers(7, 22)))
            kpi_id = items[0].get("kpi_id") if items and rng.random() < 0.5 else None
            competence = "" if kpi_id or rng.random() < 0.5 else "Objection handling"
            action = {
                "_conversation": index,
                "seller_id": seller.id,
                "title": ACTIONS[int(rng.integers(len(ACTIONS)))],
                "owner": "manager" if rng.random() < 0.3 else "seller",
                "due_on": due,
                "kpi_id": kpi_id,
                "competence": competence,
                "status": "open",
                "closed_on": None,
                "drop_reason": "",
                "version": 1,
                "created_by_id": coach.id,
                "created_on": held,
                "created_at": at(held, 11),
            }
            plan.actions.append(action)
            open_actions.append(len(plan.actions) - 1)
        if last:
            # What the latest conversation agreed is followed up until today.
            for action_index in list(open_actions):
                _close(plan.actions[action_index], rng, held, today)


def _close(action: dict[str, Any], rng: np.random.Generator, since: date, until: date) -> bool:
    """Close the action between ``since`` and ``until`` as a seller would; True if closed."""
    if action["status"] != "open" or action["due_on"] > until:
        return bool(action["status"] != "open")
    roll = rng.random()
    if roll < 0.8:
        late = int(rng.integers(-6, 3))
        action["status"] = "done"
        action["closed_on"] = min(until, max(since, action["due_on"] + timedelta(days=late)))
    elif roll < 0.87:
        action["status"] = "dropped"
        action["closed_on"] = min(until, action["due_on"])
        action["drop_reason"] = DROP_REASONS[int(rng.integers(len(DROP_REASONS)))]
    else:
        return False
    action["version"] = 2
    return True


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def _table(model: Any) -> Table:
    return Base.metadata.tables[model.__tablename__]


def _next_ids(session: Session, table: Any, count: int) -> list[int]:
    first = (session.scalar(select(func.max(table.id))) or 0) + 1
    return list(range(first, first + count))


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows that carry their own ids, then move PostgreSQL's id sequence past them."""
    if not rows:
        return
    # Core rows, not ORM ones: the ORM's bulk path costs seconds for ten thousand rows.
    session.connection().execute(insert(_table(model)), rows)
    if session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__  # one of this module's own tables, never input
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        session.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))  # noqa: S608


def write_history(session: Session, plan: HistoryPlan) -> None:
    """Insert the plan table by table, in bulk, with ids given here to link the rows."""
    if not plan.conversations:
        return
    session.flush()
    conversation_ids = _next_ids(session, Conversation, len(plan.conversations))
    action_ids = _next_ids(session, ActionItem, len(plan.actions))
    item_ids = _next_ids(session, AgendaItem, len(plan.items))
    conversations = _strip(plan.conversations)
    for row, new_id in zip(conversations, conversation_ids, strict=True):
        row["id"] = new_id
    actions = _strip(plan.actions)
    for row, source, new_id in zip(actions, plan.actions, action_ids, strict=True):
        row["id"] = new_id
        row["conversation_id"] = conversation_ids[source["_conversation"]]
    items = _strip(plan.items)
    for row, source, new_id in zip(items, plan.items, item_ids, strict=True):
        row["id"] = new_id
        row["conversation_id"] = conversation_ids[source["_conversation"]]
        row["action_item_id"] = action_ids[source["_action"]] if "_action" in source else None
    notes = _strip(plan.notes)
    for row, source in zip(notes, plan.notes, strict=True):
        row["agenda_item_id"] = item_ids[source["_item"]]
    impediments = _strip(plan.impediments)
    for row, source in zip(impediments, plan.impediments, strict=True):
        row["agenda_item_id"] = item_ids[source["_item"]]
    _insert(session, Conversation, conversations)
    _insert(session, ActionItem, actions)
    _insert(session, AgendaItem, items)
    if notes:
        session.connection().execute(insert(_table(CoachingNote)), notes)
    if impediments:
        session.connection().execute(insert(_table(Impediment)), impediments)
    session.flush()
