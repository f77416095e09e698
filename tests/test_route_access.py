"""Every route goes through the visibility policy: a walk over the whole route table.

A route added later without one of the access dependencies of ``touchline.deps`` fails
here, and so does one that lets a role see what the policy hides.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from tests.conftest import sign_in
from tests.factories import PASSWORD, make_org

# Sample values for path parameters: one the signed-in seller may not see, where it matters.
SAMPLES = {"external_id": "B1", "user_id": "1", "token_id": "1"}
LEVELS = ("public", "signed_in", "manager", "leader", "admin")
RANK = {"seller": 1, "manager": 2, "leader": 3, "admin": 4}


def access_levels(dependant) -> list[str]:
    found = []
    for dependency in dependant.dependencies:
        level = getattr(dependency.call, "__touchline_access__", None)
        if level is not None:
            found.append(level)
        found.extend(access_levels(dependency))
    return found


def api_routes(app):
    """Yield (method, path, access level) of every route with an endpoint of ours."""
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue  # static files and the like
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            levels = set(access_levels(dependant))
            yield method, route.path, levels


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: SAMPLES.get(match.group(1), "x"), path)


def test_every_route_declares_exactly_one_access_level(app):
    wrong = [
        f"{method} {path}: {sorted(levels) or 'none'}"
        for method, path, levels in api_routes(app)
        if len(levels) != 1 or not levels <= set(LEVELS)
    ]
    assert not wrong, "routes without exactly one access dependency: " + "; ".join(wrong)


def test_signed_out_requests_are_sent_to_sign_in(app, client, db):
    make_org(db)
    token = sign_in(client, "seller@example.com", PASSWORD)
    client.cookies.clear()
    for method, path, levels in api_routes(app):
        if levels == {"public"}:
            continue
        response = client.request(method, concrete(path), headers={"X-CSRF-Token": token})
        if path.startswith("/api/"):
            assert response.status_code in (401, 403), (method, path, response.status_code)
        else:
            assert response.status_code in (303, 403), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ["seller", "manager", "leader"])
def test_roles_below_a_routes_level_are_refused(app, client, db, role):
    org = make_org(db)
    token = sign_in(client, org.users[role].email, PASSWORD)
    for method, path, levels in api_routes(app):
        (level,) = levels
        if level in ("public", "signed_in") or RANK[role] >= RANK.get(level, 0):
            continue
        response = client.request(method, concrete(path), headers={"X-CSRF-Token": token})
        assert response.status_code == 403, (role, method, path, response.status_code)
        if path.startswith("/api/"):
            assert "role" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", ["seller", "manager"])
def test_sellers_beyond_ones_reach_are_not_found_by_page_or_api(app, client, db, role):
    org = make_org(db)
    token = sign_in(client, org.users[role].email, PASSWORD)
    for method, path, _levels in api_routes(app):
        if method != "GET" or "{external_id}" not in path or "seller" not in path:
            continue
        response = client.get(concrete(path), headers={"X-CSRF-Token": token})
        assert response.status_code == 404, (role, path, response.status_code)
        assert "B1" in response.text
        own = path.replace("{external_id}", "A1")
        assert client.get(own).status_code == 200, (role, own)


def test_a_manager_sees_units_they_manage_but_not_others(client, db):
    make_org(db)
    sign_in(client, "manager@example.com", PASSWORD)
    assert client.get("/api/v1/units/T1").status_code == 200
    assert client.get("/api/v1/units/T2").status_code == 404
    assert client.get("/units/S").status_code == 404
    names = {unit["external_id"] for unit in client.get("/api/v1/units").json()}
    assert names == {"C", "N", "T1"}
