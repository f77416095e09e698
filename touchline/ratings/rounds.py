"""Rating rounds: the seller and the manager rate the same soft KPIs independently.

A round covers soft KPIs x the active sellers of a unit x a period. Each seller rates
themself; their manager rates them. Neither sees the other's rating of a seller, by any
route, until both have submitted it or the round is closed: until then the ratings are
stored hidden and count in no figure. Once revealed they appear side by side with the
gap, feed the soft KPIs, and are final.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor, UnitTree
from touchline.config import get_settings
from touchline.crm.models import RatingRecord
from touchline.db import utcnow
from touchline.errors import Conflict, Forbidden, InvalidInput, NotFound
from touchline.i18n import gettext as _
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodError, parse_period
from touchline.ratings.models import Origin, RatingRound, RoundSeller, RoundStatus
from touchline.ratings.refreshing import refresh_spans
from touchline.ratings.scales import RatedKpi, check_score, rated_kpis

# A self-rating this far from the manager's (in scale points) is a gap worth talking about.
NOTABLE_GAP = 1.0


def _period(label: str) -> Period:
    try:
        return parse_period(label, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        raise InvalidInput(str(error), field="period") from None


def create_round(
    session: Session,
    *,
    actor: Actor,
    name: str,
    period: str,
    unit: Unit,
    kpi_codes: list[str],
    due_date: date | None = None,
) -> RatingRound:
    """Open a round for the active sellers of ``unit`` and below (not the actor).

    Managers open rounds for the units they manage, leaders and admins for any. Refuses a
    blank name, a bad period label, no KPI or one not rated on a scale, and a unit with no
    seller to rate.
    """
    if not (actor.at_least(Role.MANAGER) and actor.can_manage_unit(unit.id)):
        raise Forbidden(_("You may not open a rating round for this unit."))
    if not name.strip():
        raise InvalidInput(_("A rating round needs a name."), field="name")
    chosen = _period(period)
    if not kpi_codes:
        raise InvalidInput(_("Choose at least one KPI to rate."), field="kpis")
    rated = rated_kpis(session, list(dict.fromkeys(kpi_codes)))
    below = UnitTree.load(session).subtree(unit.id)
    sellers = list(
        session.scalars(
            select(Seller)
            .where(Seller.unit_id.in_(sorted(below)), Seller.active)
            .order_by(Seller.name)
        )
    )
    sellers = [seller for seller in sellers if seller.id != actor.own_seller_id]
    if not sellers:
        raise InvalidInput(_("There is no seller to rate in this unit."), field="unit")
    rating_round = RatingRound(
        name=name.strip(),
        period=chosen.label,
        unit_id=unit.id,
        kpi_codes=[item.kpi.code for item in rated],
        status=RoundStatus.OPEN,
        due_date=due_date,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(rating_round)
    session.flush()
    session.add_all(RoundSeller(round_id=rating_round.id, seller_id=s.id) for s in sellers)
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="rating_round",
        entity_id=str(rating_round.id),
        after={
            "name": rating_round.name,
            "period": rating_round.period,
            "unit": unit.external_id,
            "kpis": rating_round.kpi_codes,
            "sellers": len(sellers),
        },
    )
    session.flush()
    return rating_round


def visible_rounds(session: Session, *, actor: Actor) -> list[RatingRound]:
    """Return the rounds the actor takes part in or oversees, newest first.

    Leaders and admins see every round; managers the rounds of units they manage; a
    seller the rounds that rate them.
    """
    query = select(RatingRound).order_by(RatingRound.created_at.desc(), RatingRound.id.desc())
    if actor.sees_all:
        return list(session.scalars(query))
    conditions = []
    if actor.managed_unit_ids:
        conditions.append(RatingRound.unit_id.in_(sorted(actor.managed_unit_ids)))
    if actor.own_seller_id is not None:
        conditions.append(
            RatingRound.id.in_(
                select(RoundSeller.round_id).where(RoundSeller.seller_id == actor.own_seller_id)
            )
        )
    if not conditions:
        return []
    return list(session.scalars(query.where(or_(*conditions))))


def get_round(session: Session, *, actor: Actor, round_id: int) -> RatingRound:
    """Return the round ``round_id``; NotFound when it is not one the actor may see."""
    for rating_round in visible_rounds(session, actor=actor):
        if rating_round.id == round_id:
            return rating_round
    raise NotFound(_("There is no rating round %(id)s that you may see.", id=round_id))


@dataclass
class SellerInRound:
    """One seller of a round as the viewer may see it."""

    seller: Seller
    self_submitted: bool
    manager_submitted: bool
    revealed: bool
    # Scores and comments by KPI code; None when the viewer may not see that side yet.
    self_scores: dict[str, float] | None = None
    manager_scores: dict[str, float] | None = None
    self_comments: dict[str, str] = field(default_factory=dict)
    manager_comments: dict[str, str] = field(default_factory=dict)
    may_rate_as: str | None = None  # "self" or "manager" while the viewer may still rate

    def gap(self, code: str) -> float | None:
        """The self-rating minus the manager's, once both are visible."""
        if self.self_scores is None or self.manager_scores is None:
            return None
        if code not in self.self_scores or code not in self.manager_scores:
            return None
        return self.self_scores[code] - self.manager_scores[code]

    def notable(self, code: str) -> bool:
        gap = self.gap(code)
        return gap is not None and abs(gap) >= NOTABLE_GAP


