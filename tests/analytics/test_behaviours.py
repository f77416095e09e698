"""What top sellers do differently: the planted behaviours found on the demo (over its
last year), nothing found where there is nothing, tiny companies warned, the one-click
proposal, and who sees what."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.analytics.conftest import demo_login
from touchline.analytics.behaviours import (
    MIN_GROUP,
    NO_DIFFERENCE,
    SUCCESS,
    TOO_FEW,
    behaviour_payload,
    compare,
    hedges_g,
)
from touchline.analytics.dataset import Dataset, KpiFacts, SellerFacts, UnitFacts
from touchline.analytics.registry import run_analytics, stored_payload
from touchline.audit.models import AuditEntry
from touchline.config import get_settings
from touchline.crm.models import Activity
from touchline.kpis.models import Kpi, ScorecardLine, ScorecardTemplate
from touchline.org.periods import Period, PeriodKind, period_containing

ANALYSES = {"fairness", "behaviours", "training"}


def demo_year(db) -> Period:
    """The demo's last fiscal year (to its last day of data, 2026-11-19 for seed 7)."""
    day = db.scalar(select(func.max(Activity.occurred_on)))
    return period_containing(
        day, PeriodKind.YEAR, fiscal_start_month=get_settings().fiscal_year_start_month
    )


@pytest.fixture
def year(demo_db) -> Period:
    """The analyses of the demo's last year, run inside the test."""
    period = demo_year(demo_db)
    run_analytics(demo_db, period, only=ANALYSES)
    demo_db.flush()
    return period


def by_code(payload) -> dict:
    return {row["code"]: row for row in payload["measures"]}


def test_the_planted_success_behaviours_are_found_and_calls_are_not(demo_db, year):
    payload = stored_payload(demo_db, year, "behaviours")
    assert payload["top"] == 27
    assert payload["rest"] == 81
    assert payload["ranking"] == "leading"
    assert payload["previous_period"] == "FY2025"
    measures = by_code(payload)
    for planted in ("meeting_quality", "meetings_new_customers"):
        found = measures[planted]
        assert found["status"] == SUCCESS, planted
        assert found["evidence"] == "leading"
        assert found["leading"]["g"] >= 0.6
        assert found["leading"]["g_low"] > 0
        assert found["concurrent"]["g"] >= 0.8
        assert found["q"] < payload["fdr_level"]
        assert found["concurrent"]["median_top"] > found["concurrent"]["median_rest"]
        assert found["target"] == found["concurrent"]["median_top"]
    # The quality ratio derived from the arrays separates the top too.
    assert measures["new_customer_meeting_share"]["status"] == SUCCESS
    assert measures["new_customer_meeting_share"]["formula"] == "meetings_new_customers / meetings"
    for noise in ("calls", "social_touches"):
        assert measures[noise]["status"] == NO_DIFFERENCE, noise
        assert abs(measures[noise]["leading"]["g"]) < 0.5
        assert measures[noise]["rank"] is None
    ranks = [row["rank"] for row in payload["measures"] if row["status"] == SUCCESS]
    assert ranks == list(range(1, len(ranks) + 1))
    # Soft KPI ratings and win rate are compared; the pulse is a mood, not a behaviour.
    assert {"objection_handling", "win_rate"} <= set(measures)
    assert "pulse_energy" not in measures


def test_hedges_g_and_cliffs_delta_match_their_formulas():
    rng = np.random.default_rng(1)
    top, rest = rng.normal(1.0, 1.0, 30), rng.normal(0.0, 1.0, 90)
    pooled = np.sqrt((29 * top.var(ddof=1) + 89 * rest.var(ddof=1)) / 118)
    assert float(hedges_g(top, rest)) == pytest.approx(
        (1 - 3 / (4 * 120 - 9)) * (top.mean() - rest.mean()) / pooled
    )
    found = compare(top, rest, np.random.default_rng(2))
    wins = (top[:, None] > rest[None, :]).sum() - (top[:, None] < rest[None, :]).sum()
    assert found.delta == pytest.approx(wins / (30 * 90))
    assert found.g_low is not None
    assert found.g_high is not None
    assert found.g_low < found.g < found.g_high
    assert found.p is not None
    assert found.p < 0.01


