"""Scales and their behavioural anchors, and how ratings on them become a soft KPI's value.

The value of a rated KPI is the weighted mean of the rater roles' means, with the role
weights of the KPI version in force; a role without ratings drops out and the others'
weights are renormalised; peers and customers count only from three answers (for a
seller, and pooled for a unit); a rating round's hidden ratings count for nothing.
"""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.factories import PASSWORD
from tests.ratings.conftest import actor, compute, kpi_value, rate
from touchline.auth.policy import SYSTEM
from touchline.errors import Forbidden, InvalidInput
from touchline.kpis import catalogue
from touchline.kpis.schemas import KpiCreate, KpiDefinition, KpiUpdate
from touchline.ratings.scales import check_score, rated_kpis, set_kpi_scale

# Scales and anchors ------------------------------------------------------------------


def test_every_soft_kpi_ships_with_a_scale_and_an_anchor_for_each_point(client, org):
    sign_in(client, "seller@example.com", PASSWORD)
    answer = client.get("/api/v1/rating-scales").json()
    assert {scale["code"] for scale in answer["scales"]} >= {
        "one_to_five",
        "zero_to_ten",
        "percentage",
    }
    by_code = {kpi["kpi"]: kpi for kpi in answer["kpis"]}
    objection = by_code["objection_handling"]
    assert (objection["scale"], objection["minimum"], objection["maximum"]) == ("one_to_five", 1, 5)
    assert [anchor["point"] for anchor in objection["anchors"]] == [1, 2, 3, 4, 5]
    assert objection["anchors"][2]["text"] == "Handles common objections with prepared answers."
    for code in (
        "needs_discovery",
        "first_impression",
        "collaboration",
        "best_practice",
        "product_knowledge",
        "foundation_tools",
    ):
        assert len(by_code[code]["anchors"]) == 5, code


def test_the_scales_page_shows_the_anchors(client, org):
    sign_in(client, "seller@example.com", PASSWORD)
    page = client.get("/ratings/scales")
    assert page.status_code == 200
    assert "Turns objections into discovery questions and moves the deal forward." in page.text


def test_a_leader_gives_a_kpi_new_anchors_on_another_scale(client, db, org):
    token = sign_in(client, "leader@example.com", PASSWORD)
    answer = client.put(
        "/api/v1/rating-scales/kpis/objection_handling",
        json={
            "scale": "zero_to_ten",
            "anchors": {"0": "Gives up at the first objection.", "10": "Welcomes objections."},
            "translations": {"nb": {"10": "Ønsker innvendinger velkommen."}},
        },
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["scale"], answer.json()["maximum"]) == ("zero_to_ten", 10)
    assert [a["text"] for a in answer.json()["anchors"]] == [
        "Gives up at the first objection.",
        "Welcomes objections.",
    ]
    # The new scale decides what is on the scale from now on.
    (rated,) = rated_kpis(db, ["objection_handling"])
    assert check_score(rated, 9, field="score") == 9


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"scale": "one_to_five", "anchors": {"7": "Beyond"}}, "off the scale 1 to 5"),
        ({"scale": "one_to_five", "anchors": {"3": "  "}}, "needs a text"),
        ({"scale": "one_to_hundred", "anchors": {}}, "no rating scale one_to_hundred"),
    ],
)
def test_bad_anchors_are_refused_and_the_old_ones_stay(client, db, org, body, words):
    token = sign_in(client, "leader@example.com", PASSWORD)
    answer = client.put(
        "/api/v1/rating-scales/kpis/objection_handling", json=body, headers={"X-CSRF-Token": token}
    )
    assert answer.status_code in (404, 422)
    assert words in answer.json()["error"]["message"]
    (rated,) = rated_kpis(db, ["objection_handling"])
    assert rated.scale.code == "one_to_five"
    assert len(rated.anchors) == 5


def test_managers_and_sellers_may_not_change_anchors(db, org):
    with pytest.raises(Forbidden):
        set_kpi_scale(
            db,
            actor=actor(db, org, "manager"),
            kpi_code="objection_handling",
            scale_code="one_to_five",
            anchors={3: "Mine"},
        )


def test_a_score_off_the_scale_is_refused_naming_the_scale(db, org):
    (rated,) = rated_kpis(db, ["objection_handling"])
    with pytest.raises(InvalidInput) as refused:
        check_score(rated, 6, field="score_objection_handling")
    assert refused.value.message == "6 is off the scale of Objection handling: give 1 to 5."
    assert refused.value.field == "score_objection_handling"


# Aggregation rules --------------------------------------------------------------------


def test_the_role_weights_of_the_version_in_force_weigh_the_role_means(db, org):
    anne = org.sellers["A1"]
    rate(db, anne, "objection_handling", "self", 5)
    rate(db, anne, "objection_handling", "manager", 3)
    rate(db, anne, "objection_handling", "customer", 2, 2, 2)
    compute(db)
    # manager 40, customer 40, self 20: 0.4 * 3 + 0.4 * 2 + 0.2 * 5 (equal weights: 3.33).
    assert kpi_value(db, "objection_handling", seller=anne) == pytest.approx(3.0)


