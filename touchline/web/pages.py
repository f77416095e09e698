"""The dashboard every user lands on, and the health endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from touchline.deps import Db, Public, SignedIn
from touchline.web import dashboard
from touchline.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, db: Db, actor: SignedIn) -> Response:
    return render(request, "dashboard.html", dashboard.build(db, actor=actor).__dict__)


@router.get("/healthz")
def healthz(request: Request, db: Db, _user: Public) -> Response:
    """Report whether the database answers and is migrated; 503 when it is not."""
    from touchline.migrations import current_revision, head_revision

    try:
        db.execute(text("SELECT 1"))
        revision = current_revision(db.connection())
    except Exception as error:  # any failure of the database is the health answer
        failure = {"status": "error", "database": "unreachable", "detail": type(error).__name__}
        return JSONResponse(failure, status_code=503)
    head = head_revision()
    migrated = revision == head
    body: dict[str, object] = {
        "status": "ok" if migrated else "error",
        "database": db.get_bind().dialect.name,
        "revision": revision,
        "expected_revision": head,
    }
    return JSONResponse(body, status_code=200 if migrated else 503)