def synthetic(seed: int, sellers: int = 120, units: int = 6) -> tuple[Dataset, dict[int, float]]:
    """A company with no signal: every behaviour independent of the fair result."""
    rng = np.random.default_rng(seed)
    period = period_containing(date(2026, 6, 1), PeriodKind.QUARTER, fiscal_start_month=1)
    facts = [
        SellerFacts(i + 1, f"S{i + 1:04d}", f"Seller {i + 1}", i % units + 1, 1e6, None, 2.0, 10)
        for i in range(sellers)
    ]
    kpis = {
        code: KpiFacts(index, code, code, level, kind, source, "higher", unit, 0, True, "", None)
        for index, (code, level, kind, source, unit) in enumerate(
            [
                ("meetings", "activity", "hard", "metric", "count"),
                ("meetings_new_customers", "activity", "hard", "metric", "count"),
                ("calls", "activity", "hard", "metric", "count"),
                ("emails", "activity", "hard", "metric", "count"),
                ("meeting_quality", "activity", "hard", "metric", "ratio"),
                ("win_rate", "result", "hard", "metric", "ratio"),
                ("objection_handling", "activity", "soft", "rating", "score"),
                ("needs_discovery", "activity", "soft", "rating", "score"),
            ]
        )
    }
    shape = (sellers, 2)
    meetings = rng.poisson(25, shape).astype(float)
    values = {
        "meetings": meetings,
        "meetings_new_customers": rng.binomial(meetings.astype(int), 0.3).astype(float),
        "calls": rng.lognormal(4, 0.6, shape).round(),
        "emails": rng.poisson(35, shape).astype(float),
        "meeting_quality": rng.beta(4, 5, shape),
        "win_rate": rng.beta(4, 6, shape),
        "objection_handling": rng.normal(3, 0.5, shape).round(1),
        "needs_discovery": rng.normal(3, 0.5, shape).round(1),
    }
    dataset = Dataset(
        period=period,
        history=[period.previous(), period],
        sellers=facts,
        kpis=kpis,
        units={u: UnitFacts(u, f"T{u}", f"Team {u}", None, None) for u in range(1, units + 1)},
        values=values,
    )
    ratios = {seller.id: float(rng.lognormal(0, 0.4)) for seller in facts}
    return dataset, ratios


def test_no_signal_finds_nothing_beyond_the_fdr_level_over_many_seeds():
    runs = 50
    with_finding = 0
    measures = 0
    for seed in range(runs):
        dataset, ratios = synthetic(seed)
        payload = behaviour_payload(dataset, ratios, share=0.25)
        measures = len(payload["measures"])
        if any(row["status"] not in (NO_DIFFERENCE, TOO_FEW) for row in payload["measures"]):
            with_finding += 1
    # Nine measures (eight KPIs and the derived share) in every run.
    assert measures == 9
    # Benjamini–Hochberg keeps the chance of any finding under pure noise at the level.
    assert with_finding / runs <= 0.05 + 0.07


def test_a_tiny_company_gets_the_warning_and_no_success_behaviour():
    dataset, ratios = synthetic(3, sellers=10, units=2)
    # A behaviour as strong as can be: still too few sellers to say anything.
    dataset.values["meeting_quality"][:, :] = np.array([ratios[s.id] for s in dataset.sellers])[
        :, None
    ]
    payload = behaviour_payload(dataset, ratios, share=0.25)
    assert payload["too_small"] is True
    assert payload["top"] + payload["rest"] == 10
    assert payload["top"] < MIN_GROUP
    assert all(row["status"] == TOO_FEW for row in payload["measures"])
    quality = by_code(payload)["meeting_quality"]
    assert quality["concurrent"]["median_top"] > quality["concurrent"]["median_rest"]
    assert quality["g"] is None
    assert quality["q"] is None


def test_the_page_warns_when_the_groups_are_too_small(demo_db, demo_as):
    from touchline.analytics.models import AnalyticsResult

    dataset, ratios = synthetic(3, sellers=10, units=2)
    demo_db.add(
        AnalyticsResult(
            period="2024-Q1",
            analysis="behaviours",
            payload=behaviour_payload(dataset, ratios, share=0.25),
        )
    )
    demo_db.flush()
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/behaviours", params={"period": "2024-Q1"})
    assert page.status_code == 200
    assert "Too few sellers to say anything" in page.text
    assert "Too few values to say" in page.text
    assert "/analytics/behaviours/proposals" not in page.text


