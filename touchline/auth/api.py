"""JSON routes of users: who am I, and user administration."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from touchline.auth import service as users
from touchline.auth.models import User
from touchline.auth.schemas import MeRead, TokenCreated, UserCreate, UserRead
from touchline.deps import AdminOnly, Db, SignedIn
from touchline.org.models import Seller, Unit

router = APIRouter(prefix="/api/v1", tags=["users"])


def _read(db: Db, user: User) -> UserRead:
    seller = db.scalar(select(Seller.external_id).where(Seller.id == user.seller_id))
    return UserRead(
        email=user.email,
        name=user.name,
        role=user.role,
        seller=seller if user.seller_id else None,
        language=user.language,
        active=user.active,
        last_login_at=user.last_login_at,
    )


@router.get("/me")
def me(db: Db, actor: SignedIn) -> MeRead:
    """The signed-in user, their role and the units they manage."""
    assert actor.user is not None
    managed = db.scalars(
        select(Unit.external_id)
        .where(Unit.id.in_(sorted(actor.managed_unit_ids)))
        .order_by(Unit.external_id)
    )
    return MeRead(
        **_read(db, actor.user).model_dump(),
        sees_all=actor.sees_all,
        managed_units=list(managed),
    )


@router.get("/users")
def list_users(db: Db, actor: AdminOnly) -> list[UserRead]:
    """Every user (admins only)."""
    return [_read(db, user) for user in users.list_users(db, actor=actor)]


@router.post("/users", status_code=201)
def create_user(db: Db, actor: AdminOnly, user_in: UserCreate) -> UserRead:
    """Create a user (admins only); sellers and managers must be linked to a seller."""
    user = users.create(
        db,
        actor=actor,
        email=user_in.email,
        role=user_in.role,
        name=user_in.name,
        password=user_in.password,
        seller_external_id=user_in.seller,
        language=user_in.language,
    )
    return _read(db, user)


@router.post("/me/tokens", status_code=201)
def create_my_token(db: Db, actor: SignedIn, name: str = "") -> TokenCreated:
    """A new API token for yourself, shown this once."""
    assert actor.user is not None
    token = users.issue_token(db, actor=actor, user=actor.user, name=name)
    return TokenCreated(token=token, prefix=token[:10])
