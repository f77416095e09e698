"""Scorecards: role templates, assignments, targets, attainment, levels and the balanced index.

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

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role, User
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.errors import Forbidden, InvalidInput, NotFound
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
MAX_ACTIVE_KPIS = 7
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


def template_for(session: Session, seller: Seller) -> ScorecardTemplate | None:
    """Return the template assigned to the seller, or to the nearest unit above them."""
    direct = session.scalar(
        select(ScorecardAssignment).where(ScorecardAssignment.seller_id == seller.id)
    )
    if direct is not None:
        return session.get(ScorecardTemplate, direct.template_id)
    chain = UnitTree.load(session).chain(seller.unit_id)
    by_unit = {
        a.unit_id: a.template_id
        for a in session.scalars(
            select(ScorecardAssignment).where(ScorecardAssignment.unit_id.in_(chain))
        )
    }
    for unit_id in chain:
        if unit_id in by_unit:
            return session.get(ScorecardTemplate, by_unit[unit_id])
    return None


def _reporting_line(session: Session, seller: Seller) -> set[int]:
    """Return the user ids allowed to set the seller's card without being marked.

    The managers of the units above the seller (their reporting line), leaders and admins
    are; anyone else who imposed a KPI is marked on the card and in governance.
    """
    chain = UnitTree.load(session).chain(seller.unit_id)
    managers = set(
        session.scalars(
            select(Unit.manager_id).where(Unit.id.in_(chain), Unit.manager_id.is_not(None))
        )
    )
    managers.discard(seller.id)
    allowed = set(session.scalars(select(User.id).where(User.role.in_((Role.LEADER, Role.ADMIN)))))
    if managers:
        allowed |= set(session.scalars(select(User.id).where(User.seller_id.in_(managers))))
    return allowed


def card_lines(
    session: Session, seller: Seller
) -> tuple[ScorecardTemplate | None, list[ScorecardLine]]:
    """Return the seller's template and effective lines (seller lines override, or add)."""
    template = template_for(session, seller)
    lines: dict[int, ScorecardLine] = {}
    if template is not None:
        for line in session.scalars(
            select(ScorecardLine)
            .where(ScorecardLine.template_id == template.id)
            .order_by(ScorecardLine.position, ScorecardLine.id)
        ):
            lines[line.kpi_id] = line
    for line in session.scalars(
        select(ScorecardLine)
        .where(ScorecardLine.seller_id == seller.id)
        .order_by(ScorecardLine.position, ScorecardLine.id)
    ):
        base = lines.get(line.kpi_id)
        if base is not None:
            merged = ScorecardLine(
                kpi_id=line.kpi_id,
                weight=line.weight if line.weight else base.weight,
                target=line.target if line.target is not None else base.target,
                green_from=line.green_from if line.green_from is not None else base.green_from,
                amber_from=line.amber_from if line.amber_from is not None else base.amber_from,
                position=base.position,
                assigned_by_id=line.assigned_by_id,
                seller_id=seller.id,
            )
            lines[line.kpi_id] = merged
        else:
            lines[line.kpi_id] = line
    return template, list(lines.values())


# --- the card ---------------------------------------------------------------------------


def _history_labels(period: Period) -> list[Period]:
    found = [period]
    while len(found) < SPARKLINE_PERIODS:
        found.insert(0, found[0].previous())
    return found


