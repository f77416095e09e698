"""Recognition of progress: sustained improvement against the seller's own baseline
(planted truth 6), and no reward for one lucky period."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from tests.analytics.conftest import demo_login, demo_marker, seller_of
from tests.analytics.demo_today import demo_today  # noqa: F401 (a fixture)
from touchline.analytics.recognition import KEY, company_index, judge_progress
from touchline.analytics.registry import stored_payload
from touchline.auth.models import User
from touchline.auth.policy import actor_for
from touchline.org.models import Seller


@pytest.fixture
def recognised(demo_db, analysed, demo_today):  # noqa: F811
    period = analysed(only={"recognition"})
    payload = stored_payload(demo_db, period, KEY)
    assert payload is not None
    return period, payload


def test_the_improving_seller_is_recognised_first_in_their_unit(demo_db, recognised):
    _period, payload = recognised
    planted = seller_of(demo_db, demo_marker(demo_db)["improving_seller"])
    entry = payload["sellers"][str(planted.id)]
    assert entry["recognised"]
    found = {item["kpi"]: item for item in entry["kpis"]}
    # Meeting quality climbs quarter by quarter with the planted skill.
    quality = found["meeting_quality"]
    assert quality["recognised"]
    assert quality["low"] > 0
    assert quality["latest"] > quality["baseline"]
    assert quality["values"][1] < 0.15 < 0.6 < quality["values"][-1]
    assert payload["units"][str(planted.unit_id)]["improving"][0] == planted.id
    # Few others: the rule's false-alarm rate is small and the demo's other sellers
    # have a constant skill.
    others = [e for s, e in payload["sellers"].items() if e["recognised"] and s != str(planted.id)]
    assert len(others) <= 0.1 * len(payload["sellers"])
    assert not any(e.get("recognised_kpis", 0) >= entry["recognised_kpis"] for e in others)


def test_a_partial_first_period_is_left_out(recognised):
    _period, payload = recognised
    # The demo's data begins in November 2024: its first quarter holds a few weeks only.
    assert payload["periods"][0] == "2024-Q4"
    sample = next(iter(payload["sellers"].values()))
    assert all(item["values"][0] is None for item in sample["kpis"])


def test_one_jump_after_a_weak_period_is_not_recognised():
    # Flat around 10, one weak period, then one very good one: regression to the mean
    # alone would produce this; the sustained-trend rule does not reward it.
    values = np.array([[10.0, 10.5, 9.5, 10.2, 9.8, 10.1, 6.0, 16.0]])
    judged = judge_progress(values, "higher")
    assert judged["improvement"][0] > 0
    assert not judged["recognised"][0]


def test_a_steady_climb_is_recognised_and_a_steady_fall_in_a_lower_is_better_kpi_too():
    climb = np.array([[4.0, 4.6, 5.1, 5.9, 6.4, 7.0, 7.7, 8.1]])
    assert judge_progress(climb, "higher")["recognised"][0]
    assert not judge_progress(climb, "lower")["recognised"][0]
    shorter = climb[:, ::-1].copy()  # days of sales cycle falling steadily
    judged = judge_progress(shorter, "lower")
    assert judged["recognised"][0]
    assert judged["slope"][0] < 0  # reported in the KPI's own direction


def test_too_few_periods_are_never_recognised():
    values = np.array([[np.nan, np.nan, np.nan, 4.0, 6.0, 8.0, 10.0, 12.0]])
    judged = judge_progress(values, "higher")
    assert judged["points"][0] == 5
    assert not judged["recognised"][0]


@pytest.mark.parametrize("seed", range(5))
def test_noise_is_rarely_recognised(seed):
    # 2,000 sellers x 8 periods of noise around their own level, the whole company
    # drifting up: the stated rate is at most 2.5 % per seller and KPI.
    rng = np.random.default_rng(seed)
    level = rng.lognormal(2.0, 0.5, (2000, 1))
    drift = np.linspace(1.0, 1.4, 8)
    values = level * drift * rng.normal(1.0, 0.2, (2000, 8))
    judged = judge_progress(company_index(values), "higher")
    assert np.mean(judged["recognised"]) <= 0.025


def test_the_company_index_takes_out_a_rise_everyone_shares():
    values = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [np.nan, 3.0, 4.5]])
    index = company_index(values)
    assert index[0] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert np.isnan(index[2, 0])


def test_pages_and_api_show_only_what_the_viewer_may_see(demo_db, demo_as, recognised):
    period, payload = recognised
    email = demo_login(demo_db, "manager")
    actor = actor_for(demo_db, demo_db.scalars(select(User).where(User.email == email)).one())
    visible = {s.external_id for s in demo_db.scalars(select(Seller).where(actor.sellers_clause()))}
    manager = demo_as(email)
    found = manager.get("/api/v1/analytics/recognition", params={"period": period.label}).json()
    assert found["computed"]
    assert {s["seller"] for s in found["sellers"]} <= visible
    assert [u["unit"] for u in found["units"]] == ["T-DK-KOB"]
    page = manager.get("/analytics/recognition", params={"period": period.label})
    assert page.status_code == 200
    assert "Most improved against their own baseline" in page.text
    planted = seller_of(demo_db, demo_marker(demo_db)["improving_seller"])
    assert planted.name not in page.text  # not the manager's seller
    leader = demo_as(demo_login(demo_db, "leader"))
    everyone = leader.get("/analytics/recognition", params={"period": period.label})
    assert planted.name in everyone.text
    sheet = leader.get("/analytics/recognition", params={"period": period.label, "format": "xlsx"})
    assert sheet.status_code == 200
    assert sheet.content[:2] == b"PK"
    seller = demo_as(demo_login(demo_db, "seller"))
    mine = seller.get("/api/v1/analytics/recognition", params={"period": period.label}).json()
    assert len(mine["sellers"]) == 1
    assert mine["units"] == []
    assert payload["sellers"]
