"""An independent, deliberately plain oracle for the reference KPI workload.

This module recomputes every KPI of "The reference KPI workload" (the CRM
interchange contract, summarised in docs/kpis.md) straight from an interchange folder
of CSV files, using only the standard library: no pandas, no SQL and nothing from
``touchline``. Tests compare the product's engine against it, so it favours being
obviously correct over being clever. Every rule of the contract is applied in exactly
one place below and is named in a comment there.

Conventions of the result (see ``reference_kpis``):

* revenue_won, pipeline_created: ``Decimal`` exact to the cent (``Decimal("0.00")``
  when nothing happened);
* deals_won, new_customers, meetings, meetings_new_customers, calls, emails, demos:
  ``int`` (0 when nothing happened);
* win_rate, meeting_quality: ``float`` in 0..1, ``None`` when there is nothing to
  divide by;
* avg_deal_size: ``float`` (revenue_won / deals_won), ``None`` when no deal was won;
* speed_to_first_touch_h, sales_cycle_days: ``float`` medians (the mean of the two
  middle values for an even count), ``None`` when there is nothing to rank.

Choices where the contract leaves room, made explicit:

* Ids are compared as Python ``str``; for the ASCII ids of the interchange format that
  is the same as comparing them as plain byte strings (``"D10" < "D9"``).
* speed_to_first_touch_h and sales_cycle_days are credited to the seller named on the
  deal (the first touch itself may be by anyone).
* A timestamp without an offset, a won/lost deal without a close_date, a reference to
  an unknown seller or team, a duplicated id, a parent-team cycle and an amount with
  more than 2 decimal places are errors (``ValueError``): the import refuses such input,
  and the oracle does not guess.
* Every file may be missing; a missing file is read as having no rows.
"""

from __future__ import annotations

import csv
import statistics
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

