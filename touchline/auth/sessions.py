"""Signed session cookies, and the CSRF token each session carries.

The cookie holds a small JSON object signed with the secret key (itsdangerous):
the user's id, their session epoch, the CSRF token and the chosen language. It is
HttpOnly and SameSite=Lax, and lasts ``session_max_age_hours`` from the last request.
A cookie whose signature is too old is reported as expired, so the login page can
say why the user must sign in again.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "touchline_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SessionMiddleware:
    """Load the session from its cookie into ``scope['session']`` and write it back."""

    def __init__(self, app: ASGIApp, *, secret_key: str, max_age: int, https_only: bool) -> None:
        self.app = app
        self.signer = TimestampSigner(secret_key, salt="touchline.session")
        self.max_age = max_age
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        scope["session"] = {}
        scope["session_expired"] = False
        raw = connection.cookies.get(COOKIE_NAME)
        if raw:
            try:
                data = self.signer.unsign(raw.encode(), max_age=self.max_age)
                loaded = json.loads(data)
                scope["session"] = loaded if isinstance(loaded, dict) else {}
            except SignatureExpired:
                scope["session_expired"] = True
            except (BadSignature, ValueError):
                pass
        had_cookie = bool(raw)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session: dict[str, Any] = scope["session"]
                if session:
                    value = self.signer.sign(json.dumps(session, separators=(",", ":"))).decode()
                    headers.append("Set-Cookie", self._cookie(value, self.max_age))
                elif had_cookie:
                    headers.append("Set-Cookie", self._cookie("", 0))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, value: str, max_age: int) -> str:
        parts = [
            f"{COOKIE_NAME}={value}",
            "Path=/",
            f"Max-Age={max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.https_only:
            parts.append("Secure")
        return "; ".join(parts)


def csrf_token(session: dict[str, Any]) -> str:
    """Return the session's CSRF token, creating one when the session has none."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def tokens_match(session: dict[str, Any], sent: str | None) -> bool:
    """True when ``sent`` equals the session's CSRF token (compared in constant time)."""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return secrets.compare_digest(expected, sent)
