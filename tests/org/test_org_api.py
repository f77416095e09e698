"""The organisation through the API: what each role sees, and bad input refused cleanly."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_org
from touchline.audit.models import AuditEntry
from touchline.org.models import Seller, Unit
from touchline.org.structure import find_cycle


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("seller", {"A1"}),
        ("manager", {"M1", "A1", "A2"}),
        ("head", {"H", "M1", "M2", "A1", "A2", "B1"}),
        ("leader", {"D", "H", "M1", "M2", "A1", "A2", "B1", "C1"}),
    ],
)
def test_each_role_lists_exactly_the_sellers_the_policy_allows(client, db, role, expected):
    org = make_org(db)
    sign_in(client, org.users[role].email, PASSWORD)
    listed = {seller["external_id"] for seller in client.get("/api/v1/sellers").json()}
    assert listed == expected


def test_search_matches_name_email_and_id_without_case(client, db):
    make_org(db)
    sign_in(client, "leader@example.com", PASSWORD)
    for query in ("anne", "A1@EXAMPLE", "a1"):
        found = client.get("/api/v1/sellers", params={"q": query}).json()
        assert [seller["external_id"] for seller in found] == ["A1"]
    region = client.get("/api/v1/sellers", params={"unit": "N"}).json()
    assert {seller["external_id"] for seller in region} == {"M1", "M2", "A1", "A2", "B1"}


def test_an_admin_creates_and_changes_units_and_sellers(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    headers = {"X-CSRF-Token": token}
    unit = {"external_id": "T4", "name": "Team Four", "parent": "S", "manager": "C1"}
    assert client.post("/api/v1/units", json=unit, headers=headers).status_code == 201
    seller = {"external_id": "F1", "name": "Frida Fjord", "email": "F1@Example.com", "unit": "T4"}
    created = client.post("/api/v1/sellers", json=seller, headers=headers)
    assert created.status_code == 201
    assert created.json()["email"] == "f1@example.com"
    moved = client.patch(
        "/api/v1/sellers/F1", json={"unit": "T3", "manager": "C1"}, headers=headers
    )
    assert moved.json()["unit"] == "T3"
    assert moved.json()["manager"] == "C1"
    territory = {"external_id": "TER9", "name": "Jylland", "market_potential": "2500000.00"}
    assert client.post("/api/v1/territories", json=territory, headers=headers).status_code == 201
    assert count(db, AuditEntry) == 4


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/api/v1/units/N", {"parent": "T1"}, "parent", "cycle: "),
        ("/api/v1/sellers/D", {"manager": "A1"}, "manager", "cycle: "),
        ("/api/v1/sellers/A1", {"unit": "NOPE"}, "unit", "No unit with the external id"),
        ("/api/v1/sellers/A1", {"territory": "NOPE"}, "territory", "No territory"),
        ("/api/v1/units/T1", {"manager": "NOPE"}, "manager", "No seller with the external id"),
    ],
)
def test_bad_changes_are_refused_naming_the_field_and_nothing_is_stored(
    client, db, path, body, field, words
):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    before = (
        sorted(db.execute(select(Unit.external_id, Unit.parent_id, Unit.manager_id)).all()),
        sorted(db.execute(select(Seller.external_id, Seller.unit_id, Seller.manager_id)).all()),
        count(db, AuditEntry),
    )
    response = client.patch(path, json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert words in error["message"]
    db.expire_all()
    after = (
        sorted(db.execute(select(Unit.external_id, Unit.parent_id, Unit.manager_id)).all()),
        sorted(db.execute(select(Seller.external_id, Seller.unit_id, Seller.manager_id)).all()),
        count(db, AuditEntry),
    )
    assert after == before


def test_a_duplicate_external_id_is_a_conflict(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    body = {"external_id": "A1", "name": "Again", "email": "x@example.com", "unit": "T1"}
    response = client.post("/api/v1/sellers", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "message": "A seller 'A1' already exists.",
        "field": "external_id",
    }


def test_malformed_bodies_name_the_field(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    response = client.post(
        "/api/v1/units", json={"external_id": "", "name": "X"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "external_id"


def test_the_openapi_document_and_offline_docs(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/sellers/{external_id}" in paths
    page = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_health_reports_the_database(client, db):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def test_cycles_are_found_in_any_shape():
    assert find_cycle({"A": None, "B": "A"}) is None
    assert find_cycle({"A": "A"}) == ["A", "A"]
    assert find_cycle({"A": "B", "B": "A"}) in (["A", "B", "A"], ["B", "A", "B"])
    assert find_cycle({"A": "X"}) is None


@given(st.integers(min_value=1, max_value=40), st.data())
def test_a_forest_has_no_cycle_and_one_back_edge_makes_one(size, data):
    ids = [f"U{index}" for index in range(size)]
    links: dict[str, str | None] = {ids[0]: None}
    for index in range(1, size):
        links[ids[index]] = data.draw(st.sampled_from([None, *ids[:index]]))
    assert find_cycle(links) is None
    child = data.draw(st.sampled_from(ids))
    ancestors = [child]
    while links[ancestors[-1]] is not None:
        ancestors.append(links[ancestors[-1]])
    top = data.draw(st.sampled_from(ancestors))
    links[top] = child
    cycle = find_cycle(links)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert all(links[a] == b for a, b in itertools.pairwise(cycle))
