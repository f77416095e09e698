"""Rating rounds: the seller and the manager rate the same soft KPIs, blind to each other.

Until both have submitted a seller's rating (or the round closes) neither the API, nor
the round page, nor the seller's perception view, nor the stored KPI values show the
other side's scores; then both appear side by side with the gap, and count.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.crm.conftest import dump
from tests.factories import make_user
from tests.ratings.conftest import actor, compute, count, kpi_value
from touchline.auth.models import Role
from touchline.crm.models import RatingRecord
from touchline.errors import NotFound
from touchline.kpis.compute import company_today
from touchline.kpis.service import current_quarter
from touchline.org.models import Unit
from touchline.ratings import rounds
from touchline.ratings.models import RatingRound

KPIS = ["objection_handling", "needs_discovery"]
# Anne rates herself 5 and 4; Mette rates her 2 and 2: gaps of +3 and +2.
SELF = {"objection_handling": 5, "needs_discovery": 4}
MANAGER = {"objection_handling": 2, "needs_discovery": 2}
SELF_COMMENT = "I turned the Acme objection into a second meeting"
MANAGER_COMMENT = "Seen giving in on price twice"


def period() -> str:
    """The running quarter: the one the seller page shows."""
    return current_quarter().label


@pytest.fixture
def round_id(db, org) -> int:
    """Mette's open round over Team One (Anne and Arne), with the period computed."""
    make_user(db, "a2@example.com", Role.SELLER, org.sellers["A2"])
    created = rounds.create_round(
        db,
        actor=actor(db, org, "manager"),
        name="Coaching round",
        period=period(),
        unit=org.units["T1"],
        kpi_codes=KPIS,
    )
    compute(db, period())
    db.commit()
    return created.id


@pytest.fixture
def manager(client_as, org) -> TestClient:
    """Mette, the manager of Team One."""
    return client_as(org.users["manager"])


@pytest.fixture
def seller(client_as, org) -> TestClient:
    """Anne, a seller of Team One."""
    return client_as(org.users["seller"])


def submit(client: TestClient, round_id: int, seller_id: str, scores, comment: str = ""):
    return client.post(
        f"/api/v1/rating-rounds/{round_id}/ratings",
        json={
            "seller": seller_id,
            "scores": scores,
            "comments": {"objection_handling": comment} if comment else {},
        },
    )


def grid_values(html: str, seller_id: str) -> list[str]:
    """The values in a seller's row of the rate-my-team grid."""
    return re.findall(rf'name="score_{seller_id}_\w+"[^>]*\s+value="([^"]*)"', html)


def checked_choices(html: str) -> list[str]:
    """The names of the scale choices checked on a page."""
    return re.findall(r'name="(score_[^"]+)" value="[^"]*" checked', html)


def line_of(answer, seller_id: str) -> dict:
    return next(line for line in answer.json()["sellers"] if line["seller"] == seller_id)


def stored_values(db, org) -> dict[str, float | None]:
    anne = org.sellers["A1"]
    return {code: kpi_value(db, code, seller=anne, period=period()) for code in KPIS}


# Opening a round ---------------------------------------------------------------------


def test_a_manager_opens_a_round_for_their_team(manager, db, org):
    answer = manager.post(
        "/api/v1/rating-rounds",
        json={"name": "Q4 round", "period": period(), "unit": "T1", "kpis": KPIS},
    )
    assert answer.status_code == 201, answer.text
    opened = answer.json()
    assert opened["status"] == "open"
    assert [kpi["kpi"] for kpi in opened["kpis"]] == KPIS
    # The team's sellers, not the manager herself; nobody has rated yet.
    assert [line["name"] for line in opened["sellers"]] == ["Anne Andersen", "Arne Aas"]
    assert all(line["self_scores"] is None for line in opened["sellers"])
    listed = manager.get("/api/v1/rating-rounds").json()
    assert [item["name"] for item in listed] == ["Q4 round"]


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"unit": "N"}, 403, None, "may not open a rating round for this unit"),
        ({"unit": "T2"}, 404, "unit", "No unit 'T2'"),
        ({"period": "2026-Q5"}, 422, "period", "2026-Q5"),
        ({"kpis": ["charm"]}, 422, "kpis", "charm is not a KPI rated on a scale."),
        ({"kpis": ["revenue_won"]}, 422, "kpis", "revenue_won is not a KPI rated on a scale."),
        ({"kpis": []}, 422, "kpis", "Choose at least one KPI to rate."),
        ({"unit": "T1-EMPTY"}, 422, "unit", "There is no seller to rate in this unit."),
    ],
)
def test_opening_a_round_refuses_bad_input_naming_the_field(
    manager, db, org, change, status, field, words
):
    db.add(Unit(external_id="T1-EMPTY", name="Empty", kind="team", parent_id=org.units["T1"].id))
    db.commit()
    body = {"name": "Q4 round", "period": period(), "unit": "T1", "kpis": KPIS} | change
    answer = manager.post("/api/v1/rating-rounds", json=body)
    assert answer.status_code == status
    assert answer.json()["error"]["field"] == field
    assert words in answer.json()["error"]["message"]
    assert count(db, RatingRound) == 0