@dataclass
class RoundView:
    """A round with its KPIs and the sellers the viewer may see in it."""

    round: RatingRound
    unit: Unit
    kpis: list[RatedKpi]
    sellers: list[SellerInRound]

    @property
    def open(self) -> bool:
        return self.round.status == RoundStatus.OPEN

    @property
    def progress(self) -> tuple[int, int, int]:
        """How many sellers have rated themselves, been rated, and are revealed."""
        return (
            sum(s.self_submitted for s in self.sellers),
            sum(s.manager_submitted for s in self.sellers),
            sum(s.revealed for s in self.sellers),
        )


def _role_for(actor: Actor, seller: Seller) -> str | None:
    if actor.own_seller_id == seller.id:
        return "self"
    if actor.can_manage_seller(seller):
        return "manager"
    return None


def round_view(session: Session, *, actor: Actor, rating_round: RatingRound) -> RoundView:
    """Return the round as ``actor`` may see it.

    A seller sees only their own line; a manager every seller they manage. Before a
    seller's ratings are revealed, each side is shown only to the person who gave it;
    everyone who may see the seller sees both once revealed.
    """
    unit = session.get(Unit, rating_round.unit_id)
    assert unit is not None
    entries = list(
        session.execute(
            select(RoundSeller, Seller)
            .join(Seller, Seller.id == RoundSeller.seller_id)
            .where(RoundSeller.round_id == rating_round.id)
            .order_by(Seller.name)
        )
    )
    shown = [(entry, seller) for entry, seller in entries if actor.can_see_seller(seller)]
    records = list(
        session.scalars(
            select(RatingRecord).where(
                RatingRecord.round_id == rating_round.id,
                RatingRecord.seller_id.in_([seller.id for _entry, seller in shown]),
            )
        )
    )
    by_seller: dict[int, list[RatingRecord]] = {}
    for record in records:
        by_seller.setdefault(record.seller_id, []).append(record)
    open_round = rating_round.status == RoundStatus.OPEN
    sellers = []
    for entry, seller in shown:
        revealed = entry.revealed_at is not None
        role = _role_for(actor, seller)
        line = SellerInRound(
            seller=seller,
            self_submitted=entry.self_submitted_at is not None,
            manager_submitted=entry.manager_submitted_at is not None,
            revealed=revealed,
            may_rate_as=role if open_round and not revealed else None,
        )
        viewer = actor.user.id if actor.user else None
        for side in ("self", "manager"):
            given = [r for r in by_seller.get(seller.id, []) if r.rater_role == side]
            # Before the reveal a side is shown to the person who gave it, and nobody else.
            mine = given if revealed else [r for r in given if r.rater_user_id == viewer]
            if not mine or (not revealed and viewer is None):
                continue
            scores = {r.kpi: r.score for r in mine}
            comments = {r.kpi: r.comment for r in mine if r.comment}
            if side == "self":
                line.self_scores, line.self_comments = scores, comments
            else:
                line.manager_scores, line.manager_comments = scores, comments
        sellers.append(line)
    return RoundView(rating_round, unit, rated_kpis(session, rating_round.kpi_codes), sellers)


