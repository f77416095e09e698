"""What the demo's sellers and managers write in their coaching conversations."""

from __future__ import annotations

from touchline.coaching.models import ImpedimentCategory

TOPICS = (
    "I want to get better at closing for a next step",
    "Too much admin this month: can we drop a report?",
    "A big tender is coming; I need help with the pricing",
    "How do I get more meetings with new customers?",
    "I would like product training on the new line",
    "Two customers complain about delivery times",
    "Can I shadow a colleague on a demo?",
    "My territory has lost two large accounts",
)
ADDED = (
    "The pipeline for next quarter",
    "Preparation for the customer meeting next week",
    "Working with the technical team",
    "Holiday planning and cover",
)
ACTIONS = (
    "Book two meetings a week with prospects",
    "Rehearse the objection round before the tender",
    "Prepare the next three customer meetings together",
    "Complete the product training module",
    "Ask for a next step at the end of every meeting",
    "Join the seller on two customer calls",
    "Remove the weekly status report from the seller's week",
    "Pair with a colleague on one shared account",
    "Update the CRM after every meeting the same day",
    "Write down the five most common objections and answers",
)
SELLER_NOTES = (
    "I find it hard to ask for the next step without sounding pushy.",
    "The last two meetings went well; the customers asked for a proposal.",
    "I lose time on internal reports every Friday.",
    "I want to try the new discovery questions.",
    "This went better than I expected.",
)
MANAGER_NOTES = (
    "Good progress: keep the rhythm of two prospect meetings a week.",
    "Let us prepare the next meeting together on Tuesday.",
    "The numbers are behind, but the activity is right; patience.",
    "Agreed to try a shorter proposal format.",
    "I will take the report question to the regional meeting.",
)
REFLECTIONS = (
    "A busy fortnight. The meetings with new customers worked best when I prepared questions.",
    "I was ill for three days and lost momentum; back on track now.",
    "Closing for a next step is getting easier.",
    "Too much time on admin; little left for prospecting.",
    "",
)
SUMMARIES = (
    "We agreed to focus on meetings with new customers and follow up the open proposals.",
    "Good progress on meeting quality; the admin load is the main obstacle.",
    "Two action items carried over; one new one on objection handling.",
    "Results are behind target; we agreed on a plan for the late-stage deals.",
    "A good conversation: recognition for the progress, one development action agreed.",
)
PRIVATE_NOTES = (
    "Seems tired; check the workload before raising any target.",
    "Ready for a larger territory in a year.",
    "Keep an eye on the relationship with the key account.",
)
IMPEDIMENTS = {
    ImpedimentCategory.WORK_ENVIRONMENT: "Open-plan office too noisy for calls.",
    ImpedimentCategory.JOB_DESIGN: "Too many internal reports crowd out customer time.",
    ImpedimentCategory.POLICY: "The discount approval takes a week.",
    ImpedimentCategory.PERSONAL: "A sick child at home this month.",
    ImpedimentCategory.EXTERNAL: "A competitor cut prices in the region.",
}
DROP_REASONS = (
    "The customer chose another supplier.",
    "No longer relevant after the reorganisation.",
)
