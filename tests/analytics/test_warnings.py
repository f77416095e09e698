"""Early warnings: pace to period end, trends, and the team losing energy (planted truth 3)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy.stats import theilslopes
from sqlalchemy import select

from tests.analytics.conftest import demo_login, demo_marker, seller_of, unit_of
from tests.analytics.demo_today import demo_today  # noqa: F401 (a fixture)
from touchline.analytics.registry import stored_payload
from touchline.analytics.warning_pace import Profile, pace_day, share_of
from touchline.analytics.warning_trend import theil_sen
from touchline.analytics.warning_views import rule_of
from touchline.analytics.warnings import (
    KEY,
    TREND_CONFIDENCE,
    LineFacts,
    early_warnings,
    falls,
    judge_pace,
)
from touchline.auth.models import User
from touchline.auth.policy import SYSTEM, actor_for
from touchline.coaching.agenda import AgendaContext, source_of
from touchline.coaching.models import AgendaItem, Conversation
from touchline.kpis.catalogue import Versions
from touchline.kpis.models import Kpi
from touchline.org.models import Seller
from touchline.org.periods import PeriodKind, parse_period, period_containing


@pytest.fixture
def warned(demo_db, analysed, demo_today):  # noqa: F811
    period = analysed(only={"warnings"})
    payload = stored_payload(demo_db, period, KEY)
    assert payload is not None
    return period, payload


def test_the_sinking_energy_team_is_warned_and_no_other(demo_db, warned):
    _period, payload = warned
    planted = demo_marker(demo_db)["low_energy_team"]
    energy = [w for w in payload["warnings"] if w["kind"] == "energy"]
    assert [payload["energy"][str(w["unit_id"])]["external_id"] for w in energy] == [planted]
    team = payload["energy"][str(unit_of(demo_db, planted).id)]
    assert team["high"] < 0  # the whole interval of the weekly slope below zero
    assert team["target_change"] > 0.3  # raised by 15, 30 and 45 % in the last months
    others = [t for t in payload["energy"].values() if t["external_id"] != planted]
    assert len(others) == 11
    assert not any(t["targets_rising"] for t in others)


def test_an_off_pace_warning_carries_the_decision_rule_in_force(demo_db, warned):
    period, payload = warned
    pace = [w for w in payload["warnings"] if w["kind"] == "pace" and w["subject"] == "seller"]
    assert pace
    warning = next(w for w in pace if w["kpi"] == "revenue_won")
    line = payload["sellers"][str(warning["seller_id"])]["lines"][warning["line"]]
    assert line["off_pace"]
    assert line["projected_attainment"] < line_threshold(demo_db, line)
    kpi = demo_db.scalars(select(Kpi).where(Kpi.code == "revenue_won")).one()
    day = date.fromisoformat(payload["as_of"])
    rule = Versions.load(demo_db).in_force(kpi.id, day).decision_rule
    assert rule
    assert rule_of(payload, "pace", "revenue_won") == rule
    # Pace in the running quarter from the sellers' own seasonality where they have it.
    assert line["method"] in ("seller", "unit")
    assert line["projection"] == pytest.approx(line["actual"] / line["share"])
    assert payload["status"] == "running"
    assert payload["as_of"] <= period.end.isoformat()


def line_threshold(db, line) -> float:
    kpi = db.scalars(select(Kpi).where(Kpi.code == line["kpi"])).one()
    return Versions.load(db).in_force(kpi.id, date(2026, 11, 19)).green_from


def test_the_pace_day_is_the_last_day_of_data_in_the_running_period(demo_db, demo_today):  # noqa: F811
    quarter = period_containing(demo_today, PeriodKind.QUARTER, fiscal_start_month=1)
    assert pace_day(demo_db, quarter, date(2026, 12, 4)) == demo_today
    assert pace_day(demo_db, quarter.previous(), date(2026, 12, 4)) == quarter.previous().end
    assert pace_day(demo_db, quarter.next(), date(2026, 12, 4)) is None
    nothing = early_warnings(demo_db, quarter.next(), today=demo_today)
    assert nothing["status"] == "not_begun"
    assert nothing["warnings"] == []


def test_pace_is_linear_without_history():
    share = share_of(None, [1, 2], 1, 0.25)
    assert (share.value, share.method) == (0.25, "linear")
    kpi = Kpi(code="meetings", direction="higher", time_aggregation="sum")
    line = judge_pace(
        LineFacts(kpi, 30.0, 100.0, 100.0, 85.0), share, 0.25, (np.nan, np.nan, np.nan, 0), ""
    )
    assert line["projection"] == pytest.approx(120.0)  # 30 in a quarter of the period
    assert line["light"] == "green"
    assert not line["off_pace"]


def test_pace_is_seasonal_with_a_history_of_the_seller_else_of_the_team():
    # Seller 1: 40 events in earlier periods, 30 of them by this point: 75 % by now.
    # Seller 2: 10 events (too few of their own), 2 by now: the team's pool is used.
    profile = Profile({1: 30.0, 2: 2.0}, {1: 40.0, 2: 10.0}, {1: 40, 2: 10})
    own = share_of(profile, [1, 2], 1, 0.5)
    assert (own.value, own.method, own.events) == (0.75, "seller", 40)
    pooled = share_of(profile, [1, 2], 2, 0.5)
    assert pooled.method == "unit"
    assert pooled.value == pytest.approx(32 / 50)
    kpi = Kpi(code="meetings", direction="higher", time_aggregation="sum")
    line = judge_pace(
        LineFacts(kpi, 60.0, 100.0, 100.0, 85.0), own, 0.5, (np.nan, np.nan, np.nan, 0), "rule"
    )
    # Linearly 60 at half time would be on pace for 120; the seller usually has 75 % of
    # a period's meetings by now, so 60 projects to 80: red against 100.
    assert line["projection"] == pytest.approx(80.0)
    assert line["light"] == "red"
    assert line["off_pace"]
    assert line["rule"] == "rule"


def test_a_ratio_is_projected_at_its_value_to_date():
    kpi = Kpi(code="meeting_quality", direction="higher", time_aggregation="mean")
    line = judge_pace(
        LineFacts(kpi, 0.4, 0.5, 100.0, 85.0), None, 0.3, (np.nan, np.nan, np.nan, 0), ""
    )
    assert line["projection"] == 0.4
    assert line["method"] == "level"
    assert line["light"] == "red"


def test_the_slopes_are_scipys_theil_sen_row_by_row():
    rng = np.random.default_rng(11)
    values = rng.poisson(4, size=(200, 8)).astype(float)
    values[rng.random(values.shape) < 0.15] = np.nan
    found = theil_sen(values, confidence=0.95, minimum=4)
    for row in range(200):
        present = np.isfinite(values[row])
        if present.sum() < 4:
            assert np.isnan(found.slope[row])
            continue
        x = np.flatnonzero(present).astype(float)
        expected = theilslopes(values[row][present], x, alpha=0.95)
        assert found.slope[row] == pytest.approx(expected.slope)
        assert found.low[row] == pytest.approx(expected.low_slope)
        assert found.high[row] == pytest.approx(expected.high_slope)


@pytest.mark.parametrize("seed", range(5))
def test_flat_noise_raises_few_trend_warnings(seed):
    # 2,000 sellers x 8 periods of pure noise, normal and counts: no trend at all. The
    # stated false-alarm rate is 2.5 % per series (one side of a 95 % interval).
    rng = np.random.default_rng(seed)
    for values in (rng.normal(100, 15, (2000, 8)), rng.poisson(6, (2000, 8)).astype(float)):
        found = theil_sen(values, confidence=TREND_CONFIDENCE, minimum=4)
        alarms = [falls(lo, hi, "higher") for lo, hi in zip(found.low, found.high, strict=True)]
        assert np.mean(alarms) <= 0.03


def test_a_steady_fall_is_warned_in_the_kpis_direction():
    falling = np.array([[10.0, 9.5, 9.1, 8.4, 8.0, 7.7, 7.1, 6.5]])
    found = theil_sen(falling, confidence=TREND_CONFIDENCE)
    assert falls(found.low[0], found.high[0], "higher")
    assert not falls(found.low[0], found.high[0], "lower")  # shorter cycles are better


def test_a_tiny_team_does_not_crash_and_shows_no_energy_trend(demo_db, demo_today):  # noqa: F811
    team, elsewhere = unit_of(demo_db, "T-SE-UPP"), unit_of(demo_db, "T-SE-MAL")
    keep, *rest = demo_db.scalars(
        select(Seller).where(Seller.unit_id == team.id, Seller.id != team.manager_id)
    ).all()
    for seller in rest:
        seller.unit_id = elsewhere.id
    demo_db.flush()
    quarter = period_containing(demo_today, PeriodKind.QUARTER, fiscal_start_month=1)
    payload = early_warnings(demo_db, quarter, today=demo_today)
    energy = payload["energy"][str(team.id)]
    # One seller: no week reaches three answers, so no energy is shown or judged.
    assert all(value is None for value in energy["energy"])
    assert energy["slope"] is None
    assert not energy["warned"]
    assert str(keep.id) in payload["sellers"]


def test_the_manager_sees_only_their_units_warnings_on_the_page_and_the_api(
    demo_db, demo_as, warned
):
    period, _payload = warned
    manager = demo_as(demo_login(demo_db, "manager"))
    api = manager.get("/api/v1/analytics/warnings", params={"period": period.label})
    assert api.status_code == 200
    found = api.json()
    assert found["computed"]
    assert found["warnings"]
    user = demo_db.scalars(select(User).where(User.email == demo_login(demo_db, "manager"))).one()
    actor = actor_for(demo_db, user)
    visible = {s.external_id for s in demo_db.scalars(select(Seller).where(actor.sellers_clause()))}
    assert {w["seller"] for w in found["warnings"] if w["seller"]} <= visible
    assert {w["unit"] for w in found["warnings"] if w["subject"] == "unit"} == {"T-DK-KOB"}
    assert "T-DK-KOB" in {w["unit"] for w in found["warnings"] if w["subject"] == "seller"}
    assert found["teams"]
    assert {t["external_id"] for t in found["teams"]} == {"T-DK-KOB"}
    assert all(w["decision_rule"] for w in found["warnings"] if w["kpi"] == "revenue_won")
    page = manager.get("/analytics/warnings", params={"period": period.label})
    assert page.status_code == 200
    first = next(w["seller"] for w in found["warnings"] if w["seller"])
    assert f'href="/sellers/{first}"' in page.text
    assert seller_of(demo_db, first).name in page.text
    bergen = unit_of(demo_db, "T-NO-BER")
    assert bergen.name not in page.text
    download = manager.get("/analytics/warnings", params={"period": period.label, "format": "csv"})
    assert download.status_code == 200
    assert download.text.splitlines()[0].startswith("kind,severity,unit")
    assert len(download.text.splitlines()) == len(found["warnings"]) + 1


def test_a_leader_sees_the_bergen_warning_and_a_seller_only_themself(demo_db, demo_as, warned):
    period, _payload = warned
    leader = demo_as(demo_login(demo_db, "leader"))
    found = leader.get("/api/v1/analytics/warnings", params={"period": period.label}).json()
    energy = [w for w in found["warnings"] if w["kind"] == "energy"]
    assert [w["unit"] for w in energy] == ["T-NO-BER"]
    assert energy[0]["facts"]["slope"] < 0
    seller_login = demo_login(demo_db, "seller")
    seller = demo_as(seller_login)
    mine = seller.get("/api/v1/analytics/warnings", params={"period": period.label}).json()
    me = next(s for s in demo_db.scalars(select(Seller)) if s.email == seller_login)
    assert {w["seller"] for w in mine["warnings"]} <= {me.external_id}
    assert mine["teams"] == []
    other = seller.get(
        "/api/v1/analytics/warnings", params={"period": period.label, "seller": "S0112"}
    )
    assert other.status_code == 404
    assert "S0112" in other.text
    bad = leader.get("/api/v1/analytics/warnings", params={"period": "2026-Q9"})
    assert bad.status_code in (400, 422)
    assert "period" in bad.text


def test_the_dashboards_show_pace_and_warnings_with_their_rule(demo_db, demo_as, warned):
    seller = demo_as(demo_login(demo_db, "seller"))
    page = seller.get("/")
    assert page.status_code == 200
    assert "Pace to period end, my trend" in page.text
    assert "Recognition: my progress against my own baseline" in page.text
    manager = demo_as(demo_login(demo_db, "manager"))
    board = manager.get("/")
    assert "Early warnings" in board.text
    assert "Decision rule:" in board.text
    assert "/analytics/warnings" in board.text


def test_the_next_agenda_gets_the_sellers_warnings_with_their_rule(demo_db, warned):
    period, payload = warned
    seller_id = next(
        int(w["seller_id"]) for w in payload["warnings"] if w["kind"] == "trend" and w["seller_id"]
    )
    seller = demo_db.get(Seller, seller_id)
    source = source_of("warning")
    assert source is not None
    context = AgendaContext(
        demo_db, SYSTEM, seller, Conversation(id=0), date.fromisoformat(payload["as_of"])
    )
    proposals = source.propose(context)
    trend = next(p for p in proposals if p.facts["kind"] == "trend")
    assert trend.facts["rule"]
    assert trend.kpi_id is not None
    kpi = demo_db.get(Kpi, trend.kpi_id)
    described = source.describe(AgendaItem(source="warning", facts=trend.facts), kpi)
    assert described.title.startswith("Early warning:")
    assert described.detail.startswith("Decision rule:")
    assert parse_period(period.label, fiscal_start_month=1) == context.period


def test_a_leader_narrows_the_warnings_to_one_unit_and_a_wrong_unit_is_named(
    demo_db, demo_as, warned
):
    period, _payload = warned
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/warnings", params={"period": period.label})
    assert 'id="warnings-summary"' in page.text
    bergen = leader.get("/analytics/warnings", params={"period": period.label, "unit": "T-NO-BER"})
    assert bergen.status_code == 200
    assert "Energy falls while targets rise" in bergen.text
    assert unit_of(demo_db, "T-DK-KOB").name not in bergen.text.split("warnings-by-unit")[1]
    wrong = leader.get("/analytics/warnings", params={"period": period.label, "unit": "T-XX"})
    assert wrong.status_code in (400, 422)
    assert "T-XX" in wrong.text


def test_a_new_run_replaces_the_payload_the_pages_read(demo_db, analysed, demo_today):  # noqa: F811
    from touchline.analytics.warning_cache import read_payload

    period = analysed(only={"warnings"})
    first = read_payload(demo_db, period, KEY)
    assert read_payload(demo_db, period, KEY) is first  # parsed once
    analysed(only={"warnings"})
    again = read_payload(demo_db, period, KEY)
    assert again is not first
    assert again == first
