"""The demo company's soft KPIs in use: a rating round, survey campaigns, a seller survey,
and the Bergen team's activity targets raised while its energy sinks.

The imported ratings give every seller soft KPI values from several voices; this adds
what a sales organisation in the middle of a quarter looks like in Touchline: the
København team's rating round half done (some sellers revealed, some waiting for their
manager), a customer campaign with answers and the sellers' predictions, a peer
campaign, and a Foundation survey of Norway's sellers. Everything goes through the
ratings services, as a person's clicks would; the KPI periods are recomputed once.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from touchline.auth.models import User
from touchline.auth.policy import SYSTEM, Actor, actor_for
from touchline.config import get_settings
from touchline.crm.models import Account
from touchline.kpis.assignments import LineSpec, set_seller_line
from touchline.kpis.compute import company_today
from touchline.kpis.models import Kpi, ScorecardLine
from touchline.org.models import Seller, Unit
from touchline.org.periods import PeriodKind, period_containing
from touchline.ratings import answers, campaigns, rounds, seller_surveys
from touchline.ratings.refreshing import deferred
from touchline.ratings.scales import sync_builtin_scales

ROUND_TEAM = "T-DK-KOB"
ENERGY_TEAM = "T-NO-BER"
SURVEY_REGION = "R-NO"
ROUND_KPIS = ["objection_handling", "needs_discovery", "best_practice"]
# The Bergen team's activity targets over the last three months: up by this much each.
TARGET_STEPS = (1.15, 1.3, 1.45)


def _or_first(units: dict[str, Unit], wanted: str, kind: str, *, avoid: str = "") -> Unit:
    """Return the unit ``wanted`` or, in a company without it (the medium and large sizes
    number their teams), the first unit of ``kind`` in the same country, then any."""
    if wanted in units:
        return units[wanted]
    country = wanted.split("-")[1]
    of_kind = [u for key, u in sorted(units.items()) if u.kind == kind and key != avoid]
    same_country = [u for u in of_kind if u.external_id.split("-")[1:2] == [country]]
    return (same_country or of_kind)[0]


def build_ratings(
    session: Session, *, today: date, seed: int = 7, energy_team: str = ENERGY_TEAM
) -> dict[str, int]:
    """Add the demo's rating round, campaigns, seller survey and rising targets of the
    team losing energy (``energy_team``, Bergen at the small size); return how many of
    each were made."""
    rng = np.random.default_rng(seed + 1009)
    sync_builtin_scales(session)
    units = {unit.external_id: unit for unit in session.scalars(select(Unit))}
    made: dict[str, int] = {}
    made["raised_targets"] = _raise_targets(session, _or_first(units, energy_team, "team"), today)
    quarter = period_containing(
        today, PeriodKind.QUARTER, fiscal_start_month=get_settings().fiscal_year_start_month
    )
    team = _or_first(units, ROUND_TEAM, "team", avoid=energy_team)
    manager_user = session.scalar(select(User).where(User.seller_id == team.manager_id))
    if manager_user is None:
        return made
    manager = actor_for(session, manager_user)
    with deferred(session, trigger="demo"):
        made |= _round(session, manager, team, quarter.label, today, rng)
        made |= _customer_campaign(session, manager, team, quarter.label, rng)
        made |= _peer_campaign(session, manager, team, quarter.label, rng)
        made |= _seller_survey(
            session, _or_first(units, SURVEY_REGION, "region"), quarter.label, rng
        )
    return made


def _raise_targets(session: Session, team: Unit, today: date) -> int:
    """Give the team's sellers rising targets for every activity KPI that adds up."""
    start_month = get_settings().fiscal_year_start_month
    month = period_containing(today, PeriodKind.MONTH, fiscal_start_month=start_month)
    months = [month.previous().previous(), month.previous(), month]
    sellers = list(
        session.scalars(
            select(Seller).where(Seller.unit_id == team.id, Seller.active).order_by(Seller.id)
        )
    )
    template_lines = list(
        session.scalars(select(ScorecardLine).where(ScorecardLine.template_id.is_not(None)))
    )
    raised = 0
    for line in template_lines:
        kpi = session.get(Kpi, line.kpi_id)
        if kpi is None or kpi.level != "activity" or kpi.time_aggregation != "sum":
            continue
        if line.target is None:
            continue
        for seller in sellers:
            if seller.id == team.manager_id:
                continue
            for period, step in zip(months, TARGET_STEPS, strict=True):
                set_seller_line(
                    session,
                    actor=SYSTEM,
                    seller=seller,
                    spec=LineSpec(kpi.code, 0.0, round(line.target * step)),
                    effective_from=period.label,
                )
                raised += 1
    return raised


def _team_sellers(session: Session, team: Unit) -> list[Seller]:
    return list(
        session.scalars(
            select(Seller)
            .where(Seller.unit_id == team.id, Seller.active, Seller.id != team.manager_id)
            .order_by(Seller.external_id)
        )
    )


def _actor_of(session: Session, seller: Seller | None) -> Actor | None:
    if seller is None:
        return None
    user = session.scalar(select(User).where(User.seller_id == seller.id))
    return actor_for(session, user) if user is not None else None


