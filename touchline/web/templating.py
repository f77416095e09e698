"""Jinja2 environment and the ``render`` helper every page uses.

Templates live beside their domain (``touchline/<domain>/templates``) and are named
``<domain>/<file>.html``; the shared layout and error pages live in
``touchline/web/templates``. Every visible string goes through gettext.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from markupsafe import Markup

from touchline import i18n
from touchline.auth.sessions import csrf_token
from touchline.config import LANGUAGES
from touchline.kpis.display import format_kpi_value, sparkline

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS = ("analytics", "auth", "coaching", "crm", "kpis", "org", "ratings")


def _number(value: Decimal | float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=i18n.babel_locale())


def _date(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return format_datetime(value, format=style, locale=i18n.babel_locale())
    return format_date(value, format=style, locale=i18n.babel_locale())


def _sparkline(history: list[tuple[str, float | None]]) -> Markup:
    # Safe to mark: the SVG is built from numbers only, never from user text.
    return Markup(sparkline(history))  # noqa: S704


def build_environment() -> Environment:
    """Return the Jinja2 environment with i18n, autoescaping and the formatting filters."""
    loader = ChoiceLoader(
        [
            FileSystemLoader(PACKAGE_DIR / "web" / "templates"),
            PrefixLoader(
                {name: FileSystemLoader(PACKAGE_DIR / name / "templates") for name in DOMAINS}
            ),
        ]
    )
    environment = Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True
    )
    environment.filters["number"] = _number
    environment.filters["date"] = _date
    environment.filters["kpi"] = format_kpi_value
    environment.filters["sparkline"] = _sparkline
    environment.globals["LANGUAGES"] = LANGUAGES
    return environment


environment = build_environment()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` with the page context every template may rely on.

    That context is: ``request``, ``user`` (a plain ``Viewer``) and ``actor`` (None when
    signed out),
    ``csrf_token``, ``language`` and ``is_htmx`` (a partial update was asked for).
    """
    session = request.scope.setdefault("session", {})
    values: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "viewer", None),
        "actor": getattr(request.state, "actor", None),
        "csrf_token": csrf_token(session),
        "language": i18n.current_language(),
        "is_htmx": request.headers.get("hx-request") == "true",
        "path": request.url.path,
    }
    values.update(context or {})
    html = environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