# Blindness -----------------------------------------------------------------------------


def test_the_manager_sees_nothing_of_a_self_rating_before_rating_the_seller(
    seller, manager, client_as, db, org, round_id
):
    before = stored_values(db, org)
    assert submit(seller, round_id, "A1", SELF, SELF_COMMENT).status_code == 200
    # Anne sees her own side at once.
    mine = line_of(seller.get(f"/api/v1/rating-rounds/{round_id}"), "A1")
    assert mine["self_scores"] == SELF
    assert mine["manager_scores"] is None
    assert len(checked_choices(seller.get(f"/ratings/rounds/{round_id}").text)) == len(KPIS)
    # Mette sees that Anne is in, not what she gave.
    answer = manager.get(f"/api/v1/rating-rounds/{round_id}")
    line = line_of(answer, "A1")
    assert line["self_submitted"] is True
    assert line["revealed"] is False
    assert line["self_scores"] is None
    assert line["gaps"] == {}
    assert SELF_COMMENT not in answer.text
    page = manager.get(f"/ratings/rounds/{round_id}")
    assert page.status_code == 200
    assert SELF_COMMENT not in page.text
    assert 'title="self"' not in page.text
    # Anne's row is Mette's to fill in, empty: nothing of Anne's 5 and 4 shows.
    assert grid_values(page.text, "A1") == ["", ""]
    # Nor does Hans, who manages Mette's region: a side shows only to whoever gave it.
    head = line_of(client_as(org.users["head"]).get(f"/api/v1/rating-rounds/{round_id}"), "A1")
    assert (head["self_scores"], head["manager_scores"]) == (None, None)
    compute(db, period())  # as the nightly `touchline compute` would
    assert stored_values(db, org) == before
    assert manager.get("/api/v1/sellers/A1/perception").json()["gaps"] == []


def test_the_seller_sees_nothing_of_the_managers_rating_before_rating_themself(
    seller, manager, db, org, round_id
):
    before = stored_values(db, org)
    assert submit(manager, round_id, "A1", MANAGER, MANAGER_COMMENT).status_code == 200
    answer = seller.get(f"/api/v1/rating-rounds/{round_id}")
    line = line_of(answer, "A1")
    assert line["manager_submitted"] is True
    assert line["manager_scores"] is None
    assert line["self_scores"] is None
    assert MANAGER_COMMENT not in answer.text
    page = seller.get(f"/ratings/rounds/{round_id}")
    assert "Submit my self-rating" in page.text
    assert MANAGER_COMMENT not in page.text
    assert 'title="manager"' not in page.text
    assert checked_choices(page.text) == []  # no choice made for her, none of Mette's shown
    perception = seller.get("/api/v1/sellers/A1/perception", params={"period": period()})
    assert perception.json()["gaps"] == []
    seller_page = seller.get("/sellers/A1")
    assert seller_page.status_code == 200
    assert "No ratings for this period yet." in seller_page.text
    compute(db, period())  # as the nightly `touchline compute` would
    assert stored_values(db, org) == before
    assert rounds.hidden_count(db, db.get(RatingRound, round_id)) == len(KPIS)


