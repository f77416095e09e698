"""Users: creating, changing, signing in, API tokens. Rules live here; routes call them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import ApiToken, LoginAttempt, Role, User
from touchline.auth.passwords import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from touchline.auth.policy import Actor
from touchline.db import utcnow
from touchline.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from touchline.i18n import gettext as _
from touchline.org.models import Seller

LOGIN_WINDOW = timedelta(minutes=1)


def normalise_email(email: str) -> str:
    """Return ``email`` trimmed and lower-cased; refuses text that is not an address."""
    cleaned = email.strip().lower()
    local, _at, domain = cleaned.partition("@")
    if not local or "." not in domain or " " in cleaned:
        raise InvalidInput(
            _("%(email)s is not an e-mail address.", email=repr(email)), field="email"
        )
    return cleaned


def parse_role(value: str) -> Role:
    """Return the role named ``value``; refuses an unknown name, listing the known ones."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise InvalidInput(
            _("Unknown role %(value)s: use one of %(known)s.", value=repr(value), known=known),
            field="role",
        ) from None


def get_by_email(session: Session, email: str) -> User:
    """Return the user with ``email``; NotFound when there is none."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(
            _("No user with the e-mail address %(email)s.", email=repr(email)), field="email"
        )
    return user


def any_user(session: Session) -> bool:
    """True when at least one user exists."""
    return session.scalar(select(User.id).limit(1)) is not None


def get(session: Session, user_id: int) -> User:
    """Return the user with ``user_id``; NotFound when there is none."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No user with id %(id)s.", id=user_id), field="user")
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    """Return every user, by e-mail; only admins may list them."""
    actor.require(Role.ADMIN)
    return list(session.scalars(select(User).order_by(User.email)))


def _seller_by_external_id(session: Session, external_id: str) -> Seller:
    seller = session.scalar(select(Seller).where(Seller.external_id == external_id))
    if seller is None:
        raise InvalidInput(
            _("No seller with the external id %(id)s.", id=repr(external_id)), field="seller"
        )
    return seller


def _check_seller_free(session: Session, seller: Seller, user_id: int | None) -> None:
    holder = session.scalar(select(User).where(User.seller_id == seller.id))
    if holder is not None and holder.id != user_id:
        raise Conflict(
            _(
                "Seller %(id)s is already linked to the user %(email)s.",
                id=repr(seller.external_id),
                email=holder.email,
            ),
            field="seller",
        )


def _user_values(user: User, seller_external_id: str | None) -> dict[str, object]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "seller": seller_external_id,
        "active": user.active,
    }


def create(
    session: Session,
    *,
    actor: Actor,
    email: str,
    role: str,
    password: str | None = None,
    name: str = "",
    seller_external_id: str | None = None,
    language: str | None = None,
) -> User:
    """Create a user and return it; refuses a taken e-mail, an unknown role or seller."""
    actor.require(Role.ADMIN)
    address = normalise_email(email)
    parsed_role = parse_role(role)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict(
            _("A user with the e-mail address %(address)s already exists.", address=address),
            field="email",
        )
    seller = _seller_by_external_id(session, seller_external_id) if seller_external_id else None
    if seller is not None:
        _check_seller_free(session, seller, None)
    if parsed_role in (Role.SELLER, Role.MANAGER) and seller is None:
        raise InvalidInput(
            _(
                "A %(value)s must be linked to a seller (give the seller's external id).",
                value=parsed_role.value,
            ),
            field="seller",
        )
    user = User(
        email=address,
        name=name or (seller.name if seller else ""),
        role=parsed_role.value,
        seller_id=seller.id if seller else None,
        password_hash=hash_password(password) if password else None,
        language=language,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="create",
        entity="user",
        entity_id=address,
        after=_user_values(user, seller_external_id),
    )
    return user


def update(
    session: Session,
    *,
    actor: Actor,
    user: User,
    role: str | None = None,
    name: str | None = None,
    seller_external_id: str | None = None,
    unlink_seller: bool = False,
    active: bool | None = None,
) -> User:
    """Change a user's role, name, seller link or active flag; only admins may.

    Refuses to leave the installation without an active admin.
    """
    actor.require(Role.ADMIN)
    old_seller = session.scalar(select(Seller.external_id).where(Seller.id == user.seller_id))
    before = _user_values(user, old_seller)
    new_role = parse_role(role) if role is not None else Role(user.role)
    seller_ref = old_seller
    if seller_external_id:
        seller = _seller_by_external_id(session, seller_external_id)
        _check_seller_free(session, seller, user.id)
        user.seller_id = seller.id
        seller_ref = seller.external_id
    elif unlink_seller:
        user.seller_id = None
        seller_ref = None
    if new_role in (Role.SELLER, Role.MANAGER) and user.seller_id is None:
        raise InvalidInput(
            _("A %(value)s must be linked to a seller.", value=new_role.value), field="seller"
        )
    losing_admin = user.role == Role.ADMIN and (new_role != Role.ADMIN or active is False)
    if losing_admin and _active_admins(session) <= 1:
        raise Conflict(_("This is the last active admin; make another admin first."), field="role")
    user.role = new_role.value
    if name is not None:
        user.name = name.strip()
    if active is not None and active != user.active:
        user.active = active
        user.session_epoch += 1
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="update",
        entity="user",
        entity_id=user.email,
        before=before,
        after=_user_values(user, seller_ref),
    )
    return user


