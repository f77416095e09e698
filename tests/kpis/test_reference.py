"""Tests of the KPI oracle itself, on small folders whose numbers are worked out by hand.

The organisation used throughout (``ORG``):

    C  Company (top)          <- no seller directly
    ├─ R  Region              <- S2
    │  └─ T  Team             <- S1
    └─ E  Empty team          <- nobody
    O  Other (top)            <- S3

so S1 counts for T, R and C; S2 for R and C; S3 for O; E never gets anything.
"""

from __future__ import annotations

import csv
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.kpis.reference import KPI_CODES, reference_kpis

Q1 = (date(2026, 1, 1), date(2026, 3, 31))
CPH = "Europe/Copenhagen"

TEAMS = "team_id,name,parent_team_id\nC,Company,\nR,Region,C\nT,Team,R\nE,Empty team,C\nO,Other,\n"
SELLERS = (
    "seller_id,name,email,team_id,manager_id,territory_id,hire_date\n"
    "S1,Anne,a@x.dk,T,,,\n"
    "S2,Bo,b@x.dk,R,,,\n"
    "S3,Cai,c@x.dk,O,,,\n"
)
DEALS_HEADER = "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
ACTIVITIES_HEADER = (
    "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome\n"
)

ALL_KEYS = {
    ("company", ""),
    ("unit", "C"),
    ("unit", "R"),
    ("unit", "T"),
    ("unit", "E"),
    ("unit", "O"),
    ("seller", "S1"),
    ("seller", "S2"),
    ("seller", "S3"),
}
# The keys S1's events count for, and those they never reach.
S1_KEYS = [("company", ""), ("unit", "C"), ("unit", "R"), ("unit", "T"), ("seller", "S1")]
NOT_S1_KEYS = [("unit", "E"), ("unit", "O"), ("seller", "S2"), ("seller", "S3")]

EMPTY = {
    "revenue_won": Decimal("0"),
    "deals_won": 0,
    "win_rate": None,
    "avg_deal_size": None,
    "new_customers": 0,
    "pipeline_created": Decimal("0"),
    "meetings": 0,
    "meetings_new_customers": 0,
    "calls": 0,
    "emails": 0,
    "demos": 0,
    "meeting_quality": None,
    "speed_to_first_touch_h": None,
    "sales_cycle_days": None,
}


def folder_with(tmp_path: Path, deals: str = "", activities: str = "", **extra: str) -> Path:
    """The org of the module docstring plus the given deal and activity rows (headers added
    here); ``extra`` adds or replaces whole files by name."""
    folder = tmp_path / "crm"
    folder.mkdir()
    files = {
        "teams.csv": TEAMS,
        "sellers.csv": SELLERS,
        "deals.csv": DEALS_HEADER + deals,
        "activities.csv": ACTIVITIES_HEADER + activities,
        **extra,
    }
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def test_no_data_in_the_period_gives_zeros_and_empties_for_every_key(tmp_path):
    folder = folder_with(
        tmp_path,
        deals="D1,A1,S1,2025-12-01,2025-12-31,won,10.00,\nD2,A2,S2,2025-11-01,2026-04-01,lost,5,\n",
        activities="X1,S1,meeting,2025-12-31T12:00:00Z,A1,D1,30,next_step_agreed\n"
        "X2,S3,call,2026-04-01T00:00:00Z,,,,\n",
    )
    result = reference_kpis(folder, *Q1)
    assert set(result) == ALL_KEYS
    for key, values in result.items():
        assert tuple(values) == KPI_CODES, key
        assert values == EMPTY, key
        assert isinstance(values["revenue_won"], Decimal)
        assert isinstance(values["pipeline_created"], Decimal)
        assert type(values["deals_won"]) is int
        assert type(values["meetings"]) is int


