"""The KPIs every Touchline starts with: the reference workload, soft KPIs, Will and Foundation.

Hard KPIs are the built-in metrics. Soft KPIs are rated on scales (ratings.csv and, later,
rating rounds); Will KPIs come from the weekly pulse; Foundation KPIs are entered by hand
per seller and period. Each ships with a default decision rule: the threshold and the
action it calls for, so no built-in KPI is "only statistics" from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

from touchline.i18n import _l
from touchline.kpis.metrics import METRICS, Direction, Level, Unit
from touchline.kpis.models import KpiKind, KpiSource, TimeAggregation


@dataclass(frozen=True)
class BuiltinKpi:
    code: str
    level: Level
    kind: KpiKind
    source: KpiSource
    direction: Direction
    unit: Unit
    decimals: int
    name: str
    description: str
    decision_threshold: float | None
    decision_rule: str
    time_aggregation: TimeAggregation = TimeAggregation.SUM
    # A rated KPI's weight per rater role (None: every role the same).
    rater_weights: dict[str, float] | None = None


# Decision rules of the hard KPIs: (threshold, rule). Thresholds are in the KPI's unit
# (ratios 0..1); a rule applies when the value is on the wrong side of it.
_HARD_RULES: dict[str, tuple[float | None, str]] = {
    "revenue_won": (
        None,
        _l(
            "Below 85 % of target at mid-period: go through the seller's late-stage deals "
            "together and agree which to push and which to drop."
        ),
    ),
    "deals_won": (
        None,
        _l("Behind pace two periods running: review qualification and deal strategy."),
    ),
    "win_rate": (
        0.2,
        _l(
            "Below 20 %: review how the seller qualifies deals before proposing; consider "
            "joint calls on the next two proposals."
        ),
    ),
    "avg_deal_size": (
        None,
        _l("Falling three periods running: coach on value selling and cross-selling."),
    ),
    "new_customers": (
        None,
        _l("No new customer in a quarter: plan prospecting time into the seller's week."),
    ),
    "sales_cycle_days": (
        90.0,
        _l("Above 90 days: find where deals stall (see the funnel) and agree next steps."),
    ),
    "pipeline_created": (
        None,
        _l(
            "Below 3 times the revenue target: reserve prospecting blocks and check the "
            "seller's lead sources."
        ),
    ),
    "meetings": (
        None,
        _l("Below target: check the calendar for admin time crowding out customer time."),
    ),
    "meetings_new_customers": (
        None,
        _l(
            "Below target: agree a weekly number of meetings with new customers and follow "
            "it up in coaching."
        ),
    ),
    "calls": (None, _l("Far below target: check whether time goes to admin or to meetings.")),
    "emails": (None, _l("Far below target: check follow-up after meetings.")),
    "demos": (None, _l("Below target: practise the demo together and book one joint demo.")),
    "social_touches": (None, _l("Below target: show what works in the seller's market.")),
    "meeting_quality": (
        0.5,
        _l(
            "Below 50 % of meetings with an agreed next step: prepare meetings together; "
            "rehearse closing for a next step."
        ),
    ),
    "speed_to_first_touch_h": (
        24.0,
        _l("Above 24 hours: agree a same-day routine for new deals."),
    ),
}

SOFT_KPIS = (
    BuiltinKpi(
        "objection_handling",
        Level.ACTIVITY,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Objection handling"),
        _l("How the seller meets objections, rated on a behavioural scale."),
        3.0,
        _l("Below 3: role-play the five most common objections in the next coaching."),
        TimeAggregation.MEAN,
        {"manager": 40, "customer": 40, "self": 20},
    ),
    BuiltinKpi(
        "needs_discovery",
        Level.ACTIVITY,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Needs discovery"),
        _l("How well the seller uncovers the customer's needs before proposing."),
        3.0,
        _l("Below 3: prepare discovery questions together and listen in on one meeting."),
        TimeAggregation.MEAN,
        {"manager": 30, "customer": 30, "mystery_shopper": 20, "self": 20},
    ),
    BuiltinKpi(
        "first_impression",
        Level.ACTIVITY,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("First impression"),
        _l("The impression the seller makes in the first minutes, as customers see it."),
        3.0,
        _l("Below 3: ask a mystery shopper visit and go through it together."),
        TimeAggregation.MEAN,
        {"customer": 30, "mystery_shopper": 30, "manager": 20, "self": 20},
    ),
    BuiltinKpi(
        "collaboration",
        Level.WILL,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Collaboration"),
        _l("Sharing knowledge and helping colleagues win."),
        3.0,
        _l("Below 3: pair the seller with a colleague on one shared account."),
        TimeAggregation.MEAN,
        {"peer": 50, "manager": 30, "self": 20},
    ),
    BuiltinKpi(
        "best_practice",
        Level.ACTIVITY,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Best-practice adherence"),
        _l("How closely the seller follows the team's agreed way of selling."),
        3.0,
        _l("Below 3: walk through the sales method and agree one practice to adopt."),
        TimeAggregation.MEAN,
        {"manager": 40, "peer": 40, "self": 20},
    ),
    BuiltinKpi(
        "product_knowledge",
        Level.FOUNDATION,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Product knowledge"),
        _l("Knowledge of the products and their use at the customer."),
        3.0,
        _l("Below 3: book product training and a session with a product specialist."),
        TimeAggregation.MEAN,
        {"manager": 40, "customer": 40, "self": 20},
    ),
    BuiltinKpi(
        "pulse_motivation",
        Level.WILL,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Motivation"),
        _l("The seller's own weekly pulse answer on motivation (1-5), averaged."),
        3.0,
        _l("Below 3: ask what drains motivation; make it the first agenda item."),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "pulse_energy",
        Level.WILL,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Energy"),
        _l("The seller's own weekly pulse answer on energy (1-5), averaged."),
        3.0,
        _l("Below 3: check workload and activity demands before raising any target."),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "pulse_pride",
        Level.WILL,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Pride in the product"),
        _l("The seller's own weekly pulse answer on pride in the product (1-5), averaged."),
        3.0,
        _l("Below 3: bring customer success stories and product news to the team."),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "crm_training",
        Level.FOUNDATION,
        KpiKind.HARD,
        KpiSource.MANUAL,
        Direction.HIGHER,
        Unit.RATIO,
        0,
        _l("CRM training completed"),
        _l("Share of the CRM training modules the seller has completed, entered by hand."),
        1.0,
        _l("Not complete: book the missing modules before asking for CRM-based KPIs."),
        TimeAggregation.LAST,
    ),
    BuiltinKpi(
        "admin_time_share",
        Level.FOUNDATION,
        KpiKind.HARD,
        KpiSource.MANUAL,
        Direction.LOWER,
        Unit.RATIO,
        0,
        _l("Admin time share"),
        _l("Share of working time spent on internal administration, entered by hand."),
        0.3,
        _l("Above 30 %: remove one internal task or report from the seller's week."),
        TimeAggregation.MEAN,
    ),
)

# The Foundation as the sellers see it: their answers to the seller survey (1-5).
FOUNDATION_SURVEY_KPIS = tuple(
    BuiltinKpi(
        code,
        Level.FOUNDATION,
        KpiKind.SOFT,
        KpiSource.RATING,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        name,
        description,
        3.0,
        rule,
        TimeAggregation.MEAN,
        {"self": 100},
    )
    for code, name, description, rule in (
        (
            "foundation_tools",
            _l("Tools"),
            _l("The seller's own view of the CRM and other tools, from the seller survey (1-5)."),
            _l("Below 3: ask which tool costs the most time and take it to whoever owns it."),
        ),
        (
            "foundation_time",
            _l("Time for customers"),
            _l("The seller's own view of the time left for customers, from the seller survey."),
            _l("Below 3: list the internal tasks of a week together and drop one."),
        ),
        (
            "foundation_knowledge",
            _l("Knowledge"),
            _l("The seller's own view of the knowledge the job needs, from the seller survey."),
            _l("Below 3: agree the training that closes the gap and put it in the plan."),
        ),
        (
            "foundation_resources",
            _l("Resources and support"),
            _l("The seller's own view of the support from specialists and marketing."),
            _l("Below 3: find the deal where support was missing and fix the hand-over."),
        ),
    )
)

# Computed by the ratings domain from customer survey answers (see touchline.ratings.kpis).
PROVIDED_KPIS = (
    BuiltinKpi(
        "customer_satisfaction",
        Level.RESULT,
        KpiKind.SOFT,
        KpiSource.PROVIDED,
        Direction.HIGHER,
        Unit.SCORE,
        1,
        _l("Customer satisfaction"),
        _l(
            "Mean score (0-10) customers gave the seller in the period's survey answers; "
            "shown for a seller from three answers."
        ),
        7.0,
        _l("Below 7: read the customers' comments together and call two of them back."),
        TimeAggregation.MEAN,
    ),
)

PULSE_FIELD = {"pulse_motivation": "motivation", "pulse_energy": "energy", "pulse_pride": "pride"}

HARD_KPIS = tuple(
    BuiltinKpi(
        metric.code,
        metric.level,
        KpiKind.HARD,
        KpiSource.METRIC,
        metric.direction,
        metric.unit,
        {Unit.MONEY: 0, Unit.RATIO: 0, Unit.HOURS: 1, Unit.DAYS: 0}.get(metric.unit, 0),
        metric.name,
        metric.description,
        _HARD_RULES[metric.code][0],
        _HARD_RULES[metric.code][1],
        # Counts and sums add up over time; ratios, averages and medians do not.
        TimeAggregation.SUM
        if metric.unit in (Unit.COUNT, Unit.MONEY) and metric.code != "avg_deal_size"
        else TimeAggregation.MEAN,
    )
    for metric in METRICS.values()
)

# A manager's own KPIs, about the sellers they coach; computed by the coaching domain
# (touchline.coaching.kpis) for the manager, for each unit and for the company.
COACHING_KPIS = (
    BuiltinKpi(
        "coaching_coverage",
        Level.ACTIVITY,
        KpiKind.HARD,
        KpiSource.PROVIDED,
        Direction.HIGHER,
        Unit.RATIO,
        0,
        _l("Coaching coverage"),
        _l(
            "Share of the manager's sellers coached on cadence in the period: no "
            "conversation more than three days later than the cadence asks."
        ),
        0.8,
        _l(
            "Below 80 %: book the overdue conversations this week, the sellers with "
            "off-track KPIs first."
        ),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "action_follow_through",
        Level.RESULT,
        KpiKind.HARD,
        KpiSource.PROVIDED,
        Direction.HIGHER,
        Unit.RATIO,
        0,
        _l("Action items done on time"),
        _l(
            "Share of the coached sellers' action items due in the period that were done "
            "by their due date."
        ),
        0.7,
        _l(
            "Below 70 %: agree fewer, smaller action items and follow each one up in the "
            "next conversation."
        ),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "seller_voice",
        Level.WILL,
        KpiKind.HARD,
        KpiSource.PROVIDED,
        Direction.HIGHER,
        Unit.RATIO,
        0,
        _l("Two-way conversations"),
        _l(
            "Share of the period's coaching conversations in which the seller added a "
            "topic, a note or a reflection."
        ),
        0.7,
        _l(
            "Below 70 %: ask each seller to bring one topic and a short reflection to "
            "every conversation."
        ),
        TimeAggregation.MEAN,
    ),
    BuiltinKpi(
        "development_plans",
        Level.FOUNDATION,
        KpiKind.HARD,
        KpiSource.PROVIDED,
        Direction.HIGHER,
        Unit.RATIO,
        0,
        _l("Sellers with a development action"),
        _l(
            "Share of the coached sellers with an action item on a competence (a rated "
            "KPI or a named competence) open or completed in the period."
        ),
        0.75,
        _l(
            "Below 75 %: agree one development action on a competence with each seller "
            "who has none."
        ),
        TimeAggregation.MEAN,
    ),
)

BUILTIN_KPIS: dict[str, BuiltinKpi] = {
    kpi.code: kpi
    for kpi in (*HARD_KPIS, *SOFT_KPIS, *FOUNDATION_SURVEY_KPIS, *PROVIDED_KPIS, *COACHING_KPIS)
}