KPI_CODES = (
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

Key = tuple[str, str]
Value = Decimal | int | float | None

CENT = Decimal("0.01")
COMPANY: Key = ("company", "")


# --------------------------------------------------------------------------- reading


def read_rows(folder: Path, name: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    """All rows of one CSV file as dicts of stripped strings; [] when the file is missing.

    Unknown extra columns are simply never looked at; optional columns that are absent
    from the header read as "".
    """
    path = folder / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in required if column not in header]
        if missing:
            raise ValueError(f"{name}: missing required column(s) {missing}")
        rows = []
        for row in reader:
            rows.append({k: (v or "").strip() for k, v in row.items() if k is not None})
        return rows


def col(row: dict[str, str], column: str) -> str:
    return row.get(column, "") or ""


def unique_ids(rows: list[dict[str, str]], column: str, name: str) -> None:
    seen: set[str] = set()
    for row in rows:
        if row[column] in seen:
            raise ValueError(f"{name}: duplicate {column} {row[column]!r}")
        seen.add(row[column])


def parse_amount(text: str) -> Decimal:
    amount = Decimal(text)
    if amount != amount.quantize(CENT):
        raise ValueError(f"amount {text!r} has more than 2 decimal places")
    return amount


def parse_instant(text: str) -> datetime:
    """An ISO 8601 timestamp with an offset or Z, as an aware datetime in UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {text!r} has no offset")
    return moment.astimezone(UTC)


def midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    """The instant a calendar day starts in the zone, in UTC.

    Where a DST change skips midnight itself (e.g. America/Santiago), zoneinfo's
    fold=0 maps the missing 00:00 to the first instant of the day (01:00 new time).
    Subtraction and comparison are only done on UTC datetimes: Python compares and
    subtracts two datetimes that share a tzinfo by their wall clock, which is wrong
    across a DST change.
    """
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@dataclass
class Deal:
    deal_id: str
    account_id: str
    seller_id: str
    created: date
    closed: date | None
    status: str
    amount: Decimal


@dataclass
class Activity:
    activity_id: str
    seller_id: str
    type: str
    instant: datetime  # UTC
    local_day: date  # the date the instant has in the company's zone
    account_id: str
    deal_id: str
    outcome: str


# --------------------------------------------------------------------------- accumulating


@dataclass
class Tally:
    """The raw ingredients of every KPI for one seller, unit or the company."""

    revenue_won: Decimal = Decimal("0.00")
    deals_won: int = 0
    deals_lost: int = 0
    new_customers: int = 0
    pipeline_created: Decimal = Decimal("0.00")
    meetings: int = 0
    meetings_new_customers: int = 0
    calls: int = 0
    emails: int = 0
    demos: int = 0
    meetings_with_outcome: int = 0
    meetings_next_step: int = 0
    touch_hours: list[float] = field(default_factory=list)
    cycle_days: list[int] = field(default_factory=list)

    def result(self) -> dict[str, Value]:
        won_or_lost = self.deals_won + self.deals_lost
        return {
            "revenue_won": self.revenue_won.quantize(CENT),
            "deals_won": self.deals_won,
            "win_rate": self.deals_won / won_or_lost if won_or_lost else None,
            "avg_deal_size": (
                float(self.revenue_won / Decimal(self.deals_won)) if self.deals_won else None
            ),
            "new_customers": self.new_customers,
            "pipeline_created": self.pipeline_created.quantize(CENT),
            "meetings": self.meetings,
            "meetings_new_customers": self.meetings_new_customers,
            "calls": self.calls,
            "emails": self.emails,
            "demos": self.demos,
            "meeting_quality": (
                self.meetings_next_step / self.meetings_with_outcome
                if self.meetings_with_outcome
                else None
            ),
            "speed_to_first_touch_h": median(self.touch_hours),
            "sales_cycle_days": median(self.cycle_days),
        }


def median(values: list[float] | list[int]) -> float | None:
    """statistics.median: the mean of the two middle values for an even count."""
    if not values:
        return None
    return float(statistics.median(values))


# --------------------------------------------------------------------------- the oracle


def reference_kpis(
    folder: Path, start: date, end: date, *, timezone: str = "UTC"
) -> dict[Key, dict[str, Value]]:
    """Every KPI of the reference workload for P = [start, end] (inclusive dates).

    Keys: ("company", ""), ("unit", team_id) for every team in teams.csv and
    ("seller", seller_id) for every seller in sellers.csv, each mapping every code of
    ``KPI_CODES`` to its value.
    """
    if start > end:
        raise ValueError(f"period starts {start} after it ends {end}")
    folder = Path(folder)
    zone = ZoneInfo(timezone)

    def in_period(day: date | None) -> bool:
        return day is not None and start <= day <= end

    # ---- organisation: which keys an event of a seller counts for
    teams = read_rows(folder, "teams.csv", ("team_id", "name"))
    sellers = read_rows(folder, "sellers.csv", ("seller_id", "name", "email", "team_id"))
    unique_ids(teams, "team_id", "teams.csv")
    unique_ids(sellers, "seller_id", "sellers.csv")
    parent = {row["team_id"]: col(row, "parent_team_id") for row in teams}

    def unit_chain(team_id: str) -> list[str]:
        """The team and every ancestor through parent_team_id, any depth."""
        chain: list[str] = []
        current = team_id
        while current:
            if current not in parent:
                raise ValueError(f"unknown team {current!r}")
            if current in chain:
                raise ValueError(f"parent_team_id cycle through {current!r}")
            chain.append(current)
            current = parent[current]
        return chain

    # A seller counts for the unit they belong to now, and so for all its ancestors:
    # a team aggregates the events of its own sellers and of all descendant teams.
    counts_for: dict[str, list[Key]] = {}
    for row in sellers:
        seller_id = row["seller_id"]
        units = [("unit", team_id) for team_id in unit_chain(row["team_id"])]
        counts_for[seller_id] = [COMPANY, *units, ("seller", seller_id)]

    tallies: dict[Key, Tally] = {COMPANY: Tally()}
    for row in teams:
        tallies["unit", row["team_id"]] = Tally()
    for row in sellers:
        tallies["seller", row["seller_id"]] = Tally()

    def tallies_of(seller_id: str) -> list[Tally]:
        """An event counts for the seller named on it (and that seller's units)."""
        if seller_id not in counts_for:
            raise ValueError(f"unknown seller {seller_id!r}")
        return [tallies[key] for key in counts_for[seller_id]]

    # ---- deals
    deals: list[Deal] = []
    deal_rows = read_rows(
        folder,
        "deals.csv",
        ("deal_id", "account_id", "seller_id", "created_date", "status", "amount"),
    )
    unique_ids(deal_rows, "deal_id", "deals.csv")
    for row in deal_rows:
        closed = date.fromisoformat(row["close_date"]) if col(row, "close_date") else None
        status = row["status"]
        if status not in ("open", "won", "lost"):
            raise ValueError(f"deal {row['deal_id']!r}: unknown status {status!r}")
        if status in ("won", "lost") and closed is None:
            raise ValueError(f"deal {row['deal_id']!r} is {status} without a close_date")
        deals.append(
            Deal(
                deal_id=row["deal_id"],
                account_id=row["account_id"],
                seller_id=row["seller_id"],
                created=date.fromisoformat(row["created_date"]),
                closed=closed,
                status=status,
                amount=parse_amount(row["amount"]),
            )
        )

    # ---- activities
    activities: list[Activity] = []
    activity_rows = read_rows(
        folder, "activities.csv", ("activity_id", "seller_id", "type", "occurred_at")
    )
    unique_ids(activity_rows, "activity_id", "activities.csv")
    for row in activity_rows:
        instant = parse_instant(row["occurred_at"])
        activities.append(
            Activity(
                activity_id=row["activity_id"],
                seller_id=row["seller_id"],
                type=row["type"],
                instant=instant,
                # A timestamp belongs to the date it has in the company's time zone.
                local_day=instant.astimezone(zone).date(),
                account_id=col(row, "account_id"),
                deal_id=col(row, "deal_id"),
                outcome=col(row, "outcome"),
            )
        )

    # ---- every deal and activity names a known seller (checked for all rows, in P or not)
    for row in [*deal_rows, *activity_rows]:
        if row["seller_id"] not in counts_for:
            raise ValueError(f"unknown seller {row['seller_id']!r}")

    # ---- revenue_won, deals_won, win_rate, avg_deal_size, sales_cycle_days
    for deal in deals:
        if not in_period(deal.closed):
            continue
        assert deal.closed is not None
        for tally in tallies_of(deal.seller_id):
            if deal.status == "won":
                tally.revenue_won += deal.amount
                tally.deals_won += 1
                tally.cycle_days.append((deal.closed - deal.created).days)
            elif deal.status == "lost":
                tally.deals_lost += 1

    # ---- pipeline_created
    for deal in deals:
        if in_period(deal.created):
            for tally in tallies_of(deal.seller_id):
                tally.pipeline_created += deal.amount

    # ---- new_customers: per account, the first-ever won deal is the one with the
    # earliest close_date, ties broken by deal_id (plain string order: "D10" < "D9").
    # Deals with no account are left out.
    first_won: dict[str, Deal] = {}
    for deal in deals:
        if deal.status != "won" or not deal.account_id:
            continue
        assert deal.closed is not None
        best = first_won.get(deal.account_id)
        if best is None:
            first_won[deal.account_id] = deal
            continue
        assert best.closed is not None
        if (deal.closed, deal.deal_id) < (best.closed, best.deal_id):
            first_won[deal.account_id] = deal
    for deal in first_won.values():
        if in_period(deal.closed):
            for tally in tallies_of(deal.seller_id):
                tally.new_customers += 1

    # ---- meetings, calls, emails, demos, meetings_new_customers, meeting_quality
    # meetings_new_customers: a meeting with an account whose account had no won deal
    # with a close_date strictly earlier than the meeting's (zone) date.
    first_won_close = {account: deal.closed for account, deal in first_won.items()}
    for activity in activities:
        if not in_period(activity.local_day):
            continue
        for tally in tallies_of(activity.seller_id):
            if activity.type == "call":
                tally.calls += 1
            elif activity.type == "email":
                tally.emails += 1
            elif activity.type == "demo":
                tally.demos += 1
            elif activity.type == "meeting":
                tally.meetings += 1
                if activity.account_id:
                    earliest = first_won_close.get(activity.account_id)
                    if earliest is None or not earliest < activity.local_day:
                        tally.meetings_new_customers += 1
                if activity.outcome:
                    tally.meetings_with_outcome += 1
                    if activity.outcome == "next_step_agreed":
                        tally.meetings_next_step += 1

    # ---- speed_to_first_touch_h: for deals created in P, the earliest activity on the
    # deal (any type, any seller, possibly after P) at or after midnight of created_date
    # in the zone; deals with none are left out. Credited to the deal's seller.
    touches: dict[str, list[datetime]] = defaultdict(list)
    for activity in activities:
        if activity.deal_id:
            touches[activity.deal_id].append(activity.instant)
    for instants in touches.values():
        instants.sort()
    hour = timedelta(hours=1)
    for deal in deals:
        if not in_period(deal.created):
            continue
        midnight = midnight_utc(deal.created, zone)
        instants = touches.get(deal.deal_id, [])
        index = bisect_left(instants, midnight)  # first instant >= midnight
        if index == len(instants):
            continue
        hours = (instants[index] - midnight) / hour
        for tally in tallies_of(deal.seller_id):
            tally.touch_hours.append(hours)

    return {key: tally.result() for key, tally in tallies.items()}