def _round(
    session: Session,
    manager: Actor,
    team: Unit,
    period: str,
    today: date,
    rng: np.random.Generator,
) -> dict[str, int]:
    rating_round = rounds.create_round(
        session,
        actor=manager,
        name="Coaching round",
        period=period,
        unit=team,
        kpi_codes=ROUND_KPIS,
        due_date=company_today() + timedelta(days=14),
    )
    sellers = _team_sellers(session, team)
    for position, seller in enumerate(sellers):
        own = _actor_of(session, seller)
        base = float(np.clip(rng.normal(3.3, 0.6), 1.5, 4.6))
        # Two of three sellers have rated themselves; the manager has rated half the team.
        if own is not None and position % 3 != 2:
            rounds.submit_ratings(
                session,
                actor=own,
                rating_round=rating_round,
                seller=seller,
                scores={code: _score(base + 0.4, rng) for code in ROUND_KPIS},
            )
        if position % 2 == 0:
            rounds.submit_ratings(
                session,
                actor=manager,
                rating_round=rating_round,
                seller=seller,
                scores={code: _score(base, rng) for code in ROUND_KPIS},
                comments={ROUND_KPIS[0]: "Seen in two joint meetings this quarter."},
            )
    return {"rating_rounds": 1}


def _score(centre: float, rng: np.random.Generator) -> float:
    return float(np.clip(round(centre + rng.normal(0, 0.5)), 1, 5))


def _customer_campaign(
    session: Session, manager: Actor, team: Unit, period: str, rng: np.random.Generator
) -> dict[str, int]:
    campaign = campaigns.create_campaign(
        session,
        actor=manager,
        name="Customer voice",
        kind="customer",
        period=period,
        unit=team,
        kpi_codes=["first_impression", "needs_discovery"],
        customer_status="existing",
        message="Thank you for working with Nordlys this year.",
    )
    sellers = _team_sellers(session, team)
    contacts: list[campaigns.Contact] = []
    line = 2
    for seller in sellers:
        accounts = list(
            session.scalars(
                select(Account)
                .where(Account.territory_id == seller.territory_id)
                .order_by(Account.external_id)
                .limit(24)
            )
        )
        statuses = campaigns.customer_statuses(session, [a.id for a in accounts])
        existing = [a for a in accounts if statuses[a.id] == "existing"][:4]
        for account in existing:
            contacts.append(
                campaigns.Contact(
                    line=line,
                    seller=seller.external_id,
                    name=f"Buyer at {account.name}",
                    email=f"buyer.{account.external_id.lower()}@customer.example",
                    account=account.external_id,
                    language="da",
                )
            )
            line += 1
    added = campaigns.add_contacts(session, actor=manager, campaign=campaign, contacts=contacts)
    answered = 0
    for position, link in enumerate(added.links):
        seller_actor = _actor_of(session, session.get(Seller, link.invitation.seller_id))
        if seller_actor is not None and position % 4 != 3:
            answers.predict_score(
                session,
                actor=seller_actor,
                invitation_id=link.invitation.id,
                predicted=int(np.clip(round(rng.normal(7.5, 1.2)), 0, 10)),
            )
        if position % 3 != 2:
            token = link.url.rsplit("/", 1)[-1]
            answers.answer_survey(
                session,
                token=token,
                score=int(np.clip(round(rng.normal(7.0, 1.5)), 0, 10)),
                ratings={
                    "first_impression": _score(3.4, rng),
                    "needs_discovery": _score(3.2, rng),
                },
                comment="",
            )
            answered += 1
    return {"customer_invitations": len(added.links), "customer_answers": answered}


def _peer_campaign(
    session: Session, manager: Actor, team: Unit, period: str, rng: np.random.Generator
) -> dict[str, int]:
    campaign = campaigns.create_campaign(
        session,
        actor=manager,
        name="Peer feedback",
        kind="peer",
        period=period,
        unit=team,
        kpi_codes=["collaboration", "best_practice"],
    )
    added = campaigns.add_peers(session, actor=manager, campaign=campaign)
    answered = 0
    for position, link in enumerate(added.links):
        if position % 2 == 0:
            answers.answer_survey(
                session,
                token=link.url.rsplit("/", 1)[-1],
                score=None,
                ratings={"collaboration": _score(3.5, rng), "best_practice": _score(3.1, rng)},
            )
            answered += 1
    return {"peer_invitations": len(added.links), "peer_answers": answered}


def _seller_survey(
    session: Session, region: Unit, period: str, rng: np.random.Generator
) -> dict[str, int]:
    head = session.scalar(select(User).where(User.seller_id == region.manager_id))
    if head is None:
        return {}
    survey = seller_surveys.create_seller_survey(
        session, actor=actor_for(session, head), name="Foundation check", period=period, unit=region
    )
    answered = 0
    below = [region.id, *session.scalars(select(Unit.id).where(Unit.parent_id == region.id))]
    sellers = list(
        session.scalars(
            select(Seller).where(Seller.unit_id.in_(below), Seller.active).order_by(Seller.id)
        )
    )
    for position, seller in enumerate(sellers):
        own = _actor_of(session, seller)
        if own is None or position % 5 == 4:
            continue
        seller_surveys.answer_seller_survey(
            session,
            actor=own,
            survey=survey,
            scores={
                "foundation_tools": _score(3.0, rng),
                "foundation_time": _score(2.6, rng),
                "foundation_knowledge": _score(3.6, rng),
                "foundation_resources": _score(3.2, rng),
            },
        )
        answered += 1
    return {"seller_surveys": 1, "seller_survey_answers": answered}
