"""Scorecards: a seller's card, attainment, lights, level scores and the balanced index.

A seller's card is the template assigned to them, or else to the nearest unit above them,
plus their own lines: a seller line for a KPI on the template overrides its target, weight
or thresholds; a seller line for another KPI adds an individual KPI.

Targets are set per fiscal quarter. For a month or a year, a KPI whose values add up over
time (time aggregation "sum") scales its target by the share of a quarter (a month is a
third, a year four quarters); other KPIs keep it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.errors import NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import Versions, display_name, display_rule, sync_builtin_kpis
from touchline.kpis.metrics import Direction, Level
from touchline.kpis.models import (
    Kpi,
    KpiValue,
    ScorecardAssignment,
    ScorecardLine,
    ScorecardTemplate,
    SubjectKind,
    TimeAggregation,
)
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind

ATTAINMENT_CAP = 150.0
# Below this level score (in %), Will or Foundation is weak and the capacity signal shows.
WEAK_LEVEL = 80.0
SPARKLINE_PERIODS = 6
LEVELS = (Level.RESULT, Level.ACTIVITY, Level.WILL, Level.FOUNDATION)
QUARTER_SHARE = {PeriodKind.MONTH: 1 / 3, PeriodKind.QUARTER: 1.0, PeriodKind.YEAR: 4.0}


@dataclass
class CardLine:
    """One KPI on a seller's card for a period, with everything the scorecard shows."""

    kpi: Kpi
    name: str
    weight: float
    target: float | None
    green_from: float
    amber_from: float
    actual: float | None = None
    attainment: float | None = None
    light: str = "none"  # green, amber, red, or none (no value or no target)
    expected_by_now: float | None = None
    decision_rule: str = ""
    history: list[tuple[str, float | None]] = field(default_factory=list)
    imposed: bool = False

    @property
    def off_track(self) -> bool:
        return self.light in ("amber", "red")


@dataclass
class Scorecard:
    """A seller's balanced scorecard for one period."""

    seller: Seller
    period: Period
    template: ScorecardTemplate | None
    lines: list[CardLine]
    level_scores: dict[str, float | None]
    balanced_index: float | None
    capacity: float | None
    capacity_weak: bool
    warnings: list[str]

    def by_level(self) -> list[tuple[str, list[CardLine]]]:
        return [(level, [ln for ln in self.lines if ln.kpi.level == level]) for level in LEVELS]


def attainment(actual: float | None, target: float | None, direction: str) -> float | None:
    """Return attainment in %, direction-aware and capped to 0..ATTAINMENT_CAP.

    Higher is better: actual / target. Lower is better: target / actual, so half the
    time of the target is 200 % (capped). None without an actual or a positive target.
    """
    if actual is None or target is None or target <= 0:
        return None
    if direction == Direction.LOWER:
        share = ATTAINMENT_CAP if actual <= 0 else target / actual * 100.0
    else:
        share = actual / target * 100.0
    return max(0.0, min(ATTAINMENT_CAP, share))


def light(value: float | None, *, green_from: float, amber_from: float) -> str:
    """Return green, amber or red for an attainment, or none without one."""
    if value is None:
        return "none"
    if value >= green_from:
        return "green"
    if value >= amber_from:
        return "amber"
    return "red"


def weighted_mean(pairs: list[tuple[float, float | None]]) -> float | None:
    """Return the weighted mean of the values present, weights renormalised; None if none."""
    present = [(weight, value) for weight, value in pairs if value is not None and weight > 0]
    total = sum(weight for weight, _value in present)
    if not present or total <= 0:
        return None
    return sum(weight * value for weight, value in present) / total


def scaled_target(target: float | None, kpi: Kpi, period: Period) -> float | None:
    """Return a quarterly target scaled to ``period`` for KPIs that add up over time."""
    if target is None or kpi.time_aggregation != TimeAggregation.SUM:
        return target
    return target * QUARTER_SHARE.get(period.kind, 1.0)


# --- which lines a seller's card holds -------------------------------------------------


@dataclass(frozen=True)
class EffectiveLine:
    """A line as it applies to one seller: the template's, overridden by the seller's own."""

    kpi_id: int
    weight: float
    target: float | None
    green_from: float | None
    amber_from: float | None
    position: int
    assigned_by_id: int | None


