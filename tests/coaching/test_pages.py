"""The coaching pages as people use them: forms that post and come back, a stale save
that shows both texts, the lock, and errors that name the field and store nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_org
from touchline.coaching.models import ActionItem, Conversation


@pytest.fixture
def two(app, db, client):
    """The coach (Mette) in ``client`` and the seller (Anne) in a browser of her own."""
    org = make_org(db)
    coach_token = sign_in(client, "manager@example.com", PASSWORD)
    with TestClient(app, follow_redirects=False) as other:
        seller_token = sign_in(other, "seller@example.com", PASSWORD)
        yield org, (client, coach_token), (other, seller_token)


def open_conversation(client, token) -> str:
    answer = client.post("/sellers/A1/conversations", data={"csrf_token": token})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def field_version(html: str, field: str) -> str:
    form = re.search(
        rf'name="field" value="{field}">\s*<input type="hidden" name="version" value="(\d+)"', html
    )
    assert form, f"no form for {field}"
    return form.group(1)


def test_the_due_list_offers_to_open_a_conversation_and_downloads(two):
    _org, (coach, _token), _seller = two
    page = coach.get("/coaching")
    assert page.status_code == 200
    assert "Anne Andersen" in page.text
    assert "Open a conversation" in page.text
    csv = coach.get("/coaching?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("seller_id,seller,state,due_on")
    assert coach.get("/coaching?format=xlsx").content.startswith(b"PK")


def test_a_stale_save_on_the_page_shows_both_texts_and_keeps_the_saved_one(two):
    _org, (coach, coach_token), (seller, seller_token) = two
    location = open_conversation(coach, coach_token)
    coach_page = coach.get(location).text
    seller_page = seller.get(location).text
    version = field_version(coach_page, "summary")
    assert field_version(seller_page, "summary") == version

    saved = seller.post(
        f"{location}/fields",
        data={
            "csrf_token": seller_token,
            "field": "summary",
            "version": version,
            "text": "Anne's words",
        },
    )
    assert saved.status_code == 303
    stale = coach.post(
        f"{location}/fields",
        data={
            "csrf_token": coach_token,
            "field": "summary",
            "version": version,
            "text": "Mette's words",
        },
    )

    assert stale.status_code == 409
    assert "Someone saved this in the meantime" in stale.text
    assert re.search(r'<pre class="theirs">Anne&#39;s words</pre>', stale.text)
    assert re.search(r'<pre class="yours">Mette&#39;s words</pre>', stale.text)
    assert "Mette&#39;s words</textarea>" in stale.text
    assert (
        "Anne's words"
        in coach.get(f"/api/v1/conversations/{location.rsplit('/', 1)[1]}").json()["summary"]
    )


def test_holding_and_signing_on_the_pages_locks_the_conversation(two):
    _org, (coach, coach_token), (seller, seller_token) = two
    location = open_conversation(coach, coach_token)
    assert coach.post(f"{location}/held", data={"csrf_token": coach_token}).status_code == 303
    version = re.search(
        r'name="version" value="(\d+)"><button type="submit" id="sign"', coach.get(location).text
    ).group(1)
    for client, token in ((coach, coach_token), (seller, seller_token)):
        assert (
            client.post(
                f"{location}/sign", data={"csrf_token": token, "version": version}
            ).status_code
            == 303
        )
    page = seller.get(location).text
    assert "Signed off by both and locked" in page
    assert 'action="' + location + '/fields"' not in page
    refused = seller.post(
        f"{location}/fields",
        data={"csrf_token": seller_token, "field": "summary", "version": version, "text": "late"},
    )
    assert refused.status_code == 403
    assert "Add an addendum instead" in refused.text
    added = seller.post(
        f"{location}/addenda", data={"csrf_token": seller_token, "text": "One more thing"}
    )
    assert added.status_code == 303
    assert "One more thing" in coach.get(location).text


def test_a_bad_action_item_on_the_page_names_the_problem_and_stores_nothing(db, two):
    _org, (coach, coach_token), _seller = two
    location = open_conversation(coach, coach_token)
    refused = coach.post(
        f"{location}/actions",
        data={
            "csrf_token": coach_token,
            "title": "Call",
            "owner": "seller",
            "due_on": "31.12.2030",
        },
    )
    assert refused.status_code == 422
    assert "is not a date (YYYY-MM-DD)" in refused.text
    assert db.scalar(select(func.count()).select_from(ActionItem)) == 0


def test_the_seller_adds_a_topic_from_the_dashboard_and_sees_it_on_the_agenda(two):
    _org, (coach, coach_token), (seller, seller_token) = two
    dashboard = seller.get("/").text
    assert "My next coaching conversation" in dashboard
    added = seller.post(
        "/sellers/A1/topics", data={"csrf_token": seller_token, "text": "My tender", "next": "/"}
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/"
    location = open_conversation(coach, coach_token)
    assert "My tender" in coach.get(location).text
    assert "My tender" in seller.get("/").text, "the agenda so far, on the seller's dashboard"


def test_a_second_conversation_while_one_is_prepared_is_refused_on_the_page(db, two):
    _org, (coach, coach_token), _seller = two
    open_conversation(coach, coach_token)
    again = coach.post("/sellers/A1/conversations", data={"csrf_token": coach_token})
    assert again.status_code == 409
    assert "already being prepared" in again.text
    assert db.scalar(select(func.count()).select_from(Conversation)) == 1


def test_the_calendar_file_holds_the_planned_conversation_for_both(two):
    _org, (coach, coach_token), (seller, _token) = two
    coach.post(
        "/sellers/A1/conversations",
        data={"csrf_token": coach_token, "scheduled_on": "2030-01-07", "scheduled_time": "10:30"},
    )
    for client in (coach, seller):
        ics = client.get("/coaching/calendar.ics")
        assert ics.headers["content-type"].startswith("text/calendar")
        assert "DTSTART:20300107T103000Z" in ics.text
        assert "Coaching: Anne Andersen with Mette Manager" in ics.text


def test_the_seller_page_and_timeline_show_the_coaching(two):
    _org, (coach, coach_token), (seller, _token) = two
    location = open_conversation(coach, coach_token)
    coach.post(f"{location}/held", data={"csrf_token": coach_token})
    page = seller.get("/sellers/A1").text
    assert 'id="seller-coaching"' in page
    timeline = seller.get("/sellers/A1/timeline")
    assert "Coaching conversation" in timeline.text
    assert seller.get("/sellers/A1/timeline?format=csv").text.startswith("seller_id,day,kind")


def test_the_impediments_page_has_a_chart_with_its_numbers_and_downloads(two):
    _org, (coach, coach_token), _seller = two
    location = open_conversation(coach, coach_token)
    page = coach.get(location).text
    item_form = re.search(r'action="(/conversations/\d+/items)"', page).group(1)
    coach.post(item_form, data={"csrf_token": coach_token, "title": "Noise"})
    item = re.search(
        r'action="(/conversations/\d+/items/\d+)/impediments"', coach.get(location).text
    ).group(1)
    coach.post(
        f"{item}/impediments",
        data={"csrf_token": coach_token, "category": "work_environment", "within_control": "true"},
    )
    shown = coach.get("/coaching/impediments")
    assert "data-chart" in shown.text
    assert "The numbers behind the chart" in shown.text
    xlsx = coach.get("/coaching/impediments?format=csv").text
    assert xlsx.splitlines()[0].startswith("Month,Work environment")
    assert xlsx.splitlines()[-1].endswith(",1,0,0,0,0,1")
