"""Who may see and do what in the soft KPIs, through the API and the pages.

A manager of another team learns nothing of a round, a campaign or a perception (404,
as for anything that does not exist); sellers are refused the manager-only routes
(403); the survey routes an outside rater uses need no login.
"""

from __future__ import annotations

import pytest

from tests.conftest import csrf_from
from tests.ratings.conftest import PERIOD, actor, add_accounts, token_of
from touchline.ratings import campaigns, rounds, seller_surveys


@pytest.fixture
def team_one(db, org) -> dict[str, object]:
    """Mette's round, customer campaign (with one link) and seller survey for Team One."""
    manager = actor(db, org, "manager")
    add_accounts(db, org)
    rating_round = rounds.create_round(
        db,
        actor=manager,
        name="Round",
        period=PERIOD,
        unit=org.units["T1"],
        kpi_codes=["objection_handling"],
    )
    campaign = campaigns.create_campaign(
        db,
        actor=manager,
        name="Voice",
        kind="customer",
        period=PERIOD,
        unit=org.units["T1"],
        kpi_codes=["first_impression"],
    )
    (link,) = campaigns.add_contacts(
        db,
        actor=manager,
        campaign=campaign,
        contacts=[campaigns.Contact(2, "A1", "Ane", "ane@acme.no", "ACME", "nb")],
    ).links
    survey = seller_surveys.create_seller_survey(
        db, actor=manager, name="Foundation", period=PERIOD, unit=org.units["T1"]
    )
    db.commit()
    return {
        "round": rating_round.id,
        "campaign": campaign.id,
        "survey": survey.id,
        "invitation": link.invitation.id,
        "token": token_of(link.url),
    }


def test_a_manager_of_another_team_gets_not_found_for_rounds_campaigns_and_perception(
    client_as, org, team_one
):
    mads = client_as(org.users["manager2"])
    round_id, campaign_id = team_one["round"], team_one["campaign"]
    for method, path in [
        ("GET", f"/api/v1/rating-rounds/{round_id}"),
        ("GET", f"/ratings/rounds/{round_id}"),
        ("POST", f"/api/v1/rating-rounds/{round_id}/close"),
        ("GET", f"/api/v1/survey-campaigns/{campaign_id}"),
        ("GET", f"/ratings/campaigns/{campaign_id}"),
        ("POST", f"/api/v1/survey-campaigns/{campaign_id}/links"),
        ("POST", f"/api/v1/survey-campaigns/{campaign_id}/close"),
        ("GET", f"/api/v1/seller-surveys/{team_one['survey']}/results"),
        ("GET", "/api/v1/sellers/A1/perception"),
        ("GET", "/sellers/A1"),
    ]:
        assert mads.request(method, path).status_code == 404, (method, path)
    refused = mads.post(
        f"/api/v1/rating-rounds/{round_id}/ratings",
        json={"seller": "A1", "scores": {"objection_handling": 1}},
    )
    assert refused.status_code == 404
    assert mads.get("/api/v1/rating-rounds").json() == []
    assert mads.get("/api/v1/survey-campaigns").json() == []
    hub = mads.get("/ratings").text
    assert "Voice" not in hub


def test_sellers_are_refused_the_manager_only_routes(client_as, org, team_one):
    anne = client_as(org.users["seller"])
    round_id, campaign_id = team_one["round"], team_one["campaign"]
    for method, path, body in [
        (
            "POST",
            "/api/v1/rating-rounds",
            {"name": "x", "period": PERIOD, "unit": "T1", "kpis": []},
        ),
        ("POST", f"/api/v1/rating-rounds/{round_id}/close", None),
        ("GET", "/api/v1/survey-campaigns", None),
        (
            "POST",
            "/api/v1/survey-campaigns",
            {"name": "x", "kind": "peer", "period": PERIOD, "unit": "T1"},
        ),
        ("GET", f"/api/v1/survey-campaigns/{campaign_id}", None),
        ("POST", f"/api/v1/survey-campaigns/{campaign_id}/peers", None),
        ("GET", "/api/v1/ratings/calibration", None),
        ("POST", "/api/v1/seller-surveys", {"name": "x", "period": PERIOD, "unit": "T1"}),
        ("GET", f"/api/v1/seller-surveys/{team_one['survey']}/results", None),
        (
            "PUT",
            "/api/v1/rating-scales/kpis/objection_handling",
            {"scale": "one_to_five", "anchors": {}},
        ),
        ("GET", "/ratings/calibration", None),
        ("GET", f"/ratings/campaigns/{campaign_id}", None),
        ("POST", f"/ratings/rounds/{round_id}/close", None),
    ]:
        answer = anne.request(method, path, json=body)
        assert answer.status_code == 403, (method, path, answer.status_code)
    assert "This page needs the Manager role" in anne.get("/ratings/calibration").text


def test_a_seller_sees_only_their_own_line_of_a_round(client_as, org, team_one):
    anne = client_as(org.users["seller"])
    (listed,) = anne.get("/api/v1/rating-rounds").json()
    assert [line["seller"] for line in listed["sellers"]] == ["A1"]
    page = anne.get(f"/ratings/rounds/{team_one['round']}").text
    assert "Arne Aas" not in page


def test_managers_above_and_leaders_oversee_the_round(client_as, org, team_one):
    for key in ("head", "leader"):
        found = client_as(org.users[key]).get(f"/api/v1/rating-rounds/{team_one['round']}")
        assert found.status_code == 200
        assert [line["seller"] for line in found.json()["sellers"]] == ["A1", "A2"]


def test_the_survey_routes_need_no_login(client_as, db, team_one):
    token = team_one["token"]
    stranger = client_as(None)
    assert stranger.get("/ratings").status_code == 303  # everything else asks to sign in
    assert stranger.get("/api/v1/rating-rounds").status_code == 401
    page = stranger.get(f"/survey/{token}")
    assert page.status_code == 200
    assert stranger.get(f"/api/v1/surveys/{token}").status_code == 200
    answered = stranger.post(
        f"/survey/{token}",
        data={"csrf_token": csrf_from(page.text), "score": "9", "score_first_impression": "5"},
    )
    assert answered.status_code == 200
    assert 'id="survey-thanks"' in answered.text


def test_only_the_seller_an_invitation_is_about_predicts_its_score(client_as, db, org, team_one):
    path = f"/api/v1/survey-invitations/{team_one['invitation']}/prediction"
    assert client_as(org.users["seller"]).put(path, json={"predicted": 8}).status_code == 200
    for key in ("manager", "leader"):
        assert client_as(org.users[key]).put(path, json={"predicted": 2}).status_code == 404
