"""A coaching conversation through the API: two parties, safe edits, the lock, carry-over.

The factories' company (tests/factories.py): Mette (M1) coaches Anne (A1) and Arne (A2)
in Team One; Mads (M2) leads Team Two and may not see Team One.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.coaching.conftest import caller
from tests.factories import make_org
from touchline.audit.models import AuditEntry
from touchline.coaching.access import today


@pytest.fixture
def parties(db, client):
    org = make_org(db)
    return (
        org,
        caller(db, client, org.users["manager"]),
        caller(db, client, org.users["seller"]),
    )


def open_with_anne(manager) -> dict:
    response = manager.post("/api/v1/sellers/A1/conversations", {})
    assert response.status_code == 201, response.text
    return response.json()


def test_both_parties_shape_the_agenda_and_write_notes_marked_with_their_side(parties):
    _org, manager, seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    assert conversation["your_side"] == "manager"

    seller.post("/api/v1/sellers/A1/topics", {"text": "Time for prospecting"})
    added = manager.post(f"{path}/agenda-items", {"title": "The Q3 pipeline"}).json()
    topic, pipeline = (
        item for item in added["agenda"] if item["source"] in ("seller_topic", "added")
    )
    assert topic["title"] == "Time for prospecting"
    assert topic["added_by_side"] == "seller"
    assert pipeline["added_by_side"] == "manager"

    moved = seller.patch(f"{path}/agenda-items/{pipeline['id']}", {"position": 0}).json()
    assert moved["agenda"][0]["title"] == "The Q3 pipeline"
    seller.put(
        f"{path}/agenda-items/{pipeline['id']}/note", {"text": "Two deals stuck", "version": 0}
    )
    manager.put(
        f"{path}/agenda-items/{pipeline['id']}/note", {"text": "Call them together", "version": 0}
    )

    shown = seller.get(path).json()
    notes = {note["side"]: (note["text"], note["author"]) for note in shown["agenda"][0]["notes"]}
    assert notes == {
        "seller": ("Two deals stuck", "Anne Andersen"),
        "manager": ("Call them together", "Mette Manager"),
    }
    dropped = manager.patch(f"{path}/agenda-items/{topic['id']}", {"dropped": True}).json()
    assert [item["dropped"] for item in dropped["agenda"]] == [False, True]


def test_a_stale_save_is_a_conflict_showing_both_texts_and_stores_nothing(db, parties):
    _org, manager, seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    version = conversation["version"]
    saved = seller.patch(path, {"version": version, "summary": "We agree on three calls a day"})
    assert saved.status_code == 200

    stale = manager.patch(path, {"version": version, "summary": "Focus on two big accounts"})

    assert stale.status_code == 409
    error = stale.json()["error"]
    assert error["field"] == "summary"
    assert error["theirs"] == "We agree on three calls a day"
    assert error["yours"] == "Focus on two big accounts"
    assert error["version"] == saved.json()["version"]
    assert manager.get(path).json()["summary"] == "We agree on three calls a day"
    # Saving again from the version the conflict named goes through.
    merged = manager.patch(path, {"version": error["version"], "summary": "Calls and big accounts"})
    assert merged.json()["summary"] == "Calls and big accounts"


def test_a_stale_save_of_another_field_is_no_conflict(parties):
    _org, manager, seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    version = conversation["version"]
    seller.patch(path, {"version": version, "seller_reflection": "Hard month"})
    assert manager.patch(path, {"version": version, "summary": "Fine"}).status_code == 200


def test_every_change_is_in_the_audit_log_with_before_and_after(db, parties):
    _org, manager, _seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    manager.patch(path, {"version": conversation["version"], "summary": "First"})
    manager.patch(path, {"version": conversation["version"] + 1, "summary": "Second"})
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "conversation", AuditEntry.action == "edit")
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.actor, e.before, e.after) for e in entries] == [
        ("manager@example.com", {"summary": ""}, {"summary": "First"}),
        ("manager@example.com", {"summary": "First"}, {"summary": "Second"}),
    ]


def test_once_both_sign_the_same_version_it_is_locked_and_remarks_are_addenda(parties):
    _org, manager, seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    current = manager.patch(path, {"version": 1, "summary": "Agreed"}).json()["version"]
    manager.post(f"{path}/held", {})
    held = manager.get(path).json()
    assert seller.post(f"{path}/sign", {"version": current}).status_code == 409  # stale
    signed = seller.post(f"{path}/sign", {"version": held["version"]}).json()
    assert signed["status"] == "held"
    locked = manager.post(f"{path}/sign", {"version": held["version"]}).json()
    assert locked["status"] == "locked"

    refused = seller.patch(path, {"version": locked["version"], "summary": "Changed my mind"})
    assert refused.status_code == 403
    assert "addendum" in refused.json()["error"]["message"]
    assert seller.post(f"{path}/agenda-items", {"title": "Late"}).status_code == 403
    added = seller.post(f"{path}/addenda", {"text": "I forgot one deal"})
    assert added.status_code == 201
    after = manager.get(path).json()
    assert after["summary"] == "Agreed"
    assert [(a["side"], a["text"]) for a in after["addenda"]] == [("seller", "I forgot one deal")]


def test_open_action_items_carry_into_the_next_conversation_until_done_or_dropped(parties):
    _org, manager, seller = parties
    first = open_with_anne(manager)
    path = f"/api/v1/conversations/{first['id']}"
    due = (today() + timedelta(days=7)).isoformat()
    for title, owner in (
        ("Book two demos", "seller"),
        ("Join a call", "manager"),
        ("Old idea", "seller"),
    ):
        answer = manager.post(
            f"{path}/action-items", {"title": title, "owner": owner, "due_on": due}
        )
        assert answer.status_code == 201, answer.text
    manager.post(f"{path}/held", {})
    actions = {a["title"]: a for a in seller.get("/api/v1/sellers/A1/action-items").json()}
    done = seller.patch(
        f"/api/v1/action-items/{actions['Join a call']['id']}",
        {"status": "done", "version": actions["Join a call"]["version"]},
    )
    assert done.status_code == 200
    assert done.json()["closed_on"] == today().isoformat()
    dropped = manager.patch(
        f"/api/v1/action-items/{actions['Old idea']['id']}",
        {"status": "dropped", "version": 1, "reason": "The customer moved away"},
    )
    assert dropped.json()["drop_reason"] == "The customer moved away"

    second = open_with_anne(manager)

    carried = [item for item in second["agenda"] if item["source"] == "action_item"]
    assert [item["action_item"]["title"] for item in carried] == ["Book two demos"]
    assert carried[0]["title"].startswith("Follow up")
    # Still open, so it comes back once more in the conversation after.
    manager.post(f"/api/v1/conversations/{second['id']}/held", {})
    third = open_with_anne(manager)
    assert [i["action_item"]["title"] for i in third["agenda"] if i["source"] == "action_item"] == [
        "Book two demos"
    ]


def test_a_manager_of_another_team_finds_no_conversation(db, client, parties):
    org, manager, _seller = parties
    conversation = open_with_anne(manager)
    other = caller(db, client, org.users["manager2"])
    path = f"/api/v1/conversations/{conversation['id']}"
    assert other.get(path).status_code == 404
    assert other.patch(path, {"version": 1, "summary": "x"}).status_code == 404
    assert other.get(f"{path.replace('/api/v1', '')}").status_code == 404
    assert other.get("/api/v1/sellers/A1/conversations").status_code == 404
    assert other.post("/api/v1/sellers/A1/conversations", {}).status_code == 404


def test_a_reader_above_the_parties_reads_but_does_not_write(db, client, parties):
    org, manager, _seller = parties
    conversation = open_with_anne(manager)
    head = caller(db, client, org.users["head"])
    path = f"/api/v1/conversations/{conversation['id']}"
    assert head.get(path).json()["your_side"] is None
    refused = head.patch(path, {"version": 1, "summary": "From above"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "owner": "seller", "due_on": "2030-01-01"}, "title"),
        ({"title": "Call", "owner": "boss", "due_on": "2030-01-01"}, "owner"),
        ({"title": "Call", "owner": "seller", "due_on": "2001-01-01"}, "due_on"),
        ({"title": "Call", "owner": "seller", "due_on": "2030-01-01", "kpi": "nope"}, "kpi"),
    ],
)
def test_a_bad_action_item_names_the_field_and_stores_nothing(parties, body, field):
    _org, manager, _seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"

    refused = manager.post(f"{path}/action-items", body)

    assert refused.status_code == 422
    assert refused.json()["error"]["field"].endswith(field)
    after = manager.get(path).json()
    assert after["action_items"] == []
    assert after["version"] == conversation["version"]


def test_dropping_an_action_item_needs_its_reason(parties):
    _org, manager, _seller = parties
    conversation = open_with_anne(manager)
    path = f"/api/v1/conversations/{conversation['id']}"
    action = manager.post(
        f"{path}/action-items", {"title": "Call", "owner": "seller", "due_on": "2030-01-01"}
    ).json()
    refused = manager.patch(
        f"/api/v1/action-items/{action['id']}", {"status": "dropped", "version": 1}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "reason"


def test_cadence_is_inherited_down_the_tree_and_set_per_seller(db, client, parties):
    org, manager, seller = parties
    head = caller(db, client, org.users["head"])
    assert seller.get("/api/v1/sellers/A1/cadence").json()["every_days"] == 14
    assert head.put("/api/v1/units/N/cadence", {"every_days": 21}).status_code == 200
    inherited = seller.get("/api/v1/sellers/A1/cadence").json()
    assert (inherited["every_days"], inherited["own"]) == (21, False)
    assert manager.put("/api/v1/sellers/A1/cadence", {"every_days": 7}).json()["every_days"] == 7
    refused = manager.put("/api/v1/sellers/A1/cadence", {"every_days": 0})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "every_days"
    assert manager.put("/api/v1/units/T2/cadence", {"every_days": 7}).status_code == 404


def test_the_due_list_puts_the_overdue_first_with_the_reason(parties):
    _org, manager, _seller = parties
    conversation = open_with_anne(manager)
    manager.post(
        f"/api/v1/conversations/{conversation['id']}/action-items",
        {"title": "Call", "owner": "seller", "due_on": today().isoformat()},
    )
    manager.post(
        f"/api/v1/conversations/{conversation['id']}/held",
        {"held_on": (today() - timedelta(days=20)).isoformat()},
    )
    due = manager.get("/api/v1/coaching/due").json()
    assert [(row["seller"], row["state"]) for row in due] == [("A1", "overdue"), ("A2", "due")]
    anne = next(row for row in due if row["seller"] == "A1")
    assert anne["state"] == "overdue"
    assert anne["overdue_days"] == 6
    assert anne["last_held_on"] == (today() - timedelta(days=20)).isoformat()


def test_a_conversation_cannot_be_held_in_the_future(parties):
    _org, manager, _seller = parties
    conversation = open_with_anne(manager)
    refused = manager.post(
        f"/api/v1/conversations/{conversation['id']}/held",
        {"held_on": (today() + timedelta(days=30)).isoformat()},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "held_on"
