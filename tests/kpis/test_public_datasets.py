"""The reference KPI report on the two public data sets, checked against their raw CSV files.

Each data set is imported through its mapping file (examples/mappings/), then the report of
a few periods with activity is compared, row by row (company, every unit, every seller),
with figures computed here straight from the CSV files with the csv module: the mapping's
semantics (skip rules, value maps, fallbacks, date formats) are applied by hand, and the
KPI definitions of the reference workload (shared/spec/crm-interchange.md) are written
out plainly. Neither data set has activities, so their KPIs must be 0 or empty.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.datasets import MAPPINGS, dataset
from touchline.auth.policy import SYSTEM
from touchline.crm.service import run_import
from touchline.kpis.report import workload_report
from touchline.org.periods import parse_period

NO_ACTIVITIES = {
    "meetings": 0,
    "meetings_new_customers": 0,
    "calls": 0,
    "emails": 0,
    "demos": 0,
    "meeting_quality": None,
    "speed_to_first_touch_h": None,
}


@dataclass(frozen=True)
class RawDeal:
    deal_id: str
    seller: str
    account: str  # "" when the deal names none
    created: date
    closed: date | None
    status: str
    amount: Decimal


# Who counts for whom: (kind, external_id) of a report row -> the sellers it covers.
Members = dict[tuple[str, str], set[str]]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def folder_of(name: str) -> Path:
    return dataset(name)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", text.lower()).strip(".")


def maven(folder: Path) -> tuple[list[RawDeal], Members]:
    """Deals and units of crm-sales-opportunities, as its mapping reads them."""
    prices = {row["product"]: row["sales_price"] for row in read(folder / "products.csv")}
    status = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}
    deals = [
        RawDeal(
            row["opportunity_id"],
            row["sales_agent"],
            row["account"],
            date.fromisoformat(row["engage_date"]),
            date.fromisoformat(row["close_date"]) if row["close_date"] else None,
            status[row["deal_stage"]],
            # Open deals have no close_value: they are worth their product's list price.
            Decimal(row["close_value"] or prices[row["product"].replace("GTXPro", "GTX Pro")]),
        )
        for row in read(folder / "sales_pipeline.csv")
        if row["engage_date"]  # the skip rule: not engaged yet
    ]
    teams = read(folder / "sales_teams.csv")
    members: Members = {("company", ""): set(), ("unit", "maven-crm"): set()}
    for row in teams:
        agent = row["sales_agent"]
        for key in (
            ("company", ""),
            ("unit", "maven-crm"),
            ("unit", f"region-{slug(row['regional_office'])}"),
            ("unit", f"team-{slug(row['manager'])}"),
            ("seller", agent),
        ):
            members.setdefault(key, set()).add(agent)
    return deals, members


def day_month_year(text: str) -> date:
    day, month, year = text[:10].split("-")
    return date(int(year), int(month), int(day))


def olist(folder: Path) -> tuple[list[RawDeal], Members]:
    """Deals and units of olist-marketing-funnel, as its mapping reads them."""
    first_contact = {
        row["mql_id"]: row["first_contact_date"]
        for row in read(folder / "olist_marketing_qualified_leads_dataset.csv")
    }
    deals = [
        RawDeal(
            row["mql_id"],
            row["sr_id"],
            row["seller_id"],
            day_month_year(first_contact[row["mql_id"]]),
            day_month_year(row["won_date"]),  # "dd-mm-yyyy hh:mm": a date, the time dropped
            "won",
            Decimal(row["declared_monthly_revenue"] or "0"),
        )
        for row in read(folder / "olist_closed_deals_dataset.csv")
    ]
    everyone = {deal.seller for deal in deals}
    members: Members = {("company", ""): everyone, ("unit", "olist"): everyone}
    members[("unit", "olist-sales")] = everyone
    members.update({("seller", seller): {seller} for seller in everyone})
    return deals, members


def expected(deals: list[RawDeal], sellers: set[str], start: date, end: date) -> dict:
    """The reference workload of the deals of ``sellers`` for [start, end]."""

    def inside(day: date | None) -> bool:
        return day is not None and start <= day <= end

    first_won: dict[str, RawDeal] = {}
    for deal in sorted(
        (d for d in deals if d.status == "won" and d.account),
        key=lambda d: (d.closed, d.deal_id.encode()),
    ):
        first_won.setdefault(deal.account, deal)
    mine = [deal for deal in deals if deal.seller in sellers]
    won = [deal for deal in mine if deal.status == "won" and inside(deal.closed)]
    lost = [deal for deal in mine if deal.status == "lost" and inside(deal.closed)]
    revenue = sum((deal.amount for deal in won), Decimal("0.00"))
    return {
        "revenue_won": revenue,
        "deals_won": len(won),
        "win_rate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "avg_deal_size": float(revenue / len(won)) if won else None,
        "new_customers": sum(
            1 for deal in first_won.values() if deal.seller in sellers and inside(deal.closed)
        ),
        "pipeline_created": sum(
            (deal.amount for deal in mine if inside(deal.created)), Decimal("0.00")
        ),
        "sales_cycle_days": (
            float(statistics.median((deal.closed - deal.created).days for deal in won))
            if won
            else None
        ),
        **NO_ACTIVITIES,
    }


def differences(
    db, deals: list[RawDeal], members: Members, periods: list[str]
) -> tuple[list[str], dict[str, dict]]:
    """Compare the report of each period with the expected figures; return what differs."""
    found: list[str] = []
    companies: dict[str, dict] = {}
    for label in periods:
        period = parse_period(label, fiscal_start_month=1)
        rows = workload_report(db, actor=SYSTEM, period=period)
        assert {(row.kind, row.external_id) for row in rows} == set(members)
        for row in rows:
            want = expected(deals, members[(row.kind, row.external_id)], period.start, period.end)
            if row.kind == "company":
                companies[label] = row.values
            for code, value in want.items():
                got = row.values[code]
                if value is None or isinstance(value, Decimal | int):
                    same = got == value and type(got) is type(value)
                else:
                    same = got is not None and math.isclose(got, value, rel_tol=1e-9)
                if not same:
                    found.append(
                        f"{label} {row.kind} {row.external_id!r} {code}: "
                        f"report {got!r}, raw data {value!r}"
                    )
    return found, companies


def imported(db, name: str, mapping: str, reader: Callable[[Path], tuple]) -> tuple:
    folder = folder_of(name)
    report = run_import(db, actor=SYSTEM, path=folder, mapping=MAPPINGS / mapping)
    assert report.ok, [problem.describe() for problem in report.problems[:5]]
    db.commit()
    return reader(folder)


def test_the_report_on_crm_sales_opportunities_matches_the_raw_data(db):
    deals, members = imported(db, "crm-sales-opportunities", "crm-sales-opportunities.toml", maven)
    assert len(members) == 1 + 1 + 3 + 6 + 35  # company, its unit, regions, teams, agents
    # 2017-Q1 closes only in March and wins 84 of the 85 accounts; Q4 creates little.
    found, companies = differences(db, deals, members, ["2017-Q1", "2017-Q2", "2017-Q4"])
    assert not found, "\n".join(found[:40])
    # Anchors checked by hand (SQL over the CSV files), should both sides share a mistake.
    assert companies["2017-Q2"] == {
        "revenue_won": Decimal("3086111.00"),
        "deals_won": 1254,
        "win_rate": pytest.approx(1254 / (1254 + 778)),
        "avg_deal_size": pytest.approx(3086111 / 1254),
        "new_customers": 1,
        "pipeline_created": Decimal("4008809.00"),
        "sales_cycle_days": 52.0,
        **NO_ACTIVITIES,
    }


def test_the_report_on_the_olist_funnel_matches_the_raw_data(db):
    deals, members = imported(db, "olist-marketing-funnel", "olist-marketing-funnel.toml", olist)
    assert len(members) == 1 + 2 + 22  # company, its two units, sales reps
    # Leads arrive until 2018-05 (pipeline); declared revenue is 0 on every deal won
    # before 2018-08, and 2018-Q4 holds one deal of 50 million.
    found, companies = differences(db, deals, members, ["2018-Q1", "2018-Q2", "2018-Q3", "2018-Q4"])
    assert not found, "\n".join(found[:40])
    assert companies["2018-Q3"] == {
        "revenue_won": Decimal("10261006.00"),
        "deals_won": 93,
        "win_rate": 1.0,
        "avg_deal_size": pytest.approx(10261006 / 93),
        "new_customers": 93,  # every merchant signs once
        "pipeline_created": Decimal("0.00"),
        "sales_cycle_days": 144.0,
        **NO_ACTIVITIES,
    }
    assert companies["2018-Q4"]["revenue_won"] == Decimal("51523000.00")
