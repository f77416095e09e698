"""Gap analysis and training plan: each field seller's distance to every success
behaviour, and who must learn what (docs/analytics.md, "Gap analysis and training plan").

The target of a success behaviour is the top performers' median in the analysed period
(from the ``behaviours`` analysis). A seller's gap is how far they are short of it, in
the measure's unit and as a share of the target; a gap of at least ``MIN_GAP_SHARE`` of
the target is a training need. A need shared by ``TOUCHLINE_ANALYTICS_GROUP_TRAINING_MIN``
sellers (3 by default) of one unit becomes a group training for that unit; the rest are
individual coaching items, which the coaching agenda proposes (the ``training`` agenda
source below) and a manager can push into the seller's next conversation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from touchline.analytics.behaviours import KEY as BEHAVIOURS
from touchline.analytics.behaviours import (
    Shown,
    measure_of_row,
    measure_values,
    success_behaviours,
)
from touchline.analytics.behaviours import behaviours as compare_behaviours
from touchline.analytics.dataset import Dataset
from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import Payload, RunContext, analysis, stored_payload
from touchline.coaching.agenda import (
    AgendaContext,
    AgendaSource,
    Described,
    Proposal,
    register_source,
)
from touchline.coaching.models import AgendaItem, SellerTopic
from touchline.config import LANGUAGES, get_settings
from touchline.i18n import gettext as _
from touchline.i18n import language
from touchline.kpis.catalogue import display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import Kpi
from touchline.org.periods import Period, PeriodError, parse_period

KEY = "training"
# A seller this far short of the target (as a share of it) needs training on it.
MIN_GAP_SHARE = 0.10
# The needs a seller works on at once: those where they are furthest behind.
NEEDS_PER_SELLER = 3
# Training items the coaching agenda proposes per conversation, largest need first.
AGENDA_ITEMS = 3
GROUP = "group"
INDIVIDUAL = "individual"


def group_training_min() -> int:
    """Sellers of one unit sharing a need that make a group training (the setting)."""
    return get_settings().analytics_group_training_min


@dataclass(frozen=True)
class Gap:
    """One seller's distance to one success behaviour's target."""

    seller_id: int
    measure: str
    value: float
    target: float
    # Short of the target, in the measure's unit (negative: beyond it) and as a share.
    gap: float
    share: float

    @property
    def needs_training(self) -> bool:
        return self.share >= MIN_GAP_SHARE


def gaps_of(values: np.ndarray, target: float, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Return each value's gap to ``target`` in the measure's unit and as a share of it.

    For a measure where lower is better the gap is the value above the target.
    """
    gap = target - values if direction == "higher" else values - target
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(target != 0, gap / abs(target), np.where(gap > 0, np.inf, 0.0))
    return gap, share


@dataclass
class UnitPlan:
    """A unit's training: group trainings (measure -> sellers) and individual items."""

    unit_id: int
    groups: dict[str, list[int]] = field(default_factory=dict)
    individual: list[tuple[int, str]] = field(default_factory=list)


def plan(needs: list[tuple[int, int, str]], *, group_min: int, order: list[str]) -> list[UnitPlan]:
    """Group the needs (unit, seller, measure) into each unit's trainings.

    A measure needed by ``group_min`` or more sellers of a unit is a group training for
    the unit; the other needs are individual items. Measures follow ``order`` (the
    success ranking), sellers their order in ``needs``.
    """
    by_unit: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for unit_id, seller_id, measure in needs:
        by_unit[unit_id][measure].append(seller_id)
    plans = []
    for unit_id in sorted(by_unit):
        unit_plan = UnitPlan(unit_id)
        for measure in sorted(by_unit[unit_id], key=order.index):
            sellers = by_unit[unit_id][measure]
            if len(sellers) >= group_min:
                unit_plan.groups[measure] = sellers
            else:
                unit_plan.individual += [(seller, measure) for seller in sellers]
        plans.append(unit_plan)
    return plans


