"""Request boundary: the database session of a request, who is asking, and what they may do.

Every route declares exactly one access dependency from this module (``public``,
``signed_in``, ``manager_up``, ``leader_up`` or ``admin_only``); a test walks the
route table and fails on a route without one. CSRF protection applies to the whole
application (see ``csrf_protect``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from touchline.auth import service as users
from touchline.auth.models import Role, User, role_label
from touchline.auth.policy import Actor, actor_for
from touchline.auth.sessions import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, tokens_match
from touchline.errors import Forbidden, NotAuthenticated
from touchline.i18n import gettext as _

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as plain values the layout can show at any time."""

    id: int
    email: str
    name: str
    role: str


def get_db(request: Request) -> Iterator[Session]:
    """Yield the request's session; commit when the route succeeded, else roll back."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Db = Annotated[Session, Depends(get_db, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request that rides on the session cookie without its token.

    API clients that authenticate with ``Authorization: Bearer``, and API calls with no
    session cookie at all (a survey answered through its link's token), need no token;
    everything else must echo the session's token in the ``X-CSRF-Token`` header (HTMX,
    fetch) or the ``csrf_token`` form field.
    """
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if request.url.path.startswith("/api/") and COOKIE_NAME not in request.cookies:
        # Nothing rides on a cookie: such a call brings its own credential (a survey
        # link's token in the path) and no other site can make a browser send it.
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not tokens_match(request.scope.get("session", {}), sent):
        raise Forbidden(
            _(
                "This form has expired or did not come from Touchline (the security "
                "token is missing or wrong). Reload the page and try again."
            ),
            field=CSRF_FIELD,
        )


def _user_from_request(request: Request, db: Session) -> User | None:
    if "user" in request.state._state:
        cached: User | None = request.state.user
        return cached
    user: User | None = None
    token = _bearer(request)
    if token is not None:
        user = users.user_for_token(db, token)
    else:
        session = request.scope.get("session", {})
        user_id = session.get("uid")
        if isinstance(user_id, int):
            found = db.get(User, user_id)
            if found is not None and found.active and found.session_epoch == session.get("ep"):
                user = found
    request.state.user = user
    if user is not None:
        # A plain copy for the page header: error pages render after a rollback has
        # expired the ORM object.
        request.state.viewer = Viewer(email=user.email, name=user.name, role=user.role, id=user.id)
    return user


def resolve_viewer(request: Request, db: Session) -> User | None:
    """Find who made the request, for pages rendered outside any route (errors)."""
    return _user_from_request(request, db)


def _actor(request: Request, db: Session) -> Actor:
    if "actor" in request.state._state:
        cached: Actor = request.state.actor
        return cached
    user = _user_from_request(request, db)
    if user is None:
        if request.scope.get("session_expired"):
            raise NotAuthenticated(_("Your session has expired. Please sign in again."))
        raise NotAuthenticated(_("Please sign in to continue."))
    actor = actor_for(db, user)
    request.state.actor = actor
    return actor


def _access(level: str, role: Role | None) -> Callable[..., Any]:
    def dependency(request: Request, db: Db) -> Actor:
        actor = _actor(request, db)
        if role is not None and not actor.at_least(role):
            raise Forbidden(
                _(
                    "This page needs the %(needed)s role; you are signed in as %(role)s.",
                    needed=role_label(role),
                    role=role_label(actor.role),
                )
            )
        return actor

    dependency.__name__ = f"access_{level}"
    dependency.__touchline_access__ = level  # type: ignore[attr-defined]
    return dependency


def optional_user(request: Request, db: Db) -> User | None:
    """Return the signed-in user, or None; for public pages that adapt to a login."""
    try:
        return _user_from_request(request, db)
    except NotAuthenticated:
        return None


optional_user.__touchline_access__ = "public"  # type: ignore[attr-defined]

signed_in = _access("signed_in", None)
manager_up = _access("manager", Role.MANAGER)
leader_up = _access("leader", Role.LEADER)
admin_only = _access("admin", Role.ADMIN)

Public = Annotated[User | None, Depends(optional_user)]
SignedIn = Annotated[Actor, Depends(signed_in)]
ManagerUp = Annotated[Actor, Depends(manager_up)]
LeaderUp = Annotated[Actor, Depends(leader_up)]
AdminOnly = Annotated[Actor, Depends(admin_only)]
