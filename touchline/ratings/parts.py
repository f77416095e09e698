"""What the soft KPIs add to the dashboard and the seller page.

The seller: this week's pulse (three taps), rating rounds and surveys waiting for them,
customer scores to predict. The manager: rating rounds to complete and the team's
energy next to the activity demands on it. The seller page: how the seller sees
themself against how the others see them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller
from touchline.ratings import campaigns, perception, pulse, rounds, seller_surveys
from touchline.web.parts import Part


def dashboard_parts(session: Session, actor: Actor) -> list[Part]:
    """Return the pulse, the waiting ratings and surveys, and the team energy."""
    parts: list[Part] = []
    if actor.own_seller_id is not None:
        week = pulse.current_week()
        answer = pulse.answer_of_week(session, seller_id=actor.own_seller_id, week=week)
        parts.append(
            Part("top", "ratings/_dashboard_pulse.html", {"week": week, "answer": answer}, 10)
        )
    mine, team = rounds.waiting_for(session, actor=actor)
    surveys = seller_surveys.surveys_waiting(session, actor=actor)
    predictions = [
        item
        for item in campaigns.invitations_to_predict(session, actor=actor)
        if item[0].answered_at is None and item[0].predicted_score is None
    ]
    if mine or surveys or predictions:
        parts.append(
            Part(
                "seller",
                "ratings/_dashboard_waiting.html",
                {"rounds": mine, "surveys": surveys, "predictions": len(predictions)},
                30,
            )
        )
    if team:
        views = [rounds.round_view(session, actor=actor, rating_round=item) for item in team]
        parts.append(Part("manager", "ratings/_dashboard_rounds.html", {"rounds": views}, 40))
    if not actor.sees_all:
        for index in pulse.units_to_watch(session, actor=actor):
            parts.append(Part("manager", "ratings/_dashboard_energy.html", {"index": index}, 50))
    return parts


def seller_page_parts(session: Session, actor: Actor, seller: Seller) -> list[Part]:
    """Return the seller's perception gaps for the running quarter, or for the quarter
    before while the running one has no ratings yet."""
    found = perception.seller_perception(
        session, actor=actor, seller=seller, period=current_quarter()
    )
    if not found.gaps:
        earlier = perception.seller_perception(
            session, actor=actor, seller=seller, period=current_quarter().previous()
        )
        if earlier.gaps:
            found = earlier
    return [Part("main", "ratings/_seller_perception.html", {"perception": found}, 20)]
