"""The visibility policy: who sees which sellers and units."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_org
from touchline.auth.policy import actor_for
from touchline.org.models import Seller, Unit


def visible_sellers(db, user) -> set[str]:
    actor = actor_for(db, user)
    return set(db.scalars(select(Seller.external_id).where(actor.sellers_clause())))


def visible_units(db, user) -> set[str]:
    actor = actor_for(db, user)
    return set(db.scalars(select(Unit.external_id).where(actor.units_clause())))


def test_a_seller_sees_only_themself_and_the_units_above_them(db):
    org = make_org(db)
    assert visible_sellers(db, org.users["seller"]) == {"A1"}
    assert visible_units(db, org.users["seller"]) == {"T1", "N", "C"}


def test_a_manager_sees_their_team_and_themself_but_not_another_team(db):
    org = make_org(db)
    assert visible_sellers(db, org.users["manager"]) == {"M1", "A1", "A2"}
    assert "B1" not in visible_sellers(db, org.users["manager"])


def test_a_manager_of_a_region_sees_every_team_below_it(db):
    org = make_org(db)
    assert visible_sellers(db, org.users["head"]) == {"H", "M1", "M2", "A1", "A2", "B1"}
    assert visible_units(db, org.users["head"]) == {"N", "T1", "T2", "C"}


def test_leaders_and_admins_see_everyone(db):
    org = make_org(db)
    everyone = {"D", "H", "M1", "M2", "A1", "A2", "B1", "C1"}
    assert visible_sellers(db, org.users["leader"]) == everyone
    assert visible_sellers(db, org.users["admin"]) == everyone


def test_a_manager_manages_their_team_but_not_themself(db):
    org = make_org(db)
    actor = actor_for(db, org.users["manager"])
    assert actor.can_manage_seller(org.sellers["A1"])
    assert not actor.can_manage_seller(org.sellers["M1"])
    assert not actor.can_manage_seller(org.sellers["B1"])


def test_a_seller_manages_no_one(db):
    org = make_org(db)
    actor = actor_for(db, org.users["seller"])
    assert not actor.can_manage_seller(org.sellers["A1"])
    assert not actor.can_manage_seller(org.sellers["A2"])
