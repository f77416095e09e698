"""Imports from the web page and the API: dry run, confirmation, history, refusals."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import sign_in
from tests.crm.conftest import VALID
from tests.datasets import MAPPINGS, dataset
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
    (problem,) = response.json()["problems"]
    assert problem["file"] == "evil.zip"
    assert "unsafe path" in problem["reason"]


FEWER_DEALS = "\n".join(VALID["deals.csv"].splitlines()[:2]) + "\n"  # D2 and D3 are gone


def test_the_dry_run_page_shows_what_prune_will_delete_before_confirming(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    files = [("files", ("export.zip", zipped(ORG_FREE), "application/zip"))]
    first = client.post("/admin/imports", data={"csrf_token": token}, files=files)
    upload_token = re.search(r'name="token" value="([^"]+)"', first.text).group(1)
    client.post("/admin/imports/confirm", data={"csrf_token": token, "token": upload_token})
    fewer = [("files", ("deals.csv", FEWER_DEALS, "text/csv"))]
    page = client.post("/admin/imports", data={"csrf_token": token, "prune": "true"}, files=fewer)
    assert page.status_code == 200, page.text[-500:]
    preview = page.text.split('id="prune-candidates"', 1)[1].split("</table>", 1)[0]
    assert re.search(r"<td>deals.csv</td><td>deals</td><td>2</td>\s*<td>D2, D3</td>", preview)
    assert db.scalar(select(func.count()).select_from(Deal)) == 3  # nothing deleted yet
    upload_token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/admin/imports/confirm",
        data={"csrf_token": token, "token": upload_token, "prune": "true"},
    )
    assert done.status_code == 200
    assert db.scalar(select(func.count()).select_from(Deal)) == 1


def test_an_api_dry_run_with_prune_returns_the_ids_it_would_delete(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    headers = {"X-CSRF-Token": token}
    everything = [("files", ("export.zip", zipped(ORG_FREE), "application/zip"))]
    assert client.post("/api/v1/imports", headers=headers, files=everything).status_code == 200
    response = client.post(
        "/api/v1/imports",
        headers=headers,
        files=[("files", ("deals.csv", FEWER_DEALS, "text/csv"))],
        data={"format": "interchange", "dry_run": "true", "prune": "true"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["prune_candidates"] == {
        "deals": {"target": "deals", "files": ["deals.csv"], "count": 2, "first_ids": ["D2", "D3"]}
    }
    (deals,) = report["counts"]
    assert (deals["unchanged"], deals["pruned"]) == (1, 2)
    assert db.scalar(select(func.count()).select_from(Deal)) == 3


def test_the_history_shows_dry_runs_and_failed_imports_too(client, db):
    make_org(db)
    token = sign_in(client, "admin@example.com", PASSWORD)
    good = [("files", ("export.zip", zipped(ORG_FREE), "application/zip"))]
    bad = [("files", ("broken.csv", VALID["deals.csv"].replace("100.50", "lots"), "text/csv"))]
    client.post("/admin/imports", data={"csrf_token": token}, files=good)  # a dry run
    failed = client.post("/api/v1/imports", headers={"X-CSRF-Token": token}, files=bad)
    assert failed.status_code == 422
    assert db.scalar(select(func.count()).select_from(Deal)) == 0
    page = client.get("/admin/imports").text
    history = page.split('id="import-history"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="import-(\w+)( import-dry-run)?">(.*?)</tr>', history, re.S)
    assert [(status, bool(dry)) for status, dry, _cells in rows] == [
        ("failed", False),
        ("succeeded", True),
    ]
    refused, trial = (re.findall(r"<td>(.*?)</td>", cells, re.S) for _s, _d, cells in rows)
    assert refused[1:6] == ["admin@example.com", "broken.csv", "", "Refused: nothing written", "1"]
    assert trial[1:6] == [
        "admin@example.com",
        "export.zip",
        "Touchline interchange format",
        "Dry run, no problems",
        "0",
    ]
    listed = client.get("/api/v1/imports").json()
    assert [(run["status"], run["dry_run"], run["problems"]) for run in listed] == [
        ("failed", False, 1),
        ("succeeded", True, 0),
    ]


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


def test_the_command_summary_tells_folded_and_looked_up_rows(tmp_path, monkeypatch):
    folder = dataset("crm-sales-opportunities")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    mapping = MAPPINGS / "crm-sales-opportunities.toml"
    done = CliRunner().invoke(cli, ["import", str(folder), "--mapping", str(mapping), "--dry-run"])
    get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert "sales_teams.csv: folded 95 rows that repeat a row of units already read" in done.output
    assert "products.csv: 7 rows read only to look up deals.amount; 7 matched" in done.output
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("content", "line", "column"),
    [
        (b"", 1, "deal_id"),
        (
            VALID["deals.csv"].encode() + "D9,A1,S2,2026-01-02,,open,1,Ø\n".encode("latin-1"),
            5,
            "stage",
        ),
        (VALID["deals.csv"].replace("2026-02-01", "01/02/2026").encode(), 2, "close_date"),
    ],
)
def test_the_command_locates_a_broken_file_without_a_traceback(
    tmp_path, monkeypatch, content, line, column
):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "deals.csv").write_bytes(content)
    done = CliRunner().invoke(cli, ["import", str(folder), "--format", "interchange", "--json"])
    get_settings.cache_clear()
    assert done.exit_code == 1
    assert done.exception is None or isinstance(done.exception, SystemExit)
    report = json.loads(done.output)
    assert ("deals.csv", line, column) in {
        (p["file"], p["line"], p["column"]) for p in report["problems"]
    }
