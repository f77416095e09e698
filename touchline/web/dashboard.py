"""What each role sees first: the parts of the dashboard, gathered from the domains.

Later features add their part here, so the dashboard stays one page that answers
the user's first question without a click.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from touchline.auth.policy import Actor
from touchline.org import service as org
from touchline.org.models import Seller
from touchline.org.schemas import SellerRead, UnitRead


@dataclass
class Dashboard:
    """The figures and lists of one user's dashboard."""

    me: SellerRead | None
    units: list[UnitRead]
    managed_units: list[UnitRead]
    team: list[SellerRead]
    seller_count: int
    unit_count: int
    notes: list[str] = field(default_factory=list)


def build(session: Session, *, actor: Actor) -> Dashboard:
    """Return the dashboard of ``actor``: their own record, their units and their team."""
    me = None
    if actor.own_seller_id is not None and actor.user is not None:
        own = session.get(Seller, actor.own_seller_id)
        if own is not None:
            me = org.read_seller_unchecked(session, own)
    units = org.list_units(session, actor=actor)
    managed_ids = {
        external_id
        for external_id, unit_id in org.unit_ids(session, [u.external_id for u in units]).items()
        if actor.can_manage_unit(unit_id)
    }
    managed = [u for u in units if u.external_id in managed_ids]
    team = org.list_sellers(session, actor=actor, limit=50)
    team = [s for s in team if me is None or s.external_id != me.external_id]
    return Dashboard(
        me=me,
        units=units,
        managed_units=managed if not actor.sees_all else [u for u in units if u.parent is None],
        team=team,
        seller_count=org.count_sellers(session, actor=actor),
        unit_count=len(units),
    )