class CardBook:
    """What the cards of many sellers need, loaded in a handful of queries.

    The team heatmap builds a card per seller; loading per seller would cost a dozen
    queries each.
    """

    def __init__(self, session: Session, sellers: list[Seller]) -> None:
        self.tree = UnitTree.load(session)
        ids = [seller.id for seller in sellers]
        assignments = list(session.scalars(select(ScorecardAssignment)))
        self.by_seller = {a.seller_id: a.template_id for a in assignments if a.seller_id}
        self.by_unit = {a.unit_id: a.template_id for a in assignments if a.unit_id}
        self.templates = {t.id: t for t in session.scalars(select(ScorecardTemplate))}
        self.template_lines: dict[int, list[ScorecardLine]] = {}
        self.seller_lines: dict[int, list[ScorecardLine]] = {}
        for line in session.scalars(
            select(ScorecardLine)
            .where(ScorecardLine.template_id.is_not(None) | ScorecardLine.seller_id.in_(ids))
            .order_by(ScorecardLine.position, ScorecardLine.id)
        ):
            if line.template_id is not None:
                self.template_lines.setdefault(line.template_id, []).append(line)
            else:
                assert line.seller_id is not None
                self.seller_lines.setdefault(line.seller_id, []).append(line)
        self.unit_managers = dict(
            session.execute(
                select(Unit.id, Unit.manager_id).where(Unit.manager_id.is_not(None))
            ).all()
        )
        # Only managers' user accounts can be in a reporting line.
        self.users_of_seller: dict[int, set[int]] = {}
        managers = sorted({m for m in self.unit_managers.values() if m is not None})
        for user_id, seller_id in session.execute(
            select(User.id, User.seller_id).where(User.seller_id.in_(managers))
        ).all():
            assert seller_id is not None
            self.users_of_seller.setdefault(seller_id, set()).add(user_id)
        self.leaders = set(
            session.scalars(select(User.id).where(User.role.in_((Role.LEADER, Role.ADMIN))))
        )
        self.kpis = {kpi.id: kpi for kpi in session.scalars(select(Kpi))}
        self.versions = Versions.load(session)

    def template_of(self, seller: Seller) -> ScorecardTemplate | None:
        """Return the seller's template, or the nearest unit's above them."""
        template_id = self.by_seller.get(seller.id)
        if template_id is None:
            for unit_id in self.tree.chain(seller.unit_id):
                if unit_id in self.by_unit:
                    template_id = self.by_unit[unit_id]
                    break
        return self.templates.get(template_id) if template_id is not None else None

    def seller_lines_in_force(self, seller: Seller, day: date) -> list[ScorecardLine]:
        """Return the seller's own lines in force on ``day``: per KPI the latest from it."""
        chosen: dict[int, ScorecardLine] = {}
        for line in self.seller_lines.get(seller.id, []):
            if line.effective_from > day:
                continue
            held = chosen.get(line.kpi_id)
            if held is None or line.effective_from > held.effective_from:
                chosen[line.kpi_id] = line
        return sorted(chosen.values(), key=lambda line: (line.position, line.id))

    def lines_of(self, seller: Seller, day: date | None = None) -> list[EffectiveLine]:
        """Return the seller's lines on ``day`` (today's when None): the template's, then
        individual KPIs, in order; the seller's own line for a template KPI overrides it."""
        template = self.template_of(seller)
        lines: dict[int, EffectiveLine] = {}
        for line in self.template_lines.get(template.id, []) if template else []:
            lines[line.kpi_id] = EffectiveLine(
                line.kpi_id,
                line.weight,
                line.target,
                line.green_from,
                line.amber_from,
                line.position,
                line.assigned_by_id,
            )
        for line in self.seller_lines_in_force(seller, day or _today()):
            base = lines.get(line.kpi_id)
            if base is None:
                lines[line.kpi_id] = EffectiveLine(
                    line.kpi_id,
                    line.weight,
                    line.target,
                    line.green_from,
                    line.amber_from,
                    1000 + line.position,
                    line.assigned_by_id,
                )
                continue
            lines[line.kpi_id] = EffectiveLine(
                line.kpi_id,
                line.weight or base.weight,
                line.target if line.target is not None else base.target,
                line.green_from if line.green_from is not None else base.green_from,
                line.amber_from if line.amber_from is not None else base.amber_from,
                base.position,
                line.assigned_by_id,
            )
        return sorted(lines.values(), key=lambda line: line.position)

    def reporting_line(self, seller: Seller) -> set[int]:
        """Return the user ids who may set the seller's card without being marked.

        The managers of the units above the seller, leaders and admins; anyone else who
        put a KPI on the card is marked on it and in governance.
        """
        allowed = set(self.leaders)
        for unit_id in self.tree.chain(seller.unit_id):
            manager = self.unit_managers.get(unit_id)
            if manager is not None and manager != seller.id:
                allowed |= self.users_of_seller.get(manager, set())
        return allowed


