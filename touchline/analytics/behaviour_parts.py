"""What the success behaviours and the training plan add to the shared pages: the
manager's team training plan and, for leaders, the top success behaviours and the plan
across units on the dashboard; a seller's own training needs on their page.

Both read the training plan in force (``training.plan_in_force``) and the success
behaviours of its period; nothing shows before the analyses have run.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from touchline.analytics.behaviour_service import behaviour_report
from touchline.analytics.training import plan_in_force
from touchline.analytics.training_service import seller_needs, training_view
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.coaching.access import today
from touchline.org.models import Seller
from touchline.web.parts import Part

# Success behaviours the leader's dashboard names.
SHOWN = 3


def dashboard_parts(session: Session, actor: Actor) -> list[Part]:
    """Return the team's training plan for a manager, and the top success behaviours with
    the plan across units for a leader."""
    if not actor.at_least(Role.MANAGER):
        return []
    found = plan_in_force(session, today())
    if found is None:
        return []
    period = found[0]
    view = training_view(session, actor=actor, period=period)
    if not actor.sees_all:
        if not view.units:
            return []
        return [Part("manager", "analytics/_dashboard_training.html", {"view": view}, 60)]
    report = behaviour_report(session, actor=actor, period=period)
    return [
        Part(
            "leader",
            "analytics/_dashboard_behaviours.html",
            {"report": report, "view": view, "shown": report.successes[:SHOWN]},
            20,
        )
    ]


def seller_page_parts(session: Session, actor: Actor, seller: Seller) -> list[Part]:
    """Return the seller's training needs in the plan in force, when they have any."""
    found = seller_needs(session, actor=actor, seller=seller, today=today())
    if found is None or not found[1]:
        return []
    period, needs = found
    context = {
        "seller": seller,
        "period": period,
        "needs": needs,
        "may_plan": actor.at_least(Role.MANAGER),
    }
    return [Part("main", "analytics/_seller_training.html", context, 40)]
