"""KPI effectiveness: the planted noise KPI is only statistics, the planted behaviours are
not, data without signal raises no more alarms than its error rate, and who sees it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analytics.conftest import demo_login
from touchline.analytics.effectiveness import (
    ONLY_STATISTICS,
    RELATED,
    RESULT,
    TOO_LITTLE_DATA,
    pooled_relation,
)
from touchline.analytics.models import AnalyticsResult

LABELS = [f"2025-Q{q}" for q in range(1, 5)] + [f"2026-Q{q}" for q in range(1, 5)]


def _verdicts(demo_db, period):
    payload = demo_db.get(AnalyticsResult, (period.label, "effectiveness")).payload
    return {item["code"]: item for item in payload["kpis"]}


def test_on_the_demo_the_noise_kpi_is_only_statistics_and_the_behaviours_are_not(demo_db, analysed):
    period = analysed(back=1)
    found = _verdicts(demo_db, period)
    social = found["social_touches"]
    assert social["verdict"] == ONLY_STATISTICS
    assert abs(social["rho"]) < 0.2
    assert social["low"] < 0 < social["high"]
    assert len(social["pairs"]) == 7
    assert found["calls"]["verdict"] == ONLY_STATISTICS  # planted: calls are a taste
    assert {found[code]["verdict"] for code in ("revenue_won", "deals_won", "win_rate")} == {RESULT}
    for behaviour in ("meeting_quality", "meetings_new_customers"):
        assert found[behaviour]["verdict"] == RELATED
        assert found[behaviour]["low"] > 0.1
        assert found[behaviour]["p_value"] < 0.001


def _persistent(rng, sellers, periods, persistence):
    """A value per seller and period: a lasting trait of the seller plus noise."""
    trait = rng.normal(size=(sellers, 1))
    return persistence * trait + np.sqrt(1 - persistence**2) * rng.normal(size=(sellers, periods))


def test_without_signal_no_more_kpis_are_found_than_the_error_rate_allows():
    # Both the KPIs and the results are lasting traits of the sellers (as on real teams),
    # independent of each other: pooling seven pairs of the same sellers as if they were
    # independent would find far more than 5 %.
    alarms = tries = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        outcome = np.exp(_persistent(rng, 100, 8, 0.8) * 0.3)
        for _kpi in range(10):
            kpi = _persistent(rng, 100, 8, 0.9)
            found = pooled_relation(kpi, outcome, LABELS)
            tries += 1
            alarms += found.verdict == RELATED
    assert alarms / tries <= 0.08


def test_a_real_relation_is_found_with_an_interval_around_it():
    rng = np.random.default_rng(1)
    skill = rng.normal(size=(120, 1))
    kpi = skill + rng.normal(size=(120, 8))
    outcome = np.exp(0.5 * skill + rng.normal(scale=0.8, size=(120, 8)))
    found = pooled_relation(kpi, outcome, LABELS)
    assert found.verdict == RELATED
    assert found.low < found.rho < found.high
    assert 0.15 < found.rho < 0.5


def test_three_sellers_are_too_little_data_and_nothing_breaks():
    rng = np.random.default_rng(2)
    found = pooled_relation(rng.normal(size=(3, 8)), rng.normal(size=(3, 8)), LABELS)
    assert found.verdict == TOO_LITTLE_DATA
    assert found.rho is None
    assert found.pairs == []
    flat = pooled_relation(np.ones((30, 8)), rng.normal(size=(30, 8)), LABELS)
    assert flat.verdict == TOO_LITTLE_DATA


def test_the_governance_report_marks_only_statistics_with_the_evidence(demo_db, demo_as, analysed):
    period = analysed(back=1)
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/governance")
    assert page.status_code == 200
    section = page.text.split('id="only-statistics"', 1)[1].split("</article>", 1)[0]
    assert "/kpis/social_touches" in section
    assert f"/analytics/effectiveness?period={period.label}#kpi-social_touches" in section
    assert "/kpis/meeting_quality" not in section
    assert "/kpis/deals_won" not in section
    download = leader.get("/governance", params={"format": "csv"})
    assert ',only_statistics,"social_touches (' in download.text


def test_the_page_and_the_api_for_managers_and_not_for_sellers(demo_db, demo_as, analysed):
    period = analysed(back=1)
    manager = demo_as(demo_login(demo_db, "manager"))
    page = manager.get("/analytics/effectiveness", params={"period": period.label})
    assert page.status_code == 200
    assert 'id="kpi-social_touches"' in page.text
    assert "The numbers behind the chart" in page.text
    api = manager.get("/api/v1/analytics/effectiveness", params={"period": period.label})
    verdicts = {item["kpi"]: item["verdict"] for item in api.json()["kpis"]}
    assert verdicts["social_touches"] == ONLY_STATISTICS
    assert verdicts["meeting_quality"] == RELATED
    csv = manager.get("/analytics/effectiveness", params={"period": period.label, "format": "xlsx"})
    assert csv.status_code == 200
    assert csv.content[:2] == b"PK"
    seller = demo_as(demo_login(demo_db, "seller"))
    assert seller.get("/analytics/effectiveness").status_code == 403
    assert seller.get("/api/v1/analytics/effectiveness").status_code == 403
    missing = manager.get("/api/v1/analytics/effectiveness", params={"period": "2023-Q1"})
    assert missing.status_code == 404
    assert "period" in missing.text


@pytest.mark.parametrize("back", [1])
def test_the_hub_lists_the_effectiveness_page(demo_db, demo_as, analysed, back):
    period = analysed(back=back)
    page = demo_as(demo_login(demo_db, "leader")).get("/analytics", params={"period": period.label})
    assert "/analytics/effectiveness" in page.text