def test_missing_files_read_as_empty(tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    (folder / "sellers.csv").write_text(SELLERS, encoding="utf-8")
    result = reference_kpis(folder, *Q1)
    assert set(result) == ALL_KEYS
    assert all(values == EMPTY for values in result.values())


def test_period_bounds_are_inclusive_dates(tmp_path):
    folder = folder_with(
        tmp_path,
        deals=(
            "D1,A1,S1,2025-12-15,2026-01-01,won,100.10,\n"  # first day: in
            "D2,A2,S1,2026-02-01,2026-03-31,won,200.25,\n"  # last day: in
            "D3,A3,S1,2026-03-01,2026-04-01,won,999.99,\n"  # day after: out
            "D4,A4,S1,2025-12-31,2025-12-31,won,50,\n"  # day before: out
            "D5,A5,S1,2026-01-10,2026-02-10,lost,70,\n"
            "D6,A6,S1,2026-03-31,,open,30,\n"
        ),
    )
    result = reference_kpis(folder, *Q1)
    expected = dict(EMPTY)
    expected.update(
        revenue_won=Decimal("300.35"),  # D1 + D2
        deals_won=2,
        win_rate=2 / 3,  # D1, D2 won; D5 lost
        avg_deal_size=150.175,
        new_customers=2,  # A1 and A2; A3 first wins in April, A4 in December
        pipeline_created=Decimal("1300.24"),  # created in Q1: D2, D3, D5, D6
        # D1: 2025-12-15 -> 2026-01-01 = 17 days; D2: 2026-02-01 -> 2026-03-31 = 58 days
        sales_cycle_days=37.5,  # even count: (17 + 58) / 2
    )
    for key in S1_KEYS:
        assert result[key] == expected, key
    for key in NOT_S1_KEYS:
        assert result[key] == EMPTY, key

    # The single day after the quarter sees only D3.
    april_first = reference_kpis(folder, date(2026, 4, 1), date(2026, 4, 1))["seller", "S1"]
    assert april_first["revenue_won"] == Decimal("999.99")
    assert april_first["deals_won"] == 1
    assert april_first["sales_cycle_days"] == 31.0


def test_sums_are_exact_to_the_cent(tmp_path):
    folder = folder_with(
        tmp_path,
        deals="D1,,S1,2026-01-05,2026-01-06,won,0.1,\nD2,,S1,2026-01-05,2026-01-06,won,0.20,\n",
    )
    values = reference_kpis(folder, *Q1)["company", ""]
    assert values["revenue_won"] == Decimal("0.30")
    assert str(values["revenue_won"]) == "0.30"
    assert values["pipeline_created"] == Decimal("0.30")
    assert values["avg_deal_size"] == 0.15
    assert values["new_customers"] == 0  # deals without an account never make a customer


def test_an_activity_belongs_to_its_date_in_the_company_zone(tmp_path):
    folder = folder_with(
        tmp_path,
        deals="D1,A1,S1,2026-03-01,2026-03-31,won,10,\n",
        activities=(
            # 23:30Z on 31 March is 01:30 on 1 April in Copenhagen (CEST, +02:00)
            "X1,S1,call,2026-03-31T23:30:00Z,,,,\n"
            # 23:30Z on 31 December is 00:30 on 1 January in Copenhagen (CET, +01:00)
            "X2,S1,email,2025-12-31T23:30:00Z,,,,\n"
            "X3,S1,meeting,2026-01-15T10:00:00+01:00,,,,\n"
            "X4,S1,demo,2026-04-01T00:30:00+02:00,,,,\n"  # 31 March 22:30Z
        ),
    )
    in_utc = reference_kpis(folder, *Q1)["seller", "S1"]
    assert (in_utc["calls"], in_utc["emails"], in_utc["meetings"], in_utc["demos"]) == (1, 0, 1, 1)
    in_cph = reference_kpis(folder, *Q1, timezone=CPH)["seller", "S1"]
    assert (in_cph["calls"], in_cph["emails"], in_cph["meetings"], in_cph["demos"]) == (0, 1, 1, 0)
    # Dates without a time are not shifted: D1 closes in Q1 in either zone.
    assert in_utc["deals_won"] == in_cph["deals_won"] == 1

    april_first = (date(2026, 4, 1), date(2026, 4, 1))
    assert reference_kpis(folder, *april_first)["seller", "S1"]["calls"] == 0
    assert reference_kpis(folder, *april_first)["seller", "S1"]["demos"] == 0
    assert reference_kpis(folder, *april_first, timezone=CPH)["seller", "S1"]["calls"] == 1
    assert reference_kpis(folder, *april_first, timezone=CPH)["seller", "S1"]["demos"] == 1


def test_speed_to_first_touch_counts_from_midnight_in_the_zone_across_dst(tmp_path):
    # Copenhagen springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): that day starts
    # at 2026-03-28T23:00Z. It falls back on 2026-10-25 (03:00 CEST -> 02:00 CET): that
    # day starts at 2026-10-24T22:00Z.
    folder = folder_with(
        tmp_path,
        deals=(
            "D1,A1,S1,2026-03-29,,open,10,\n"
            "D2,A2,S1,2026-10-25,,open,10,\n"
            "D3,A3,S1,2026-03-29,,open,10,\n"
            "D4,A4,S1,2026-03-29,,open,10,\n"
            "D5,A5,S1,2026-03-29,,open,10,\n"
        ),
        activities=(
            "Y0,S1,call,2026-03-28T23:30:00+01:00,A1,D1,,\n"  # 22:30Z: before midnight, ignored
            "Y1,S1,call,2026-03-29T10:00:00+02:00,A1,D1,,\n"  # 08:00Z: the first touch
            "Y2,S1,meeting,2026-03-29T12:00:00+02:00,A1,D1,,\n"  # later, not first
            "Y3,S2,social,2026-10-25T12:00:00+01:00,A2,D2,,\n"  # 11:00Z, by anyone, any type
            "Y4,S1,call,2026-03-28T23:59:00+01:00,A3,D3,,\n"  # 22:59Z: D3 has no touch
            "Y5,S3,email,2026-04-02T00:00:00+02:00,A4,D4,,\n"  # 1 April 22:00Z, after P
        ),
    )
    day_of_spring = (date(2026, 3, 29), date(2026, 3, 29))
    day_of_autumn = (date(2026, 10, 25), date(2026, 10, 25))

    # Copenhagen. D1: 23:00Z -> 08:00Z = 9 h (the wall clock says 10 h); D3, D5 left
    # out; D4: 28 March 23:00Z -> 1 April 22:00Z = 3 d 23 h = 95 h. Median (9 + 95) / 2.
    spring = reference_kpis(folder, *day_of_spring, timezone=CPH)
    assert spring["seller", "S1"]["speed_to_first_touch_h"] == 52.0
    # D2: 24 October 22:00Z -> 25 October 11:00Z = 13 h (the wall clock says 12 h).
    autumn = reference_kpis(folder, *day_of_autumn, timezone=CPH)
    assert autumn["seller", "S1"]["speed_to_first_touch_h"] == 13.0
    # Credited to the deal's seller, whoever touched it.
    assert autumn["seller", "S2"]["speed_to_first_touch_h"] is None
    assert autumn["unit", "O"]["speed_to_first_touch_h"] is None
    assert autumn["company", ""]["speed_to_first_touch_h"] == 13.0

    # UTC. D1: 00:00Z -> 08:00Z = 8 h (Y0 at 22:30Z the day before is ignored); D4:
    # 29 March 00:00Z -> 1 April 22:00Z = 94 h. D2: 00:00Z -> 11:00Z = 11 h.
    assert reference_kpis(folder, *day_of_spring)["unit", "T"]["speed_to_first_touch_h"] == 51.0
    assert reference_kpis(folder, *day_of_autumn)["unit", "C"]["speed_to_first_touch_h"] == 11.0

    # Only D1 alone, with a touch a quarter of an hour past midnight, to see fractions.
    (folder / "activities.csv").write_text(
        ACTIVITIES_HEADER + "Z1,S1,call,2026-03-28T23:15:00Z,A1,D1,,\n", encoding="utf-8"
    )
    only = reference_kpis(folder, *day_of_spring, timezone=CPH)["seller", "S1"]
    assert only["speed_to_first_touch_h"] == 0.25


def test_first_won_deal_ties_break_by_byte_order_of_deal_id(tmp_path):
    folder = folder_with(
        tmp_path,
        deals=(
            # A1: D9 and D10 close the same day; "D10" < "D9" as byte strings -> S2.
            "D9,A1,S1,2026-01-01,2026-02-01,won,10,\n"
            "D10,A1,S2,2026-01-01,2026-02-01,won,10,\n"
            # A2: first won in November, before P: no new customer in Q1.
            "D20,A2,S1,2025-10-01,2025-11-01,won,10,\n"
            "D21,A2,S1,2026-01-01,2026-02-15,won,10,\n"
            # A3: a lost deal is not a win; D31 is A3's first won deal -> S3.
            "D30,A3,S3,2025-12-01,2026-01-05,lost,10,\n"
            "D31,A3,S3,2026-01-01,2026-03-01,won,10,\n"
            # A4: the earliest close_date wins over the smaller id -> D51, S1.
            "D05,A4,S2,2026-01-01,2026-04-02,won,10,\n"
            "D51,A4,S1,2026-01-01,2026-03-30,won,10,\n"
            # no account: left out.
            "D40,,S1,2026-01-01,2026-02-01,won,10,\n"
        ),
    )
    result = reference_kpis(folder, *Q1)
    new = {key: values["new_customers"] for key, values in result.items()}
    assert new == {
        ("company", ""): 3,
        ("unit", "C"): 2,
        ("unit", "R"): 2,
        ("unit", "T"): 1,
        ("unit", "E"): 0,
        ("unit", "O"): 1,
        ("seller", "S1"): 1,
        ("seller", "S2"): 1,
        ("seller", "S3"): 1,
    }
    # In Q2 D05 closes but A4's first win was D51 in Q1.
    assert (
        reference_kpis(folder, date(2026, 4, 1), date(2026, 6, 30))["company", ""]["new_customers"]
        == 0
    )


def test_teams_roll_up_through_parents_and_empty_teams_still_appear(tmp_path):
    folder = folder_with(
        tmp_path,
        deals=(
            "D1,A1,S1,2026-01-01,2026-01-10,won,100,\n"  # cycle 9
            "D2,A2,S2,2026-01-01,2026-01-31,won,50,\n"  # cycle 30
            "D3,A3,S2,2025-12-01,2026-02-01,lost,10,\n"
            "D4,A4,S2,2025-12-01,2026-02-01,lost,10,\n"
            "D5,A5,S2,2025-12-01,2026-02-01,lost,10,\n"
            "D6,A6,S3,2026-02-01,2026-02-08,won,7,\n"  # cycle 7
        ),
    )
    result = reference_kpis(folder, *Q1)

    def pick(code):
        return {key: values[code] for key, values in result.items()}

    # A team's win_rate comes from its sellers' deals: R has 2 won, 3 lost -> 0.4,
    # not the mean of S1's 1.0 and S2's 0.25.
    assert pick("win_rate") == {
        ("company", ""): 0.5,
        ("unit", "C"): 0.4,
        ("unit", "R"): 0.4,
        ("unit", "T"): 1.0,
        ("unit", "E"): None,
        ("unit", "O"): 1.0,
        ("seller", "S1"): 1.0,
        ("seller", "S2"): 0.25,
        ("seller", "S3"): 1.0,
    }
    assert pick("revenue_won") == {
        ("company", ""): Decimal("157.00"),
        ("unit", "C"): Decimal("150.00"),
        ("unit", "R"): Decimal("150.00"),
        ("unit", "T"): Decimal("100.00"),
        ("unit", "E"): Decimal("0"),
        ("unit", "O"): Decimal("7.00"),
        ("seller", "S1"): Decimal("100.00"),
        ("seller", "S2"): Decimal("50.00"),
        ("seller", "S3"): Decimal("7.00"),
    }
    assert pick("sales_cycle_days") == {
        ("company", ""): 9.0,  # median of 7, 9, 30
        ("unit", "C"): 19.5,  # (9 + 30) / 2
        ("unit", "R"): 19.5,
        ("unit", "T"): 9.0,
        ("unit", "E"): None,
        ("unit", "O"): 7.0,
        ("seller", "S1"): 9.0,
        ("seller", "S2"): 30.0,
        ("seller", "S3"): 7.0,
    }
    assert pick("avg_deal_size")["unit", "R"] == 75.0
    assert pick("avg_deal_size")["company", ""] == pytest.approx(157 / 3)
    assert result["unit", "E"] == EMPTY


def test_deeply_nested_teams_roll_up_to_every_ancestor(tmp_path):
    teams = TEAMS + "T2,Sub team,T\nT3,Sub sub team,T2\n"
    sellers = SELLERS + "S4,Dan,d@x.dk,T3,,,\n"
    folder = folder_with(
        tmp_path,
        deals="D1,A1,S4,2026-01-01,2026-01-02,won,1.50,\n",
        **{"teams.csv": teams, "sellers.csv": sellers},
    )
    result = reference_kpis(folder, *Q1)
    for team in ("T3", "T2", "T", "R", "C"):
        assert result["unit", team]["revenue_won"] == Decimal("1.50"), team
        assert result["unit", team]["new_customers"] == 1, team
    assert result["company", ""]["deals_won"] == 1
    for team in ("E", "O"):
        assert result["unit", team]["deals_won"] == 0


def test_meetings_new_customers_and_meeting_quality(tmp_path):
    folder = folder_with(
        tmp_path,
        deals=(
            "D1,A1,S1,2026-01-01,2026-02-10,won,10,\n"
            "D2,A1,S2,2026-01-01,2026-03-01,won,10,\n"  # later win: changes nothing
            "D3,A3,S1,2025-01-01,2025-06-01,won,10,\n"  # A3 was won before P
        ),
        activities=(
            "M1,S1,meeting,2026-02-09T10:00:00Z,A1,,30,next_step_agreed\n"  # new
            "M2,S1,meeting,2026-02-10T10:00:00Z,A1,,30,no_next_step\n"  # new: same day
            "M3,S1,meeting,2026-02-11T10:00:00Z,A1,,30,\n"  # A1 won the day before
            "M4,S1,meeting,2026-02-11T10:00:00Z,,,30,next_step_agreed\n"  # no account
            "M5,S1,meeting,2026-03-01T10:00:00Z,A2,,30,next_step_agreed\n"  # never won: new
            "M6,S1,call,2026-02-01T10:00:00Z,A2,,5,next_step_agreed\n"  # a call, not a meeting
            "M7,S2,meeting,2026-02-01T10:00:00Z,A3,,30,\n"  # A3 won before: not new
            # 10 February in UTC (new), 11 February in Copenhagen (not new)
            "M8,S1,meeting,2026-02-10T23:30:00Z,A1,,30,\n"
        ),
    )
    utc = reference_kpis(folder, *Q1)
    assert utc["seller", "S1"]["meetings"] == 6
    assert utc["seller", "S1"]["meetings_new_customers"] == 4  # M1, M2, M5, M8
    assert utc["seller", "S1"]["meeting_quality"] == 0.75  # M1, M4, M5 of M1, M2, M4, M5
    assert utc["seller", "S1"]["calls"] == 1
    assert utc["seller", "S2"]["meetings"] == 1
    assert utc["seller", "S2"]["meetings_new_customers"] == 0
    assert utc["seller", "S2"]["meeting_quality"] is None  # no outcome given
    assert utc["unit", "R"]["meetings"] == 7
    assert utc["unit", "R"]["meeting_quality"] == 0.75
    assert utc["company", ""]["meetings_new_customers"] == 4

    cph = reference_kpis(folder, *Q1, timezone=CPH)
    assert cph["seller", "S1"]["meetings"] == 6
    assert cph["seller", "S1"]["meetings_new_customers"] == 3  # M1, M2, M5


def test_even_count_median_is_the_mean_of_the_two_middle_values(tmp_path):
    folder = folder_with(
        tmp_path,
        deals=(
            "D1,A1,S1,2026-01-01,2026-01-02,won,1,\n"  # 1 day
            "D2,A2,S1,2026-01-01,2026-01-04,won,1,\n"  # 3 days
            "D3,A3,S1,2026-01-01,2026-01-11,won,1,\n"  # 10 days
            "D4,A4,S1,2026-01-01,2026-03-02,won,1,\n"  # 60 days
        ),
        activities=(
            "X1,S1,call,2026-01-01T01:00:00Z,A1,D1,,\n"  # 1 h
            "X2,S1,call,2026-01-01T02:00:00Z,A2,D2,,\n"  # 2 h
            "X3,S1,call,2026-01-01T03:30:00Z,A3,D3,,\n"  # 3.5 h
            "X4,S1,call,2026-01-02T00:00:00Z,A4,D4,,\n"  # 24 h
        ),
    )
    values = reference_kpis(folder, *Q1)["seller", "S1"]
    assert values["sales_cycle_days"] == 6.5  # (3 + 10) / 2
    assert values["speed_to_first_touch_h"] == 2.75  # (2 + 3.5) / 2


@pytest.mark.parametrize(
    ("deals", "activities", "message"),
    [
        ("D1,A1,S1,2026-01-01,,won,1,\n", "", "without a close_date"),
        ("D1,A1,S9,2026-01-01,,open,1,\n", "", "unknown seller"),
        ("", "X1,S1,call,2026-01-01T10:00:00,,,,\n", "no offset"),
        ("D1,A1,S1,2026-01-01,,open,1.005,\n", "", "2 decimal places"),
    ],
)
def test_input_the_import_refuses_is_an_error(tmp_path, deals, activities, message):
    folder = folder_with(tmp_path, deals=deals, activities=activities)
    with pytest.raises(ValueError, match=message):
        reference_kpis(folder, *Q1)


def test_unknown_extra_columns_are_ignored(tmp_path):
    folder = folder_with(tmp_path)
    (folder / "deals.csv").write_text(
        "deal_id,extra,account_id,seller_id,created_date,close_date,status,amount\n"
        "D1,whatever,A1,S1,2026-01-01,2026-01-05,won,12.34\n",
        encoding="utf-8",
    )
    assert reference_kpis(folder, *Q1)["seller", "S1"]["revenue_won"] == Decimal("12.34")


def test_two_hundred_thousand_activities_take_a_few_seconds(tmp_path):
    rng = random.Random(7)
    folder = folder_with(tmp_path)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    with (folder / "deals.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DEALS_HEADER.strip().split(","))
        for n in range(20_000):
            created = date(2026, 1, 1) + timedelta(days=rng.randrange(90))
            closed = created + timedelta(days=rng.randrange(60))
            status = rng.choice(["open", "won", "lost"])
            writer.writerow(
                [
                    f"D{n}",
                    f"A{n % 3000}",
                    f"S{1 + n % 3}",
                    created.isoformat(),
                    "" if status == "open" else closed.isoformat(),
                    status,
                    f"{rng.randrange(10**6) / 100:.2f}",
                    "",
                ]
            )
    with (folder / "activities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACTIVITIES_HEADER.strip().split(","))
        types = ["call", "meeting", "email", "demo", "social"]
        outcomes = ["next_step_agreed", "no_next_step", ""]
        for n in range(200_000):
            moment = first + timedelta(seconds=rng.randrange(120 * 86400))
            writer.writerow(
                [
                    f"X{n}",
                    f"S{1 + n % 3}",
                    rng.choice(types),
                    moment.isoformat(),
                    f"A{n % 3000}",
                    f"D{rng.randrange(20_000)}",
                    "",
                    rng.choice(outcomes),
                ]
            )
    began = time.perf_counter()
    result = reference_kpis(folder, *Q1, timezone=CPH)
    elapsed = time.perf_counter() - began
    assert elapsed < 30, f"took {elapsed:.1f} s"
    company = result["company", ""]
    sellers = [result["seller", s] for s in ("S1", "S2", "S3")]
    for code in ("deals_won", "meetings", "calls", "new_customers", "revenue_won"):
        assert company[code] == sum(values[code] for values in sellers), code
    assert company["meetings"] > 0
    assert company["speed_to_first_touch_h"] is not None