def _active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return session.scalar(query) or 0


def delete_user(session: Session, *, actor: Actor, user: User) -> None:
    """Delete a user and their tokens; refuses to delete the last active admin or oneself."""
    actor.require(Role.ADMIN)
    if actor.user is not None and actor.user.id == user.id:
        raise Conflict(_("You cannot delete your own account."), field="user")
    if user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict(_("This is the last active admin; make another admin first."), field="user")
    audit.record(
        session,
        actor=actor.user,
        action="delete",
        entity="user",
        entity_id=user.email,
        before=_user_values(user, None),
    )
    session.delete(user)
    session.flush()


def set_password(session: Session, *, actor: Actor, user: User, password: str) -> None:
    """Set a new password and end every session signed with the old one.

    Users may change their own; admins anyone's.
    """
    if actor.user is None or actor.user.id != user.id:
        actor.require(Role.ADMIN)
    user.password_hash = hash_password(password)
    user.session_epoch += 1
    session.flush()
    audit.record(session, actor=actor.user, action="password", entity="user", entity_id=user.email)


def authenticate(session: Session, *, email: str, password: str, address: str) -> User:
    """Return the user whose e-mail and password match.

    Refuses with NotAuthenticated on a wrong pair, giving no hint which half was
    wrong, and with TooManyAttempts after too many failures a minute for this
    account from this address. Failures are recorded in the caller's transaction.
    """
    from touchline.config import get_settings

    limit = get_settings().login_attempts_per_minute
    cleaned = email.strip().lower()
    since = utcnow() - LOGIN_WINDOW
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == cleaned,
            LoginAttempt.address == address,
            LoginAttempt.at >= since,
        )
    )
    if (failures or 0) >= limit:
        raise TooManyAttempts(
            _(
                "Too many failed sign-ins for %(cleaned)s from your address. "
                "Wait a minute, then try again.",
                cleaned=cleaned,
            ),
            field="email",
        )
    user = session.scalar(select(User).where(User.email == cleaned))
    if (
        user is None
        or not user.active
        or not verify_password(user.password_hash if user else None, password)
    ):
        session.add(LoginAttempt(email=cleaned, address=address))
        session.flush()
        raise NotAuthenticated(_("Wrong e-mail address or password."), field="password")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == cleaned, LoginAttempt.at < since)
    )
    user.last_login_at = utcnow()
    session.flush()
    return user


def issue_token(session: Session, *, actor: Actor, user: User, name: str = "") -> str:
    """Create an API token for ``user`` and return it; only its digest is kept."""
    if actor.user is None or actor.user.id != user.id:
        actor.require(Role.ADMIN)
    token = new_token()
    session.add(
        ApiToken(
            user_id=user.id,
            name=name.strip()[:100],
            prefix=token[:10],
            token_hash=token_digest(token),
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="token",
        entity="user",
        entity_id=user.email,
        after={"token": token[:10] + "…", "name": name},
    )
    return token


def user_for_token(session: Session, token: str) -> User:
    """Return the active user owning ``token``; NotAuthenticated for an unknown one."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        raise NotAuthenticated(
            _("The API token is not valid (unknown, revoked or its user is gone).")
        )
    now = utcnow()
    # Writing on every call would serialise API traffic; a minute's precision is enough.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return user


def list_tokens(session: Session, *, actor: Actor, user: User) -> list[ApiToken]:
    """Return the tokens of ``user``, newest first (their prefixes, never the tokens)."""
    if actor.user is None or actor.user.id != user.id:
        actor.require(Role.ADMIN)
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.scalars(query))


def revoke_token(session: Session, *, actor: Actor, user: User, token_id: int) -> None:
    """Delete one token of ``user``; NotFound when it is not theirs."""
    if actor.user is None or actor.user.id != user.id:
        actor.require(Role.ADMIN)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(
            _("No token %(id)s for %(email)s.", id=token_id, email=user.email), field="token"
        )
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor.user,
        action="revoke",
        entity="user",
        entity_id=user.email,
        before={"token": row.prefix + "…"},
    )
