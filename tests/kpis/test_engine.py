"""The engine's built-in metrics against the independent oracle, on the demo company."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from tests.kpis.reference import KPI_CODES, reference_kpis
from touchline.auth.policy import SYSTEM
from touchline.crm.service import run_import
from touchline.demo.generator import write_interchange
from touchline.kpis.engine import compute
from touchline.org.models import Seller, Unit

PERIODS = [
    (date(2026, 4, 1), date(2026, 6, 30)),  # a quarter
    (date(2025, 2, 1), date(2025, 2, 28)),  # a month
    (date(2025, 1, 1), date(2025, 12, 31)),  # a year
    (date(2020, 1, 1), date(2020, 3, 31)),  # before any data
]


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-small")
    write_interchange(folder, size="small", seed=11)
    return folder


def _close(expected: Decimal | int | float | None, actual: float) -> bool:
    if expected is None:
        return math.isnan(actual)
    if isinstance(expected, Decimal):
        return Decimal(f"{actual:.2f}") == expected
    return math.isclose(float(expected), actual, rel_tol=1e-9, abs_tol=1e-9)


def test_every_reference_kpi_matches_the_oracle_for_every_subject(db, demo_folder):
    report = run_import(db, actor=SYSTEM, path=demo_folder)
    assert report.ok
    db.flush()
    sellers = dict(db.execute(select(Seller.id, Seller.external_id)).all())
    units = dict(db.execute(select(Unit.id, Unit.external_id)).all())
    for start, end in PERIODS:
        expected = reference_kpis(demo_folder, start, end, timezone="UTC")
        organisation, values = compute(db.connection(), start, end, zone=ZoneInfo("UTC"))
        keys = (
            [("seller", sellers[int(i)]) for i in organisation.seller_ids]
            + [("unit", units[int(i)]) for i in organisation.unit_ids]
            + [("company", "")]
        )
        assert set(keys) == set(expected)
        wrong = [
            (key, code, expected[key][code], float(values[code][position]))
            for position, key in enumerate(keys)
            for code in KPI_CODES
            if not _close(expected[key][code], float(values[code][position]))
        ]
        assert not wrong, f"{start}..{end}: {len(wrong)} wrong, e.g. {wrong[:5]}"
    assert np.nansum(values["revenue_won"]) == 0  # the last period holds nothing


def test_the_company_time_zone_decides_the_day_and_the_midnight(db, demo_folder, monkeypatch):
    from touchline.config import get_settings

    monkeypatch.setenv("TOUCHLINE_TIMEZONE", "Europe/Copenhagen")
    get_settings.cache_clear()
    try:
        report = run_import(db, actor=SYSTEM, path=demo_folder)
        assert report.ok
        db.flush()
        # 2026-Q1 holds the spring change of the clocks (29 March).
        start, end = date(2026, 1, 1), date(2026, 3, 31)
        expected = reference_kpis(demo_folder, start, end, timezone="Europe/Copenhagen")
        in_utc = reference_kpis(demo_folder, start, end, timezone="UTC")
        organisation, values = compute(
            db.connection(), start, end, zone=ZoneInfo("Europe/Copenhagen")
        )
    finally:
        get_settings.cache_clear()
    company = organisation.n_subjects - 1
    assert expected[("company", "")] != in_utc[("company", "")]  # the zone matters here
    for code in KPI_CODES:
        assert _close(expected[("company", "")][code], float(values[code][company])), code


def test_a_seller_who_moves_takes_their_history_to_the_new_unit(db, demo_folder):
    from touchline.org.models import Seller, Unit

    report = run_import(db, actor=SYSTEM, path=demo_folder)
    assert report.ok
    start, end = date(2026, 4, 1), date(2026, 6, 30)
    seller = db.scalar(select(Seller).where(Seller.external_id == "S0020"))
    old_unit = seller.unit_id
    new_unit = db.scalar(
        select(Unit.id).where(Unit.kind == "team", Unit.id != old_unit).order_by(Unit.id)
    )
    organisation, before = compute(db.connection(), start, end, zone=ZoneInfo("UTC"))
    position = {int(u): i for i, u in enumerate(organisation.unit_ids)}
    n = len(organisation.seller_ids)
    own = before["revenue_won"][int(organisation.seller_index(np.array([seller.id]))[0])]
    assert own > 0
    seller.unit_id = new_unit
    db.flush()
    _organisation, after = compute(db.connection(), start, end, zone=ZoneInfo("UTC"))
    # The rule (docs/kpis.md): a seller counts for the unit they belong to now, in every period.
    assert after["revenue_won"][n + position[new_unit]] == pytest.approx(
        before["revenue_won"][n + position[new_unit]] + own
    )
    assert after["revenue_won"][n + position[old_unit]] == pytest.approx(
        before["revenue_won"][n + position[old_unit]] - own
    )
    assert after["revenue_won"][-1] == before["revenue_won"][-1]


def test_deals_on_the_first_and_last_day_belong_to_the_period(db, tmp_path):
    from tests.crm.conftest import VALID, write_folder

    files = dict(VALID)
    files["deals.csv"] = (
        "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
        "E1,A1,S2,2026-03-31,2026-04-01,won,10.01,\n"  # created the day before, won on day one
        "E2,A1,S2,2026-04-01,2026-06-30,won,20.02,\n"  # created on day one, won on the last
        "E3,A2,S3,2026-01-10,2026-03-31,won,40.04,\n"  # the day before the quarter
        "E4,A2,S3,2026-06-30,2026-07-01,lost,80.08,\n"  # created on the last day, lost after
    )
    files["activities.csv"] = (
        "activity_id,seller_id,type,occurred_at,account_id,deal_id,duration_min,outcome\n"
        "X1,S2,call,2026-04-01T00:00:00Z,A1,E2,,\n"  # at the very midnight E2 was created
        "X2,S3,meeting,2026-06-30T23:59:59Z,A2,E4,30,next_step_agreed\n"
        "X3,S3,meeting,2026-07-01T00:00:00Z,A2,,30,no_next_step\n"
    )
    folder = write_folder(tmp_path / "edges", files)
    report = run_import(db, actor=SYSTEM, path=folder)
    assert report.ok, [problem.describe() for problem in report.problems]
    start, end = date(2026, 4, 1), date(2026, 6, 30)
    expected = reference_kpis(folder, start, end, timezone="UTC")
    organisation, values = compute(db.connection(), start, end, zone=ZoneInfo("UTC"))
    company = organisation.n_subjects - 1
    assert values["deals_won"][company] == 2  # E1 and E2, not E3
    assert values["revenue_won"][company] == pytest.approx(30.03)
    assert values["pipeline_created"][company] == pytest.approx(100.10)  # E2 and E4
    assert values["win_rate"][company] == 1.0  # E4 is lost after the quarter
    assert values["meetings"][company] == 1  # X2 at 23:59:59 of the last day, not X3
    # E2 touched at its very midnight (0 h), E4 a second before the next day: the median.
    assert values["speed_to_first_touch_h"][company] == pytest.approx((0 + 86399 / 3600) / 2)
    assert values["new_customers"][company] == 1  # A1's first win is E1; A2's was in Q1
    for code in KPI_CODES:
        assert _close(expected[("company", "")][code], float(values[code][company])), code
