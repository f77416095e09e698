"""Signing in and out, sessions, CSRF, rate limiting and API tokens: bad input gets the
right status and a clear message, and nothing changes."""

from __future__ import annotations

import json
import time

from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, make_org
from touchline.auth import service as users
from touchline.auth.models import ApiToken, User
from touchline.auth.passwords import token_digest
from touchline.auth.policy import SYSTEM
from touchline.auth.sessions import COOKIE_NAME
from touchline.org.models import Unit


def post_login(client, email, password, token=None):
    token = token or csrf_from(client.get("/login").text)
    data = {"email": email, "password": password, "csrf_token": token, "next": "/"}
    return client.post("/login", data=data)


def test_a_good_login_sets_a_protected_cookie_and_lands_on_the_dashboard(client, db):
    make_org(db)
    response = post_login(client, "manager@example.com", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Mette Manager" in client.get("/").text


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(client, db):
    make_org(db)
    wrong = post_login(client, "manager@example.com", "not-the-password")
    unknown = post_login(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail address or password." in wrong.text
    assert "Wrong e-mail address or password." in unknown.text
    assert client.get("/").status_code == 303


def test_the_sixth_failure_in_a_minute_is_refused_even_with_the_right_password(client, db):
    make_org(db)
    for _attempt in range(5):
        assert post_login(client, "seller@example.com", "guess").status_code == 401
    blocked = post_login(client, "seller@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "Wait a minute" in blocked.text
    assert post_login(client, "manager@example.com", PASSWORD).status_code == 303


def test_a_forged_or_missing_csrf_token_is_refused_and_changes_nothing(client, db):
    org = make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    body = {"external_id": "T9", "name": "Forged", "parent": "N"}
    forged = client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": "forged"})
    missing = client.post("/api/v1/units", json=body)
    for response in (forged, missing):
        assert response.status_code == 403
        assert "security token" in response.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Unit)) == len(org.units)
    form = client.post("/logout", data={"csrf_token": "forged"})
    assert form.status_code == 403
    assert client.get("/").status_code == 200
    assert (
        client.post("/api/v1/units", json=body, headers={"X-CSRF-Token": token}).status_code == 201
    )


def test_a_login_form_without_its_token_is_refused(client, db):
    make_org(db)
    client.get("/login")
    response = client.post("/login", data={"email": "seller@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 303


def test_an_expired_session_sends_you_to_sign_in_and_says_why(client, db, settings):
    make_org(db)
    user = db.scalar(select(User).where(User.email == "seller@example.com"))
    signer = TimestampSigner(settings.secret_key, salt="touchline.session")
    payload = json.dumps({"uid": user.id, "ep": user.session_epoch})
    old = signer.sign(payload).decode()
    client.cookies.set(COOKIE_NAME, old)
    real_time = time.time
    try:
        time.time = lambda: real_time() + settings.session_max_age_hours * 3600 + 60
        response = client.get("/sellers")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        client.cookies.set(COOKIE_NAME, old)
        page = client.get("/login")
    finally:
        time.time = real_time
    assert "Your session has expired" in page.text


def test_logging_out_ends_the_session(client, db):
    make_org(db)
    token = sign_in(client, "seller@example.com", PASSWORD)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_a_password_change_ends_other_sessions(client, db):
    org = make_org(db)
    sign_in(client, "seller@example.com", PASSWORD)
    users.set_password(db, actor=SYSTEM, user=org.users["seller"], password="a-new-password")
    db.commit()
    assert client.get("/").status_code == 303


def test_open_redirects_are_not_followed(client, db):
    make_org(db)
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        token = csrf_from(client.get("/login").text)
        data = {"email": "seller@example.com", "password": PASSWORD, "csrf_token": token}
        response = client.post("/login", data={**data, "next": target})
        assert response.headers["location"] == "/"
        client.cookies.clear()


def test_api_tokens_are_shown_once_and_stored_as_digests(client, db):
    org = make_org(db)
    token = users.issue_token(db, actor=SYSTEM, user=org.users["manager"])
    db.commit()
    stored = db.scalar(select(ApiToken.token_hash))
    assert stored == token_digest(token)
    assert token not in stored
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["managed_units"] == ["T1"]


def test_a_bearer_request_needs_no_csrf_token(client, db):
    org = make_org(db)
    token = users.issue_token(db, actor=SYSTEM, user=org.users["admin"])
    db.commit()
    body = {"external_id": "T9", "name": "Team Nine", "parent": "N"}
    response = client.post("/api/v1/units", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


def test_the_token_of_a_deleted_or_deactivated_user_is_refused(client, db):
    org = make_org(db)
    gone = users.issue_token(db, actor=SYSTEM, user=org.users["manager2"])
    idle = users.issue_token(db, actor=SYSTEM, user=org.users["head"])
    users.delete_user(db, actor=SYSTEM, user=org.users["manager2"])
    users.update(db, actor=SYSTEM, user=org.users["head"], active=False)
    db.commit()
    for token in (gone, idle, "tl_garbage"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "API token is not valid" in response.json()["error"]["message"]
