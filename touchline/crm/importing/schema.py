"""The canonical tables an import fills, in the order they are written.

Field names are those of the interchange format without the ``_id`` suffix of
references (``seller`` holds the seller's external id). Every mapping, whatever
its source, produces rows of these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ID = "id"
    TEXT = "text"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DECIMAL = "decimal"
    INTEGER = "integer"
    CHOICE = "choice"
    BOOLEAN = "boolean"
    PERIOD = "period"
    WEEK = "week"


@dataclass(frozen=True)
class Field:
    """One field of a canonical table: its kind, whether it is required, its limits."""

    name: str
    kind: Kind
    required: bool = False
    ref: str | None = None  # the target whose external id this field holds
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    places: int = 2  # decimals allowed after the point
    default: str | None = None  # SQL value used when the source gives none
    keep_when_empty: bool = False  # an empty value keeps what is stored (derived values)


@dataclass(frozen=True)
class Target:
    """A canonical table: where it is stored and how its rows are identified."""

    name: str
    table: str
    fields: tuple[Field, ...]
    # Fields that identify a row; ("external_id",) for rows with a source id.
    key: tuple[str, ...] = ("external_id",)
    # Rows ``--prune`` may remove: only those that came from an import, never ratings or
    # answers given in Touchline itself (a SQL condition on the stored table, or None).
    prunable: str | None = None

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @property
    def self_refs(self) -> tuple[Field, ...]:
        """References to rows of the same table (a unit's parent, a seller's manager)."""
        return tuple(field for field in self.fields if field.ref == self.name)


def _id(
    name: str = "external_id",
    *,
    required: bool = True,
    ref: str | None = None,
    keep_when_empty: bool = False,
) -> Field:
    return Field(
        name, Kind.ID, required=required, ref=ref, max_length=100, keep_when_empty=keep_when_empty
    )


TARGETS: tuple[Target, ...] = (
    Target(
        "units",
        "units",
        (
            _id(),
            Field("name", Kind.TEXT, required=True),
            _id("parent", required=False, ref="units"),
            Field("kind", Kind.CHOICE, choices=("company", "region", "team", "unit")),
            # Left empty, a unit's manager is derived from its sellers' managers.
            _id("manager", required=False, ref="sellers", keep_when_empty=True),
        ),
    ),
    Target(
        "territories",
        "territories",
        (
            _id(),
            Field("name", Kind.TEXT, required=True),
            Field("market_potential", Kind.DECIMAL, required=True, minimum=0),
            Field("region", Kind.TEXT),
        ),
    ),
    Target(
        "sellers",
        "sellers",
        (
            _id(),
            Field("name", Kind.TEXT, required=True),
            Field("email", Kind.TEXT, required=True, max_length=320),
            _id("unit", ref="units"),
            _id("manager", required=False, ref="sellers"),
            _id("territory", required=False, ref="territories"),
            Field("hire_date", Kind.DATE),
            Field("active", Kind.BOOLEAN, default="true"),
        ),
    ),
    Target(
        "accounts",
        "accounts",
        (
            _id(),
            Field("name", Kind.TEXT, required=True, max_length=300),
            _id("territory", required=False, ref="territories"),
            Field("segment", Kind.TEXT, max_length=100),
        ),
    ),
    Target(
        "deals",
        "deals",
        (
            _id(),
            _id("account", required=False, ref="accounts"),
            _id("seller", ref="sellers"),
            Field("created_date", Kind.DATE, required=True),
            Field("close_date", Kind.DATE),
            Field("status", Kind.CHOICE, required=True, choices=("open", "won", "lost")),
            Field("amount", Kind.DECIMAL, required=True, minimum=0),
            Field("stage", Kind.TEXT, max_length=100),
        ),
    ),
    Target(
        "stage_history",
        "deal_stage_changes",
        (
            _id("deal", ref="deals"),
            Field("stage", Kind.TEXT, required=True, max_length=100),
            Field("entered_on", Kind.DATE, required=True),
        ),
        key=("deal", "entered_on", "stage"),
    ),
    Target(
        "activities",
        "activities",
        (
            _id(),
            _id("seller", ref="sellers"),
            Field(
                "type",
                Kind.CHOICE,
                required=True,
                choices=("call", "meeting", "email", "demo", "social"),
            ),
            Field("occurred_at", Kind.TIMESTAMP, required=True),
            _id("account", required=False, ref="accounts"),
            _id("deal", required=False, ref="deals"),
            Field("duration_min", Kind.INTEGER, minimum=0, maximum=100_000),
            Field("outcome", Kind.CHOICE, choices=("next_step_agreed", "no_next_step")),
        ),
    ),
    Target(
        "ratings",
        "rating_records",
        (
            _id(),
            Field("kpi", Kind.TEXT, required=True, max_length=100),
            _id("seller", ref="sellers"),
            Field(
                "rater_role",
                Kind.CHOICE,
                required=True,
                choices=("self", "manager", "peer", "customer", "mystery_shopper"),
            ),
            Field("period", Kind.PERIOD, required=True),
            Field("score", Kind.DECIMAL, required=True, minimum=0, maximum=100, places=3),
            Field("rater_id", Kind.TEXT, max_length=100),
            Field("comment", Kind.TEXT, max_length=5000),
        ),
        prunable="origin = 'import'",
    ),
    Target(
        "customer_surveys",
        "customer_survey_responses",
        (
            _id(),
            _id("account", ref="accounts"),
            _id("seller", ref="sellers"),
            Field(
                "customer_status",
                Kind.CHOICE,
                required=True,
                choices=("existing", "lost", "prospect", "lost_prospect"),
            ),
            Field("answered_date", Kind.DATE, required=True),
            Field("score", Kind.INTEGER, required=True, minimum=0, maximum=10),
            Field("seller_predicted_score", Kind.INTEGER, minimum=0, maximum=10),
            Field("comment", Kind.TEXT, max_length=5000),
        ),
        prunable="origin = 'import'",
    ),
    Target(
        "pulse",
        "pulse_answers",
        (
            _id("seller", ref="sellers"),
            Field("week", Kind.WEEK, required=True),
            Field("motivation", Kind.INTEGER, required=True, minimum=1, maximum=5),
            Field("energy", Kind.INTEGER, required=True, minimum=1, maximum=5),
            Field("pride", Kind.INTEGER, required=True, minimum=1, maximum=5),
            Field("comment", Kind.TEXT, max_length=5000),
        ),
        key=("seller", "week"),
    ),
)
TARGETS_BY_NAME = {target.name: target for target in TARGETS}
