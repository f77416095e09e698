"""The incremental refresh after an import equals a full recompute, value for value.

A small company with half a year of deals and activities is imported and its months,
quarters and year computed. Each test imports more (activities, a won deal that makes
a new customer, a lost deal, a deal moved to another seller and month, a pruned row, a
seller moved to another team), lets the import's hook refresh, then recomputes every
stored period whole and compares every stored value, and rebuilds the component tables
from scratch and compares them too.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.crm.conftest import write_folder
from touchline.auth.policy import SYSTEM
from touchline.config import get_settings
from touchline.crm.service import run_import
from touchline.kpis import catalogue, incremental
from touchline.kpis.components import rebuild_components
from touchline.kpis.compute import compute_all
from touchline.kpis.compute import compute_period as original_compute_period
from touchline.kpis.models import (
    ComputedPeriod,
    DayComponents,
    FirstTouch,
    FirstWin,
    KpiValue,
    MonthComponents,
)
from touchline.kpis.schemas import KpiCreate, KpiDefinition, KpiUpdate
from touchline.org.models import Seller, Unit
from touchline.org.periods import parse_period

TEAMS = "team_id,name,parent_team_id\nC,Company,\nR1,North,C\nT1,Team One,R1\nT2,Team Two,R1\n"
SELLERS_HEADER = "seller_id,name,email,team_id,manager_id,territory_id,hire_date\n"
SELLERS = {"S1": "C", "S2": "R1", "S3": "T1", "S4": "T1", "S5": "T2", "S6": "T2"}
DEALS_HEADER = "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
ACTIVITIES_HEADER = (
    "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome\n"
)
TYPES = ("call", "meeting", "email", "demo", "social", "meeting")
OUTCOMES = ("", "next_step_agreed", "no_next_step", "")
FIRST_DAY = date(2026, 1, 1)


def _sellers(teams: dict[str, str]) -> str:
    return SELLERS_HEADER + "".join(
        f"{seller},Seller {seller},{seller.lower()}@x.dk,{team},,,\n"
        for seller, team in teams.items()
    )


def _company() -> tuple[dict[str, str], list[str], list[str]]:
    """Return the files of the company, its deal rows and its activity rows."""
    rng = random.Random(4)
    deals = []
    for number in range(60):
        created = FIRST_DAY + timedelta(days=rng.randrange(150))
        status = rng.choice(("won", "lost", "open", "won"))
        closed = created + timedelta(days=rng.randrange(1, 40)) if status != "open" else None
        deals.append(
            f"D{number},A{rng.randrange(12)},S{rng.randrange(1, 7)},{created},"
            f"{closed or ''},{status},{rng.randrange(100, 90000) / 100:.2f},\n"
        )
    activities = []
    for number in range(400):
        day = FIRST_DAY + timedelta(days=rng.randrange(170))
        moment = datetime(
            day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC
        )
        kind = rng.choice(TYPES)
        outcome = rng.choice(OUTCOMES) if kind == "meeting" else ""
        account = f"A{rng.randrange(14)}" if rng.random() < 0.8 else ""
        deal = f"D{rng.randrange(60)}" if rng.random() < 0.5 else ""
        activities.append(
            f"X{number},S{rng.randrange(1, 7)},{kind},{moment:%Y-%m-%dT%H:%M:%SZ},{account},"
            f"{deal},{rng.randrange(5, 60)},{outcome}\n"
        )
    accounts = "account_id,name,territory_id,segment\n" + "".join(
        f"A{number},Account {number},,\n" for number in range(16)
    )
    files = {
        "teams.csv": TEAMS,
        "sellers.csv": _sellers(SELLERS),
        "accounts.csv": accounts,
        "deals.csv": DEALS_HEADER + "".join(deals),
        "activities.csv": ACTIVITIES_HEADER + "".join(activities),
    }
    return files, deals, activities


@pytest.fixture(autouse=True)
def copenhagen(monkeypatch):
    """A zone with an offset and a change of clocks inside the data, for first touches."""
    monkeypatch.setenv("TOUCHLINE_TIMEZONE", "Europe/Copenhagen")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def company(db, tmp_path):
    files, deals, activities = _company()
    report = run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "crm", files))
    assert report.ok, report.problems
    compute_all(db, trigger="test")
    assert {p.period for p in db.scalars(select(ComputedPeriod))} >= {
        "2026-01",
        "2026-Q2",
        "FY2026",
    }
    return deals, activities


def _stored(db) -> dict[tuple[str, str, int, int], tuple[int, float | None]]:
    return {
        (row.period, row.subject_kind, row.subject_id, row.kpi_id): (row.version_id, row.value)
        for row in db.scalars(select(KpiValue))
    }


def _tables(db) -> dict[str, set[tuple]]:
    """The rows of the component tables; a row of zeros is the same as no row."""
    found = {}
    for model in (DayComponents, MonthComponents, FirstWin, FirstTouch):
        table = model.__table__
        rows = set(db.execute(select(*table.c)).all())
        if model in (DayComponents, MonthComponents):
            rows = {row for row in rows if any(row[2:])}
        found[table.name] = rows
    return found


def _import(db, folder: Path, files: dict[str, str], *, prune: bool = False, spy=None):
    report = run_import(db, actor=SYSTEM, path=write_folder(folder, files), prune=prune)
    assert report.ok, report.problems
    return report


def _assert_same_as_full_recompute(db, periods: set[str] | None = None) -> None:
    """Every stored value (of ``periods``, else of every stored period), and every
    component, equals what a full recompute gives."""
    after_import = _stored(db)
    components = _tables(db)
    fiscal = get_settings().fiscal_year_start_month
    for record in db.scalars(select(ComputedPeriod)).all():
        original_compute_period(db, parse_period(record.period, fiscal_start_month=fiscal))
    recomputed = _stored(db)
    differing = {
        key: (after_import.get(key), recomputed.get(key))
        for key in after_import.keys() | recomputed.keys()
        if after_import.get(key) != recomputed.get(key) and (periods is None or key[0] in periods)
    }
    assert not differing, sorted(differing.items())[:10]
    rebuild_components(db)
    rebuilt = _tables(db)
    for name, rows in rebuilt.items():
        assert components[name] == rows, name


@pytest.fixture
def wholes(monkeypatch):
    """The periods the refresh recomputed whole instead of from components."""
    from touchline.kpis import compute

    seen: list[str] = []
    original = compute.compute_period

    def counting(session, period, **kwargs):
        seen.append(period.label)
        return original(session, period, **kwargs)

    monkeypatch.setattr(incremental, "compute_period", counting)
    monkeypatch.setattr(compute, "compute_period", counting)
    return seen


def test_more_activities_refresh_from_components(db, company, tmp_path, wholes):
    deals, _activities = company
    # Ten past midnight (Copenhagen, winter time) of a deal's created date: its first touch.
    early = next(row.split(",") for row in deals if row.split(",")[3] < "2026-03-20")
    created = date.fromisoformat(early[3])
    touch_at = f"{created - timedelta(days=1)}T23:10:00Z"
    before = db.get(FirstTouch, _deal_id(db, early[0]))
    rows = [
        f"Y0,S1,email,{touch_at},,{early[0]},1,\n",
        # Before D3's first touch and on new days; a meeting of an account not yet won.
        "Y1,S3,meeting,2026-03-29T00:30:00Z,A13,D3,30,next_step_agreed\n",
        "Y2,S4,call,2026-05-02T08:00:00Z,A2,,5,\n",
        "Y3,S5,meeting,2026-06-30T22:30:00Z,A1,D7,45,no_next_step\n",
        "Y4,S2,demo,2026-02-14T10:00:00Z,,D10,60,\n",
    ]
    _import(db, tmp_path / "more", {"activities.csv": ACTIVITIES_HEADER + "".join(rows)})
    assert wholes == []
    assert db.get(ComputedPeriod, "2026-Q1").trigger == "import"
    moved = db.get(FirstTouch, _deal_id(db, early[0]))
    assert moved.first_touch_on == created
    assert before is None or before.first_touch_ms > moved.first_touch_ms
    _assert_same_as_full_recompute(db)


def test_a_won_deal_that_makes_a_new_customer_reaches_other_days(db, company, tmp_path, wholes):
    files = {
        "accounts.csv": "account_id,name,territory_id,segment\nA20,Newco,,\n",
        "deals.csv": DEALS_HEADER + "N1,A20,S4,2026-02-01,2026-02-20,won,1234.56,\n",
        # Meetings with A20 before and after its first win: after it, no new customer.
        "activities.csv": ACTIVITIES_HEADER
        + "M1,S3,meeting,2026-02-10T09:00:00Z,A20,,30,next_step_agreed\n"
        + "M2,S5,meeting,2026-04-10T09:00:00Z,A20,,30,\n",
    }
    _import(db, tmp_path / "first", files)
    # A won deal closing earlier moves A20's first win back: M1 is no longer with a new
    # customer, though nothing on its day was imported now.
    _import(
        db,
        tmp_path / "earlier",
        {"deals.csv": DEALS_HEADER + "N2,A20,S6,2026-01-03,2026-02-05,won,10.00,\n"},
    )
    assert wholes == []
    first = db.get(FirstWin, _account_id(db, "A20"))
    assert first.close_date == date(2026, 2, 5)
    _assert_same_as_full_recompute(db)


def test_a_lost_deal_and_a_deal_moved_across_months_and_sellers(db, company, tmp_path, wholes):
    deals, _activities = company
    moved = deals[0].split(",")
    moved[2] = "S6" if moved[2] != "S6" else "S5"
    moved[3] = "2026-06-01"
    moved[4] = "2026-06-20" if moved[5] != "open" else ""
    rows = [",".join(moved), "L1,A3,S2,2026-03-01,2026-04-15,lost,99.99,\n"]
    _import(db, tmp_path / "more", {"deals.csv": DEALS_HEADER + "".join(rows)})
    assert wholes == []
    _assert_same_as_full_recompute(db)


def test_a_first_win_that_is_lost_after_all(db, company, tmp_path, wholes):
    deals, _activities = company
    won = next(row for row in deals if ",won," in row)
    lost = won.replace(",won,", ",lost,")
    _import(db, tmp_path / "more", {"deals.csv": DEALS_HEADER + lost})
    assert wholes == []
    _assert_same_as_full_recompute(db)


def test_a_pruned_activity_and_deal(db, company, tmp_path, wholes):
    deals, activities = company
    # Keep deals referred to by activities; prune one that none refers to.
    referred = {row.split(",")[5] for row in activities}
    gone = next(row for row in deals if row.split(",")[0] not in referred)
    kept_deals = [row for row in deals if row != gone]
    kept_activities = [row for row in activities if row.split(",")[0] != "X7"]
    _import(
        db,
        tmp_path / "pruned",
        {
            "deals.csv": DEALS_HEADER + "".join(kept_deals),
            "activities.csv": ACTIVITIES_HEADER + "".join(kept_activities),
        },
        prune=True,
    )
    assert wholes == []
    _assert_same_as_full_recompute(db)


def test_a_seller_moved_to_another_team_recomputes_everything(db, company, tmp_path, wholes):
    teams = dict(SELLERS, S3="T2")
    _import(db, tmp_path / "moved", {"sellers.csv": _sellers(teams)})
    s3 = db.scalar(select(Seller).where(Seller.external_id == "S3"))
    assert db.get(Unit, s3.unit_id).external_id == "T2"
    assert "2026-Q1" in wholes
    _assert_same_as_full_recompute(db)


def test_a_change_of_the_organisation_outside_imports_is_noticed(db, company, tmp_path, wholes):
    # The organisation's service does not refresh KPIs: the stored periods' basis no
    # longer fits, so the next refresh recomputes them whole, not from stale unit sums.
    t2 = db.scalar(select(Unit.id).where(Unit.external_id == "T2"))
    db.execute(update(Seller).where(Seller.external_id == "S3").values(unit_id=t2))
    db.flush()
    rows = "Y1,S3,call,2026-03-03T09:00:00Z,,,5,\n"
    _import(db, tmp_path / "more", {"activities.csv": ACTIVITIES_HEADER + rows})
    assert {"2026-03", "2026-Q1", "FY2026"} <= set(wholes)
    # The other periods keep their values until recomputed, as before.
    _assert_same_as_full_recompute(db, {"2026-03", "2026-Q1", "FY2026"})


def test_a_new_kpi_version_then_an_import(db, company, tmp_path, wholes):
    kpi = catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(
            code="calls_per_meeting",
            name="Calls per meeting",
            level="activity",
            formula="calls / meetings",
        ),
    )
    catalogue.update_kpi(
        db,
        actor=SYSTEM,
        kpi=kpi,
        kpi_in=KpiUpdate(
            definition=KpiDefinition(formula="calls / (meetings + demos)"),
            effective_from="2026-Q2",
        ),
    )
    # Saving recomputed the periods whole (``recompute_from``); the import then refreshes
    # from components with the version in force in each period.
    wholes.clear()
    rows = "Y1,S4,call,2026-05-05T09:00:00Z,,,5,\nY2,S4,meeting,2026-05-06T09:00:00Z,A1,,5,\n"
    _import(db, tmp_path / "more", {"activities.csv": ACTIVITIES_HEADER + rows})
    assert wholes == []
    _assert_same_as_full_recompute(db)


def test_components_are_built_when_missing(db, company, tmp_path, wholes):
    # As after the upgrade to migration 0010: periods stored, no components, no basis.
    for model in (DayComponents, MonthComponents, FirstWin, FirstTouch):
        db.query(model).delete()
    db.execute(update(ComputedPeriod).values(basis=None, metrics=None))
    rows = "Y1,S4,call,2026-05-05T09:00:00Z,,,5,\n"
    _import(db, tmp_path / "more", {"activities.csv": ACTIVITIES_HEADER + rows})
    assert {"2026-05", "2026-Q2", "FY2026"} <= set(wholes)
    _assert_same_as_full_recompute(db)


def test_refreshing_given_days_without_an_import(db, company, wholes):
    changes = incremental.changes_on_days(db, [date(2026, 3, 3), date(2026, 5, 20)])
    results = incremental.refresh_events(db, changes=changes, trigger="test")
    assert {r.period for r in results} >= {"2026-03", "2026-05", "2026-Q1", "2026-Q2", "FY2026"}
    assert not any(r.whole for r in results)
    assert all(r.written == 0 for r in results)  # nothing changed since compute_all
    _assert_same_as_full_recompute(db)


def test_the_import_tells_its_hooks_what_changed(db, company, tmp_path, monkeypatch):
    from touchline.crm import service

    _deals, activities = company
    caught = []
    monkeypatch.setattr(
        service, "AFTER_IMPORT", [lambda _s, _r, changes, _p: caught.append(changes)]
    )
    first = activities[0].split(",")
    moved = [first[0], "S2", first[2], "2026-06-15T10:00:00Z", *first[4:]]
    rows = [",".join(moved), "Y1,S4,call,2026-05-05T09:00:00Z,,,5,\n", *activities[1:5]]
    _import(db, tmp_path / "more", {"activities.csv": ACTIVITIES_HEADER + "".join(rows)})
    changes = caught[0]
    assert not changes.everything
    assert list(changes.tables) == ["activities"]
    table = changes.tables["activities"]
    assert table.files == ["activities.csv"]
    # The moved activity's old and new seller and day, the new call's; the four rows
    # imported unchanged are not listed.
    named = ("S2", "S4", first[1])
    assert table.sellers == {
        db.scalar(select(Seller.id).where(Seller.external_id == name)) for name in named
    }
    old_day = datetime.fromisoformat(first[3]).astimezone(ZoneInfo("Europe/Copenhagen")).date()
    assert table.days == {old_day, date(2026, 6, 15), date(2026, 5, 5)}


def _deal_id(db, external_id: str) -> int:
    from touchline.crm.models import Deal

    return db.scalar(select(Deal.id).where(Deal.external_id == external_id))


def _account_id(db, external_id: str) -> int:
    from touchline.crm.models import Account

    return db.scalar(select(Account.id).where(Account.external_id == external_id))
