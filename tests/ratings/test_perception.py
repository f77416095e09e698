"""Perception gaps and calibration: the seller's view against the others', the seller's
predicted customer score against the real one, and the raters' leniency and agreement.

Peer and customer results about a seller show only from three answers; below that the
page says how many more are needed.
"""

from __future__ import annotations

from html import unescape

import numpy as np
import pytest
from sqlalchemy import select

from tests.ratings.conftest import (
    PERIOD,
    actor,
    add_accounts,
    demo_last_day,
    demo_marker,
    kpi_value,
    rate,
    token_of,
)
from touchline.auth.models import User
from touchline.kpis.service import current_quarter
from touchline.org.models import Seller
from touchline.org.periods import PeriodKind, period_containing
from touchline.ratings import answers, campaigns, parts
from touchline.ratings.perception import icc1


def gaps_of(client, seller: str, period: str | None = None) -> dict[str, dict]:
    answer = client.get(
        f"/api/v1/sellers/{seller}/perception", params={"period": period} if period else {}
    )
    assert answer.status_code == 200, answer.text
    return {gap["kpi"]: gap for gap in answer.json()["gaps"]}


def perception_section(client, seller: str) -> str:
    page = client.get(f"/sellers/{seller}")
    assert page.status_code == 200
    return unescape(page.text).split('id="perception"', 1)[1].split("</section>", 1)[0]


# The anonymity threshold ------------------------------------------------------------------


@pytest.fixture
def customer_links(db, org) -> list[tuple[str, int]]:
    """Four Acme contacts invited to rate Anne's first impression this quarter: each
    link's token and invitation."""
    add_accounts(db, org)
    campaign = campaigns.create_campaign(
        db,
        actor=actor(db, org, "manager"),
        name="Customer voice",
        kind="customer",
        period=current_quarter().label,
        unit=org.units["T1"],
        kpi_codes=["first_impression"],
    )
    added = campaigns.add_contacts(
        db,
        actor=actor(db, org, "manager"),
        campaign=campaign,
        contacts=[
            campaigns.Contact(line, "A1", f"Buyer {line}", f"buyer{line}@acme.no", "ACME", "nb")
            for line in range(2, 6)
        ],
    )
    rate(db, org.sellers["A1"], "first_impression", "self", 4, period=current_quarter().label)
    db.commit()
    return [(token_of(link.url), link.invitation.id) for link in added.links]


def test_customer_results_show_only_from_three_answers(client_as, db, org, customer_links):
    anne = client_as(org.users["seller"])
    mette = client_as(org.users["manager"])
    expected_needed = {1: "2 more answers needed", 2: "1 more answer needed"}
    scores = [2, 3, 4]
    for answered, ((token, _invitation), score) in enumerate(
        zip(customer_links, scores, strict=False), start=1
    ):
        answers.answer_survey(db, token=token, score=7, ratings={"first_impression": score})
        db.commit()
        for viewer in (anne, mette):
            gap = gaps_of(viewer, "A1")["first_impression"]
            assert gap["customer_answers"] == answered
            assert gap["self"] == 4
            section = perception_section(viewer, "A1")
            if answered < 3:
                assert gap["customer"] is None
                assert expected_needed[answered] in section
            else:
                assert gap["customer"] == pytest.approx(3.0)
                assert "more answer" not in section
                assert "<td>3.0</td>" in section
        # The overall scores (all 7) make customer satisfaction from three answers too.
        satisfaction = kpi_value(
            db, "customer_satisfaction", seller=org.sellers["A1"], period=current_quarter().label
        )
        assert satisfaction == (None if answered < 3 else 7.0)


