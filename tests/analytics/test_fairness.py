"""The fair comparison: the territory effect recovered on the demo, nothing found where
there is nothing, tiny samples refused in words, and what each viewer sees."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sqlalchemy import func, select

from tests.analytics.conftest import demo_login, demo_quarter, seller_of
from touchline.analytics import fair_parts
from touchline.analytics import fairness as fairness_module
from touchline.analytics.dataset import Dataset, KpiFacts, SellerFacts, UnitFacts, load_dataset
from touchline.analytics.fair_frontier import frontier
from touchline.analytics.fairness import (
    MODELS,
    compare_units,
    dataset_factors,
    fair_ratios,
    fairness,
    fit_model,
)
from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import RunContext
from touchline.auth.models import User
from touchline.auth.policy import actor_for
from touchline.config import Settings
from touchline.crm.models import Activity
from touchline.kpis.display import format_kpi_value
from touchline.kpis.models import Kpi
from touchline.org.models import Seller, Unit
from touchline.org.periods import PeriodKind, parse_period, period_containing

LOG_LINEAR = MODELS[0]
POISSON = MODELS[1]


def test_on_the_demo_year_revenue_follows_potential_as_planted(demo_db):
    # Planted: slope of log revenue on log potential 0.95, R² 0.60 over the last year.
    day = demo_db.scalar(select(func.max(Activity.occurred_on)))
    year = period_containing(day, PeriodKind.YEAR, fiscal_start_month=1)
    dataset = load_dataset(demo_db, year, history=1, codes={"revenue_won"})
    found = fit_model(
        LOG_LINEAR, dataset.current("revenue_won"), dataset_factors(dataset, ("potential",))
    )
    slope = next(c for c in found.coefficients if c.term == "log_potential")
    assert found.sellers == 108
    assert slope.estimate == pytest.approx(0.95, abs=0.15)
    assert slope.low < 0.95 < slope.high
    assert found.r2 == pytest.approx(0.60, abs=0.10)


def test_on_a_demo_quarter_every_factor_fits_and_the_median_seller_is_at_par(demo_db, analysed):
    # A quarter holds a quarter of the deals, so chance weighs more than over a year; the
    # account base at the quarter's start also carries part of past results. The
    # potential's elasticity must still hold 0.95 in its interval.
    period = analysed(back=1)
    payload = demo_db.get(AnalyticsResult, (period.label, "fairness")).payload
    revenue = payload["kpis"]["revenue_won"]
    slope = next(c for c in revenue["coefficients"] if c["term"] == "log_potential")
    assert revenue["family"] == "loglinear"
    assert 0.35 <= revenue["r2"] <= 0.8
    assert slope["low"] < 0.95 < slope["high"]
    assert {code: payload["kpis"][code]["family"] for code in ("deals_won", "new_customers")} == {
        "deals_won": "poisson",
        "new_customers": "poisson",
    }
    assert all(model["r2"] is not None for model in payload["kpis"].values())
    ratios = fair_ratios(RunContext(demo_db, period, found={"fairness": payload}))
    assert len(ratios) == 108
    assert 0.85 < float(np.median(list(ratios.values()))) < 1.15
    assert set(payload["history"]) == {
        p.label for p in load_dataset(demo_db, period, codes=set()).history[:-1]
    }


def _noise(seed: int, size: int = 200) -> tuple[np.ndarray, object]:
    rng = np.random.default_rng(seed)
    sellers = [
        SellerFacts(
            i,
            f"S{i}",
            f"Seller {i}",
            1 + i % 10,
            float(rng.lognormal(14, 0.6)),
            None,
            float(rng.uniform(0, 10)),
            int(rng.integers(5, 20)),
        )
        for i in range(size)
    ]
    dataset = _dataset(sellers, {})
    return rng, dataset_factors(dataset)


def test_where_results_ignore_the_factors_the_model_explains_nothing():
    r2s, covered = [], 0
    for seed in range(20):
        rng, factors = _noise(seed)
        revenue = rng.lognormal(11, 0.8, 200)
        found = fit_model(LOG_LINEAR, revenue, factors)
        r2s.append(found.r2)
        slope = next(c for c in found.coefficients if c.term == "log_potential")
        covered += slope.low < 0 < slope.high
        counts = fit_model(POISSON, rng.poisson(4.0, 200).astype(float), factors)
        assert counts.r2 < 0.1
    # Four factors on 200 sellers explain about 4 / 199 by chance.
    assert float(np.mean(r2s)) < 0.05
    assert max(r2s) < 0.12
    assert covered >= 17


def _dataset(sellers: list[SellerFacts], values: dict[str, np.ndarray]) -> Dataset:
    period = parse_period("2026-Q3", fiscal_start_month=1)
    kpis = {
        code: KpiFacts(i, code, code, "result", "hard", "crm", "higher", "money", 0, True, "", None)
        for i, code in enumerate(values, start=1)
    }
    units = {
        u: UnitFacts(u, f"T{u}", f"Team {u}", None, None) for u in {s.unit_id for s in sellers}
    }
    return Dataset(period, [period], sellers, kpis, units, values)


def test_three_sellers_get_a_sample_size_message_and_no_crash(demo_db):
    sellers = [SellerFacts(i, f"S{i}", f"Seller {i}", 1, 1e6 * i, None, 2.0, 10) for i in (1, 2, 3)]
    dataset = _dataset(sellers, {"revenue_won": np.array([[1e5], [2e5], [4e5]])})
    context = RunContext(demo_db, dataset.period, _dataset=dataset)
    payload = fairness(context)
    model = payload["kpis"]["revenue_won"]
    assert model["message"] == "too_few_sellers"
    assert model["r2"] is None
    assert model["sellers"] == 3
    assert model["needed"] >= 20
    assert all(item["expected"] is None for item in model["values"].values())
    assert fair_ratios(RunContext(demo_db, dataset.period, found={"fairness": payload})) == {}


def test_a_small_team_is_pulled_toward_the_company_and_a_real_difference_is_kept():
    rng = np.random.default_rng(3)
    units = np.repeat(np.arange(10), 20)
    effect = np.where(units == 0, 1.5, 1.0)
    expected = np.full(200, 100.0)
    actual = expected * effect * rng.lognormal(0, 0.3, 200)
    units = np.append(units, [99, 99])
    expected = np.append(expected, [100.0, 100.0])
    actual = np.append(actual, [170.0, 150.0])  # two lucky sellers
    found, tau2, grand = compare_units(units, actual, expected)
    by_unit = {u.unit_id: u for u in found}
    assert tau2 > 0
    assert by_unit[0].fair_ratio > 1.4  # twenty sellers: the difference is the team's
    assert by_unit[0].weight > 0.8
    tiny = by_unit[99]
    assert tiny.raw_ratio == pytest.approx(1.6)
    assert tiny.weight < 0.5
    assert grand < tiny.fair_ratio < grand + 0.5 * (tiny.raw_ratio - grand)


def _manager_scope(demo_db, email):
    user = demo_db.scalars(select(User).where(User.email == email)).one()
    return actor_for(demo_db, user)


def test_a_manager_sees_only_the_sellers_and_units_they_manage(demo_db, demo_as, analysed):
    period = analysed(back=1)
    email = demo_login(demo_db, "manager")
    actor = _manager_scope(demo_db, email)
    manager = demo_as(email)
    found = manager.get("/api/v1/analytics/fair", params={"period": period.label}).json()
    mine = set(
        demo_db.scalars(
            select(Seller.external_id).where(Seller.unit_id.in_(actor.managed_unit_ids))
        )
    )
    shown = {row["seller"] for row in found["sellers"]}
    assert shown
    assert shown <= mine
    assert {u["unit"] for u in found["units"]} <= set(
        demo_db.scalars(select(Unit.external_id).where(Unit.id.in_(actor.managed_unit_ids)))
    )
    page = manager.get("/analytics/fair", params={"period": period.label, "view": "raw"})
    assert page.status_code == 200
    assert "Units compared raw and fair" in page.text
    others = set(
        demo_db.scalars(
            select(Seller.name).where(
                Seller.unit_id.not_in(actor.managed_unit_ids), Seller.id != actor.own_seller_id
            )
        )
    )
    names = {row["name"] for row in found["sellers"]}
    assert [name for name in others - names if f">{name}<" in page.text] == []
    download = manager.get(
        "/analytics/fair", params={"period": period.label, "table": "units", "format": "csv"}
    )
    assert download.status_code == 200
    assert download.text.startswith("unit_id,unit,sellers")
    leader = (
        demo_as(demo_login(demo_db, "leader"))
        .get("/api/v1/analytics/fair", params={"period": period.label, "kpi": "new_customers"})
        .json()
    )
    assert len(leader["sellers"]) == 108
    assert len(leader["units"]) == 12


def test_a_seller_gets_only_their_own_figures_and_no_page(demo_db, demo_as, analysed):
    period = analysed(back=1)
    email = demo_login(demo_db, "seller")
    seller = demo_as(email)
    found = seller.get("/api/v1/analytics/fair", params={"period": period.label})
    assert found.status_code == 200
    own = demo_db.scalars(select(User).where(User.email == email)).one().seller_id
    assert [row["seller"] for row in found.json()["sellers"]] == [seller_of_id(demo_db, own)]
    assert found.json()["units"] == []
    assert seller.get("/analytics/fair", params={"period": period.label}).status_code == 403


def seller_of_id(db, seller_id):
    return db.get(Seller, seller_id).external_id


def test_bad_input_names_the_field(demo_db, demo_as, analysed):
    period = analysed(back=1)
    leader = demo_as(demo_login(demo_db, "leader"))
    for params, field in (
        ({"period": "2026-Q9"}, "period"),
        ({"period": period.label, "kpi": "calls"}, "kpi"),
        ({"period": period.label, "view": "sideways"}, "view"),
        ({"period": "2023-Q1"}, "period"),
    ):
        answer = leader.get("/api/v1/analytics/fair", params=params)
        assert answer.status_code in (404, 422), params
        assert field in answer.text
    assert "not computed yet" in leader.get("/analytics/fair", params={"period": "2023-Q1"}).text


def test_the_heatmap_switches_between_raw_and_fair(demo_db, demo_as, analysed):
    period = analysed(back=1)
    manager = demo_as(demo_login(demo_db, "manager"))
    actor = _manager_scope(demo_db, demo_login(demo_db, "manager"))
    team = demo_db.scalars(
        select(Unit).where(Unit.id.in_(actor.managed_unit_ids), Unit.kind == "team")
    ).first()
    raw = manager.get(f"/units/{team.external_id}/heatmap", params={"period": period.label})
    fair = manager.get(
        f"/units/{team.external_id}/heatmap", params={"period": period.label, "view": "fair"}
    )
    assert raw.status_code == fair.status_code == 200
    assert "fair" not in raw.text.split("<table", 1)[1].split("</table>")[0].replace(
        "view=fair", ""
    )
    assert fair.text.count('class="cell light-') >= 1
    assert ' fair"' in fair.text
    table = manager.get(
        f"/units/{team.external_id}/heatmap",
        params={"period": period.label, "view": "fair", "format": "csv"},
    )
    assert "revenue_won_fair_ratio" in table.text.splitlines()[0]
    api = manager.get(
        f"/api/v1/units/{team.external_id}/heatmap",
        params={"period": period.label, "view": "fair"},
    ).json()
    assert all(set(row["fair_ratio"]) <= {"revenue_won", "new_customers"} for row in api["rows"])
    assert any(row["fair_ratio"].get("revenue_won") for row in api["rows"])
    unanalysed = manager.get(
        f"/units/{team.external_id}/heatmap", params={"period": "2025-Q1", "view": "fair"}
    )
    assert "not computed yet" in unanalysed.text
    assert (
        manager.get(f"/units/{team.external_id}/heatmap", params={"view": "sideways"}).status_code
        == 422
    )


def test_the_seller_page_says_the_fair_result_in_words(demo_db, demo_as, analysed, monkeypatch):
    # The part shows the running quarter (the demo analyses it when it is built), or the
    # one before while it is not analysed.
    period = analysed()
    quarter = demo_quarter(demo_db)
    monkeypatch.setattr(fair_parts, "current_quarter", lambda: quarter)
    email = demo_login(demo_db, "seller")
    user = demo_db.scalars(select(User).where(User.email == email)).one()
    seller = demo_db.get(Seller, user.seller_id)
    page = demo_as(email).get(f"/sellers/{seller.external_id}")
    assert page.status_code == 200
    item = demo_db.get(AnalyticsResult, (period.label, "fairness")).payload["kpis"]["revenue_won"][
        "values"
    ][str(seller.id)]
    kpi = demo_db.scalars(select(Kpi).where(Kpi.code == "revenue_won")).one()
    expected = format_kpi_value(item["expected"], kpi)
    actual = format_kpi_value(item["actual"], kpi)
    percent = f"{item['ratio'] * 100:.0f} %"
    assert (
        f"Given your territory, the expected revenue was {expected}; you reached {actual} ({percent})."
        in page.text.replace("&#39;", "'")
    )
    other = seller_of(demo_db, "S0086")
    leader_page = demo_as(demo_login(demo_db, "leader")).get(f"/sellers/{other.external_id}")
    assert f"Given {other.name}&#39;s territory, the expected revenue was" in leader_page.text


def test_a_leader_dashboard_compares_the_units_raw_and_fair(
    demo_db, demo_as, analysed, monkeypatch
):
    period = analysed(back=1)
    monkeypatch.setattr(fair_parts, "current_quarter", lambda: period)
    page = demo_as(demo_login(demo_db, "leader")).get("/")
    assert page.status_code == 200
    section = page.text.split('id="units-fair"', 1)[1].split("</section>", 1)[0]
    assert "Units compared raw and fair" in page.text
    assert section.count("/heatmap?period=") == 8
    assert "R² (log scale)" in section
    manager = demo_as(demo_login(demo_db, "manager")).get("/")
    assert 'id="units-fair"' not in manager.text


def test_a_company_of_three_sellers_reads_why_there_is_no_fair_model(demo_db, demo_as):
    period = demo_quarter(demo_db, back=2)
    full = load_dataset(demo_db, period, history=1)
    few = Dataset(
        period,
        full.history,
        full.sellers[:3],
        full.kpis,
        full.units,
        {code: values[:3] for code, values in full.values.items()},
    )
    payload = fairness(RunContext(demo_db, period, _dataset=few))
    demo_db.add(AnalyticsResult(period=period.label, analysis="fairness", payload=payload))
    demo_db.flush()
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/analytics/fair", params={"period": period.label})
    assert page.status_code == 200
    assert (
        "Too few sellers to fit a fair model: 3 have a value and every factor, 25 are needed."
        in page.text
    )
    found = leader.get("/api/v1/analytics/fair", params={"period": period.label}).json()
    assert found["r2"] is None
    assert found["sellers_needed"] == 25
    assert [row["expected"] for row in found["sellers"]] == [None, None, None]


def test_the_factors_follow_the_setting(demo_db, monkeypatch):
    monkeypatch.setattr(
        fairness_module, "get_settings", lambda: Settings(analytics_factors="potential")
    )
    period = demo_quarter(demo_db, back=1)
    payload = fairness(RunContext(demo_db, period))
    assert payload["factors"] == ["potential"]
    terms = [c["term"] for c in payload["kpis"]["revenue_won"]["coefficients"]]
    assert terms == ["constant", "log_potential"]
    with pytest.raises(ValueError, match="astrology"):
        Settings(analytics_factors="potential,astrology")


def test_the_frontier_scores_sellers_against_their_inputs_and_names_peers():
    rng = np.random.default_rng(5)
    potential = rng.lognormal(14, 0.6, 60)
    accounts = rng.integers(5, 20, 60).astype(float)
    skill = rng.normal(size=60)
    revenue = potential * np.exp(0.5 * skill) / 100
    customers = rng.poisson(2 * np.exp(0.3 * skill)).astype(float)
    found = frontier(np.column_stack([potential, accounts]), np.column_stack([revenue, customers]))
    assert found.sellers == 60
    assert 1 <= found.efficient < 20
    assert np.nanmax(found.scores) == pytest.approx(1.0)
    assert np.nanmin(found.scores) > 0
    # A seller with twice the outputs of another on the same inputs is at least as efficient.
    twice = frontier(
        np.column_stack([np.append(potential, potential[0]), np.append(accounts, accounts[0])]),
        np.column_stack(
            [np.append(revenue, revenue[0] * 2), np.append(customers, customers[0] * 2 + 1)]
        ),
    )
    assert twice.scores[60] == pytest.approx(1.0)
    assert 60 in twice.peers[0]
    efficient = {row for row in range(60) if found.scores[row] >= 1 - 1e-7}
    assert all(set(peers) <= efficient for peers in found.peers)
    assert frontier(np.ones((5, 2)), np.ones((5, 2))).efficient == 0  # too few sellers


def test_the_frontier_on_the_demo_agrees_with_the_fair_ratio(demo_db, demo_as, analysed):
    period = analysed(back=1)
    payload = demo_db.get(AnalyticsResult, (period.label, "fairness")).payload
    scores = payload["frontier"]["values"]
    ratios = payload["kpis"]["revenue_won"]["values"]
    shared = [key for key in scores if ratios[key]["ratio"] is not None]
    assert len(shared) == 108
    rho = spearmanr([scores[k]["score"] for k in shared], [ratios[k]["ratio"] for k in shared])
    assert rho.statistic > 0.6
    manager = demo_as(demo_login(demo_db, "manager"))
    page = manager.get("/analytics/fair", params={"period": period.label})
    assert "Relative efficiency (frontier)" in page.text
    table = manager.get(
        "/analytics/fair", params={"period": period.label, "table": "frontier", "format": "csv"}
    )
    assert table.text.startswith("seller_id,seller,unit,efficiency,peers")
    assert len(table.text.splitlines()) - 1 < 108
