"""Gap analysis and training plan: shared gaps become group trainings, the rest
individual items; the coaching agenda proposes them, a manager pushes them; who sees what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.analytics.conftest import demo_login
from tests.analytics.test_behaviours import ANALYSES, demo_year, synthetic
from touchline.analytics.behaviours import SUCCESS, behaviour_payload
from touchline.analytics.registry import run_analytics, stored_payload
from touchline.analytics.training import (
    INDIVIDUAL,
    MIN_GAP_SHARE,
    NEEDS_PER_SELLER,
    gaps_of,
    items_of,
    plan,
    training_payload,
)
from touchline.auth.models import User
from touchline.auth.policy import actor_for
from touchline.coaching.agenda import describe
from touchline.coaching.cadence import planned
from touchline.coaching.conversations import open_conversation
from touchline.coaching.models import AgendaItem, SellerTopic
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period


@pytest.fixture
def year(demo_db) -> Period:
    period = demo_year(demo_db)
    run_analytics(demo_db, period, only=ANALYSES)
    demo_db.flush()
    return period


def test_a_gap_shared_by_three_sellers_of_a_unit_is_a_group_training():
    needs = [
        (1, 11, "meeting_quality"),
        (1, 12, "meeting_quality"),
        (1, 13, "meeting_quality"),
        (1, 11, "objection_handling"),
        (2, 21, "meeting_quality"),
        (2, 22, "meeting_quality"),
    ]
    plans = {
        p.unit_id: p
        for p in plan(needs, group_min=3, order=["meeting_quality", "objection_handling"])
    }
    assert plans[1].groups == {"meeting_quality": [11, 12, 13]}
    assert plans[1].individual == [(11, "objection_handling")]
    # Two sellers of another unit with the same gap: coached one by one.
    assert plans[2].groups == {}
    assert plans[2].individual == [(21, "meeting_quality"), (22, "meeting_quality")]
    assert plan(needs, group_min=2, order=["meeting_quality", "objection_handling"])[1].groups


def test_the_gap_is_in_the_measures_unit_and_as_a_share_of_the_target():
    import numpy as np

    gap, share = gaps_of(np.array([0.3, 0.6, 0.7]), 0.6, "higher")
    assert gap.tolist() == pytest.approx([0.3, 0.0, -0.1])
    assert share.tolist() == pytest.approx([0.5, 0.0, -1 / 6])
    # Lower is better (hours to the first touch): above the target is the gap.
    gap, share = gaps_of(np.array([36.0, 20.0]), 24.0, "lower")
    assert gap.tolist() == pytest.approx([12.0, -4.0])
    assert share.tolist() == pytest.approx([0.5, -1 / 6])


def test_the_demo_plan_groups_shared_needs_and_leaves_the_rest_individual(demo_db, year):
    payload = stored_payload(demo_db, year, "training")
    behaviours = stored_payload(demo_db, year, "behaviours")
    successes = {row["code"] for row in behaviours["measures"] if row["status"] == SUCCESS}
    assert {b["code"] for b in payload["behaviours"]} == successes
    assert {"meeting_quality", "meetings_new_customers"} <= successes
    targets = {b["code"]: b["target"] for b in payload["behaviours"]}
    groups = individual = 0
    for unit in payload["units"].values():
        for group in unit["groups"]:
            assert len(group["sellers"]) >= payload["group_min"] == 3
            groups += 1
        counts: dict[str, int] = {}
        for item in unit["individual"]:
            counts[item["measure"]] = counts.get(item["measure"], 0) + 1
            individual += 1
        assert all(count < payload["group_min"] for count in counts.values())
        assert not set(counts) & {g["measure"] for g in unit["groups"]}
    assert groups > 0
    assert individual > 0
    for seller_id, seller in payload["sellers"].items():
        needs = [
            code
            for code, gap in seller["gaps"].items()
            if gap["share"] is not None and gap["share"] >= MIN_GAP_SHARE
        ]
        # Each seller works on their largest needs, at most three at once.
        assert len(items_of(payload, int(seller_id))) == min(len(needs), NEEDS_PER_SELLER)
        quality = seller["gaps"]["meeting_quality"]
        assert quality["gap"] == pytest.approx(targets["meeting_quality"] - quality["value"])


def test_a_tiny_unit_and_a_company_without_findings_give_a_plan_without_crashing():
    dataset, ratios = synthetic(5, sellers=10, units=3)
    behaviours = behaviour_payload(dataset, ratios, share=0.25)
    payload = training_payload(dataset, behaviours, group_min=3)
    assert payload["too_small"] is True
    assert payload["behaviours"] == []
    assert payload["units"] == {}
    # A strong behaviour in a company of 120, one unit with a single seller.
    import numpy as np

    dataset, ratios = synthetic(6, sellers=120, units=6)
    lonely = dataset.sellers[0]
    dataset.sellers[0] = type(lonely)(**{**lonely.__dict__, "unit_id": 99})
    order = np.array([ratios[s.id] for s in dataset.sellers])
    dataset.values["meeting_quality"][:, :] = (np.log(order) / 4 + 0.5)[:, None]
    dataset.values["meeting_quality"][0, :] = 0.05
    behaviours = behaviour_payload(dataset, ratios, share=0.25)
    payload = training_payload(dataset, behaviours, group_min=3)
    assert [b["code"] for b in payload["behaviours"]] == ["meeting_quality"]
    assert payload["units"]["99"]["groups"] == []
    assert payload["units"]["99"]["individual"] == [
        {"seller": lonely.id, "measure": "meeting_quality"}
    ]


def _manager(demo_db):
    user = demo_db.scalars(select(User).where(User.email == demo_login(demo_db, "manager"))).one()
    return user, actor_for(demo_db, user)


def _seller_with_individual_item(demo_db, payload, actor, *, without_planned: bool):
    candidates = [
        (int(sid), s)
        for sid, s in payload["sellers"].items()
        if any(i["plan"] == INDIVIDUAL for i in items_of(payload, int(sid)))
    ]
    waiting = planned(demo_db, [sid for sid, _s in candidates])
    for seller_id, _facts in candidates:
        seller = demo_db.get(Seller, seller_id)
        if not actor.can_manage_seller(seller):
            continue
        if without_planned and seller_id in waiting:
            continue
        return seller
    pytest.fail("no seller with an individual training item in the manager's units")


def test_opening_a_conversation_proposes_the_sellers_training_items(demo_db, year):
    _user, actor = _manager(demo_db)
    payload = stored_payload(demo_db, year, "training")
    seller = _seller_with_individual_item(demo_db, payload, actor, without_planned=True)
    expected = items_of(payload, seller.id)
    conversation = open_conversation(demo_db, actor=actor, seller=seller)
    items = demo_db.scalars(
        select(AgendaItem).where(
            AgendaItem.conversation_id == conversation.id, AgendaItem.source == "training"
        )
    ).all()
    assert items
    assert len(items) <= 3
    individual = next(i for i in expected if i["plan"] == INDIVIDUAL)
    assert individual["code"] in {item.facts["code"] for item in items}
    titles = [describe(item, None).title for item in items]
    assert any(title.startswith("Training: bring") for title in titles)
    assert all(year.label in title for title in titles)


def test_a_manager_pushes_an_item_to_coaching_once(demo_db, demo_as, year):
    user, actor = _manager(demo_db)
    payload = stored_payload(demo_db, year, "training")
    seller = _seller_with_individual_item(demo_db, payload, actor, without_planned=True)
    item = next(i for i in items_of(payload, seller.id) if i["plan"] == INDIVIDUAL)
    manager = demo_as(user.email)
    form = {"period": year.label, "seller": seller.external_id, "measure": item["code"]}
    first = manager.post("/analytics/training/pushes", data=form)
    assert first.status_code == 200
    assert "next coaching conversation" in first.text
    topics = demo_db.scalars(
        select(SellerTopic).where(
            SellerTopic.seller_id == seller.id, SellerTopic.conversation_id.is_(None)
        )
    ).all()
    pushed = [t for t in topics if t.text.startswith("Training: bring")]
    assert len(pushed) == 1
    again = manager.post("/analytics/training/pushes", data=form)
    assert again.status_code == 409
    assert "next agenda already" in again.text
    # The conversation takes the topic up, and the agenda does not propose it twice.
    conversation = open_conversation(demo_db, actor=actor, seller=seller)
    agenda = demo_db.scalars(
        select(AgendaItem).where(AgendaItem.conversation_id == conversation.id)
    ).all()
    assert [a.title for a in agenda if a.source == "seller_topic"].count(pushed[0].text) == 1
    assert item["code"] not in {a.facts.get("code") for a in agenda if a.source == "training"}


def test_with_a_conversation_being_prepared_a_push_goes_onto_its_agenda(demo_db, demo_as, year):
    from touchline.coaching.items import drop_item

    user, actor = _manager(demo_db)
    payload = stored_payload(demo_db, year, "training")
    seller = _seller_with_individual_item(demo_db, payload, actor, without_planned=True)
    conversation = open_conversation(demo_db, actor=actor, seller=seller)
    proposed = demo_db.scalars(
        select(AgendaItem).where(
            AgendaItem.conversation_id == conversation.id, AgendaItem.source == "training"
        )
    ).all()
    item = next(a for a in proposed if a.facts["plan"] == INDIVIDUAL)
    body = {"period": year.label, "seller": seller.external_id, "measure": item.facts["code"]}
    manager = demo_as(user.email)
    assert manager.post("/api/v1/analytics/training/pushes", json=body).status_code == 409
    drop_item(demo_db, actor=actor, conversation=conversation, item=item)
    demo_db.flush()
    pushed = manager.post("/api/v1/analytics/training/pushes", json=body)
    assert pushed.status_code == 201
    assert pushed.json()["conversation_id"] == conversation.id
    assert "being prepared" in pushed.json()["message"]
    titles = demo_db.scalars(
        select(AgendaItem.title).where(
            AgendaItem.conversation_id == conversation.id, AgendaItem.source == "added"
        )
    ).all()
    assert pushed.json()["text"] in titles


def test_pushing_refuses_what_is_not_an_individual_item(demo_db, demo_as, year):
    user, actor = _manager(demo_db)
    manager = demo_as(user.email)
    payload = stored_payload(demo_db, year, "training")
    seller = _seller_with_individual_item(demo_db, payload, actor, without_planned=False)
    refused = manager.post(
        "/api/v1/analytics/training/pushes",
        json={"period": year.label, "seller": seller.external_id, "measure": "calls"},
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["field"] == "measure"
    stranger = next(s for s in demo_db.scalars(select(Seller)) if not actor.can_see_seller(s))
    hidden = manager.post(
        "/api/v1/analytics/training/pushes",
        json={"period": year.label, "seller": stranger.external_id, "measure": "meeting_quality"},
    )
    assert hidden.status_code == 404
    assert hidden.json()["error"]["field"] == "seller"


def test_a_manager_sees_only_their_units_and_a_seller_nothing(demo_db, demo_as, year):
    user, actor = _manager(demo_db)
    manager = demo_as(user.email)
    body = manager.get("/api/v1/analytics/training", params={"period": year.label}).json()
    managed = {
        unit.external_id for unit in demo_db.scalars(select(Unit)) if actor.can_manage_unit(unit.id)
    }
    shown = {unit["unit"] for unit in body["units"]}
    assert shown
    assert shown <= managed
    visible = {s.external_id for s in demo_db.scalars(select(Seller)) if actor.can_see_seller(s)}
    for unit in body["units"]:
        for need in unit["individual"] + [p for g in unit["groups"] for p in g["participants"]]:
            assert need["seller"] in visible
    leader = demo_as(demo_login(demo_db, "leader"))
    everyone = leader.get("/api/v1/analytics/training", params={"period": year.label}).json()
    assert len(everyone["units"]) > len(body["units"])
    page = manager.get("/analytics/training", params={"period": year.label})
    assert page.status_code == 200
    assert "Push to coaching" in page.text
    hidden = [u["name"] for u in everyone["units"] if u["unit"] not in managed]
    assert hidden
    assert all(f"<h2>{name}</h2>" not in page.text for name in hidden)
    csv = manager.get("/analytics/training", params={"period": year.label, "format": "csv"})
    assert csv.text.splitlines()[0] == (
        "seller_id,seller,unit,behaviour,value,target,gap,gap_share,gap_in_sd,plan"
    )
    assert {line.split(",")[0] for line in csv.text.splitlines()[1:]} <= visible
    xlsx = manager.get("/analytics/training", params={"period": year.label, "format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    seller = demo_as(demo_login(demo_db, "seller"))
    assert seller.get("/analytics/training").status_code == 403
    assert seller.get("/api/v1/analytics/training").status_code == 403


def test_the_dashboards_show_the_team_plan_and_the_success_behaviours(demo_db, demo_as, year):
    manager = demo_as(demo_login(demo_db, "manager"))
    page = manager.get("/")
    assert page.status_code == 200
    assert "The team&#39;s training plan" in page.text or "The team's training plan" in page.text
    leader = demo_as(demo_login(demo_db, "leader"))
    page = leader.get("/")
    assert "What top sellers do differently" in page.text
    assert "Training plan across units" in page.text
    assert "Meeting quality" in page.text


def test_a_sellers_page_shows_their_training_needs_to_them_and_their_manager(
    demo_db, demo_as, year
):
    user, actor = _manager(demo_db)
    payload = stored_payload(demo_db, year, "training")
    seller = _seller_with_individual_item(demo_db, payload, actor, without_planned=False)
    first = items_of(payload, seller.id)[0]
    page = demo_as(user.email).get(f"/sellers/{seller.external_id}")
    assert page.status_code == 200
    assert 'id="training-needs"' in page.text
    assert "/analytics/training?period=" + year.label in page.text
    assert first["unit_name"] in page.text
    own = demo_db.scalars(select(User).where(User.seller_id == seller.id)).one()
    mine = demo_as(own.email).get(f"/sellers/{seller.external_id}")
    assert mine.status_code == 200
    assert 'id="training-needs"' in mine.text
    assert "/analytics/training?period=" not in mine.text