def test_peer_results_show_only_from_three_answers_too(client_as, db, org):
    anne = org.sellers["A1"]
    rate(db, anne, "collaboration", "peer", 5, 5, period=PERIOD)
    db.commit()
    mette = client_as(org.users["manager"])
    gap = gaps_of(mette, "A1", PERIOD)["collaboration"]
    assert (gap["peer"], gap["peer_answers"]) == (None, 2)
    rate(db, anne, "collaboration", "peer", 2, period=PERIOD)
    db.commit()
    gap = gaps_of(mette, "A1", PERIOD)["collaboration"]
    assert (gap["peer"], gap["peer_answers"]) == (pytest.approx(4.0), 3)


def test_the_real_customer_score_shows_next_to_the_prediction_from_three_answers(
    client_as, db, org, customer_links
):
    anne = client_as(org.users["seller"])
    for (token, invitation), score in zip(customer_links, [5, 6, 4], strict=False):
        predicted = anne.put(
            f"/api/v1/survey-invitations/{invitation}/prediction", json={"predicted": 9}
        )
        assert predicted.status_code == 200
        answers.answer_survey(db, token=token, score=score, ratings={"first_impression": 3})
        db.commit()
        found = anne.get("/api/v1/sellers/A1/perception").json()
        assert found["predicted_customer_score"] == 9
        if found["paired_answers"] < 3:
            assert found["actual_customer_score"] is None
            assert (
                "more answer" in perception_section(anne, "A1").split("Predicted customer score")[1]
            )
    assert found["actual_customer_score"] == pytest.approx(5.0)
    section = perception_section(anne, "A1")
    assert "Predicted customer score this fiscal year: <strong>9.0</strong>" in section
    assert "What customers gave: <strong>5.0</strong>" in section
    assert "(+4.0)" in section


def test_nobody_outside_the_line_sees_a_sellers_perception(client_as, org):
    assert client_as(org.users["manager2"]).get("/api/v1/sellers/A1/perception").status_code == 404
    assert client_as(org.users["seller"]).get("/api/v1/sellers/A2/perception").status_code == 404
    assert client_as(org.users["head"]).get("/api/v1/sellers/A1/perception").status_code == 200


# Calibration ----------------------------------------------------------------------------------


def test_icc1_is_one_when_raters_agree_within_every_seller():
    groups = [np.array([score] * 3) for score in (1.0, 2.0, 4.0, 5.0)]
    assert icc1(groups) == pytest.approx(1.0)


def test_icc1_is_near_zero_for_pure_noise():
    rng = np.random.default_rng(11)
    groups = [rng.normal(3, 1, size=5) for _seller in range(400)]
    assert abs(icc1(groups)) < 0.05


def test_icc1_recovers_a_known_share_of_variance_between_sellers():
    # Between-seller variance 1, within-seller variance 1: ICC(1) = 1 / (1 + 1).
    rng = np.random.default_rng(12)
    sizes = rng.integers(2, 7, size=600)  # unequal numbers of raters per seller
    groups = [rng.normal(0, 1) + rng.normal(0, 1, size=size) for size in sizes]
    assert icc1(groups) == pytest.approx(0.5, abs=0.06)


def test_icc1_needs_two_sellers_with_two_ratings():
    assert icc1([np.array([3.0, 4.0])]) is None
    assert icc1([np.array([3.0]), np.array([4.0]), np.array([2.0, 5.0])]) is None


