"""JSON routes of imports: run one, list the history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from touchline.crm import service, uploads
from touchline.deps import AdminOnly, Db

router = APIRouter(prefix="/api/v1", tags=["imports"])


class ImportRunRead(BaseModel):
    id: int
    started_at: datetime
    actor: str
    source: str
    format: str
    status: str
    dry_run: bool
    pruned: bool
    problems: int
    duration_s: float
    counts: dict[str, Any]


@router.post("/imports")
def create_import(
    db: Db,
    actor: AdminOnly,
    files: Annotated[list[UploadFile], File(description="A .zip file or several .csv files")],
    format: Annotated[str | None, Form(description="interchange, salesforce or hubspot")] = None,
    mapping: Annotated[UploadFile | None, File(description="A mapping file (TOML)")] = None,
    dry_run: Annotated[bool, Form()] = False,
    prune: Annotated[bool, Form()] = False,
) -> JSONResponse:
    """Import CRM data (admins only): 200 with the counts, or 422 with every problem."""
    assert actor.user is not None
    token = uploads.save(files, mapping, owner=actor.user.id)
    try:
        report = service.import_upload(
            db,
            actor=actor,
            token=token,
            format=format,
            dry_run=dry_run,
            prune=prune,
            source_label=", ".join(f.filename or "" for f in files),
        )
    finally:
        uploads.discard(token)
    return JSONResponse(report.as_dict(), status_code=200 if report.ok else 422)


@router.get("/imports")
def list_imports(db: Db, actor: AdminOnly) -> list[ImportRunRead]:
    """The latest imports, dry runs and failed ones too, newest first (admins only)."""
    return [
        ImportRunRead.model_validate(run, from_attributes=True)
        for run in service.history(db, actor=actor)
    ]