def submit_ratings(
    session: Session,
    *,
    actor: Actor,
    rating_round: RatingRound,
    seller: Seller,
    scores: dict[str, float | None],
    comments: dict[str, str] | None = None,
) -> RoundSeller:
    """Store the actor's rating of ``seller`` in the round: their self-rating, or their
    rating as the seller's manager. Replaces what the actor submitted before, until both
    sides are in; then both are revealed, count in the soft KPIs and are final.

    Refuses a closed round, a seller outside the round or the actor's reach, a KPI of the
    round left unrated, a KPI not in the round, and a score off the KPI's scale; nothing
    is stored then.
    """
    role = _role_for(actor, seller)
    if role is None:
        raise NotFound(_("There is no seller %(id)s that you may rate.", id=seller.external_id))
    if rating_round.status != RoundStatus.OPEN:
        raise Conflict(_("This rating round is closed: its ratings are final."))
    entry = session.scalar(
        select(RoundSeller).where(
            RoundSeller.round_id == rating_round.id, RoundSeller.seller_id == seller.id
        )
    )
    if entry is None:
        raise NotFound(_("%(name)s is not rated in this round.", name=seller.name), field="seller")
    if entry.revealed_at is not None:
        raise Conflict(
            _("Both ratings of %(name)s are in and shown: they are final.", name=seller.name)
        )
    rated = {item.kpi.code: item for item in rated_kpis(session, rating_round.kpi_codes)}
    extra = sorted(set(scores) - set(rated))
    if extra:
        raise InvalidInput(
            _("%(code)s is not rated in this round.", code=", ".join(extra)), field="scores"
        )
    checked: dict[str, float] = {}
    for code, item in rated.items():
        value = scores.get(code)
        if value is None:
            raise InvalidInput(
                _("Rate %(kpi)s too: every KPI of the round needs a score.", kpi=item.name),
                field=f"score_{code}",
            )
        checked[code] = check_score(item, float(value), field=f"score_{code}")
    session.execute(
        delete(RatingRecord).where(
            RatingRecord.round_id == rating_round.id,
            RatingRecord.seller_id == seller.id,
            RatingRecord.rater_role == role,
        )
    )
    rater = None
    if actor.own_seller_id is not None:
        rater = session.scalar(select(Seller.external_id).where(Seller.id == actor.own_seller_id))
    now = utcnow()
    for code, value in checked.items():
        text = ((comments or {}).get(code) or "").strip()
        session.add(
            RatingRecord(
                external_id=None,
                kpi=code,
                seller_id=seller.id,
                rater_role=role,
                period=rating_round.period,
                score=value,
                rater_id=rater or (actor.user.email if actor.user else None),
                comment=text[:5000] or None,
                origin=Origin.ROUND,
                hidden=True,
                round_id=rating_round.id,
                rater_user_id=actor.user.id if actor.user else None,
                created_at=now,
            )
        )
    if role == "self":
        entry.self_submitted_at = now
    else:
        entry.manager_submitted_at = now
        entry.manager_user_id = actor.user.id if actor.user else None
    # The audit log keeps who rated when, not the scores: they stay blind until revealed.
    audit.record(
        session,
        actor=actor.user,
        action=f"rate_{role}",
        entity="rating_round",
        entity_id=str(rating_round.id),
        after={"seller": seller.external_id, "kpis": sorted(checked)},
    )
    session.flush()
    if entry.self_submitted_at is not None and entry.manager_submitted_at is not None:
        _reveal(session, rating_round, [entry])
        audit.record(
            session,
            actor=actor.user,
            action="reveal",
            entity="rating_round",
            entity_id=str(rating_round.id),
            after={"seller": seller.external_id, "scores": _scores(session, rating_round, seller)},
        )
        _refresh(session, rating_round)
    return entry


