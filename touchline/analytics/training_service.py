"""What the pages and the API show of the training plan, filtered to the viewer's reach,
and pushing an individual item into a seller's next coaching conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.analytics.behaviours import Shown
from touchline.analytics.registry import Payload, stored
from touchline.analytics.training import (
    GROUP,
    INDIVIDUAL,
    KEY,
    describe_training,
    item_facts,
    items_of,
    kpi_ids,
    on_next_agenda,
    plan_in_force,
    titles_everywhere,
)
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.coaching.cadence import planned
from touchline.coaching.models import AgendaItem
from touchline.coaching.record import add_topic
from touchline.errors import Conflict, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import Kpi
from touchline.org import service as org
from touchline.org.models import Seller
from touchline.org.periods import Period
from touchline.web.exports import Table


@dataclass
class Behaviour:
    """A success behaviour of the plan, as the reader sees it."""

    code: str
    name: str
    unit: str
    decimals: int
    target: float
    rank: int

    def value(self, number: float | None) -> str:
        shown = Shown(self.unit, self.decimals)
        if self.unit in ("count", "money") and number is not None and number != int(number):
            shown = Shown(self.unit, 1)
        return format_kpi_value(number, shown)


@dataclass(frozen=True)
class Need:
    """One seller's gap to one behaviour, where it is a training need."""

    seller_id: int
    external_id: str
    seller: str
    behaviour: Behaviour
    value: float
    gap: float
    share: float | None


@dataclass
class UnitTraining:
    """A unit's part of the plan: group trainings with participants, individual items."""

    unit_id: int
    external_id: str
    name: str
    groups: list[tuple[Behaviour, list[Need]]] = field(default_factory=list)
    individual: list[Need] = field(default_factory=list)


@dataclass
class TrainingView:
    """The training plan of a period as ``actor`` may see it."""

    period: Period
    computed_at: datetime | None
    payload: Payload | None
    behaviours: list[Behaviour] = field(default_factory=list)
    units: list[UnitTraining] = field(default_factory=list)
    # Every visible seller's gaps: (external id, name, unit name, behaviour, gap entry, plan).
    gaps: list[tuple[str, str, str, Behaviour, dict[str, Any], str]] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        return self.payload is not None

    @property
    def group_count(self) -> int:
        return sum(len(unit.groups) for unit in self.units)

    @property
    def individual_count(self) -> int:
        return sum(len(unit.individual) for unit in self.units)


def _behaviours(payload: Payload, kpis: dict[str, Kpi]) -> list[Behaviour]:
    found = []
    for row in payload.get("behaviours", []):
        kpi = kpis.get(row["code"])
        found.append(
            Behaviour(
                row["code"],
                display_name(kpi) if kpi is not None else _(str(row["name"])),
                row["unit"],
                row["decimals"],
                float(row["target"]),
                int(row["rank"] or 0),
            )
        )
    return found


def training_view(session: Session, *, actor: Actor, period: Period) -> TrainingView:
    """Return the stored training plan of ``period`` filtered to the sellers ``actor`` may
    see (a manager: their units), managers up; units without a visible seller are left
    out. Before a run the view says it is not computed."""
    actor.require(Role.MANAGER)
    found = stored(session, period, KEY)
    if found is None:
        return TrainingView(period, None, None)
    payload = found.payload
    sellers: dict[str, Any] = payload.get("sellers", {})
    # The sellers one may see, intersected here: an IN list of every planned seller
    # would cost more than the few the actor sees.
    planned = {int(s) for s in sellers}
    visible = (
        set(session.scalars(select(Seller.id).where(actor.sellers_clause()))) & planned
        if sellers
        else set()
    )
    behaviours = _behaviours(payload, kpi_ids(session, [r["code"] for r in payload["behaviours"]]))
    by_code = {b.code: b for b in behaviours}

    def need(seller_id: int, code: str) -> Need:
        seller = sellers[str(seller_id)]
        gap = seller["gaps"][code]
        return Need(
            seller_id,
            seller["external_id"],
            seller["name"],
            by_code[code],
            gap["value"],
            gap["gap"],
            gap["share"],
        )

    view = TrainingView(period, found.computed_at, payload, behaviours)
    plan_of: dict[tuple[int, str], str] = {}
    for unit_id, unit in sorted(payload.get("units", {}).items(), key=lambda u: u[1]["name"]):
        training = UnitTraining(int(unit_id), unit["external_id"], unit["name"])
        for group in unit["groups"]:
            members = [need(s, group["measure"]) for s in group["sellers"] if s in visible]
            if members:
                training.groups.append((by_code[group["measure"]], members))
            for seller_id in group["sellers"]:
                plan_of[(seller_id, group["measure"])] = GROUP
        for item in unit["individual"]:
            plan_of[(item["seller"], item["measure"])] = INDIVIDUAL
            if item["seller"] in visible:
                training.individual.append(need(item["seller"], item["measure"]))
        if training.groups or training.individual:
            view.units.append(training)
    units = {int(u): unit["name"] for u, unit in payload.get("units", {}).items()}
    for seller_id in sorted(visible, key=lambda s: sellers[str(s)]["name"]):
        seller = sellers[str(seller_id)]
        for behaviour in behaviours:
            gap = seller["gaps"].get(behaviour.code)
            if gap is None:
                continue
            view.gaps.append(
                (
                    seller["external_id"],
                    seller["name"],
                    units.get(seller["unit_id"], ""),
                    behaviour,
                    gap,
                    plan_of.get((seller_id, behaviour.code), ""),
                )
            )
    return view