def test_once_both_are_in_they_show_side_by_side_with_the_gap_and_count(
    seller, manager, db, org, round_id
):
    before = stored_values(db, org)
    submit(seller, round_id, "A1", SELF, SELF_COMMENT)
    answer = submit(manager, round_id, "A1", MANAGER, MANAGER_COMMENT)
    assert answer.status_code == 200
    line = line_of(answer, "A1")
    assert line["revealed"] is True
    assert line["self_scores"] == SELF
    assert line["manager_scores"] == MANAGER
    assert line["gaps"] == {"objection_handling": 3.0, "needs_discovery": 2.0}
    # Anne sees Mette's side now, on the round and on her own page.
    assert line_of(seller.get(f"/api/v1/rating-rounds/{round_id}"), "A1")["manager_scores"] == (
        MANAGER
    )
    page = seller.get(f"/ratings/rounds/{round_id}")
    assert "+3.0" in page.text
    assert "+2.0" in page.text
    grid = manager.get(f"/ratings/rounds/{round_id}").text
    assert '<span title="self">5.0</span> / <span title="manager">2.0</span>' in grid
    gaps = seller.get("/api/v1/sellers/A1/perception", params={"period": period()}).json()
    by_kpi = {gap["kpi"]: gap for gap in gaps["gaps"]}
    assert (by_kpi["objection_handling"]["self"], by_kpi["objection_handling"]["manager"]) == (5, 2)
    assert "+3.0" in seller.get("/sellers/A1").text
    # The KPIs count both now: self 20 and manager 40 (customers drop out).
    after = stored_values(db, org)
    assert after != before
    assert after["objection_handling"] == pytest.approx((0.2 * 5 + 0.4 * 2) / 0.6)
    assert after["needs_discovery"] == pytest.approx((0.2 * 4 + 0.3 * 2) / 0.5)


def test_until_both_are_in_a_side_may_change_its_rating(seller, db, org, round_id):
    submit(seller, round_id, "A1", SELF)
    submit(seller, round_id, "A1", {"objection_handling": 3, "needs_discovery": 3})
    stored = db.scalars(select(RatingRecord.score).where(RatingRecord.round_id == round_id)).all()
    assert sorted(stored) == [3, 3]


