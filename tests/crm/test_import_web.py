"""Imports from the web page and the API: dry run, confirmation, history, refusals."""

from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import sign_in
from tests.crm.conftest import VALID
from tests.factories import PASSWORD, make_org
from touchline.cli import app as cli
from touchline.config import get_settings
from touchline.crm.models import Deal
from touchline.db import make_engine
from touchline.migrations import upgrade


def zipped(files: dict[str, str], folder: str = "export/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(folder + name, content)
    return buffer.getvalue()


ORG_FREE = dict(VALID)


def test_an_admin_uploads_sees_the_dry_run_confirms_and_finds_it_in_the_history(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    upload = client.post(
        "/admin/imports",
        data={"csrf_token": token},
        files=[("files", ("export.zip", zipped(ORG_FREE), "application/zip"))],
    )
    assert upload.status_code == 200, upload.text[-500:]
    assert "Dry run" in upload.text
    assert db.scalar(select(func.count()).select_from(Deal)) == 0
    upload_token = re.search(r'name="token" value="([^"]+)"', upload.text).group(1)
    done = client.post("/admin/imports/confirm", data={"csrf_token": token, "token": upload_token})
    assert done.status_code == 200
    assert db.scalar(select(func.count()).select_from(Deal)) == 3
    history = client.get("/admin/imports").text
    assert "admin@example.com" in history
    assert "export.zip" in history


def test_others_may_not_import(client, db):
    make_org(db)
    token = sign_in(client, "leader@example.com", PASSWORD)
    files = [("files", ("export.zip", zipped(ORG_FREE), "application/zip"))]
    assert client.post("/admin/imports", data={"csrf_token": token}, files=files).status_code == 403
    api = client.post("/api/v1/imports", headers={"X-CSRF-Token": token}, files=files)
    assert api.status_code == 403


def test_the_api_lists_every_problem_and_stores_nothing(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    bad = VALID["deals.csv"].replace("100.50", "lots")
    response = client.post(
        "/api/v1/imports",
        headers={"X-CSRF-Token": token},
        files=[("files", ("deals.csv", bad, "text/csv"))],
        data={"format": "interchange"},
    )
    assert response.status_code == 422
    problems = {(p["file"], p["line"], p["column"]) for p in response.json()["problems"]}
    assert ("deals.csv", 2, "amount") in problems
    assert db.scalar(select(func.count()).select_from(Deal)) == 0


def test_a_zip_that_climbs_out_of_its_folder_is_refused(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    response = client.post(
        "/api/v1/imports",
        headers={"X-CSRF-Token": token},
        files=[("files", ("evil.zip", zipped({"../evil.csv": "x"}, folder=""), "application/zip"))],
    )
    assert response.status_code == 422
    assert "unsafe path" in response.json()["error"]["message"]


def test_the_command_prints_json_and_fails_on_problems(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    folder = tmp_path / "in"
    folder.mkdir()
    for name, content in VALID.items():
        (folder / name).write_text(content)
    good = CliRunner().invoke(cli, ["import", str(folder), "--json"])
    assert good.exit_code == 0, good.output
    (folder / "deals.csv").write_text(VALID["deals.csv"].replace("won", "wonn"))
    bad = CliRunner().invoke(cli, ["import", str(folder), "--json"])
    get_settings.cache_clear()
    assert bad.exit_code == 1
    assert '"reason": "unknown value: use open, won, lost"' in bad.output