def test_calibration_lists_raters_by_leniency_and_an_icc_per_kpi(client_as, db, org):
    sellers = org.sellers
    # Mette rates her team generously, Mads his strictly; the sellers rate themselves.
    for key, score in (("A1", 5), ("A2", 4)):
        rate(db, sellers[key], "objection_handling", "manager", score, rater="M1")
        rate(db, sellers[key], "objection_handling", "customer", score - 1, score - 1, rater=None)
    rate(db, sellers["B1"], "objection_handling", "manager", 1, rater="M2")
    rate(db, sellers["B1"], "objection_handling", "customer", 2, 2)
    rate(db, sellers["A1"], "objection_handling", "self", 3, rater="A1")
    db.commit()
    leader = client_as(org.users["leader"])
    found = leader.get("/api/v1/ratings/calibration", params={"period": PERIOD}).json()
    company_mean = np.mean([5, 4, 4, 4, 3, 3, 1, 2, 2, 3])
    by_rater = {(item["rater"], item["role"]): item for item in found["raters"]}
    assert set(by_rater) == {("M1", "manager"), ("M2", "manager"), ("A1", "self")}
    assert by_rater[("M1", "manager")]["name"] == "Mette Manager"
    assert by_rater[("M1", "manager")]["mean"] == pytest.approx(4.5)
    assert by_rater[("M1", "manager")]["difference"] == pytest.approx(4.5 - company_mean)
    assert by_rater[("M2", "manager")]["difference"] == pytest.approx(1 - company_mean)
    differences = [abs(item["difference"]) for item in found["raters"]]
    assert differences == sorted(differences, reverse=True)
    (agreement,) = found["agreement"]
    assert agreement["kpi"] == "objection_handling"
    # Manager and customers per seller (self-ratings left out): A1 5,4,4; A2 4,3,3; B1 1,2,2.
    expected = icc1([np.array([5.0, 4, 4]), np.array([4.0, 3, 3]), np.array([1.0, 2, 2])])
    assert agreement["icc"] == pytest.approx(expected)
    assert (agreement["sellers"], agreement["ratings"]) == (3, 9)
    page = leader.get("/ratings/calibration", params={"period": PERIOD}).text
    assert "Mette Manager" in page
    assert agreement["reading"] in page
    # A manager calibrates on the sellers they manage only.
    mine = (
        client_as(org.users["manager"])
        .get("/api/v1/ratings/calibration", params={"period": PERIOD})
        .json()
    )
    assert {item["rater"] for item in mine["raters"]} == {"M1", "A1"}
    assert client_as(org.users["seller"]).get("/api/v1/ratings/calibration").status_code == 403


# The demo's over-confident seller ------------------------------------------------------------


@pytest.fixture
def demo_quarter(demo_db, monkeypatch):
    """The demo's running quarter on its last day; its seller page shows the one before
    when this one has no ratings yet."""
    quarter = period_containing(demo_last_day(demo_db), PeriodKind.QUARTER, fiscal_start_month=1)
    monkeypatch.setattr(parts, "current_quarter", lambda: quarter)
    return quarter


def test_the_demos_over_confident_seller_rates_themself_far_above_everyone_else(
    demo_db, demo_as, demo_quarter
):
    marked = demo_marker(demo_db)["over_confident_seller"]
    seller = demo_db.scalars(select(Seller).where(Seller.external_id == marked)).one()
    leader = demo_as(demo_db.scalars(select(User).where(User.role == "leader")).first().email)
    period = demo_quarter.previous().label
    found = leader.get(f"/api/v1/sellers/{marked}/perception", params={"period": period}).json()
    assert len(found["gaps"]) >= 5
    for gap in found["gaps"]:
        assert gap["self"] - gap["manager"] >= 1.5, gap
        if gap["customer"] is not None:
            assert gap["self"] - gap["customer"] >= 1.5, gap
    assert found["self_above_others"] >= 1.5
    assert found["predicted_customer_score"] - found["actual_customer_score"] >= 2
    # The planted seller stands out in the team: nobody else comes near.
    team = demo_db.scalars(
        select(Seller.external_id).where(Seller.unit_id == seller.unit_id, Seller.id != seller.id)
    ).all()
    others = [
        leader.get(f"/api/v1/sellers/{other}/perception", params={"period": period}).json()[
            "self_above_others"
        ]
        for other in team
    ]
    assert max(value for value in others if value is not None) < 1
    section = perception_section(leader, marked)
    assert "Rates themself clearly above what the others see" in section
    assert 'class="gap-notable"' in section
    assert "Predicted customer score this fiscal year" in section