def _behaviour(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("code", "name", "kind", "unit", "decimals", "direction", "kpi", "formula", "rank")
    return {key: row[key] for key in keep} | {"g": row["g"], "q": row["q"], "target": row["target"]}


def training_payload(dataset: Dataset, behaviours: Payload, *, group_min: int) -> Payload:
    """Return every field seller's gaps to the success behaviours and the units' plans."""
    chosen = [_behaviour(row) for row in success_behaviours(behaviours) if row["target"]]
    base: Payload = {
        "behaviours": chosen,
        "min_gap_share": MIN_GAP_SHARE,
        "needs_per_seller": NEEDS_PER_SELLER,
        "group_min": group_min,
        "too_small": bool(behaviours.get("too_small")),
        "sellers": {},
        "units": {},
    }
    if not chosen:
        return base
    sellers: dict[str, Any] = {
        str(seller.id): {
            "external_id": seller.external_id,
            "name": seller.name,
            "unit_id": seller.unit_id,
            "gaps": {},
        }
        for seller in dataset.sellers
    }
    codes = [b["code"] for b in chosen]
    # Per seller and behaviour: the gap in standard deviations across the field sellers
    # where it is a need (short by MIN_GAP_SHARE of the target or more), else -inf.
    standing = np.full((dataset.size, len(chosen)), -np.inf)
    for column, behaviour in enumerate(chosen):
        values = measure_values(dataset, measure_of_row(behaviour))[:, -1]
        gap, share = gaps_of(values, behaviour["target"], behaviour["direction"])
        finite = np.isfinite(values)
        spread = float(np.std(values[finite], ddof=1)) if finite.sum() > 1 else 0.0
        in_sd = gap / spread if spread > 0 else np.zeros(dataset.size)
        for where in np.flatnonzero(finite):
            sellers[str(dataset.sellers[where].id)]["gaps"][behaviour["code"]] = {
                "value": float(values[where]),
                "gap": float(gap[where]),
                "share": float(share[where]) if np.isfinite(share[where]) else None,
                "in_sd": float(in_sd[where]),
            }
        need = finite & (share >= MIN_GAP_SHARE)
        standing[need, column] = in_sd[need]
    # A seller's focus: the needs where they are furthest behind, at most NEEDS_PER_SELLER.
    ranked = np.argsort(-standing, axis=1, kind="stable")[:, :NEEDS_PER_SELLER]
    needs: list[tuple[int, int, str]] = []
    for row, seller in enumerate(dataset.sellers):
        for best in ranked[row]:
            if np.isfinite(standing[row, best]):
                needs.append((seller.unit_id, seller.id, codes[int(best)]))
    units: dict[str, Any] = {}
    for unit_plan in plan(needs, group_min=group_min, order=codes):
        facts = dataset.units.get(unit_plan.unit_id)
        units[str(unit_plan.unit_id)] = {
            "external_id": facts.external_id if facts else "",
            "name": facts.name if facts else "",
            "groups": [
                {"measure": measure, "sellers": members}
                for measure, members in unit_plan.groups.items()
            ],
            "individual": [
                {"seller": seller, "measure": measure} for seller, measure in unit_plan.individual
            ],
        }
    base["sellers"] = sellers
    base["units"] = units
    return base


@analysis(KEY, order=30)
def training(context: RunContext) -> Payload:
    """The period's gaps to the success behaviours and the training plan per unit."""
    behaviours = context.found.get(BEHAVIOURS) or stored_payload(
        context.session, context.period, BEHAVIOURS
    )
    if behaviours is None:
        behaviours = compare_behaviours(context)
    return training_payload(context.dataset, behaviours, group_min=group_training_min())


def items_of(payload: Payload, seller_id: int) -> list[dict[str, Any]]:
    """Return a seller's training needs in a stored plan: behaviour, gap, group or not.

    Ranked by the behaviour's success rank; each says whether it is part of a group
    training of the seller's unit (``plan`` = group) or an individual item.
    """
    seller = payload.get("sellers", {}).get(str(seller_id))
    if seller is None:
        return []
    unit = payload.get("units", {}).get(str(seller["unit_id"]), {})
    grouped = {g["measure"] for g in unit.get("groups", []) if seller_id in g["sellers"]}
    alone = {i["measure"] for i in unit.get("individual", []) if i["seller"] == seller_id}
    found = []
    for behaviour in payload.get("behaviours", []):
        code = behaviour["code"]
        if code not in grouped and code not in alone:
            continue
        gap = seller["gaps"][code]
        found.append(
            {
                **behaviour,
                **gap,
                "plan": GROUP if code in grouped else INDIVIDUAL,
                "unit_name": unit.get("name", ""),
            }
        )
    return found


def plan_in_force(session: Session, today: date) -> tuple[Period, Payload] | None:
    """Return the training plan coaching works from on ``today``, with its period.

    Of the stored plans of periods begun by ``today``, the one ending last; on equal
    ends the longer period, whose evidence rests on more data. None before any run.
    """
    start_month = get_settings().fiscal_year_start_month
    candidates = []
    for label in session.scalars(
        select(AnalyticsResult.period).where(AnalyticsResult.analysis == KEY)
    ):
        try:
            period = parse_period(label, fiscal_start_month=start_month)
        except PeriodError:
            continue
        if period.start <= today:
            candidates.append(period)
    if not candidates:
        return None
    chosen = max(candidates, key=lambda p: (p.end, p.days))
    payload = stored_payload(session, chosen, KEY)
    return (chosen, payload) if payload is not None else None


# --- the coaching agenda's training items ------------------------------------------------


def item_facts(item: dict[str, Any], period: Period) -> dict[str, Any]:
    """Return what an agenda item keeps of a seller's training need."""
    keep = ("code", "name", "kpi", "unit", "decimals", "direction", "rank", "plan", "unit_name")
    return {key: item.get(key) for key in keep} | {
        "value": item["value"],
        "target": item["target"],
        "gap": item["gap"],
        "share": item["share"],
        "period": period.label,
    }


def describe_training(item: AgendaItem, kpi: Kpi | None) -> Described:
    """Return a training item's title and detail in the current language."""
    facts = item.facts
    shown = Shown(str(facts.get("unit", "number")), int(facts.get("decimals") or 0))

    def value(key: str) -> str:
        number = facts.get(key)
        return format_kpi_value(float(number), shown) if isinstance(number, int | float) else "–"

    name = display_name(kpi) if kpi is not None else _(str(facts.get("name", "")))
    if facts.get("plan") == GROUP:
        title = _(
            "Group training of %(unit)s on %(measure)s: %(value)s now, %(target)s for the "
            "top performers (%(period)s)",
            unit=facts.get("unit_name", ""),
            measure=name,
            value=value("value"),
            target=value("target"),
            period=facts.get("period", ""),
        )
    else:
        title = _(
            "Training: bring %(measure)s from %(value)s to %(target)s, the top performers' "
            "median (%(period)s)",
            measure=name,
            value=value("value"),
            target=value("target"),
            period=facts.get("period", ""),
        )
    detail = _(
        "A success behaviour (number %(rank)s): the top performers on the fair result show "
        "more of it. From the training plan.",
        rank=facts.get("rank", "–"),
    )
    return Described(title, detail)


def titles_everywhere(facts: dict[str, Any], kpi: Kpi | None) -> set[str]:
    """Return an item's title in every language, to recognise it when pushed as a topic."""
    item = AgendaItem(source=KEY, facts=facts, title="")
    titles = set()
    for code in LANGUAGES:
        with language(code):
            titles.add(describe_training(item, kpi).title)
    return titles


def on_next_agenda(
    session: Session, *, seller_id: int, conversation_id: int | None, titles: set[str], code: str
) -> bool:
    """True when the need is already waiting as a topic or on the agenda being prepared."""
    topics = select(SellerTopic.text).where(
        SellerTopic.seller_id == seller_id,
        or_(
            SellerTopic.conversation_id.is_(None),
            SellerTopic.conversation_id == (conversation_id or -1),
        ),
    )
    if titles & set(session.scalars(topics)):
        return True
    if conversation_id is None:
        return False
    for source, facts, title in session.execute(
        select(AgendaItem.source, AgendaItem.facts, AgendaItem.title).where(
            AgendaItem.conversation_id == conversation_id, AgendaItem.dropped.is_(False)
        )
    ):
        if (source == KEY and facts.get("code") == code) or title in titles:
            return True
    return False


def kpi_ids(session: Session, codes: list[str]) -> dict[str, Kpi]:
    """Return the catalogue's KPIs with ``codes``, by code (one query)."""
    if not codes:
        return {}
    return {kpi.code: kpi for kpi in session.scalars(select(Kpi).where(Kpi.code.in_(codes)))}


def _propose_training(context: AgendaContext) -> list[Proposal]:
    found = plan_in_force(context.session, context.today)
    if found is None:
        return []
    period, payload = found
    items = items_of(payload, context.seller.id)
    # Individual items first: group trainings are organised for the unit as a whole.
    items.sort(key=lambda i: (i["plan"] != INDIVIDUAL, i["rank"] or 0))
    kpis = kpi_ids(context.session, [i["kpi"] for i in items if i["kpi"]])
    proposals = []
    for item in items[:AGENDA_ITEMS]:
        facts = item_facts(item, period)
        kpi = kpis.get(item["kpi"] or "")
        titles = titles_everywhere(facts, kpi)
        if on_next_agenda(
            context.session,
            seller_id=context.seller.id,
            conversation_id=context.conversation.id,
            titles=titles,
            code=item["code"],
        ):
            continue
        proposals.append(Proposal(KEY, facts, kpi_id=kpi.id if kpi else None))
    return proposals


register_source(AgendaSource(KEY, 35, _propose_training, describe_training))