def seller_scorecard(
    session: Session, *, actor: Actor, seller: Seller, period: Period, today: date | None = None
) -> Scorecard:
    """Return the seller's scorecard for ``period``; refuses a seller the actor may not see."""
    if not actor.can_see_seller(seller):
        raise NotFound(_("There is no seller %(id)s that you may see.", id=seller.external_id))
    sync_builtin_kpis(session)
    template, lines = card_lines(session, seller)
    kpis = {
        k.id: k for k in session.scalars(select(Kpi).where(Kpi.id.in_([ln.kpi_id for ln in lines])))
    }
    versions = Versions.load(session)
    history = _history_labels(period)
    stored = {
        (value.kpi_id, value.period): value.value
        for value in session.scalars(
            select(KpiValue).where(
                KpiValue.subject_kind == SubjectKind.SELLER,
                KpiValue.subject_id == seller.id,
                KpiValue.kpi_id.in_(list(kpis)),
                KpiValue.period.in_([p.label for p in history]),
            )
        )
    }
    allowed = _reporting_line(session, seller)
    today = today or datetime.now(ZoneInfo(get_settings().timezone)).date()
    running = period.contains(today)
    shown: list[CardLine] = []
    for line in lines:
        kpi = kpis[line.kpi_id]
        version = versions.in_force(kpi.id, period.start)
        target = scaled_target(
            line.target if line.target is not None else version.target, kpi, period
        )
        actual = stored.get((kpi.id, period.label))
        card = CardLine(
            kpi=kpi,
            name=display_name(kpi),
            weight=line.weight,
            target=target,
            green_from=line.green_from if line.green_from is not None else version.green_from,
            amber_from=line.amber_from if line.amber_from is not None else version.amber_from,
            actual=actual,
            history=[(p.label, stored.get((kpi.id, p.label))) for p in history],
            imposed=line.assigned_by_id is not None and line.assigned_by_id not in allowed,
        )
        judged_target = target
        if running and target is not None and kpi.time_aggregation == TimeAggregation.SUM:
            # Mid-period, a sum is judged against the share of the target due by today.
            card.expected_by_now = target * period.elapsed_share(today)
            judged_target = card.expected_by_now
        card.attainment = attainment(actual, judged_target, kpi.direction)
        card.light = light(card.attainment, green_from=card.green_from, amber_from=card.amber_from)
        if card.off_track:
            card.decision_rule = display_rule(version)
        shown.append(card)

    level_scores = {
        level: weighted_mean([(ln.weight, ln.attainment) for ln in shown if ln.kpi.level == level])
        for level in LEVELS
    }
    balanced = weighted_mean([(ln.weight, ln.attainment) for ln in shown])
    will, foundation = level_scores[Level.WILL], level_scores[Level.FOUNDATION]
    capacity = None
    weak = False
    if will is not None and foundation is not None:
        # "Half times half is not a whole": the two multiply, they do not average.
        capacity = min(will, 100.0) / 100.0 * min(foundation, 100.0) / 100.0 * 100.0
        weak = will < WEAK_LEVEL or foundation < WEAK_LEVEL
    return Scorecard(
        seller=seller,
        period=period,
        template=template,
        lines=shown,
        level_scores={str(k): v for k, v in level_scores.items()},
        balanced_index=balanced,
        capacity=capacity,
        capacity_weak=weak,
        warnings=card_warnings(shown),
    )


