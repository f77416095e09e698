"""The visibility policy: the one place that decides which sellers and units a user may see.

- a seller sees themself, and the units above them (for team aggregates);
- a manager sees every seller in the units they manage, recursively, and themself;
- leaders and admins see everyone.

Every query of the API and the pages asks an ``Actor`` for its clauses; no service
filters by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from touchline.auth.models import Role, User
from touchline.errors import Forbidden
from touchline.i18n import gettext as _
from touchline.org.models import Seller, Unit

ROLE_RANK = {Role.SELLER: 0, Role.MANAGER: 1, Role.LEADER: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class Actor:
    """Who acts, and what they may see and change; built once per request or command."""

    user: User | None
    role: Role
    own_seller_id: int | None = None
    sees_all: bool = False
    # Units whose sellers this actor may see and manage (managed subtrees).
    managed_unit_ids: frozenset[int] = field(default_factory=frozenset)
    # Units this actor may see at all: managed subtrees plus the chain above their own unit.
    visible_unit_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return self.user.email if self.user else "system"

    def at_least(self, role: Role) -> bool:
        """True when the actor's role is ``role`` or above it."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def require(self, role: Role) -> None:
        """Refuse with Forbidden unless the actor has ``role`` or a higher one."""
        if not self.at_least(role):
            raise Forbidden(
                _(
                    "This needs the %(value)s role; you are signed in as %(role)s.",
                    value=role.value,
                    role=self.role,
                )
            )

    def sellers_clause(self) -> ColumnElement[bool]:
        """Return the SQL condition on ``Seller`` that keeps only the sellers one may see."""
        if self.sees_all:
            return true()
        conditions: list[ColumnElement[bool]] = []
        if self.managed_unit_ids:
            conditions.append(Seller.unit_id.in_(sorted(self.managed_unit_ids)))
        if self.own_seller_id is not None:
            conditions.append(Seller.id == self.own_seller_id)
        return or_(*conditions) if conditions else false()

    def units_clause(self) -> ColumnElement[bool]:
        """Return the SQL condition on ``Unit`` that keeps only the units one may see."""
        if self.sees_all:
            return true()
        if not self.visible_unit_ids:
            return false()
        return Unit.id.in_(sorted(self.visible_unit_ids))

    def can_see_seller(self, seller: Seller) -> bool:
        """True when the actor may see ``seller``'s individual data."""
        return (
            self.sees_all
            or seller.id == self.own_seller_id
            or seller.unit_id in self.managed_unit_ids
        )

    def can_see_unit(self, unit_id: int) -> bool:
        """True when the actor may see the unit and its aggregate figures."""
        return self.sees_all or unit_id in self.visible_unit_ids

    def can_manage_seller(self, seller: Seller) -> bool:
        """True when the actor may rate, coach and set targets for ``seller``.

        Managers manage the sellers of their units but not themselves: their own
        targets and ratings come from the manager above them.
        """
        if self.sees_all:
            return self.at_least(Role.LEADER)
        return seller.unit_id in self.managed_unit_ids and seller.id != self.own_seller_id

    def can_manage_unit(self, unit_id: int) -> bool:
        """True when the actor may set targets and see member detail for the unit."""
        return self.sees_all or unit_id in self.managed_unit_ids


SYSTEM = Actor(user=None, role=Role.ADMIN, sees_all=True)


def actor_for(session: Session, user: User) -> Actor:
    """Return the ``Actor`` of ``user``, resolving their reporting line once."""
    role = Role(user.role)
    if role in (Role.LEADER, Role.ADMIN):
        return Actor(user=user, role=role, own_seller_id=user.seller_id, sees_all=True)
    tree = UnitTree.load(session)
    managed: set[int] = set()
    own_chain: list[int] = []
    if user.seller_id is not None:
        if role is Role.MANAGER:
            managed_roots = session.scalars(
                select(Unit.id).where(Unit.manager_id == user.seller_id)
            )
            for root in managed_roots:
                managed |= tree.subtree(root)
        own_unit = session.scalar(select(Seller.unit_id).where(Seller.id == user.seller_id))
        if own_unit is not None:
            own_chain = tree.chain(own_unit)
    return Actor(
        user=user,
        role=role,
        own_seller_id=user.seller_id,
        managed_unit_ids=frozenset(managed),
        visible_unit_ids=frozenset(managed | set(own_chain)),
    )


@dataclass
class UnitTree:
    """The parent links of every unit, for walking up and down the tree in memory."""

    parent: dict[int, int | None]
    children: dict[int, list[int]]

    @classmethod
    def load(cls, session: Session) -> UnitTree:
        rows = session.execute(select(Unit.id, Unit.parent_id)).all()
        return cls.from_pairs((row.id, row.parent_id) for row in rows)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, int | None]]) -> UnitTree:
        parent: dict[int, int | None] = {}
        children: dict[int, list[int]] = defaultdict(list)
        for unit_id, parent_id in pairs:
            parent[unit_id] = parent_id
            if parent_id is not None:
                children[parent_id].append(unit_id)
        return cls(parent=parent, children=dict(children))

    def subtree(self, root: int) -> set[int]:
        """Return ``root`` and every unit below it."""
        found = {root}
        stack = [root]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def chain(self, unit_id: int) -> list[int]:
        """Return ``unit_id`` and its ancestors up to the root, nearest first."""
        chain: list[int] = []
        current: int | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent.get(current)
        return chain
