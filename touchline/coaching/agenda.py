"""The agenda drawn from facts, and the registry of the sources that draw it.

When a conversation is opened, every source in ``AGENDA_SOURCES`` proposes items for the
seller: off-track KPIs with their decision rule, the largest self-versus-manager rating
gaps, open and overdue action items of earlier conversations, progress worth
recognising, low pulse answers and the seller's own topics. Another domain adds a source
with ``register_source`` (analytics adds early warnings and training items) without
touching this module. An item keeps the facts its source found; its title is written
from them in the reader's language whenever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.coaching.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Conversation,
    SellerTopic,
    Side,
)
from touchline.coaching.progress import trends
from touchline.config import get_settings
from touchline.crm.models import PulseAnswer
from touchline.i18n import babel_locale
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import Versions, display_name
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import Kpi
from touchline.kpis.scorecards import Scorecard, build_cards
from touchline.org.models import Seller
from touchline.org.periods import Period, PeriodKind, period_containing
from touchline.ratings.gaps import self_manager_gaps

# A self-rating this far from the manager's (in scale points) is worth talking about.
RATING_GAP_SHOWN = 1.0
RATING_GAPS_SHOWN = 2
# Pulse answers at or below this, in the last PULSE_WEEKS weeks, make an item.
LOW_PULSE = 2
PULSE_WEEKS = 6
PULSE_FIELDS = ("motivation", "energy", "pride")


@dataclass
class AgendaContext:
    """What the sources look at when a conversation is opened; heavy parts load once."""

    session: Session
    actor: Actor
    seller: Seller
    conversation: Conversation
    today: date

    @cached_property
    def period(self) -> Period:
        """The quarter running on ``today``: the one whose card the agenda looks at."""
        return period_containing(
            self.today,
            PeriodKind.QUARTER,
            fiscal_start_month=get_settings().fiscal_year_start_month,
        )

    @cached_property
    def card(self) -> Scorecard:
        return build_cards(self.session, [self.seller], self.period, today=self.today)[0]


@dataclass(frozen=True)
class Proposal:
    """An item a source proposes: its facts, and the KPI or action item it is about."""

    source: str
    facts: dict[str, Any] = field(default_factory=dict)
    kpi_id: int | None = None
    action_item_id: int | None = None
    title: str = ""
    added_by_id: int | None = None
    added_by_side: str | None = None


@dataclass(frozen=True)
class Described:
    """An item as a person reads it, in the current language."""

    title: str
    detail: str = ""


@dataclass(frozen=True)
class AgendaSource:
    """A kind of agenda item: how it is found and how it reads.

    ``order`` places the source's items on the agenda (lower first); ``describe`` gets
    the item and its KPI (None when it names none).
    """

    key: str
    order: int
    propose: Callable[[AgendaContext], list[Proposal]]
    describe: Callable[[AgendaItem, Kpi | None], Described]


def _kpi_name(kpi: Kpi | None, facts: dict[str, Any]) -> str:
    return display_name(kpi) if kpi is not None else str(facts.get("kpi", ""))


def _value(value: Any, kpi: Kpi | None) -> str:
    if not isinstance(value, int | float) or kpi is None:
        return "–"
    return format_kpi_value(float(value), kpi)


# --- the built-in sources ------------------------------------------------------------


def _recognition(context: AgendaContext) -> list[Proposal]:
    kpis = [line.kpi for line in context.card.lines]
    found = trends(context.session, seller_ids=[context.seller.id], kpis=kpis, today=context.today)
    return [
        Proposal("recognition", trend.facts(), kpi_id=trend.kpi.id)
        for trend in found
        if trend.better
    ]


def _describe_recognition(item: AgendaItem, kpi: Kpi | None) -> Described:
    facts = item.facts
    name = _kpi_name(kpi, facts)
    if facts.get("kind") == "beyond_usual":
        title = _(
            "Progress worth recognising: %(kpi)s reached %(last)s in %(to)s, well beyond "
            "the seller's usual level of %(usual)s",
            kpi=name,
            last=_value(facts.get("last"), kpi),
            to=facts.get("to", ""),
            usual=_value(facts.get("baseline"), kpi),
        )
    else:
        title = _(
            "Progress worth recognising: %(kpi)s rose steadily from %(first)s (%(from)s) "
            "to %(last)s (%(to)s)",
            kpi=name,
            first=_value(facts.get("first"), kpi),
            last=_value(facts.get("last"), kpi),
            **{"from": facts.get("from", ""), "to": facts.get("to", "")},
        )
    return Described(title, _("Measured against the seller's own recent quarters."))


def _off_track(context: AgendaContext) -> list[Proposal]:
    versions = Versions.load(context.session)
    found = []
    for line in sorted(context.card.lines, key=lambda ln: ln.attainment or 0.0):
        if not line.off_track:
            continue
        version = versions.in_force(line.kpi.id, context.period.start)
        facts = {
            "kpi": line.kpi.code,
            "period": context.period.label,
            "light": line.light,
            "attainment": line.attainment,
            "actual": line.actual,
            "target": line.expected_by_now if line.expected_by_now is not None else line.target,
            "rule": version.decision_rule,
        }
        found.append(Proposal("off_track_kpi", facts, kpi_id=line.kpi.id))
    return found


def _describe_off_track(item: AgendaItem, kpi: Kpi | None) -> Described:
    facts = item.facts
    attainment = facts.get("attainment")
    title = _(
        "%(kpi)s is off track in %(period)s: %(actual)s against %(target)s (%(share)s %% of "
        "target)",
        kpi=_kpi_name(kpi, facts),
        period=facts.get("period", ""),
        actual=_value(facts.get("actual"), kpi),
        target=_value(facts.get("target"), kpi),
        share=f"{attainment:.0f}" if isinstance(attainment, int | float) else "–",
    )
    rule = str(facts.get("rule") or "")
    return Described(title, _("Decision rule: %(rule)s", rule=_(rule)) if rule else "")


def _rating_gaps(context: AgendaContext) -> list[Proposal]:
    period = context.period
    gaps = self_manager_gaps(context.session, seller_id=context.seller.id, period=period)
    if not gaps:
        period = period.previous()
        gaps = self_manager_gaps(context.session, seller_id=context.seller.id, period=period)
    kpis = {
        kpi.code: kpi.id
        for kpi in context.session.scalars(
            select(Kpi).where(Kpi.code.in_([g.kpi_code for g in gaps]))
        )
    }
    return [
        Proposal(
            "rating_gap",
            {
                "kpi": gap.kpi_code,
                "period": period.label,
                "self": gap.self_score,
                "manager": gap.manager_score,
            },
            kpi_id=kpis.get(gap.kpi_code),
        )
        for gap in gaps[:RATING_GAPS_SHOWN]
        if abs(gap.self_minus_manager or 0.0) >= RATING_GAP_SHOWN
    ]


def _describe_rating_gap(item: AgendaItem, kpi: Kpi | None) -> Described:
    facts = item.facts

    def score(key: str) -> str:
        value = facts.get(key)
        return f"{value:.1f}" if isinstance(value, int | float) else "–"

    title = _(
        "%(kpi)s: self-rating %(self)s, the manager's rating %(manager)s (%(period)s)",
        kpi=_kpi_name(kpi, facts),
        self=score("self"),
        manager=score("manager"),
        period=facts.get("period", ""),
    )
    return Described(title, _("Talk about what each of you sees; agree on one example."))


def _open_actions(context: AgendaContext) -> list[Proposal]:
    actions = context.session.scalars(
        select(ActionItem)
        .where(
            ActionItem.seller_id == context.seller.id,
            ActionItem.status == ActionStatus.OPEN,
            ActionItem.conversation_id != context.conversation.id,
        )
        .order_by(ActionItem.due_on, ActionItem.id)
    )
    return [
        Proposal(
            "action_item",
            {
                "title": action.title,
                "owner": action.owner,
                "due_on": action.due_on.isoformat(),
                "overdue": action.due_on < context.today,
            },
            kpi_id=action.kpi_id,
            action_item_id=action.id,
        )
        for action in actions
    ]


def _day(text: object) -> str:
    try:
        return format_date(date.fromisoformat(str(text)), format="medium", locale=babel_locale())
    except ValueError:
        return str(text)


def _describe_action(item: AgendaItem, kpi: Kpi | None) -> Described:
    facts = item.facts
    due = _day(facts.get("due_on", ""))
    if facts.get("overdue"):
        title = _("Follow up (overdue since %(due)s): %(title)s", due=due, title=facts.get("title"))
    else:
        title = _("Follow up (due %(due)s): %(title)s", due=due, title=facts.get("title"))
    owner = _("the seller") if facts.get("owner") == Side.SELLER else _("the manager")
    return Described(title, _("Owner: %(owner)s", owner=owner))


def _pulse_weeks(today: date) -> list[str]:
    labels = []
    for weeks_back in range(PULSE_WEEKS):
        year, week, _day = (today - timedelta(days=7 * weeks_back)).isocalendar()
        labels.append(f"{year}-W{week:02d}")
    return labels


def _low_pulse(context: AgendaContext) -> list[Proposal]:
    rows = context.session.execute(
        select(PulseAnswer.week, PulseAnswer.motivation, PulseAnswer.energy, PulseAnswer.pride)
        .where(
            PulseAnswer.seller_id == context.seller.id,
            PulseAnswer.week.in_(_pulse_weeks(context.today)),
        )
        .order_by(PulseAnswer.week)
    ).all()
    low = [
        {
            "week": week,
            **{
                name: value
                for name, value in zip(PULSE_FIELDS, values, strict=True)
                if value <= LOW_PULSE
            },
        }
        for week, *values in rows
        if min(values) <= LOW_PULSE
    ]
    if not low:
        return []
    return [Proposal("low_pulse", {"answers": low, "weeks": PULSE_WEEKS})]


def _describe_low_pulse(item: AgendaItem, kpi: Kpi | None) -> Described:
    answers = item.facts.get("answers", [])
    labels = {"motivation": _("motivation"), "energy": _("energy"), "pride": _("pride")}
    parts = []
    for answer in answers:
        values = ", ".join(
            f"{labels[name]} {answer[name]}" for name in PULSE_FIELDS if name in answer
        )
        parts.append(f"{answer.get('week', '')}: {values}")
    title = _(
        "Low pulse answers in the last %(weeks)s weeks",
        weeks=item.facts.get("weeks", PULSE_WEEKS),
    )
    return Described(title, "; ".join(parts))


def _seller_topics(context: AgendaContext) -> list[Proposal]:
    topics = list(
        context.session.scalars(
            select(SellerTopic)
            .where(
                SellerTopic.seller_id == context.seller.id, SellerTopic.conversation_id.is_(None)
            )
            .order_by(SellerTopic.id)
        )
    )
    for topic in topics:
        topic.conversation_id = context.conversation.id
    return [
        Proposal(
            "seller_topic",
            title=topic.text,
            added_by_id=topic.added_by_id,
            added_by_side=topic.added_by_side,
        )
        for topic in topics
    ]


def _describe_typed(item: AgendaItem, kpi: Kpi | None) -> Described:
    return Described(item.title)


def _no_proposals(context: AgendaContext) -> list[Proposal]:
    return []


AGENDA_SOURCES: list[AgendaSource] = [
    AgendaSource("recognition", 10, _recognition, _describe_recognition),
    AgendaSource("off_track_kpi", 20, _off_track, _describe_off_track),
    AgendaSource("rating_gap", 30, _rating_gaps, _describe_rating_gap),
    AgendaSource("action_item", 40, _open_actions, _describe_action),
    AgendaSource("low_pulse", 50, _low_pulse, _describe_low_pulse),
    AgendaSource("seller_topic", 60, _seller_topics, _describe_typed),
    # Items either party types into an open conversation.
    AgendaSource("added", 90, _no_proposals, _describe_typed),
]


def register_source(source: AgendaSource) -> None:
    """Add ``source`` to every agenda from now on (replacing one with the same key)."""
    AGENDA_SOURCES[:] = [s for s in AGENDA_SOURCES if s.key != source.key]
    AGENDA_SOURCES.append(source)


def source_of(key: str) -> AgendaSource | None:
    """Return the registered source named ``key``."""
    return next((source for source in AGENDA_SOURCES if source.key == key), None)


def describe(item: AgendaItem, kpi: Kpi | None) -> Described:
    """Return the item's title and detail in the current language."""
    source = source_of(item.source)
    if source is None:
        return Described(item.title or item.source, "")
    return source.describe(item, kpi)


def propose_agenda(context: AgendaContext) -> list[AgendaItem]:
    """Add the items every source proposes to the new conversation; return them in order."""
    items: list[AgendaItem] = []
    for source in sorted(AGENDA_SOURCES, key=lambda s: s.order):
        for proposal in source.propose(context):
            items.append(
                AgendaItem(
                    conversation_id=context.conversation.id,
                    position=len(items),
                    source=proposal.source,
                    facts=proposal.facts,
                    title=proposal.title,
                    kpi_id=proposal.kpi_id,
                    action_item_id=proposal.action_item_id,
                    added_by_id=proposal.added_by_id,
                    added_by_side=proposal.added_by_side,
                )
            )
    context.session.add_all(items)
    context.session.flush()
    return items
