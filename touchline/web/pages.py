"""The dashboard every user lands on, and the health endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from touchline.deps import Db, Public, SignedIn
from touchline.i18n import gettext as _
from touchline.web import dashboard
from touchline.web.exports import Table, table_response, wants_download
from touchline.web.templating import render

router = APIRouter()
WARNING_COLUMNS = [
    "seller_id",
    "seller",
    "kpi",
    "actual",
    "target",
    "attainment_percent",
    "light",
    "decision_rule",
]


@router.get("/")
def home(request: Request, db: Db, actor: SignedIn, format: str | None = None) -> Response:
    found = dashboard.build(db, actor=actor)
    if wants_download(format):
        table = Table(
            _("Off track in your team"),
            [
                "seller_id",
                "seller",
                "kpi",
                "actual",
                "target",
                "attainment_percent",
                "light",
                "decision_rule",
            ],
            [
                [
                    seller.external_id,
                    seller.name,
                    line.kpi.code,
                    line.actual,
                    line.target,
                    line.attainment,
                    line.light,
                    line.decision_rule,
                ]
                for seller, line in found.warnings
            ],
        )
        return table_response(table, filename=f"off-track-{found.quarter}", format=str(format))
    return render(request, "dashboard.html", found.__dict__)


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
