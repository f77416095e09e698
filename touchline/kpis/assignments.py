"""Scorecard templates, their assignment to units and sellers, and targets.

Leaders shape the templates; managers assign them within the units they manage and set
targets, for one seller or a whole unit at once. Every change is in the audit log, with
who made it, so a KPI set from outside a seller's reporting line shows on the card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.errors import Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.kpis.catalogue import effective_date, sync_builtin_kpis
from touchline.kpis.models import Kpi, ScorecardAssignment, ScorecardLine, ScorecardTemplate
from touchline.org.models import Seller, Unit
from touchline.org.periods import PeriodKind, period_containing


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


def from_day(label: str | None) -> date:
    """Return the first day a target applies from: the period ``label`` names, or else the
    running fiscal quarter, so a target set today leaves earlier periods as they were.

    Refuses a label that names no period.
    """
    if label:
        return effective_date(label)
    settings = get_settings()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return period_containing(
        today, PeriodKind.QUARTER, fiscal_start_month=settings.fiscal_year_start_month
    ).start


def _seller_line(session: Session, seller: Seller, kpi: Kpi, starts: date) -> ScorecardLine:
    """Return the seller's line for ``kpi`` from ``starts``, adding one if missing.

    A new line starts as a copy of the line in force before it (or empty, weight 0), so
    setting only a target keeps the seller's weight and thresholds.
    """
    lines = list(
        session.scalars(
            select(ScorecardLine)
            .where(ScorecardLine.seller_id == seller.id, ScorecardLine.kpi_id == kpi.id)
            .order_by(ScorecardLine.effective_from)
        )
    )
    for line in lines:
        if line.effective_from == starts:
            return line
    before = [line for line in lines if line.effective_from < starts]
    previous = before[-1] if before else None
    line = ScorecardLine(
        seller_id=seller.id,
        kpi_id=kpi.id,
        effective_from=starts,
        weight=previous.weight if previous else 0.0,
        target=previous.target if previous else None,
        green_from=previous.green_from if previous else None,
        amber_from=previous.amber_from if previous else None,
        position=previous.position if previous else 0,
    )
    session.add(line)
    return line


def set_seller_line(
    session: Session,
    *,
    actor: Actor,
    seller: Seller,
    spec: LineSpec,
    effective_from: str | None = None,
) -> ScorecardLine:
    """Set a seller's own line from a period on: a target or weight for a template KPI,
    or an individual KPI. Without ``effective_from`` it applies from the running quarter.

    Refuses a seller the actor may not manage (a seller never sets their own targets)
    and a label that names no period.
    """
    if not actor.can_manage_seller(seller):
        raise Forbidden(_("You may not set this seller's targets."))
    kpi = _kpi_by_code(session, spec.kpi)
    starts = from_day(effective_from)
    line = _seller_line(session, seller, kpi, starts)
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
        after={**spec.__dict__, "effective_from": starts.isoformat()},
    )
    session.flush()
    return line


def set_unit_targets(
    session: Session,
    *,
    actor: Actor,
    unit: Unit,
    kpi_code: str,
    target: float,
    effective_from: str | None = None,
) -> int:
    """Give every seller of ``unit`` (and below) the same target for a KPI from a period
    on (the running quarter without ``effective_from``); return how many sellers.

    Keeps each seller's own weight and thresholds where they have a line already.
    """
    if not actor.can_manage_unit(unit.id):
        raise Forbidden(_("You may not set the targets of this unit."))
    kpi = _kpi_by_code(session, kpi_code)
    starts = from_day(effective_from)
    units = UnitTree.load(session).subtree(unit.id)
    sellers = list(session.scalars(select(Seller).where(Seller.unit_id.in_(units))))
    changed = 0
    for seller in sellers:
        if seller.id == actor.own_seller_id:
            continue
        line = _seller_line(session, seller, kpi, starts)
        line.target = target
        line.assigned_by_id = actor.user.id if actor.user else None
        changed += 1
    audit.record(
        session,
        actor=actor.user,
        action="set_targets",
        entity="unit",
        entity_id=unit.external_id,
        after={
            "kpi": kpi_code,
            "target": target,
            "sellers": changed,
            "effective_from": starts.isoformat(),
        },
    )
    session.flush()
    return changed


def get_template(session: Session, name: str) -> ScorecardTemplate:
    """Return the template called ``name``; refuses an unknown one with NotFound."""
    template = session.scalar(select(ScorecardTemplate).where(ScorecardTemplate.name == name))
    if template is None:
        raise NotFound(_("There is no scorecard template %(name)s.", name=name), field="template")
    return template


def template_lines(session: Session) -> dict[int, list[ScorecardLine]]:
    """Return every template's lines in order, by template id."""
    found: dict[int, list[ScorecardLine]] = {}
    for line in session.scalars(
        select(ScorecardLine)
        .where(ScorecardLine.template_id.is_not(None))
        .order_by(ScorecardLine.position, ScorecardLine.id)
    ):
        assert line.template_id is not None
        found.setdefault(line.template_id, []).append(line)
    return found


def assignment_labels(session: Session) -> dict[int, list[str]]:
    """Return, by template id, the names of the units and sellers it is assigned to."""
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    sellers = dict(session.execute(select(Seller.id, Seller.name)).all())
    found: dict[int, list[str]] = {}
    for assignment in session.scalars(select(ScorecardAssignment).order_by(ScorecardAssignment.id)):
        label = (
            units.get(assignment.unit_id, "?")
            if assignment.unit_id is not None
            else sellers.get(assignment.seller_id or 0, "?")
        )
        found.setdefault(assignment.template_id, []).append(label)
    return found
