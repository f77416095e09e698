"""Coaching's tables as downloads (CSV and Excel) and the impediments chart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from touchline.coaching.access import today
from touchline.coaching.cadence import CoachingState
from touchline.coaching.impediments import CATEGORIES, ImpedimentReport, category_label
from touchline.coaching.models import ActionItem
from touchline.coaching.timeline import TimelineEntry, kind_label
from touchline.i18n import gettext as _
from touchline.org.models import Seller
from touchline.web.exports import Table


def due_table(states: list[CoachingState]) -> Table:
    """Return the due list: per seller the state, dates and reasons."""
    day = today()
    return Table(
        title=_("Coaching due"),
        columns=[
            "seller_id",
            "seller",
            "state",
            "due_on",
            "overdue_days",
            "last_held_on",
            "cadence_days",
            "planned_conversation",
            "off_track_kpis",
            "falling_trends",
            "overdue_action_items",
        ],
        rows=[
            [
                s.seller.external_id,
                s.seller.name,
                s.state(day),
                s.due_on,
                s.overdue_days(day),
                s.last_held_on,
                s.cadence_days,
                s.planned_id,
                "; ".join(s.off_track),
                "; ".join(s.falling),
                s.overdue_actions,
            ]
            for s in states
        ],
    )


def impediment_table(report: ImpedimentReport) -> Table:
    """Return impediments per month (rows) and category (columns)."""
    return Table(
        title=_("Impediments"),
        columns=[_("Month"), *[category_label(c.value) for c in CATEGORIES], _("Total")],
        rows=[
            [
                month,
                *[report.counts[c.value][index] for c in CATEGORIES],
                sum(report.counts[c.value][index] for c in CATEGORIES),
            ]
            for index, month in enumerate(report.months)
        ],
    )


def impediment_chart(report: ImpedimentReport) -> dict[str, Any]:
    """Return the ECharts option of impediments per month, stacked by category."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {"type": "category", "data": report.months},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": category_label(c.value),
                "type": "bar",
                "stack": "all",
                "data": report.counts[c.value],
            }
            for c in CATEGORIES
        ],
    }


def actions_table(
    seller: Seller, items: list[ActionItem], kpi_name: Callable[[int | None], str]
) -> Table:
    """Return a seller's action items."""
    return Table(
        title=_("Action items"),
        columns=[
            "id",
            "seller_id",
            "title",
            "owner",
            "due_on",
            "status",
            "closed_on",
            "drop_reason",
            "kpi",
            "competence",
            "conversation",
        ],
        rows=[
            [
                a.id,
                seller.external_id,
                a.title,
                a.owner,
                a.due_on,
                a.status,
                a.closed_on,
                a.drop_reason,
                kpi_name(a.kpi_id) if a.kpi_id else None,
                a.competence,
                a.conversation_id,
            ]
            for a in items
        ],
    )


def timeline_table(seller: Seller, entries: list[TimelineEntry]) -> Table:
    """Return a seller's timeline."""
    return Table(
        title=_("Timeline"),
        columns=["seller_id", "day", "kind", "title", "detail"],
        rows=[[seller.external_id, e.day, kind_label(e.kind), e.title, e.detail] for e in entries],
    )
