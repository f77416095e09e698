"""The agenda a new conversation proposes, drawn from the demo company's facts."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import delete, func, select

from touchline.auth.models import User
from touchline.auth.policy import actor_for
from touchline.coaching import agenda
from touchline.coaching.conversations import open_conversation
from touchline.coaching.models import AgendaItem, Conversation, ConversationStatus, SellerTopic
from touchline.coaching.record import conversation_record
from touchline.crm.models import Activity
from touchline.demo.flows import DEMO_MARKER
from touchline.instance import get_value
from touchline.org.models import Seller


def marked(db, key: str) -> Seller:
    external_id = json.loads(get_value(db, DEMO_MARKER) or "{}")[key]
    return db.scalar(select(Seller).where(Seller.external_id == external_id))


def open_as_their_manager(db, seller: Seller):
    """Open a new conversation with ``seller`` as their manager, on the demo's last day."""
    db.execute(
        delete(Conversation).where(
            Conversation.seller_id == seller.id, Conversation.status == ConversationStatus.PLANNED
        )
    )
    coach = db.scalar(select(User).where(User.seller_id == seller.manager_id))
    last_day: date = db.scalar(select(func.max(Activity.occurred_on)))
    opened = open_conversation(db, actor=actor_for(db, coach), seller=seller, on=last_day)
    return conversation_record(db, actor=actor_for(db, coach), conversation=opened)


def test_the_improving_seller_is_recognised_for_progress_against_their_own_quarters(demo_db):
    record = open_as_their_manager(demo_db, marked(demo_db, "improving_seller"))

    recognitions = [view for view in record.items if view.item.source == "recognition"]

    assert recognitions, [view.described.title for view in record.items]
    assert {view.kpi.code for view in recognitions} >= {"meeting_quality"}
    first = recognitions[0]
    assert first.described.title.startswith("Progress worth recognising")
    assert first.item.facts["last"] > first.item.facts["first"]
    assert record.items[0].item.source == "recognition", "recognition comes first"


def test_most_sellers_are_not_recognised_for_noise(demo_db):
    from touchline.coaching.progress import trends
    from touchline.kpis.models import Kpi

    sellers = demo_db.scalars(select(Seller.id).where(Seller.territory_id.is_not(None))).all()
    kpis = demo_db.scalars(
        select(Kpi).where(Kpi.code.in_(["revenue_won", "meeting_quality", "objection_handling"]))
    ).all()
    last_day = demo_db.scalar(select(func.max(Activity.occurred_on)))
    recognised = {
        t.seller_id
        for t in trends(demo_db, seller_ids=sellers, kpis=kpis, today=last_day)
        if t.better
    }
    assert marked(demo_db, "improving_seller").id in recognised
    assert len(recognised) <= len(sellers) // 8


def test_an_off_track_kpi_comes_with_its_decision_rule(demo_db):
    record = open_as_their_manager(demo_db, marked(demo_db, "improving_seller"))
    off_track = [view for view in record.items if view.item.source == "off_track_kpi"]
    # The improving seller is above the median now; take a seller who is struggling.
    if not off_track:
        weakest = demo_db.scalar(
            select(Seller).where(Seller.territory_id.is_not(None)).order_by(Seller.external_id)
        )
        record = open_as_their_manager(demo_db, weakest)
        off_track = [view for view in record.items if view.item.source == "off_track_kpi"]

    assert off_track
    view = off_track[0]
    assert "is off track" in view.described.title
    assert view.item.facts["light"] in ("amber", "red")
    assert view.item.facts["rule"]
    assert view.described.detail == f"Decision rule: {view.item.facts['rule']}"


def test_the_over_confident_seller_gets_the_gap_between_self_and_manager(demo_db):
    record = open_as_their_manager(demo_db, marked(demo_db, "over_confident_seller"))
    gaps = [view for view in record.items if view.item.source == "rating_gap"]
    assert gaps
    facts = gaps[0].item.facts
    assert facts["self"] - facts["manager"] >= 1.5
    assert "self-rating" in gaps[0].described.title


def test_the_sellers_own_topics_and_open_action_items_are_on_the_agenda(demo_db):
    seller = marked(demo_db, "improving_seller")
    demo_db.add(SellerTopic(seller_id=seller.id, text="Help with a tender", added_by_side="seller"))
    demo_db.flush()
    record = open_as_their_manager(demo_db, seller)
    sources = [view.item.source for view in record.items]
    assert "seller_topic" in sources
    topic = next(view for view in record.items if view.item.source == "seller_topic")
    assert topic.described.title == "Help with a tender"
    assert topic.item.added_by_side == "seller"
    pending = demo_db.scalars(
        select(SellerTopic).where(
            SellerTopic.seller_id == seller.id, SellerTopic.conversation_id.is_(None)
        )
    ).all()
    assert pending == [], "the topic was taken up"


def test_the_agenda_reads_in_the_readers_language(demo_db):
    from touchline import i18n

    record = open_as_their_manager(demo_db, marked(demo_db, "over_confident_seller"))
    view = next(view for view in record.items if view.item.source == "rating_gap")
    with i18n.language("it"):
        title = agenda.describe(view.item, view.kpi).title
    assert "autovalutazione" in title


def test_another_domain_adds_a_source_without_touching_the_agenda_code(demo_db):
    def propose(context: agenda.AgendaContext) -> list[agenda.Proposal]:
        return [agenda.Proposal("early_warning", {"kpi": "revenue_won", "pace": 0.6})]

    def describe(item: AgendaItem, kpi) -> agenda.Described:
        return agenda.Described(f"Early warning: pace {item.facts['pace']:.0%}")

    before = list(agenda.AGENDA_SOURCES)
    agenda.register_source(agenda.AgendaSource("early_warning", 25, propose, describe))
    try:
        record = open_as_their_manager(demo_db, marked(demo_db, "improving_seller"))
    finally:
        agenda.AGENDA_SOURCES[:] = before
    titles = [view.described.title for view in record.items]
    assert "Early warning: pace 60%" in titles


@pytest.mark.parametrize("key", ["improving_seller", "over_confident_seller"])
def test_a_new_agenda_is_useful_without_typing(demo_db, key):
    record = open_as_their_manager(demo_db, marked(demo_db, key))
    assert len(record.items) >= 2
    assert all(view.described.title for view in record.items)