# --- the card ---------------------------------------------------------------------------


def history_periods(period: Period) -> list[Period]:
    """Return ``period`` and the periods of its kind before it, for the sparklines."""
    found = [period]
    while len(found) < SPARKLINE_PERIODS:
        found.insert(0, found[0].previous())
    return found


def _stored_values(
    session: Session, seller_ids: list[int], kpi_ids: list[int], labels: list[str]
) -> dict[tuple[int, int, str], float | None]:
    rows = session.execute(
        select(KpiValue.subject_id, KpiValue.kpi_id, KpiValue.period, KpiValue.value).where(
            KpiValue.subject_kind == SubjectKind.SELLER,
            KpiValue.subject_id.in_(seller_ids),
            KpiValue.kpi_id.in_(kpi_ids),
            KpiValue.period.in_(labels),
        )
    ).all()
    return {(seller, kpi, period): value for seller, kpi, period, value in rows}


def _today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def build_cards(
    session: Session, sellers: list[Seller], period: Period, *, today: date | None = None
) -> list[Scorecard]:
    """Return the scorecards of ``sellers`` for ``period`` (visibility checked by callers)."""
    sync_builtin_kpis(session)
    book = CardBook(session, sellers)
    history = history_periods(period)
    lines_by_seller = {seller.id: book.lines_of(seller, period.start) for seller in sellers}
    kpi_ids = sorted({line.kpi_id for lines in lines_by_seller.values() for line in lines})
    stored = _stored_values(
        session, [seller.id for seller in sellers], kpi_ids, [p.label for p in history]
    )
    today = today or _today()
    return [
        _card(book, seller, period, lines_by_seller[seller.id], stored, history, today)
        for seller in sellers
    ]


def line_attainments(
    session: Session,
    sellers: list[Seller],
    period: Period,
    *,
    kpi_ids: set[int] | None = None,
    today: date | None = None,
) -> dict[tuple[int, int], float | None]:
    """Return the attainment of each card line (seller id, KPI id) in ``period``, as the
    cards judge it, without their history and summaries (the objectives roll these up).
    ``kpi_ids`` keeps only those KPIs' lines."""
    sync_builtin_kpis(session)
    book = CardBook(session, sellers)
    lines_by_seller = {
        seller.id: [
            line
            for line in book.lines_of(seller, period.start)
            if kpi_ids is None or line.kpi_id in kpi_ids
        ]
        for seller in sellers
    }
    wanted = sorted({line.kpi_id for lines in lines_by_seller.values() for line in lines})
    if not wanted:
        return {}
    stored = _stored_values(session, [seller.id for seller in sellers], wanted, [period.label])
    today = today or _today()
    found: dict[tuple[int, int], float | None] = {}
    for seller in sellers:
        for line in lines_by_seller[seller.id]:
            actual = stored.get((seller.id, line.kpi_id, period.label))
            judged = judge_line(book, line, period, actual=actual, history=[], today=today)
            found[(seller.id, line.kpi_id)] = judged.attainment
    return found


def judge_line(
    book: CardBook,
    line: EffectiveLine,
    period: Period,
    *,
    actual: float | None,
    history: list[tuple[str, float | None]],
    today: date,
    imposed: bool = False,
) -> CardLine:
    """Return a card line: the target in force scaled to the period, attainment, light,
    and the decision rule when it is off track. In the running period a sum is judged
    against the share of its target due by today."""
    kpi = book.kpis[line.kpi_id]
    version = book.versions.in_force(kpi.id, period.start)
    target = scaled_target(line.target if line.target is not None else version.target, kpi, period)
    card = CardLine(
        kpi=kpi,
        name=display_name(kpi),
        weight=line.weight,
        target=target,
        green_from=line.green_from if line.green_from is not None else version.green_from,
        amber_from=line.amber_from if line.amber_from is not None else version.amber_from,
        actual=actual,
        history=history,
        imposed=imposed,
    )
    judged_target = target
    if period.contains(today) and target is not None and kpi.time_aggregation == "sum":
        card.expected_by_now = target * period.elapsed_share(today)
        judged_target = card.expected_by_now
    card.attainment = attainment(card.actual, judged_target, kpi.direction)
    card.light = light(card.attainment, green_from=card.green_from, amber_from=card.amber_from)
    if card.off_track:
        card.decision_rule = display_rule(version)
    return card


