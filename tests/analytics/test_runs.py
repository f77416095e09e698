"""Running the analyses: the command, the hub, the API, and who may run them."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from tests.analytics.conftest import demo_login
from touchline.analytics.fairness import fair_ratios
from touchline.analytics.models import AnalyticsResult
from touchline.analytics.registry import RunContext, registered
from touchline.cli import app
from touchline.org.models import Seller


def test_a_run_stores_one_result_per_analysis_and_a_rerun_replaces_them(demo_db, analysed):
    period = analysed(back=1)
    first = {row.analysis: row.computed_at for row in demo_db.scalars(select(AnalyticsResult))}
    assert set(first) == {item.key for item in registered()}
    analysed(back=1)
    rows = list(
        demo_db.scalars(select(AnalyticsResult).where(AnalyticsResult.period == period.label))
    )
    assert len(rows) == len(first)


def test_the_territory_explains_a_share_of_revenue_as_planted(demo_db, analysed):
    period = analysed(back=1)
    row = demo_db.get(AnalyticsResult, (period.label, "fairness"))
    assert row is not None
    fit = row.payload["kpis"]["revenue_won"]
    assert 0.35 <= fit["r2"] <= 0.8
    ratios = fair_ratios(RunContext(demo_db, period, found={"fairness": row.payload}))
    assert len(ratios) >= 100
    assert 0.8 < sorted(ratios.values())[len(ratios) // 2] < 1.2


def test_the_hub_lists_the_sections_and_only_leaders_may_run(demo_db, demo_as):
    manager = demo_as(demo_login(demo_db, "manager"))
    page = manager.get("/analytics")
    assert page.status_code == 200
    assert "/analytics/fair" in page.text
    assert "Run the analyses" not in page.text
    assert manager.post("/api/v1/analytics/runs").status_code == 403
    seller = demo_as(demo_login(demo_db, "seller"))
    assert seller.get("/analytics").status_code == 403
    leader = demo_as(demo_login(demo_db, "leader"))
    ran = leader.post("/api/v1/analytics/runs", params={"period": "2026-Q3"})
    assert ran.status_code == 201
    assert all(item["computed"] for item in ran.json())
    listed = leader.get("/api/v1/analytics", params={"period": "2026-Q3"}).json()
    assert {item["analysis"] for item in listed} == {item.key for item in registered()}


def test_the_command_refuses_an_unknown_analysis_and_a_bad_period():
    runner = CliRunner()
    unknown = runner.invoke(app, ["analytics", "run", "--only", "astrology"])
    assert unknown.exit_code == 2
    assert "astrology" in unknown.output
    bad = runner.invoke(app, ["analytics", "run", "--period", "2026-Q9"])
    assert bad.exit_code == 2
    assert "--period" in bad.output


def test_an_import_runs_again_the_analyses_of_the_periods_it_reached(demo_db, tmp_path):
    from tests.analytics.conftest import demo_quarter
    from touchline.auth.policy import SYSTEM
    from touchline.crm.service import run_import

    quarter, before = demo_quarter(demo_db), demo_quarter(demo_db, back=1)
    stamps = {
        (row.period, row.analysis): row.computed_at
        for row in demo_db.scalars(select(AnalyticsResult))
    }
    assert (quarter.label, "fairness") in stamps
    assert (before.label, "fairness") in stamps
    seller = demo_db.scalars(select(Seller).order_by(Seller.external_id.desc())).first()
    folder = tmp_path / "one-day"
    folder.mkdir()
    (folder / "activities.csv").write_text(
        "activity_id,seller_id,type,occurred_at\n"
        f"EXTRA-1,{seller.external_id},meeting,{quarter.start.isoformat()}T10:00:00+01:00\n"
    )
    report = run_import(
        demo_db, actor=SYSTEM, path=folder, format="interchange", source_label="one more day"
    )
    assert report.ok, report.first_problems()
    after = {
        (row.period, row.analysis): (row.computed_at, row.trigger)
        for row in demo_db.scalars(select(AnalyticsResult))
    }
    # The quarter and the year of the new meeting were analysed again; the quarter
    # before kept its results.
    assert after[(quarter.label, "fairness")][0] > stamps[(quarter.label, "fairness")]
    assert after[(quarter.label, "warnings")][1] == "import"
    assert after[(before.label, "fairness")][0] == stamps[(before.label, "fairness")]
