"""The registry of built-in metrics: the reference KPI workload of the CRM interchange contract.

Each metric has a code (the name expressions use), the scorecard level it belongs to, its
unit, whether higher or lower is better, and how it is computed from the components the
engine gathers per seller (see ``touchline.kpis.engine``). Names and descriptions are
English source strings translated on display.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from touchline.i18n import _l


class Level(StrEnum):
    """The four levels of the balanced scorecard, from what is reached to what makes it possible."""

    RESULT = "result"
    ACTIVITY = "activity"
    WILL = "will"
    FOUNDATION = "foundation"


class Unit(StrEnum):
    """What a value measures, which decides how it is shown."""

    MONEY = "money"
    COUNT = "count"
    RATIO = "ratio"
    HOURS = "hours"
    DAYS = "days"
    SCORE = "score"
    NUMBER = "number"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Metric:
    """A built-in measure computed exactly from CRM events for a subject and a period."""

    code: str
    level: Level
    unit: Unit
    direction: Direction
    name: str
    description: str


METRICS: dict[str, Metric] = {
    metric.code: metric
    for metric in (
        Metric(
            "revenue_won",
            Level.RESULT,
            Unit.MONEY,
            Direction.HIGHER,
            _l("Revenue won"),
            _l("Sum of the amounts of deals won with their close date in the period."),
        ),
        Metric(
            "deals_won",
            Level.RESULT,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Deals won"),
            _l("Number of deals won with their close date in the period."),
        ),
        Metric(
            "win_rate",
            Level.RESULT,
            Unit.RATIO,
            Direction.HIGHER,
            _l("Win rate"),
            _l("Deals won out of deals won or lost, among deals closing in the period."),
        ),
        Metric(
            "avg_deal_size",
            Level.RESULT,
            Unit.MONEY,
            Direction.HIGHER,
            _l("Average deal size"),
            _l("Revenue won divided by deals won."),
        ),
        Metric(
            "new_customers",
            Level.RESULT,
            Unit.COUNT,
            Direction.HIGHER,
            _l("New customers"),
            _l(
                "Accounts whose first-ever won deal closes in the period, credited to the "
                "seller of that deal."
            ),
        ),
        Metric(
            "sales_cycle_days",
            Level.RESULT,
            Unit.DAYS,
            Direction.LOWER,
            _l("Sales cycle"),
            _l("Median days from creation to close over deals won in the period."),
        ),
        Metric(
            "pipeline_created",
            Level.ACTIVITY,
            Unit.MONEY,
            Direction.HIGHER,
            _l("Pipeline created"),
            _l("Sum of the amounts of deals created in the period."),
        ),
        Metric(
            "meetings",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Meetings"),
            _l("Meetings held in the period."),
        ),
        Metric(
            "meetings_new_customers",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Meetings with new customers"),
            _l(
                "Meetings in the period with an account that had no won deal closing before "
                "the meeting's date."
            ),
        ),
        Metric(
            "calls",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Calls"),
            _l("Calls made in the period."),
        ),
        Metric(
            "emails",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("E-mails"),
            _l("E-mails sent in the period."),
        ),
        Metric(
            "demos",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Demos"),
            _l("Demos given in the period."),
        ),
        Metric(
            "social_touches",
            Level.ACTIVITY,
            Unit.COUNT,
            Direction.HIGHER,
            _l("Social touches"),
            _l("Social selling activities in the period."),
        ),
        Metric(
            "meeting_quality",
            Level.ACTIVITY,
            Unit.RATIO,
            Direction.HIGHER,
            _l("Meeting quality"),
            _l(
                "Share of the period's meetings that ended with an agreed next step, among "
                "meetings with a recorded outcome."
            ),
        ),
        Metric(
            "speed_to_first_touch_h",
            Level.ACTIVITY,
            Unit.HOURS,
            Direction.LOWER,
            _l("Speed to first touch"),
            _l(
                "Median hours from a deal's creation (midnight of its created date) to the first "
                "activity on it, over deals created in the period that have one."
            ),
        ),
    )
}

# The reference workload of the interchange contract, in its order.
REFERENCE_WORKLOAD = (
    "revenue_won",
    "deals_won",
    "win_rate",
    "avg_deal_size",
    "new_customers",
    "pipeline_created",
    "meetings",
    "meetings_new_customers",
    "calls",
    "emails",
    "demos",
    "meeting_quality",
    "speed_to_first_touch_h",
    "sales_cycle_days",
)