def card_warnings(lines: list[CardLine]) -> list[str]:
    """Return the governance warnings of a card, in words."""
    warnings: list[str] = []
    active = [ln for ln in lines if ln.kpi.status == "active"]
    if len(active) > MAX_ACTIVE_KPIS:
        warnings.append(
            _(
                "%(count)s active KPIs on one card: more than %(limit)s blurs the focus.",
                count=len(active),
                limit=MAX_ACTIVE_KPIS,
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


# --- templates, assignments and targets -------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    """A KPI to put on a card: code, weight, and optionally target and thresholds."""

    kpi: str
    weight: float
    target: float | None = None
    green_from: float | None = None
    amber_from: float | None = None


def _kpi_by_code(session: Session, code: str) -> Kpi:
    kpi = session.scalar(select(Kpi).where(Kpi.code == code))
    if kpi is None:
        raise InvalidInput(_("There is no KPI with the code %(code)s.", code=code), field="kpi")
    return kpi


def save_template(
    session: Session, *, actor: Actor, name: str, lines: list[LineSpec], description: str = ""
) -> ScorecardTemplate:
    """Create or replace the template called ``name`` with ``lines``; leaders and admins only.

    Refuses an unknown KPI, a KPI twice, a negative weight and an amber threshold above
    the green one. Weights not summing to 100 are allowed but warned about on the card.
    """
    actor.require(Role.LEADER)
    sync_builtin_kpis(session)
    if not name.strip():
        raise InvalidInput(_("A template needs a name."), field="name")
    seen: set[str] = set()
    for spec in lines:
        if spec.kpi in seen:
            raise InvalidInput(_("%(code)s is on the template twice.", code=spec.kpi), field="kpi")
        seen.add(spec.kpi)
        if spec.weight < 0:
            raise InvalidInput(_("A weight cannot be negative."), field="weight")
        if (
            spec.green_from is not None
            and spec.amber_from is not None
            and spec.amber_from > spec.green_from
        ):
            raise InvalidInput(
                _("The amber threshold must not be above the green one."), field="amber_from"
            )
    kpis = [_kpi_by_code(session, spec.kpi) for spec in lines]
    template = session.scalar(select(ScorecardTemplate).where(ScorecardTemplate.name == name))
    if template is None:
        template = ScorecardTemplate(name=name, description=description)
        session.add(template)
        session.flush()
    else:
        template.description = description
        session.execute(delete(ScorecardLine).where(ScorecardLine.template_id == template.id))
    for position, (spec, kpi) in enumerate(zip(lines, kpis, strict=True)):
        session.add(
            ScorecardLine(
                template_id=template.id,
                kpi_id=kpi.id,
                weight=spec.weight,
                target=spec.target,
                green_from=spec.green_from,
                amber_from=spec.amber_from,
                position=position,
                assigned_by_id=actor.user.id if actor.user else None,
            )
        )
    audit.record(
        session,
        actor=actor.user,
        action="save",
        entity="scorecard_template",
        entity_id=name,
        after={"lines": [spec.__dict__ for spec in lines]},
    )
    session.flush()
    return template


def assign_template(
    session: Session,
    *,
    actor: Actor,
    template: ScorecardTemplate,
    unit: Unit | None = None,
    seller: Seller | None = None,
) -> ScorecardAssignment:
    """Give ``template`` to a unit (and everyone below it) or to one seller.

    Managers may assign within the units they manage; leaders and admins anywhere.
    """
    if (unit is None) == (seller is None):
        raise InvalidInput(_("Assign a template to a unit or to a seller."), field="unit")
    if unit is not None and not actor.can_manage_unit(unit.id):
        raise Forbidden(_("You may not set the cards of this unit."))
    if seller is not None and not actor.can_manage_seller(seller):
        raise Forbidden(_("You may not set this seller's card."))
    if unit is not None:
        query = select(ScorecardAssignment).where(ScorecardAssignment.unit_id == unit.id)
    else:
        assert seller is not None
        query = select(ScorecardAssignment).where(ScorecardAssignment.seller_id == seller.id)
    assignment = session.scalar(query)
    if assignment is None:
        assignment = ScorecardAssignment(
            unit_id=unit.id if unit else None, seller_id=seller.id if seller else None
        )
        session.add(assignment)
    assignment.template_id = template.id
    assignment.assigned_by_id = actor.user.id if actor.user else None
    audit.record(
        session,
        actor=actor.user,
        action="assign",
        entity="scorecard_template",
        entity_id=template.name,
        after={
            "unit": unit.external_id if unit else None,
            "seller": seller.external_id if seller else None,
        },
    )
    session.flush()
    return assignment


def set_seller_line(
    session: Session, *, actor: Actor, seller: Seller, spec: LineSpec
) -> ScorecardLine:
    """Set a seller's own line: a target or weight for a template KPI, or an individual KPI.

    Refuses a seller the actor may not manage (a seller never sets their own targets).
    """
    if not actor.can_manage_seller(seller):
        raise Forbidden(_("You may not set this seller's targets."))
    kpi = _kpi_by_code(session, spec.kpi)
    line = session.scalar(
        select(ScorecardLine).where(
            ScorecardLine.seller_id == seller.id, ScorecardLine.kpi_id == kpi.id
        )
    )
    if line is None:
        line = ScorecardLine(seller_id=seller.id, kpi_id=kpi.id)
        session.add(line)
    line.weight = spec.weight
    line.target = spec.target
    line.green_from = spec.green_from
    line.amber_from = spec.amber_from
    line.assigned_by_id = actor.user.id if actor.user else None
    audit.record(
        session,
        actor=actor.user,
        action="set_line",
        entity="seller",
        entity_id=seller.external_id,
        after=spec.__dict__,
    )
    session.flush()
    return line


def set_unit_targets(
    session: Session, *, actor: Actor, unit: Unit, kpi_code: str, target: float
) -> int:
    """Give every seller of ``unit`` (and below) the same target for a KPI; return how many.

    Keeps each seller's own weight and thresholds where they have a line already.
    """
    if not actor.can_manage_unit(unit.id):
        raise Forbidden(_("You may not set the targets of this unit."))
    kpi = _kpi_by_code(session, kpi_code)
    units = UnitTree.load(session).subtree(unit.id)
    sellers = list(session.scalars(select(Seller).where(Seller.unit_id.in_(units))))
    changed = 0
    for seller in sellers:
        if seller.id == actor.own_seller_id:
            continue
        line = session.scalar(
            select(ScorecardLine).where(
                ScorecardLine.seller_id == seller.id, ScorecardLine.kpi_id == kpi.id
            )
        )
        if line is None:
            line = ScorecardLine(seller_id=seller.id, kpi_id=kpi.id, weight=0.0)
            session.add(line)
        line.target = target
        line.assigned_by_id = actor.user.id if actor.user else None
        changed += 1
    audit.record(
        session,
        actor=actor.user,
        action="set_targets",
        entity="unit",
        entity_id=unit.external_id,
        after={"kpi": kpi_code, "target": target, "sellers": changed},
    )
    session.flush()
    return changed
