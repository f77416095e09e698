"""HTML routes of imports: upload, dry-run report, confirmation, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from touchline.crm import service, uploads
from touchline.crm.importing.mapping import FORMATS
from touchline.deps import AdminOnly, Db
from touchline.errors import DomainError
from touchline.web.templating import render

router = APIRouter()


def _page(
    request: Request, db: Db, actor: AdminOnly, *, status_code: int = 200, **extra: object
) -> Response:
    context = {"runs": service.history(db, actor=actor, limit=50), "formats": FORMATS, **extra}
    return render(request, "crm/imports.html", context, status_code=status_code)


@router.get("/admin/imports")
def imports(request: Request, db: Db, actor: AdminOnly) -> Response:
    return _page(request, db, actor)


@router.post("/admin/imports")
def upload(
    request: Request,
    db: Db,
    actor: AdminOnly,
    files: Annotated[list[UploadFile], File()],
    format: Annotated[str, Form()] = "",
    mapping: Annotated[UploadFile | None, File()] = None,
    prune: Annotated[bool, Form()] = False,
) -> Response:
    """Store the upload and show its dry run; nothing is written yet."""
    assert actor.user is not None
    try:
        token = uploads.save(files, mapping, owner=actor.user.id)
        report = service.import_upload(
            db, actor=actor, token=token, format=format, dry_run=True, prune=prune
        )
    except DomainError as error:
        return _page(request, db, actor, status_code=error.status_code, form_error=error.message)
    if not report.ok:
        uploads.discard(token)
    return _page(
        request,
        db,
        actor,
        status_code=200 if report.ok else 422,
        report=report,
        token=token if report.ok else None,
        chosen_format=format,
        prune=prune,
    )


@router.post("/admin/imports/confirm")
def confirm(
    request: Request,
    db: Db,
    actor: AdminOnly,
    token: Annotated[str, Form()],
    format: Annotated[str, Form()] = "",
    prune: Annotated[bool, Form()] = False,
) -> Response:
    """Import the upload that was shown in a dry run."""
    try:
        report = service.import_upload(
            db, actor=actor, token=token, format=format, dry_run=False, prune=prune
        )
    except DomainError as error:
        return _page(request, db, actor, status_code=error.status_code, form_error=error.message)
    uploads.discard(token)
    return _page(request, db, actor, status_code=200 if report.ok else 422, report=report)
