"""Scorecard templates through the pages and the API: save, assign, targets, objectives."""

from __future__ import annotations

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_user
from tests.kpis.test_scorecards import _seller, imported  # noqa: F401
from touchline.auth.models import Role


def test_a_leader_builds_a_template_and_a_manager_assigns_it(db, imported, client):  # noqa: F811
    make_user(db, "lea@x.dk", Role.LEADER)
    make_user(db, "lars@x.dk", Role.MANAGER, _seller(db, "S1"))
    db.commit()
    token = sign_in(client, "lea@x.dk", PASSWORD)
    saved = client.put(
        "/api/v1/scorecard-templates/AE",
        json={
            "lines": [
                {"kpi": "revenue_won", "weight": 70, "target": 100},
                {"kpi": "meetings", "weight": 20},
            ]
        },
        headers={"X-CSRF-Token": token},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["weight_total"] == 90
    assert set(saved.json()["missing_levels"]) == {"will", "foundation"}
    refused = client.put(
        "/api/v1/scorecard-templates/AE",
        json={"lines": [{"kpi": "no_such", "weight": 10}]},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "kpi"
    client.post("/logout", data={"csrf_token": token})

    token = sign_in(client, "lars@x.dk", PASSWORD)
    page = client.get("/scorecards")
    assert page.status_code == 200
    assert "The weights add up to 90, not 100." in page.text
    assigned = client.post(
        "/scorecards/assign", data={"csrf_token": token, "template": "AE", "unit": "T1"}
    )
    assert assigned.status_code == 200
    assert "Template AE assigned." in assigned.text
    # Lars manages T1, not the company.
    assert client.post(
        "/scorecards/assign", data={"csrf_token": token, "template": "AE", "unit": "C"}
    ).status_code in (403, 404)
    targets = client.post(
        "/api/v1/units/T1/targets",
        json={"kpi": "meetings", "target": 3, "effective_from": "2026-Q1"},
        headers={"X-CSRF-Token": token},
    )
    assert targets.json() == {"sellers": 2}
    card = client.get("/api/v1/sellers/S2/scorecard?period=2026-Q1").json()
    assert card["template"] == "AE"
    assert {line["kpi"]: line["target"] for line in card["lines"]} == {
        "revenue_won": 100,
        "meetings": 3,
    }
    line = client.put(
        "/api/v1/sellers/S2/scorecard/lines/calls",
        json={"kpi": "calls", "weight": 10, "target": 5, "effective_from": "2026-Q1"},
        headers={"X-CSRF-Token": token},
    )
    assert line.status_code == 200
    card = client.get("/api/v1/sellers/S2/scorecard?period=2026-Q1").json()
    assert [line["kpi"] for line in card["lines"]] == ["revenue_won", "meetings", "calls"]
    objective = client.post(
        "/api/v1/objectives",
        json={"title": "Meet more", "unit": "T1"},
        headers={"X-CSRF-Token": token},
    )
    assert objective.status_code == 201
    assert [o["title"] for o in client.get("/api/v1/objectives").json()] == ["Meet more"]


def test_a_seller_may_not_touch_templates_or_targets(db, imported, client):  # noqa: F811
    make_user(db, "anne@x.dk", Role.SELLER, _seller(db, "S2"))
    db.commit()
    token = sign_in(client, "anne@x.dk", PASSWORD)
    assert client.get("/scorecards").status_code == 403
    own = client.put(
        "/api/v1/sellers/S2/scorecard/lines/calls",
        json={"kpi": "calls", "weight": 10, "target": 500},
        headers={"X-CSRF-Token": token},
    )
    assert own.status_code == 403  # a seller never sets their own targets


def test_the_company_overview_shows_every_unit_with_the_period_before(db, imported, client):  # noqa: F811
    make_user(db, "lea@x.dk", Role.LEADER)
    db.commit()
    sign_in(client, "lea@x.dk", PASSWORD)
    page = client.get("/overview?period=2026-Q1")
    assert page.status_code == 200
    for name in ("The company", "Company", "Region One", "Team One"):
        assert name in page.text
    csv = client.get("/overview?period=2026-Q1&format=csv").text.splitlines()
    assert csv[0].startswith("unit_id,unit,")
    assert "revenue_won_2026-Q1" in csv[0]
    assert "revenue_won_2025-Q4" in csv[0]
    company = next(line for line in csv if line.startswith("company,The company,"))
    assert "100.5" in company