def test_a_measure_with_too_few_values_is_not_tested_but_the_rest_are():
    dataset, ratios = synthetic(4)
    dataset.values["emails"][5:, :] = np.nan
    payload = behaviour_payload(dataset, ratios, share=0.25)
    assert by_code(payload)["emails"]["status"] == TOO_FEW
    assert by_code(payload)["calls"]["q"] is not None


def test_the_page_shows_the_ranked_list_the_forest_plot_and_its_numbers(demo_db, demo_as, year):
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/behaviours", params={"period": year.label})
    assert page.status_code == 200
    assert "Meeting quality" in page.text
    assert "Meetings with new customers" in page.text
    assert 'id="behaviours-forest"' in page.text
    assert "boxplot" in page.text
    assert "The numbers behind the chart" in page.text
    assert "No difference found" in page.text
    assert "/analytics/behaviours/proposals" in page.text
    csv = leader.get("/analytics/behaviours", params={"period": year.label, "format": "csv"})
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("rank,measure,name,kind,status")
    assert "meeting_quality" in csv.text
    assert "calls" in csv.text
    xlsx = leader.get("/analytics/behaviours", params={"period": year.label, "format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    hub = leader.get("/analytics", params={"period": year.label})
    assert "/analytics/behaviours" in hub.text
    assert "/analytics/training" in hub.text


def test_a_quarter_without_findings_says_so_and_points_to_the_year(demo_db, demo_as, analysed):
    quarter = analysed(back=1, only=ANALYSES)
    payload = stored_payload(demo_db, quarter, "behaviours")
    assert by_code(payload)["calls"]["status"] == NO_DIFFERENCE
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/behaviours", params={"period": quarter.label})
    assert page.status_code == 200
    # On the small demo a quarter's top group is too much luck for any finding to pass.
    assert not any(row["status"] == SUCCESS for row in payload["measures"])
    assert "the year gives a steadier picture" in page.text


def test_the_api_gives_every_measure_and_refuses_what_it_should(demo_db, demo_as, year):
    leader = demo_as(demo_login(demo_db, "leader"))
    found = leader.get("/api/v1/analytics/behaviours", params={"period": year.label})
    assert found.status_code == 200
    body = found.json()
    assert body["ranking"] == "leading"
    assert {m["code"]: m["status"] for m in body["measures"]}["calls"] == NO_DIFFERENCE
    assert len(body["top_sellers"]) == body["top"]
    missing = leader.get("/api/v1/analytics/behaviours", params={"period": "2024-Q1"})
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "period"
    bad = leader.get("/api/v1/analytics/behaviours", params={"period": "2026-Q9"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "period"


def test_a_manager_sees_only_their_own_top_performers_and_a_seller_nothing(demo_db, demo_as, year):
    manager = demo_as(demo_login(demo_db, "manager"))
    body = manager.get("/api/v1/analytics/behaviours", params={"period": year.label}).json()
    everyone = stored_payload(demo_db, year, "behaviours")["top_sellers"]
    assert 0 <= len(body["top_sellers"]) < len(everyone)
    page = manager.get("/analytics/behaviours", params={"period": year.label})
    assert page.status_code == 200
    # Managers read the findings; only leaders propose KPIs.
    assert "/analytics/behaviours/proposals" not in page.text
    refused = manager.post(
        "/api/v1/analytics/behaviours/proposals",
        json={"period": year.label, "measure": "meeting_quality", "template": "Account executive"},
    )
    assert refused.status_code == 403
    seller = demo_as(demo_login(demo_db, "seller"))
    assert seller.get("/analytics/behaviours").status_code == 403
    assert seller.get("/api/v1/analytics/behaviours").status_code == 403


def _line(db, template: str, code: str) -> ScorecardLine | None:
    return db.scalar(
        select(ScorecardLine)
        .join(ScorecardTemplate, ScorecardTemplate.id == ScorecardLine.template_id)
        .join(Kpi, Kpi.id == ScorecardLine.kpi_id)
        .where(ScorecardTemplate.name == template, Kpi.code == code)
    )


def test_the_proposal_sets_the_target_on_the_card_once(demo_db, demo_as, year):
    leader = demo_as(demo_login(demo_db, "leader"))
    median = by_code(stored_payload(demo_db, year, "behaviours"))["meeting_quality"]["target"]
    form = {"period": year.label, "measure": "meeting_quality", "template": "Account executive"}
    first = leader.post("/analytics/behaviours/proposals", data=form)
    assert first.status_code == 200
    assert "is now" in first.text
    assert "the top performers" in first.text
    line = _line(demo_db, "Account executive", "meeting_quality")
    assert line is not None
    assert line.target == pytest.approx(median)
    assert demo_db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity == "scorecard_template", AuditEntry.action == "save")
    )
    again = leader.post("/analytics/behaviours/proposals", data=form)
    assert again.status_code == 409
    assert "already: nothing changed" in again.text
    lines = demo_db.scalars(
        select(ScorecardLine)
        .join(ScorecardTemplate, ScorecardTemplate.id == ScorecardLine.template_id)
        .where(ScorecardTemplate.name == "Account executive")
    ).all()
    assert len(lines) == 7


def test_a_count_gets_a_quarterly_target_and_governance_keeps_the_card_short(
    demo_db, demo_as, year
):
    leader = demo_as(demo_login(demo_db, "leader"))
    payload = by_code(stored_payload(demo_db, year, "behaviours"))
    yearly = payload["meetings_new_customers"]["target"]
    done = leader.post(
        "/api/v1/analytics/behaviours/proposals",
        json={
            "period": year.label,
            "measure": "meetings_new_customers",
            "template": "Account executive",
        },
    )
    assert done.status_code == 201
    assert done.json()["action"] == "target_set"
    # Cards hold quarterly targets: a year's median is four quarters' worth.
    assert done.json()["target"] == pytest.approx(yearly / 4)
    assert payload["meetings"]["status"] == SUCCESS
    full = leader.post(
        "/api/v1/analytics/behaviours/proposals",
        json={"period": year.label, "measure": "meetings", "template": "Account executive"},
    )
    assert full.status_code == 409
    assert "TOUCHLINE_MAX_CARD_KPIS" in full.json()["error"]["message"]
    assert _line(demo_db, "Account executive", "meetings") is None
    no_template = leader.post(
        "/api/v1/analytics/behaviours/proposals",
        json={"period": year.label, "measure": "meetings"},
    )
    assert no_template.status_code == 422
    assert no_template.json()["error"]["field"] == "template"
    not_success = leader.post(
        "/api/v1/analytics/behaviours/proposals",
        json={"period": year.label, "measure": "calls", "template": "Account executive"},
    )
    assert not_success.status_code == 422
    assert not_success.json()["error"]["field"] == "measure"


def test_the_proposal_creates_a_draft_expression_kpi_once(demo_db, demo_as, year):
    leader = demo_as(demo_login(demo_db, "leader"))
    share = by_code(stored_payload(demo_db, year, "behaviours"))["new_customer_meeting_share"]
    body = {"period": year.label, "measure": "new_customer_meeting_share"}
    created = leader.post("/api/v1/analytics/behaviours/proposals", json=body)
    assert created.status_code == 201
    assert created.json()["action"] == "created"
    kpi = demo_db.scalars(select(Kpi).where(Kpi.code == "new_customer_meeting_share")).one()
    assert kpi.status == "draft"
    assert kpi.source == "expression"
    assert demo_db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity == "kpi", AuditEntry.entity_id == kpi.code)
    )
    from touchline.kpis.models import KpiVersion

    version = demo_db.scalars(select(KpiVersion).where(KpiVersion.kpi_id == kpi.id)).one()
    assert version.formula == "meetings_new_customers / meetings"
    assert version.target == pytest.approx(share["target"])
    again = leader.post("/analytics/behaviours/proposals", data=body)
    assert again.status_code == 409
    assert "exists already" in again.text
    page = leader.get("/analytics/behaviours", params={"period": year.label})
    assert "The KPI new_customer_meeting_share exists (draft)." in page.text
