"""Scorecards: attainment, lights, levels, the balanced index, capacity and governance."""

from __future__ import annotations

from datetime import date

import pytest

from touchline.auth.policy import SYSTEM
from touchline.errors import InvalidInput
from touchline.kpis.assignments import (
    LineSpec,
    assign_template,
    save_template,
    set_seller_line,
    set_unit_targets,
)
from touchline.kpis.compute import compute_period
from touchline.kpis.scorecards import attainment, light, seller_scorecard, weighted_mean
from touchline.org.periods import parse_period


def test_attainment_follows_the_direction_and_is_capped():
    assert attainment(80, 100, "higher") == 80
    assert attainment(300, 100, "higher") == 150
    assert attainment(12, 24, "lower") == 150  # half the time: capped
    assert attainment(30, 24, "lower") == pytest.approx(80)
    assert attainment(None, 100, "higher") is None
    assert attainment(5, 0, "higher") is None


def test_lights_and_weighted_means():
    assert light(100, green_from=100, amber_from=85) == "green"
    assert light(90, green_from=100, amber_from=85) == "amber"
    assert light(50, green_from=100, amber_from=85) == "red"
    assert light(None, green_from=100, amber_from=85) == "none"
    assert weighted_mean([(30, 100.0), (10, 60.0), (60, None)]) == pytest.approx(90.0)
    assert weighted_mean([(10, None)]) is None


TODAY = date(2026, 11, 23)


@pytest.fixture
def imported(db, tmp_path):
    """The small interchange company of the import tests, with 2026-Q1 computed."""
    from tests.crm.conftest import VALID, write_folder
    from touchline.crm.service import run_import

    report = run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "crm", VALID))
    assert report.ok
    quarter = parse_period("2026-Q1", fiscal_start_month=1)
    compute_period(db, quarter)
    db.flush()
    return quarter


def _seller(db, external_id):
    from sqlalchemy import select

    from touchline.org.models import Seller

    return db.scalar(select(Seller).where(Seller.external_id == external_id))


def _unit(db, external_id):
    from sqlalchemy import select

    from touchline.org.models import Unit

    return db.scalar(select(Unit).where(Unit.external_id == external_id))