def test_a_missing_role_drops_out_and_the_others_are_renormalised(db, org):
    anne = org.sellers["A1"]
    rate(db, anne, "objection_handling", "self", 5)
    rate(db, anne, "objection_handling", "manager", 3)
    compute(db)
    # No customer ratings: (0.2 * 5 + 0.4 * 3) / 0.6.
    assert kpi_value(db, "objection_handling", seller=anne) == pytest.approx(2.2 / 0.6)


def test_customers_count_for_a_seller_from_three_answers_and_pooled_for_the_unit(db, org):
    anne, arne = org.sellers["A1"], org.sellers["A2"]
    rate(db, anne, "objection_handling", "self", 5)
    rate(db, anne, "objection_handling", "manager", 3)
    rate(db, anne, "objection_handling", "customer", 1, 1)
    rate(db, arne, "objection_handling", "manager", 3)
    rate(db, arne, "objection_handling", "customer", 1)
    compute(db)
    # Two customer answers about Anne and one about Arne: neither seller's counts ...
    assert kpi_value(db, "objection_handling", seller=anne) == pytest.approx(2.2 / 0.6)
    assert kpi_value(db, "objection_handling", seller=arne) == pytest.approx(3.0)
    # ... but the team's three pooled answers do: 0.2 * 5 + 0.4 * 3 + 0.4 * 1.
    team = org.units["T1"]
    assert kpi_value(db, "objection_handling", unit=team) == pytest.approx(2.6)
    rate(db, anne, "objection_handling", "customer", 4)
    compute(db)
    # The third answer about Anne: her customers' mean (1 + 1 + 4) / 3 now counts.
    assert kpi_value(db, "objection_handling", seller=anne) == pytest.approx(
        0.2 * 5 + 0.4 * 3 + 0.4 * 2
    )


def test_peers_count_from_three_answers_too(db, org):
    anne = org.sellers["A1"]
    rate(db, anne, "collaboration", "manager", 4)
    rate(db, anne, "collaboration", "peer", 1, 1)
    compute(db)
    assert kpi_value(db, "collaboration", seller=anne) == pytest.approx(4.0)
    rate(db, anne, "collaboration", "peer", 1)
    compute(db)
    # peer 50, manager 30: (0.5 * 1 + 0.3 * 4) / 0.8.
    assert kpi_value(db, "collaboration", seller=anne) == pytest.approx(1.7 / 0.8)


def test_hidden_round_ratings_count_for_nothing_until_revealed(db, org):
    anne = org.sellers["A1"]
    rate(db, anne, "objection_handling", "self", 5)
    rate(db, anne, "objection_handling", "manager", 1, hidden=True)
    compute(db)
    assert kpi_value(db, "objection_handling", seller=anne) == pytest.approx(5.0)
    assert kpi_value(db, "objection_handling", unit=org.units["T1"]) == pytest.approx(5.0)


def test_a_kpi_without_weights_weighs_every_role_the_same(db, org):
    catalogue.create_kpi(
        db,
        actor=SYSTEM,
        kpi_in=KpiCreate(
            code="listening", name="Listening", level="activity", source="rating", unit="score"
        ),
    )
    anne = org.sellers["A1"]
    rate(db, anne, "listening", "self", 5)
    rate(db, anne, "listening", "manager", 3)
    rate(db, anne, "listening", "customer", 2, 2, 2)
    compute(db)
    assert kpi_value(db, "listening", seller=anne) == pytest.approx((5 + 3 + 2) / 3)


def test_new_weights_from_a_later_period_change_only_that_period(db, org):
    anne = org.sellers["A1"]
    for label in ("2026-Q1", "2026-Q2"):
        rate(db, anne, "objection_handling", "self", 5, period=label)
        rate(db, anne, "objection_handling", "manager", 2, period=label)
        compute(db, label)
    before = kpi_value(db, "objection_handling", seller=anne, period="2026-Q1")
    assert before == pytest.approx((0.2 * 5 + 0.4 * 2) / 0.6)
    catalogue.update_kpi(
        db,
        actor=SYSTEM,
        kpi=catalogue.get_kpi(db, "objection_handling"),
        kpi_in=KpiUpdate(
            definition=KpiDefinition(
                decision_threshold=3.0, rater_weights={"manager": 80, "self": 20}
            ),
            effective_from="2026-Q2",
        ),
    )
    # Saving the version recomputed Q2 with the new weights; Q1 keeps the old ones.
    assert kpi_value(db, "objection_handling", seller=anne, period="2026-Q2") == pytest.approx(
        0.8 * 2 + 0.2 * 5
    )
    assert kpi_value(db, "objection_handling", seller=anne, period="2026-Q1") == before
    compute(db, "2026-Q1")
    assert kpi_value(db, "objection_handling", seller=anne, period="2026-Q1") == before
