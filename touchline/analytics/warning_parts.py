"""What the early warnings, the recognition and the funnel add to the shared pages.

The seller's dashboard: pace to period end and their trend next to their scorecard,
and their progress against their own baseline. The manager's dashboard: the warnings
with their decision rule, each one click from the seller, and per unit the recognised
sellers next to the top results. The seller page: the same pace, trend and progress,
and a link to the seller's funnel. All read the running quarter's stored analyses.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from touchline.analytics import recognition, warning_views
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.kpis.catalogue import display_name
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller
from touchline.web.parts import Part

WARNINGS_SHOWN = 8


def dashboard_parts(session: Session, actor: Actor) -> list[Part]:
    """Return the seller's pace and progress, and the manager's warnings and recognition."""
    period = current_quarter()
    parts: list[Part] = []
    me = session.get(Seller, actor.own_seller_id) if actor.own_seller_id is not None else None
    if me is not None:
        pace = warning_views.seller_pace(session, actor=actor, seller=me, period=period)
        progress = recognition.seller_progress(session, actor=actor, seller=me, period=period)
        if pace.lines or (progress is not None and progress.progress):
            parts.append(
                Part(
                    "seller",
                    "analytics/_my_pace.html",
                    {
                        "pace": pace,
                        "progress": progress,
                        "seller": me,
                        "kpi_name": display_name,
                        "method_label": warning_views.method_label,
                    },
                    15,
                )
            )
    if actor.at_least(Role.MANAGER):
        view = warning_views.warnings_view(session, actor=actor, period=period)
        if view.computed:
            parts.append(
                Part(
                    "manager",
                    "analytics/_dashboard_warnings.html",
                    {
                        "view": view,
                        "shown": view.rows[:WARNINGS_SHOWN],
                        "more": max(len(view.rows) - WARNINGS_SHOWN, 0),
                        "kind_label": warning_views.kind_label,
                    },
                    35,
                )
            )
        found = recognition.recognition_view(session, actor=actor, period=period)
        if found.computed and found.units:
            parts.append(
                Part(
                    "manager",
                    "analytics/_dashboard_recognition.html",
                    {"view": found, "kpi_name": display_name},
                    36,
                )
            )
    return parts


def seller_page_parts(session: Session, actor: Actor, seller: Seller) -> list[Part]:
    """Return the seller's pace, trend and progress, and the link to their funnel."""
    if not actor.can_see_seller(seller):
        return []
    period = current_quarter()
    pace = warning_views.seller_pace(session, actor=actor, seller=seller, period=period)
    progress = recognition.seller_progress(session, actor=actor, seller=seller, period=period)
    return [
        Part(
            "main",
            "analytics/_my_pace.html",
            {
                "pace": pace,
                "progress": progress,
                "seller": seller,
                "kpi_name": display_name,
                "method_label": warning_views.method_label,
                "on_seller_page": True,
            },
            25,
        )
    ]