@dataclass(frozen=True)
class SellerNeed:
    """One of a seller's training needs as their page shows it."""

    behaviour: Behaviour
    value: float
    gap: float
    share: float | None
    plan: str
    unit_name: str


def seller_needs(
    session: Session, *, actor: Actor, seller: Seller, today: date
) -> tuple[Period, list[SellerNeed]] | None:
    """Return the seller's needs in the training plan in force, for anyone who may see
    the seller; None before any plan or for a seller out of reach."""
    if not actor.can_see_seller(seller):
        return None
    found = plan_in_force(session, today)
    if found is None:
        return None
    period, payload = found
    items = items_of(payload, seller.id)
    behaviours = {
        b.code: b for b in _behaviours(payload, kpi_ids(session, [i["code"] for i in items]))
    }
    return period, [
        SellerNeed(
            behaviours[i["code"]], i["value"], i["gap"], i["share"], i["plan"], i["unit_name"]
        )
        for i in items
    ]


def gaps_table(view: TrainingView) -> Table:
    """Return every visible seller's gap to each success behaviour and their plan."""
    return Table(
        _("Training plan"),
        [
            "seller_id",
            "seller",
            "unit",
            "behaviour",
            "value",
            "target",
            "gap",
            "gap_share",
            "gap_in_sd",
            "plan",
        ],
        [
            [
                external_id,
                name,
                unit,
                behaviour.code,
                gap["value"],
                behaviour.target,
                gap["gap"],
                gap["share"],
                gap.get("in_sd"),
                plan,
            ]
            for external_id, name, unit, behaviour, gap, plan in view.gaps
        ],
    )


@dataclass(frozen=True)
class PushResult:
    """Where a pushed item went: onto the conversation being prepared, or kept as a topic."""

    seller: str
    text: str
    conversation_id: int | None

    @property
    def message(self) -> str:
        if self.conversation_id is not None:
            return _(
                "Added to the agenda of the conversation being prepared with %(seller)s.",
                seller=self.seller,
            )
        return _(
            "Kept for %(seller)s's next coaching conversation: it joins the agenda when the "
            "conversation is opened.",
            seller=self.seller,
        )


def push_to_coaching(
    session: Session, *, actor: Actor, period: Period, seller: str, measure: str
) -> PushResult:
    """Put the individual training item (``seller``'s need on ``measure`` in the plan of
    ``period``) on the seller's next coaching agenda, through the coaching topics.

    Refuses a seller the actor does not manage, a plan not computed, a need that is not an
    individual item of that seller, and an item already waiting on the next agenda.
    """
    found = org.get_seller(session, actor=actor, external_id=seller)
    result = stored(session, period, KEY)
    if result is None:
        raise NotFound(
            _("The training plan of %(period)s is not computed yet.", period=period.label),
            field="period",
        )
    item = next(
        (
            i
            for i in items_of(result.payload, found.id)
            if i["code"] == measure and i["plan"] == INDIVIDUAL
        ),
        None,
    )
    if item is None:
        raise NotFound(
            _(
                "%(seller)s has no individual training item on %(measure)s in %(period)s.",
                seller=found.name,
                measure=measure,
                period=period.label,
            ),
            field="measure",
        )
    facts = item_facts(item, period)
    kpi = kpi_ids(session, [item["kpi"]]).get(item["kpi"]) if item["kpi"] else None
    waiting = planned(session, [found.id]).get(found.id)
    if on_next_agenda(
        session,
        seller_id=found.id,
        conversation_id=waiting.id if waiting else None,
        titles=titles_everywhere(facts, kpi),
        code=measure,
    ):
        raise Conflict(
            _("This item is on %(seller)s's next agenda already.", seller=found.name),
            field="measure",
        )
    text = describe_training(AgendaItem(source=KEY, facts=facts, title=""), kpi).title
    added = add_topic(session, actor=actor, seller=found, text=text)
    return PushResult(
        found.name, text, added.conversation_id if isinstance(added, AgendaItem) else None
    )