@dataclass
class CardSummary:
    """What a card's lines add up to: level scores, balanced index, capacity, warnings."""

    level_scores: dict[str, float | None]
    balanced_index: float | None
    capacity: float | None
    capacity_weak: bool
    warnings: list[str]


def summarise(book: CardBook, lines: list[CardLine], period: Period) -> CardSummary:
    """Return the level scores, the balanced index, the Will x Foundation capacity and the
    governance warnings of a card's lines."""
    level_scores = {
        str(level): weighted_mean(
            [(ln.weight, ln.attainment) for ln in lines if ln.kpi.level == level]
        )
        for level in LEVELS
    }
    will, foundation = level_scores[Level.WILL], level_scores[Level.FOUNDATION]
    capacity = None
    weak = False
    if will is not None and foundation is not None:
        # "Half times half is not a whole": the two multiply, they do not average.
        capacity = min(will, 100.0) / 100.0 * min(foundation, 100.0) / 100.0 * 100.0
        weak = will < WEAK_LEVEL or foundation < WEAK_LEVEL
    return CardSummary(
        level_scores=level_scores,
        balanced_index=weighted_mean([(ln.weight, ln.attainment) for ln in lines]),
        capacity=capacity,
        capacity_weak=weak,
        warnings=card_warnings(
            lines,
            rules={
                ln.kpi.id: book.versions.in_force(ln.kpi.id, period.start).decision_rule
                for ln in lines
            },
        ),
    )


def _card(
    book: CardBook,
    seller: Seller,
    period: Period,
    lines: list[EffectiveLine],
    stored: dict[tuple[int, int, str], float | None],
    history: list[Period],
    today: date,
) -> Scorecard:
    allowed = book.reporting_line(seller)
    shown = [
        judge_line(
            book,
            line,
            period,
            actual=stored.get((seller.id, line.kpi_id, period.label)),
            history=[(p.label, stored.get((seller.id, line.kpi_id, p.label))) for p in history],
            today=today,
            imposed=line.assigned_by_id is not None and line.assigned_by_id not in allowed,
        )
        for line in lines
    ]
    summary = summarise(book, shown, period)
    return Scorecard(
        seller=seller,
        period=period,
        template=book.template_of(seller),
        lines=shown,
        level_scores=summary.level_scores,
        balanced_index=summary.balanced_index,
        capacity=summary.capacity,
        capacity_weak=summary.capacity_weak,
        warnings=summary.warnings,
    )


def seller_scorecard(
    session: Session, *, actor: Actor, seller: Seller, period: Period, today: date | None = None
) -> Scorecard:
    """Return the seller's scorecard for ``period``; refuses a seller the actor may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    return build_cards(session, [seller], period, today=today)[0]


def max_card_kpis() -> int:
    """Return how many active KPIs a card may hold before governance warns (a setting)."""
    return get_settings().max_card_kpis


def card_warnings(lines: list[CardLine], *, rules: dict[int, str] | None = None) -> list[str]:
    """Return the governance warnings of a card, in words.

    ``rules`` holds each KPI's decision rule in force (by KPI id); a KPI without one
    leads to no decision and is warned about.
    """
    warnings: list[str] = []
    active = [ln for ln in lines if ln.kpi.status == "active"]
    limit = max_card_kpis()
    if len(active) > limit:
        warnings.append(
            _(
                "%(count)s active KPIs on one card: more than %(limit)s blurs the focus.",
                count=len(active),
                limit=limit,
            )
        )
    total = sum(ln.weight for ln in lines)
    if lines and abs(total - 100.0) > 0.01:
        warnings.append(_("The weights add up to %(total)s, not 100.", total=f"{total:g}"))
    for level in LEVELS:
        if lines and not any(ln.kpi.level == level for ln in lines):
            warnings.append(_("No KPI on the %(level)s level.", level=level_label(level)))
    for ln in lines:
        if ln.kpi.objective_id is None:
            warnings.append(_("%(kpi)s serves no objective.", kpi=ln.name))
        if rules is not None and not rules.get(ln.kpi.id):
            warnings.append(
                _("%(kpi)s has no decision rule: it leads to no decision.", kpi=ln.name)
            )
        if ln.imposed:
            warnings.append(
                _("%(kpi)s was put on the card by someone outside the reporting line.", kpi=ln.name)
            )
    return warnings


def level_label(level: str) -> str:
    """Return the translated name of a scorecard level."""
    return {
        Level.RESULT: _("Result"),
        Level.ACTIVITY: _("Activity"),
        Level.WILL: _("Will"),
        Level.FOUNDATION: _("Foundation"),
    }[Level(level)]
