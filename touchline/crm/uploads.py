"""Uploaded import files, kept on the server between a dry run and its confirmation."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from fastapi import UploadFile

from touchline.errors import InvalidInput, NotFound
from touchline.i18n import gettext as _

UPLOADS_DIR = Path(tempfile.gettempdir()) / "touchline-uploads"
KEEP_SECONDS = 3600
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _sweep() -> None:
    if not UPLOADS_DIR.exists():
        return
    limit = time.time() - KEEP_SECONDS
    for folder in UPLOADS_DIR.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def save(files: list[UploadFile], mapping: UploadFile | None, *, owner: int) -> str:
    """Store the uploaded files and return the token that names them.

    Refuses an upload without files. A zip file is kept as it is (the importer opens it).
    """
    uploaded = [upload for upload in files if upload.filename]
    if not uploaded:
        raise InvalidInput(
            _("Choose a .zip file or one or more .csv files to import."), field="files"
        )
    _sweep()
    token = f"{owner}-{secrets.token_urlsafe(16)}"
    folder = UPLOADS_DIR / token
    (folder / "data").mkdir(parents=True)
    for upload in uploaded:
        name = SAFE_NAME.sub("_", Path(upload.filename or "upload").name)
        with (folder / "data" / name).open("wb") as sink:
            shutil.copyfileobj(upload.file, sink)
    if mapping is not None and mapping.filename:
        with (folder / "mapping.toml").open("wb") as sink:
            shutil.copyfileobj(mapping.file, sink)
    return token


def locate(token: str, *, owner: int) -> tuple[Path, Path | None]:
    """Return (the path to import, the mapping file or None) of an upload.

    Refuses a token of another user, a malformed one, or one whose files are gone.
    """
    if not re.fullmatch(rf"{owner}-[A-Za-z0-9_-]{{10,40}}", token):
        raise NotFound(_("This upload is not yours or does not exist; upload the files again."))
    folder = UPLOADS_DIR / token
    data = folder / "data"
    if not data.is_dir():
        raise NotFound(_("The uploaded files are gone (they are kept for an hour); upload again."))
    entries = list(data.iterdir())
    path = entries[0] if len(entries) == 1 and entries[0].suffix.lower() == ".zip" else data
    mapping = folder / "mapping.toml"
    return path, mapping if mapping.exists() else None


def discard(token: str) -> None:
    """Delete an upload's files."""
    shutil.rmtree(UPLOADS_DIR / Path(token).name, ignore_errors=True)