def _scores(session: Session, rating_round: RatingRound, seller: Seller) -> dict[str, float]:
    return {
        f"{role}:{kpi}": score
        for role, kpi, score in session.execute(
            select(RatingRecord.rater_role, RatingRecord.kpi, RatingRecord.score).where(
                RatingRecord.round_id == rating_round.id, RatingRecord.seller_id == seller.id
            )
        )
    }


def _reveal(session: Session, rating_round: RatingRound, entries: list[RoundSeller]) -> None:
    if not entries:
        return
    now = utcnow()
    session.execute(
        update(RatingRecord)
        .where(
            RatingRecord.round_id == rating_round.id,
            RatingRecord.seller_id.in_([entry.seller_id for entry in entries]),
        )
        .values(hidden=False)
    )
    for entry in entries:
        entry.revealed_at = now
    session.flush()


def _refresh(session: Session, rating_round: RatingRound) -> None:
    period = _period(rating_round.period)
    refresh_spans(session, spans=[(period.start, period.end)], trigger="rating round")


def close_round(session: Session, *, actor: Actor, rating_round: RatingRound) -> int:
    """Close the round: every rating submitted so far is revealed, counts in the soft
    KPIs and is final, even where the other side never rated. Returns how many sellers'
    ratings were revealed now. The round's manager (or a leader) only."""
    if not (actor.at_least(Role.MANAGER) and actor.can_manage_unit(rating_round.unit_id)):
        raise Forbidden(_("You may not close this rating round."))
    if rating_round.status != RoundStatus.OPEN:
        raise Conflict(_("This rating round is closed: its ratings are final."))
    waiting = list(
        session.scalars(
            select(RoundSeller).where(
                RoundSeller.round_id == rating_round.id,
                RoundSeller.revealed_at.is_(None),
                (RoundSeller.self_submitted_at.is_not(None))
                | (RoundSeller.manager_submitted_at.is_not(None)),
            )
        )
    )
    _reveal(session, rating_round, waiting)
    rating_round.status = RoundStatus.CLOSED
    rating_round.closed_at = utcnow()
    audit.record(
        session,
        actor=actor.user,
        action="close",
        entity="rating_round",
        entity_id=str(rating_round.id),
        after={"revealed": len(waiting)},
    )
    session.flush()
    _refresh(session, rating_round)
    return len(waiting)


def close_rounds_due(session: Session, *, actor: Actor, today: date) -> list[RatingRound]:
    """Close every open round whose due date has passed; return them (for a nightly job)."""
    due = list(
        session.scalars(
            select(RatingRound).where(
                RatingRound.status == RoundStatus.OPEN,
                RatingRound.due_date.is_not(None),
                RatingRound.due_date < today,
            )
        )
    )
    for rating_round in due:
        close_round(session, actor=actor, rating_round=rating_round)
    return due


def waiting_for(session: Session, *, actor: Actor) -> tuple[list[RatingRound], list[RatingRound]]:
    """Return the open rounds waiting for the actor's self-rating, and those where sellers
    they manage still wait for their rating."""
    mine: list[RatingRound] = []
    if actor.own_seller_id is not None:
        mine = list(
            session.scalars(
                select(RatingRound)
                .join(RoundSeller, RoundSeller.round_id == RatingRound.id)
                .where(
                    RatingRound.status == RoundStatus.OPEN,
                    RoundSeller.seller_id == actor.own_seller_id,
                    RoundSeller.self_submitted_at.is_(None),
                )
                .order_by(RatingRound.due_date)
            )
        )
    team: list[RatingRound] = []
    if actor.managed_unit_ids and not actor.sees_all:
        team = list(
            session.scalars(
                select(RatingRound)
                .where(
                    RatingRound.status == RoundStatus.OPEN,
                    RatingRound.unit_id.in_(sorted(actor.managed_unit_ids)),
                    RatingRound.id.in_(
                        select(RoundSeller.round_id).where(
                            RoundSeller.manager_submitted_at.is_(None)
                        )
                    ),
                )
                .order_by(RatingRound.due_date)
            )
        )
    return mine, team


def hidden_count(session: Session, rating_round: RatingRound) -> int:
    """How many ratings of the round are still hidden (for the audit and the tests)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(RatingRecord)
            .where(RatingRecord.round_id == rating_round.id, RatingRecord.hidden != false())
        )
        or 0
    )
