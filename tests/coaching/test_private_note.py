"""The coach's private note never reaches anyone else, by any route: a walk over every
GET route of the application, as the seller, a manager above and a leader.

Each response is read as its reader would get it: HTML, JSON, CSV and calendar text as
they are, Excel workbooks unzipped, PDF content streams inflated.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

import pytest
from fastapi.routing import iter_route_contexts

from tests.coaching.conftest import caller
from tests.factories import make_org

SECRET = "Thinks of leaving us"


def readable(body: bytes) -> str:
    """Return every text a response carries, whatever its format."""
    if body.startswith(b"%PDF"):
        parts = [body.decode("latin-1")]
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
            try:
                parts.append(zlib.decompress(stream).decode("latin-1"))
            except zlib.error:
                parts.append(stream.decode("latin-1"))
        return "\n".join(parts)
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return body.decode("utf-8", "replace")


@pytest.fixture
def held(db, client):
    """A conversation of Anne's with a private note, an item, a note and an action."""
    org = make_org(db)
    coach = caller(db, client, org.users["manager"])
    conversation = coach.post(
        "/api/v1/sellers/A1/conversations", {"scheduled_at": "2030-01-07T09:00:00Z"}
    ).json()
    path = f"/api/v1/conversations/{conversation['id']}"
    item = coach.post(f"{path}/agenda-items", {"title": "Pipeline"}).json()["agenda"][0]
    coach.put(f"{path}/agenda-items/{item['id']}/note", {"text": "Shared remark", "version": 0})
    coach.patch(path, {"version": 1, "private_note": SECRET, "private_version": 1})
    coach.post(
        f"{path}/action-items", {"title": "Call Acme", "owner": "seller", "due_on": "2030-01-31"}
    )
    coach.post(
        f"{path}/agenda-items/{item['id']}/impediments",
        {"category": "personal", "within_control": False},
    )
    return org, coach, conversation["id"], item["id"]


def get_routes(app):
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is not None and "GET" in (route.methods or ()):
            yield route.path


def concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_the_coach_sees_the_note_so_the_walk_below_can_fail(held, client):
    _org, coach, conversation_id, _item = held
    assert coach.get(f"/api/v1/conversations/{conversation_id}").json()["private_note"] == SECRET
    assert SECRET in readable(coach.get(f"/conversations/{conversation_id}").content)
    assert SECRET in readable(
        coach.get(f"/conversations/{conversation_id}/record.pdf?private=1").content
    )


@pytest.mark.parametrize("reader", ["seller", "head", "leader"])
def test_no_route_returns_the_private_note_to_anyone_but_the_coach(app, db, client, held, reader):
    org, _coach, conversation_id, item_id = held
    other = caller(db, client, org.users[reader])
    values = {
        "external_id": "A1",
        "conversation_id": str(conversation_id),
        "item_id": str(item_id),
        "action_id": "1",
        "user_id": str(org.users[reader].id),
        "token_id": "1",
    }
    walked = 0
    for path in get_routes(app):
        url = concrete(path, values)
        for query in ("", "?private=1", "?format=csv", "?format=xlsx"):
            response = other.get(url + query)
            assert response.status_code < 500, (url + query, response.text[:500])
            assert SECRET not in readable(response.content), url + query
            walked += 1
    assert walked > 100


def test_the_audit_log_keeps_that_the_note_changed_but_not_its_text(db, held):
    from sqlalchemy import select

    from touchline.audit.models import AuditEntry

    entries = db.scalars(select(AuditEntry).where(AuditEntry.entity == "conversation")).all()
    assert any("private_note" in (entry.after or {}) for entry in entries)
    assert all(SECRET not in str(entry.before) + str(entry.after) for entry in entries)


def test_a_seller_cannot_write_or_read_the_private_note_through_the_api(db, client, held):
    org, _coach, conversation_id, _item = held
    seller = caller(db, client, org.users["seller"])
    path = f"/api/v1/conversations/{conversation_id}"
    refused = seller.patch(path, {"version": 1, "private_note": "mine", "private_version": 2})
    assert refused.status_code == 403
    shown = seller.get(path).json()
    assert shown["private_note"] is None
    assert shown["private_version"] is None
