"""HTML routes of signing in and out, the language switch, one's account and user admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from touchline.auth import service as users
from touchline.auth.models import Role, User, role_label
from touchline.auth.passwords import verify_password
from touchline.config import LANGUAGES
from touchline.deps import AdminOnly, Db, Public, SignedIn
from touchline.errors import DomainError
from touchline.i18n import gettext as _
from touchline.i18n import set_language
from touchline.org.models import Seller
from touchline.web.exports import Table, table_response, wants_download
from touchline.web.templating import render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, user: Public, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = None
    if request.scope.get("session_expired"):
        notice = _("Your session has expired. Please sign in again.")
    return render(request, "auth/login.html", {"next": safe_next(next), "notice": notice})


@router.post("/login")
def login(
    request: Request,
    db: Db,
    _user: Public,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        user = users.authenticate(db, email=email, password=password, address=address)
    except DomainError as error:
        # The failed attempt is committed with the request: it must count.
        context = {"next": safe_next(next), "error": error.message, "email": email}
        return render(request, "auth/login.html", context, status_code=error.status_code)
    session = request.scope["session"]
    language = user.language or session.get("lang")
    session.clear()
    session.update({"uid": user.id, "ep": user.session_epoch})
    if language:
        session["lang"] = language
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, _user: Public) -> Response:
    session = request.scope["session"]
    language = session.get("lang")
    session.clear()
    if language:
        # Signing out ends the login, not the choice of language.
        session["lang"] = language
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def change_language(
    request: Request,
    db: Db,
    user: Public,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if language in LANGUAGES:
        request.scope["session"]["lang"] = language
        set_language(language)
        if user is not None:
            user.language = language
    return RedirectResponse(safe_next(next), status_code=303)


def _account(
    request: Request, db: Db, actor: SignedIn, *, status_code: int = 200, **extra: object
) -> Response:
    assert actor.user is not None
    context = {
        "tokens": users.list_tokens(db, actor=actor, user=actor.user),
        "role_name": role_label(actor.role),
        **extra,
    }
    return render(request, "auth/account.html", context, status_code=status_code)


@router.get("/account")
def account(request: Request, db: Db, actor: SignedIn) -> Response:
    return _account(request, db, actor)


@router.post("/account/password")
def change_own_password(
    request: Request,
    db: Db,
    actor: SignedIn,
    current: Annotated[str, Form()],
    password: Annotated[str, Form()],
    repeat: Annotated[str, Form()],
) -> Response:
    assert actor.user is not None
    user = actor.user
    if not verify_password(user.password_hash, current):
        error = _("Your current password is not right.")
    elif password != repeat:
        error = _("The two new passwords differ.")
    else:
        try:
            users.set_password(db, actor=actor, user=user, password=password)
        except DomainError as failure:
            error = failure.message
        else:
            request.scope["session"]["ep"] = user.session_epoch
            return _account(request, db, actor, flash=_("Your password has been changed."))
    return _account(request, db, actor, status_code=422, password_error=error)


@router.post("/account/tokens")
def create_own_token(
    request: Request, db: Db, actor: SignedIn, name: Annotated[str, Form()] = ""
) -> Response:
    assert actor.user is not None
    token = users.issue_token(db, actor=actor, user=actor.user, name=name)
    return _account(request, db, actor, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_own_token(request: Request, db: Db, actor: SignedIn, token_id: int) -> Response:
    assert actor.user is not None
    users.revoke_token(db, actor=actor, user=actor.user, token_id=token_id)
    return RedirectResponse("/account", status_code=303)


def _admin_context(db: Db, actor: AdminOnly) -> dict[str, object]:
    rows = users.list_users(db, actor=actor)
    sellers = dict(db.execute(select(Seller.id, Seller.external_id)).all())
    return {
        "users": rows,
        "seller_ids": sellers,
        "roles": [(role.value, role_label(role)) for role in Role],
        "role_label": role_label,
    }


@router.get("/admin/users")
def user_admin(request: Request, db: Db, actor: AdminOnly, format: str | None = None) -> Response:
    context = _admin_context(db, actor)
    if wants_download(format):
        sellers = context["seller_ids"]
        assert isinstance(sellers, dict)
        table = Table(
            _("Users"),
            ["email", "name", "role", "seller_id", "active", "last_sign_in"],
            [
                [
                    user.email,
                    user.name,
                    user.role,
                    sellers.get(user.seller_id),
                    user.active,
                    user.last_login_at,
                ]
                for user in users.list_users(db, actor=actor)
            ],
        )
        return table_response(table, filename="users", format=str(format))
    return render(request, "auth/users.html", context)


@router.post("/admin/users")
def user_add(
    request: Request,
    db: Db,
    actor: AdminOnly,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    seller: Annotated[str, Form()] = "",
) -> Response:
    try:
        with db.begin_nested():
            created = users.create(
                db,
                actor=actor,
                email=email,
                role=role,
                name=name,
                password=password or None,
                seller_external_id=seller.strip() or None,
            )
    except DomainError as error:
        context = _admin_context(db, actor) | {
            "form_error": error.message,
            "form": {"email": email, "role": role, "name": name, "seller": seller},
        }
        return render(request, "auth/users.html", context, status_code=error.status_code)
    context = _admin_context(db, actor) | {"flash": _("User %(email)s added.", email=created.email)}
    return render(request, "auth/users.html", context)


def _target(db: Db, user_id: int) -> User:
    return users.get(db, user_id)


@router.post("/admin/users/{user_id}")
def user_change(
    request: Request,
    db: Db,
    actor: AdminOnly,
    user_id: int,
    role: Annotated[str, Form()],
    seller: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    target = _target(db, user_id)
    try:
        with db.begin_nested():
            users.update(
                db,
                actor=actor,
                user=target,
                role=role,
                seller_external_id=seller.strip() or None,
                unlink_seller=not seller.strip(),
                active=active == "on",
            )
    except DomainError as error:
        db.refresh(target)
        context = _admin_context(db, actor) | {"form_error": error.message}
        return render(request, "auth/users.html", context, status_code=error.status_code)
    message = _("Changes to %(email)s saved.", email=target.email)
    return render(request, "auth/users.html", _admin_context(db, actor) | {"flash": message})


@router.post("/admin/users/{user_id}/password")
def user_reset_password(
    request: Request,
    db: Db,
    actor: AdminOnly,
    user_id: int,
    password: Annotated[str, Form()],
) -> Response:
    target = _target(db, user_id)
    try:
        with db.begin_nested():
            users.set_password(db, actor=actor, user=target, password=password)
    except DomainError as error:
        context = _admin_context(db, actor) | {"form_error": error.message}
        return render(request, "auth/users.html", context, status_code=error.status_code)
    message = _("New password set for %(email)s.", email=target.email)
    return render(request, "auth/users.html", _admin_context(db, actor) | {"flash": message})


@router.post("/admin/users/{user_id}/token")
def user_issue_token(request: Request, db: Db, actor: AdminOnly, user_id: int) -> Response:
    target = _target(db, user_id)
    token = users.issue_token(db, actor=actor, user=target, name="admin")
    context = _admin_context(db, actor) | {"new_token": token, "token_user": target.email}
    return render(request, "auth/users.html", context)


@router.post("/admin/users/{user_id}/delete")
def user_delete(request: Request, db: Db, actor: AdminOnly, user_id: int) -> Response:
    target = _target(db, user_id)
    email = target.email
    try:
        with db.begin_nested():
            users.delete_user(db, actor=actor, user=target)
    except DomainError as error:
        context = _admin_context(db, actor) | {"form_error": error.message}
        return render(request, "auth/users.html", context, status_code=error.status_code)
    message = _("User %(email)s deleted.", email=email)
    return render(request, "auth/users.html", _admin_context(db, actor) | {"flash": message})
