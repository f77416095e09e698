"""A team's scorecard and a unit's KPI values: the unit's own figures against the targets
of its sellers added up."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.kpis.test_scorecards import TODAY, _seller, _unit, imported  # noqa: F401
from touchline.auth.models import Role
from touchline.auth.policy import SYSTEM
from touchline.kpis.assignments import LineSpec, assign_template, save_template, set_seller_line
from touchline.kpis.models import KpiValue
from touchline.kpis.unit_cards import unit_scorecard


def _card(db, period):
    template = save_template(
        db,
        actor=SYSTEM,
        name="AE",
        lines=[LineSpec("revenue_won", 60, target=200), LineSpec("win_rate", 40, target=0.4)],
    )
    assign_template(db, actor=SYSTEM, template=template, unit=_unit(db, "C"))
    set_seller_line(
        db,
        actor=SYSTEM,
        seller=_seller(db, "S2"),
        spec=LineSpec("revenue_won", 0, 100),
        effective_from=period.label,
    )


def test_a_team_is_judged_on_its_own_events_against_its_sellers_targets(db, imported):  # noqa: F811
    _card(db, imported)
    card = unit_scorecard(db, actor=SYSTEM, unit=_unit(db, "T1"), period=imported, today=TODAY)
    lines = {line.kpi.code: line for line in card.lines}
    assert card.template.name == "AE"
    assert card.sellers == 2
    # Revenue adds up: Anne's own 100 and Bo's 200 from the template.
    assert lines["revenue_won"].target == 300
    assert lines["revenue_won"].actual == pytest.approx(100.50)
    assert lines["revenue_won"].attainment == pytest.approx(33.5)
    assert lines["revenue_won"].light == "red"
    assert lines["revenue_won"].decision_rule  # off track: the rule shows
    # A ratio does not add up: the team's target is its sellers' mean target.
    assert lines["win_rate"].target == pytest.approx(0.4)
    assert lines["win_rate"].actual == pytest.approx(0.5)  # the team's deals, pooled
    assert lines["win_rate"].light == "green"
    assert card.balanced_index == pytest.approx(0.6 * 33.5 + 0.4 * 125)
    assert [label for label, _value in lines["revenue_won"].history][-1] == "2026-Q1"


def test_the_unit_api_gives_its_card_and_every_kpi_value(db, imported, client):  # noqa: F811
    _card(db, imported)
    make_user(db, "bo@x.dk", Role.SELLER, _seller(db, "S3"))
    make_user(db, "nobody@x.dk", Role.MANAGER)
    db.commit()
    sign_in(client, "bo@x.dk", PASSWORD)
    card = client.get("/api/v1/units/T1/scorecard?period=2026-Q1")
    assert card.status_code == 200, card.text
    assert card.json()["unit"] == "T1"
    assert {line["kpi"]: line["target"] for line in card.json()["lines"]} == {
        "revenue_won": 300,
        "win_rate": 0.4,
    }
    stored = client.get("/api/v1/units/T1/kpis?period=2026-Q1").json()
    assert stored["computed"] is True
    values = {value["kpi"]: value["value"] for value in stored["values"]}
    assert values["revenue_won"] == pytest.approx(100.50)
    assert values["deals_won"] == 1
    assert values["objection_handling"] == pytest.approx(3.5)
    assert values["crm_training"] is None
    before = db.scalar(select(func.count()).select_from(KpiValue))
    fresh = client.get("/api/v1/units/T1/kpis?period=2026-01").json()
    assert fresh["computed"] is False
    fresh_values = {value["kpi"]: value["value"] for value in fresh["values"]}
    assert fresh_values["pipeline_created"] == pytest.approx(106.73)  # D1, D2 and D3
    assert db.scalar(select(func.count()).select_from(KpiValue)) == before  # nothing stored
    own = client.get("/api/v1/scorecards/S3?period=2026-Q1").json()
    assert own == client.get("/api/v1/sellers/S3/scorecard?period=2026-Q1").json()
    assert client.get("/api/v1/scorecards/S2?period=2026-Q1").status_code == 404
    client.post("/logout", data={"csrf_token": "x"})
    client.cookies.clear()
    sign_in(client, "nobody@x.dk", PASSWORD)
    assert client.get("/api/v1/units/T1/kpis?period=2026-Q1").status_code == 404
    assert client.get("/api/v1/units/T1/scorecard?period=2026-Q1").status_code == 404
    assert client.get("/api/v1/units/T1/kpis?period=2026-Q9").status_code in (404, 422)