def test_a_card_scores_levels_and_the_balanced_index(db, imported):
    template = save_template(
        db,
        actor=SYSTEM,
        name="Account executive",
        lines=[
            LineSpec("revenue_won", 40, target=200),
            LineSpec("objection_handling", 30, target=3),
            LineSpec("pulse_energy", 30, target=3),
        ],
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    card = seller_scorecard(
        db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported, today=TODAY
    )
    by_code = {line.kpi.code: line for line in card.lines}
    assert by_code["revenue_won"].actual == pytest.approx(100.50)
    assert by_code["revenue_won"].attainment == pytest.approx(50.25)
    assert by_code["revenue_won"].light == "red"
    assert by_code["revenue_won"].decision_rule  # off track: the rule says what to do
    # Self 4.5 and manager 3, weighed 20 and 40 (the customers' 40 has no ratings and
    # drops out): (0.2 * 4.5 + 0.4 * 3) / 0.6.
    assert by_code["objection_handling"].actual == pytest.approx(3.5)
    assert by_code["objection_handling"].light == "green"
    assert by_code["objection_handling"].decision_rule == ""
    assert by_code["pulse_energy"].actual == pytest.approx(3.0)
    assert card.level_scores["result"] == pytest.approx(50.25)
    assert card.level_scores["foundation"] is None
    assert card.balanced_index == pytest.approx((40 * 50.25 + 30 * 3.5 / 3 * 100 + 30 * 100) / 100)
    assert card.capacity is None
    assert any("Foundation" in warning for warning in card.warnings)
    assert sum("serves no objective" in warning for warning in card.warnings) == 3


def test_a_sellers_own_target_overrides_the_template_and_unit_targets_reach_everyone(db, imported):
    template = save_template(
        db, actor=SYSTEM, name="AE", lines=[LineSpec("revenue_won", 100, target=200)]
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    set_seller_line(
        db,
        actor=SYSTEM,
        seller=_seller(db, "S2"),
        spec=LineSpec("revenue_won", 0, 100),
        effective_from=imported.label,
    )
    card = seller_scorecard(
        db, actor=SYSTEM, seller=_seller(db, "S2"), period=imported, today=TODAY
    )
    assert card.lines[0].target == 100
    assert card.lines[0].weight == 100  # weight 0 on the seller's line keeps the template's
    assert card.lines[0].light == "green"
    assert (
        set_unit_targets(
            db,
            actor=SYSTEM,
            unit=_unit(db, "T1"),
            kpi_code="revenue_won",
            target=50,
            effective_from=imported.label,
        )
        == 2
    )
    card = seller_scorecard(
        db, actor=SYSTEM, seller=_seller(db, "S3"), period=imported, today=TODAY
    )
    assert card.lines[0].target == 50


def test_a_target_raised_for_a_later_period_leaves_the_earlier_one_as_it_was(db, imported):
    template = save_template(
        db, actor=SYSTEM, name="AE", lines=[LineSpec("revenue_won", 100, target=200)]
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    seller = _seller(db, "S2")
    set_seller_line(
        db,
        actor=SYSTEM,
        seller=seller,
        spec=LineSpec("revenue_won", 0, 100),
        effective_from=imported.label,
    )
    later = imported.next()
    set_seller_line(
        db,
        actor=SYSTEM,
        seller=seller,
        spec=LineSpec("revenue_won", 0, 150),
        effective_from=later.label,
    )

    def target(period):
        card = seller_scorecard(db, actor=SYSTEM, seller=seller, period=period, today=TODAY)
        return card.lines[0].target

    assert target(imported.previous()) == 200  # before any own line: the template's
    assert target(imported) == 100
    assert target(later) == 150
    assert target(later.next()) == 150
    # Setting the same period again replaces that period's line, not another one.
    set_seller_line(
        db,
        actor=SYSTEM,
        seller=seller,
        spec=LineSpec("revenue_won", 0, 120),
        effective_from=later.label,
    )
    assert target(later) == 120
    assert target(imported) == 100
    with pytest.raises(InvalidInput, match="2026-Q9"):
        set_seller_line(
            db,
            actor=SYSTEM,
            seller=seller,
            spec=LineSpec("revenue_won", 0, 1),
            effective_from="2026-Q9",
        )


def test_a_month_target_is_a_third_of_the_quarter_for_sums_only(db, imported):
    template = save_template(
        db,
        actor=SYSTEM,
        name="AE",
        lines=[LineSpec("revenue_won", 50, target=300), LineSpec("win_rate", 50, target=0.5)],
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    month = parse_period("2026-02", fiscal_start_month=1)
    card = seller_scorecard(db, actor=SYSTEM, seller=_seller(db, "S2"), period=month, today=TODAY)
    assert [line.target for line in card.lines] == [pytest.approx(100), 0.5]


def test_a_seller_cannot_see_another_sellers_card(db, imported):
    from touchline.auth.models import Role
    from touchline.auth.policy import Actor
    from touchline.errors import NotFound

    bo = Actor(user=None, role=Role.SELLER, own_seller_id=_seller(db, "S3").id)
    with pytest.raises(NotFound):
        seller_scorecard(db, actor=bo, seller=_seller(db, "S2"), period=imported, today=TODAY)
    assert seller_scorecard(db, actor=bo, seller=_seller(db, "S3"), period=imported, today=TODAY)


def test_bad_templates_are_refused_and_nothing_is_stored(db, imported):
    from sqlalchemy import func, select

    from touchline.errors import InvalidInput
    from touchline.kpis.models import ScorecardTemplate

    for lines in (
        [LineSpec("no_such_kpi", 10)],
        [LineSpec("calls", 10), LineSpec("calls", 20)],
        [LineSpec("calls", -1)],
        [LineSpec("calls", 10, green_from=80, amber_from=90)],
    ):
        with pytest.raises(InvalidInput):
            save_template(db, actor=SYSTEM, name="Broken", lines=lines)
    assert db.scalar(select(func.count()).select_from(ScorecardTemplate)) == 0


def _with_card(db):
    template = save_template(
        db,
        actor=SYSTEM,
        name="AE",
        lines=[LineSpec("revenue_won", 60, target=100), LineSpec("meetings", 40, target=1)],
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))


def test_the_heatmap_sorts_by_a_kpis_attainment(db, imported):
    from touchline.kpis.heatmap import unit_heatmap

    _with_card(db)
    heatmap = unit_heatmap(
        db,
        actor=SYSTEM,
        unit=_unit(db, "T1"),
        period=imported,
        sort="revenue_won",
        descending=True,
        today=TODAY,
    )
    assert [kpi.code for kpi in heatmap.columns] == ["revenue_won", "meetings"]
    # S2 won 100.50 against 100: 100.5 %; S3 won nothing: 0 %.
    assert [card.seller.external_id for card in heatmap.cards] == ["S2", "S3"]
    assert heatmap.cell(heatmap.cards[0], heatmap.columns[0]).light == "green"
    assert heatmap.cell(heatmap.cards[1], heatmap.columns[0]).light == "red"


def test_a_manager_sees_the_heatmap_page_and_its_csv(db, imported, client):
    from tests.conftest import sign_in
    from tests.factories import PASSWORD, make_user
    from touchline.auth.models import Role

    _with_card(db)
    make_user(db, "lars@x.dk", Role.MANAGER, _seller(db, "S1"))
    db.commit()
    sign_in(client, "lars@x.dk", PASSWORD)
    page = client.get("/units/T1/heatmap?period=2026-Q1&sort=index&desc=1")
    assert page.status_code == 200
    assert "Anne" in page.text
    assert "Bo" in page.text
    assert "light-green" in page.text
    csv = client.get("/units/T1/heatmap?period=2026-Q1&format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("seller_id,seller,balanced_index,revenue_won_actual")
    assert any(line.startswith("S2,Anne,") and ",100.5," in line for line in lines)
    card = client.get("/sellers/S2/scorecard?period=2026-Q1")
    assert card.status_code == 200
    assert "Revenue won" in card.text
    api = client.get("/api/v1/units/T1/heatmap?period=2026-Q1").json()
    assert api["kpis"] == ["revenue_won", "meetings"]
    # The company's heatmap shows Lars only the sellers he may see: not Dora above him.
    company = client.get("/units/C/heatmap?period=2026-Q1")
    assert company.status_code == 200
    assert "Anne" in company.text
    assert "Dora" not in company.text


def test_the_scorecard_prints_to_pdf(db, imported, client):
    from tests.conftest import sign_in
    from tests.factories import PASSWORD, make_user
    from touchline.auth.models import Role

    _with_card(db)
    make_user(db, "anne@x.dk", Role.SELLER, _seller(db, "S2"))
    db.commit()
    sign_in(client, "anne@x.dk", PASSWORD)
    pdf = client.get("/sellers/S2/scorecard.pdf?period=2026-Q1")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get("/sellers/S3/scorecard.pdf?period=2026-Q1").status_code == 404


def test_the_sparkline_draws_the_history_with_gaps():
    from touchline.kpis.display import sparkline

    assert sparkline([("2026-Q1", 1.0)]) == ""  # one value shows no direction
    svg = sparkline([("Q1", 1.0), ("Q2", 3.0), ("Q3", None), ("Q4", 2.0), ("Q5", 4.0)])
    assert svg.startswith("<svg")
    assert svg.count("<polyline") == 2  # the missing quarter breaks the line
    # The lowest value (1) at the bottom, the highest (4) at the top.
    assert 'points="0.0,20.0 22.5,8.0"' in svg
    assert 'points="67.5,14.0 90.0,2.0"' in svg
