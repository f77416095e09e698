"""Builds the ASGI application: middleware, routers, static assets and error pages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import touchline
import touchline.models
from touchline import i18n
from touchline.analytics import api as analytics_api
from touchline.analytics import behaviour_api as analytics_behaviour_api
from touchline.analytics import behaviour_pages as analytics_behaviour_pages
from touchline.analytics import fair_api, fair_pages
from touchline.analytics import pages as analytics_pages
from touchline.analytics import training_pages as analytics_training_pages
from touchline.analytics import warning_api as analytics_warning_api
from touchline.analytics import warning_pages as analytics_warning_pages
from touchline.auth import api as auth_api
from touchline.auth import pages as auth_pages
from touchline.auth.sessions import SessionMiddleware
from touchline.coaching import api as coaching_api
from touchline.coaching import conversation_pages as coaching_conversation_pages
from touchline.coaching import pages as coaching_pages
from touchline.config import LANGUAGES, Settings, get_settings
from touchline.crm import api as crm_api
from touchline.crm import pages as crm_pages
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.deps import csrf_protect, optional_user, resolve_viewer
from touchline.errors import DomainError, NotAuthenticated
from touchline.i18n import gettext as _
from touchline.instance import secret_key
from touchline.kpis import api as kpis_api
from touchline.kpis import card_api as kpis_card_api
from touchline.kpis import pages as kpis_pages
from touchline.kpis import setup_pages as kpis_setup_pages
from touchline.migrations import current_revision, head_revision
from touchline.org import api as org_api
from touchline.org import pages as org_pages
from touchline.ratings import api as ratings_api
from touchline.ratings import pages as ratings_pages
from touchline.ratings import survey_pages as ratings_survey_pages
from touchline.web import pages as web_pages
from touchline.web.templating import render

log = logging.getLogger("touchline")
STATIC_DIR = Path(__file__).parent / "web" / "static"


class NotMigrated(RuntimeError):
    """The database is missing tables the code needs."""


class LanguageMiddleware:
    """Set the request's language: the session's choice, else the browser's, else the default."""

    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            chosen = scope.get("session", {}).get("lang")
            if chosen not in LANGUAGES:
                headers = dict(scope["headers"])
                accept = headers.get(b"accept-language", b"").decode("latin-1")
                chosen = i18n.negotiate(accept) or self.default
            with i18n.language(chosen):
                await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """Add the headers that keep pages out of frames and browsers from sniffing types."""

    HEADERS = (
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    if getattr(request.state, "viewer", None) is None and request.scope.get("session"):
        # No route ran (an unknown address): find who is signed in for the header.
        try:
            with request.app.state.session_factory() as session:
                resolve_viewer(request, session)
        except DomainError:
            pass
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


def _titles() -> dict[int, str]:
    return {
        400: _("Something is wrong with the request"),
        401: _("Please sign in"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not allowed"),
        409: _("Conflict"),
        422: _("Something is wrong with the input"),
        429: _("Too many attempts"),
        500: _("Something went wrong"),
    }


async def domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    if _wants_json(request):
        body: dict[str, Any] = {"error": {"message": error.message, "field": error.field}}
        # Some errors carry more for the caller, e.g. both texts of an edit conflict.
        body["error"].update(getattr(error, "details", None) or {})
        return JSONResponse(body, status_code=error.status_code)
    if isinstance(error, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    title = _titles().get(error.status_code, _("Something went wrong"))
    return _error_page(request, error.status_code, title, error.message)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    messages = {
        404: _("There is no page at this address."),
        405: _("This address does not accept that kind of request."),
    }
    message = messages.get(error.status_code, str(error.detail))
    if _wants_json(request):
        body = {"error": {"message": message, "field": None}}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
    title = _titles().get(error.status_code, _("Something went wrong"))
    return _error_page(request, error.status_code, title, message)


async def validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = []
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
        problems.append({"field": ".".join(location) or None, "message": problem.get("msg", "")})
    first = problems[0] if problems else {"field": None, "message": ""}
    message = _("%(field)s: %(problem)s", field=first["field"] or "-", problem=first["message"])
    if _wants_json(request):
        body = {"error": {"message": message, "field": first["field"], "problems": problems}}
        return JSONResponse(body, status_code=422)
    return _error_page(request, 422, _titles()[422], message)


async def unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    message = _("Touchline met an unexpected error. It has been logged; please try again.")
    if _wants_json(request):
        return JSONResponse({"error": {"message": message, "field": None}}, status_code=500)
    return _error_page(request, 500, _titles()[500], message)


def check_migrated(engine: Engine) -> None:
    """Refuse with NotMigrated, saying how to fix it, unless the database is at the head."""
    revision = current_revision(engine)
    head = head_revision()
    if revision is None:
        raise NotMigrated(
            "The database has no Touchline tables yet. Run `touchline db upgrade` "
            "(or `touchline init` to also create the first admin)."
        )
    if revision != head:
        raise NotMigrated(
            f"The database is at revision {revision} but this Touchline needs {head}. "
            "Back it up (`touchline db backup PATH`), then run `touchline db upgrade`."
        )


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> FastAPI:
    """Return the Touchline application for ``settings`` (the environment's by default).

    Refuses with NotMigrated when the database is not at the newest revision.
    """
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if session_factory is None:
        check_migrated(engine)
        session_factory = make_sessionmaker(engine)
    with transaction(session_factory) as session:
        key = secret_key(session, settings.secret_key)

    app = FastAPI(
        title="Touchline",
        version=touchline.__version__,
        description="Sales performance management: hard and soft KPIs, coaching, fair analytics.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory

    for router in (
        web_pages.router,
        auth_pages.router,
        org_pages.router,
        crm_pages.router,
        kpis_pages.router,
        kpis_setup_pages.router,
        ratings_pages.router,
        ratings_survey_pages.router,
        coaching_pages.router,
        coaching_conversation_pages.router,
        analytics_pages.router,
        analytics_behaviour_pages.router,
        analytics_training_pages.router,
        analytics_warning_pages.router,
        auth_api.router,
        org_api.router,
        crm_api.router,
        kpis_api.router,
        kpis_card_api.router,
        ratings_api.router,
        coaching_api.router,
        analytics_api.router,
        analytics_behaviour_api.router,
        fair_pages.router,
        fair_api.router,
        analytics_warning_api.router,
    ):
        app.include_router(router)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(_user: Any = Depends(optional_user)) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Touchline API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)

    # Added last runs first: sessions, then the language that depends on them.
    app.add_middleware(LanguageMiddleware, default=settings.default_language)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        max_age=settings.session_max_age_hours * 3600,
        https_only=settings.secure_cookies,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    return app