def test_closing_reveals_one_sided_ratings(seller, manager, db, org, round_id):
    submit(seller, round_id, "A1", SELF)
    submit(manager, round_id, "A2", MANAGER)
    assert seller.post(f"/api/v1/rating-rounds/{round_id}/close").status_code == 403
    closed = manager.post(f"/api/v1/rating-rounds/{round_id}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert line_of(closed, "A1")["self_scores"] == SELF
    assert line_of(closed, "A2")["manager_scores"] == MANAGER
    assert line_of(closed, "A1")["gaps"] == {}  # one side only: no gap
    assert kpi_value(db, "objection_handling", seller=org.sellers["A1"], period=period()) == 5.0
    assert kpi_value(db, "objection_handling", seller=org.sellers["A2"], period=period()) == 2.0
    assert rounds.hidden_count(db, db.get(RatingRound, round_id)) == 0
    # Closed is final.
    again = submit(seller, round_id, "A1", SELF)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This rating round is closed: its ratings are final."
    assert manager.post(f"/api/v1/rating-rounds/{round_id}/close").status_code == 409


def test_rounds_past_their_due_date_close_at_night(db, org):
    rating_round = rounds.create_round(
        db,
        actor=actor(db, org, "manager"),
        name="Late round",
        period=period(),
        unit=org.units["T1"],
        kpi_codes=KPIS,
        due_date=company_today() - timedelta(days=1),
    )
    rounds.submit_ratings(
        db,
        actor=actor(db, org, "seller"),
        rating_round=rating_round,
        seller=org.sellers["A1"],
        scores=SELF,
    )
    closed = rounds.close_rounds_due(db, actor=actor(db, org, "admin"), today=company_today())
    assert [item.name for item in closed] == ["Late round"]
    assert rounds.hidden_count(db, rating_round) == 0


# Refusals ------------------------------------------------------------------------------


def test_rating_someone_outside_ones_reach_is_refused_and_stores_nothing(
    seller, manager, client_as, db, org, round_id
):
    # Mette rating Bente of Team Two; Anne rating her colleague Arne.
    assert submit(manager, round_id, "B1", MANAGER).status_code == 404
    assert submit(seller, round_id, "A2", MANAGER).status_code == 404
    # Mads, who manages Team Two, does not even see Mette's round.
    assert submit(client_as(org.users["manager2"]), round_id, "A1", MANAGER).status_code == 404
    with pytest.raises(NotFound):
        rounds.submit_ratings(
            db,
            actor=actor(db, org, "manager2"),
            rating_round=db.get(RatingRound, round_id),
            seller=org.sellers["A1"],
            scores=MANAGER,
        )
    assert count(db, RatingRecord) == 0


@pytest.mark.parametrize(
    ("scores", "field", "message"),
    [
        (
            {"objection_handling": 6, "needs_discovery": 2},
            "score_objection_handling",
            "6 is off the scale of Objection handling: give 1 to 5.",
        ),
        (
            {"objection_handling": 0, "needs_discovery": 2},
            "score_objection_handling",
            "0 is off the scale of Objection handling: give 1 to 5.",
        ),
        (
            {"objection_handling": 2},
            "score_needs_discovery",
            "Rate Needs discovery too: every KPI of the round needs a score.",
        ),
        (
            {"objection_handling": 2, "needs_discovery": None},
            "score_needs_discovery",
            "Rate Needs discovery too: every KPI of the round needs a score.",
        ),
        (
            {**MANAGER, "collaboration": 3},
            "scores",
            "collaboration is not rated in this round.",
        ),
    ],
)
def test_a_bad_rating_is_refused_and_nothing_stored_changes(
    seller, manager, db, org, round_id, scores, field, message
):
    submit(seller, round_id, "A1", SELF)
    before = dump(db)
    answer = submit(manager, round_id, "A1", scores)
    assert answer.status_code == 422
    assert answer.json()["error"] == {"message": message, "field": field}
    assert dump(db) == before


def test_a_second_submission_after_the_reveal_is_refused(seller, manager, db, org, round_id):
    submit(seller, round_id, "A1", SELF)
    submit(manager, round_id, "A1", MANAGER)
    before = dump(db)
    for who, scores in ((seller, {"objection_handling": 1, "needs_discovery": 1}), (manager, SELF)):
        answer = submit(who, round_id, "A1", scores)
        assert answer.status_code == 409
        assert answer.json()["error"]["message"] == (
            "Both ratings of Anne Andersen are in and shown: they are final."
        )
    assert dump(db) == before


# The rate-my-team grid -----------------------------------------------------------------


def test_the_grid_refuses_a_half_filled_row_and_stores_nothing_then_takes_complete_rows(
    manager, db, org, round_id
):
    page = manager.get(f"/ratings/rounds/{round_id}")
    assert 'aria-label="Arne Aas: Needs discovery"' in page.text
    form = {
        "seller": ["A1", "A2"],
        "score_A1_objection_handling": "3",
        "score_A1_needs_discovery": "4",
        "score_A2_objection_handling": "2",
        "score_A2_needs_discovery": "",
    }
    refused = manager.post(f"/ratings/rounds/{round_id}/ratings", data=form)
    assert refused.status_code == 422
    assert (
        "Arne Aas: Rate Needs discovery too: every KPI of the round needs a score." in refused.text
    )
    assert 'value="3"' in refused.text  # what was typed stays in the grid
    assert count(db, RatingRecord) == 0  # not even Anne's complete row
    form["score_A2_needs_discovery"] = "2,5"
    saved = manager.post(f"/ratings/rounds/{round_id}/ratings", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/ratings/rounds/{round_id}?saved=2"
    assert "Saved." in manager.get(saved.headers["location"]).text
    stored = db.execute(
        select(RatingRecord.kpi, RatingRecord.score)
        .where(RatingRecord.seller_id == org.sellers["A2"].id)
        .order_by(RatingRecord.kpi)
    ).all()
    assert stored == [("needs_discovery", 2.5), ("objection_handling", 2.0)]


def test_the_grid_leaves_empty_rows_unrated_and_needs_at_least_one(manager, db, org, round_id):
    form = {"seller": ["A1", "A2"]}
    refused = manager.post(f"/ratings/rounds/{round_id}/ratings", data=form)
    assert refused.status_code == 422
    assert "Give a score for every KPI first." in refused.text
    form |= {"score_A2_objection_handling": "4", "score_A2_needs_discovery": "4"}
    assert manager.post(f"/ratings/rounds/{round_id}/ratings", data=form).status_code == 303
    assert count(db, RatingRecord) == 2


def test_the_dashboards_say_who_still_has_to_rate(seller, manager, round_id):
    assert "Rate yourself: Coaching round" in seller.get("/").text
    assert "Rating rounds to complete" in manager.get("/").text
