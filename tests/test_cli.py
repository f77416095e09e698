"""The command line: set-up, users, tokens, migrations, backups, serving checks and the demo.

Every test points TOUCHLINE_DATABASE_URL at its own SQLite file and runs the commands
through Typer's test runner, as a person would type them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from typer.main import get_command
from typer.testing import CliRunner

from tests.factories import make_org
from touchline.app import create_app
from touchline.auth.models import Role, User
from touchline.auth.passwords import verify_password
from touchline.cli import app
from touchline.config import Settings, get_settings
from touchline.db import make_engine, make_sessionmaker
from touchline.demo.flows import DEMO_PASSWORDS
from touchline.kpis.models import ComputedPeriod, KpiValue
from touchline.migrations import current_revision, head_revision
from touchline.org.models import Seller, Unit

runner = CliRunner()
GOOD_PASSWORD = "a-good-password"


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any command that would start a real server fail the test instead of hanging."""
    import uvicorn

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the command started a server")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a SQLite file (not yet created) that the commands use."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def company(database: str) -> str:
    """The migrated database holding the factories' small company (see tests/factories.py)."""
    assert run("db", "upgrade").exit_code == 0
    engine = make_engine(database)
    with make_sessionmaker(engine)() as session:
        make_org(session)
    engine.dispose()
    return database


def run(*arguments: str) -> Result:
    return runner.invoke(app, list(arguments))


def said(result: Result) -> str:
    """Everything the command printed (stdout and stderr), line breaks made into spaces."""
    return " ".join(result.output.split())


def users_in(url: str) -> dict[str, User]:
    """Every stored user by e-mail address."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = {user.email: user for user in session.scalars(select(User))}
    engine.dispose()
    return rows


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        number = session.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return int(number or 0)


def revision_of(url: str) -> str | None:
    engine = make_engine(url)
    revision = current_revision(engine)
    engine.dispose()
    return revision


def test_init_creates_the_schema_and_one_first_admin(database):
    first = run("init", "--admin-email", "boss@example.com", "--password", GOOD_PASSWORD)
    assert first.exit_code == 0, first.output
    assert "Admin boss@example.com created" in said(first)
    assert revision_of(database) == head_revision()

    again = run("init", "--admin-email", "other@example.com", "--password", GOOD_PASSWORD)
    assert again.exit_code == 0, again.output
    assert "no admin was added" in said(again)
    stored = users_in(database)
    assert list(stored) == ["boss@example.com"]
    assert stored["boss@example.com"].role == Role.ADMIN
    assert verify_password(stored["boss@example.com"].password_hash, GOOD_PASSWORD)


def test_a_user_is_added_with_a_role_and_their_seller(company):
    command = "user add carla@example.com --role seller --seller C1 --name Carla --password"
    added = run(*command.split(), GOOD_PASSWORD)
    assert added.exit_code == 0, added.output
    assert "carla@example.com added as seller" in said(added)
    listing = run("user", "list")
    assert listing.exit_code == 0, listing.output
    line = next(line for line in listing.output.splitlines() if "carla@example.com" in line)
    # The seller column shows the external id that `user add --seller` takes.
    assert [cell.strip() for cell in line.split("│")[1:6]] == [
        "carla@example.com",
        "Carla",
        "seller",
        "C1",
        "True",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("x@example.com", "--role", "boss"),
            "Unknown role 'boss': use one of seller, manager, leader, admin.",
        ),
        (
            ("y@example.com", "--role", "seller", "--seller", "NOPE"),
            "No seller with the external id 'NOPE'.",
        ),
        (
            ("MANAGER@example.com", "--role", "admin"),
            "A user with the e-mail address manager@example.com already exists.",
        ),
        (("not-an-address", "--role", "seller"), "'not-an-address' is not an e-mail address."),
    ],
    ids=["unknown role", "unknown seller", "duplicate e-mail", "not an e-mail"],
)
def test_a_refused_user_says_why_and_stores_nothing(company, arguments, message):
    before = users_in(company)
    refused = run("user", "add", *arguments, "--password", GOOD_PASSWORD)
    assert refused.exit_code != 0
    assert message in said(refused)
    after = users_in(company)
    assert sorted(after) == sorted(before)
    assert after["manager@example.com"].role == Role.MANAGER


def test_passwd_changes_the_password(company):
    changed = run("user", "passwd", "seller@example.com", "--password", "another-password")
    assert changed.exit_code == 0, changed.output
    stored = users_in(company)["seller@example.com"]
    assert verify_password(stored.password_hash, "another-password")

    unknown = run("user", "passwd", "nobody@example.com", "--password", "another-password")
    assert unknown.exit_code != 0
    assert "No user with the e-mail address 'nobody@example.com'." in said(unknown)


def test_a_printed_token_signs_the_user_in_to_the_api(company):
    issued = run("user", "token", "manager@example.com")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert len(token.split()) == 1, "stdout carries the bare token, for scripts"

    with TestClient(create_app(Settings(database_url=company))) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "manager@example.com"
        forged = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
        assert forged.status_code == 401


def test_db_upgrade_migrates_an_empty_database_once(database):
    migrated = run("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    assert f"migrated from empty to revision {head_revision()}" in said(migrated)
    assert revision_of(database) == head_revision()
    again = run("db", "upgrade")
    assert "up to date" in said(again)
    current = run("db", "current")
    assert current.exit_code == 0, current.output
    assert said(current) == f"database: {head_revision()}; needed: {head_revision()}"


def test_db_current_on_an_empty_database_says_so(database):
    current = run("db", "current")
    assert said(current) == f"database: empty; needed: {head_revision()}"


def test_backup_copies_the_database_and_never_overwrites(company, tmp_path):
    copy = tmp_path / "copy.db"
    backed_up = run("db", "backup", str(copy))
    assert backed_up.exit_code == 0, backed_up.output
    copy_url = f"sqlite:///{copy}"
    assert sorted(users_in(copy_url)) == sorted(users_in(company))
    assert revision_of(copy_url) == head_revision()

    size = copy.stat().st_size
    refused = run("db", "backup", str(copy))
    assert refused.exit_code != 0
    assert "exists already" in said(refused)
    assert copy.stat().st_size == size


def test_a_backup_taken_during_an_open_write_transaction_is_consistent(database, tmp_path):
    assert run("init", "--password", GOOD_PASSWORD).exit_code == 0
    writer = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    # About 2 MB committed (so the copy takes several steps), held in the write-ahead log.
    writer.execute("BEGIN")
    writer.executemany(
        "INSERT INTO instance_settings (key, value) VALUES (?, ?)",
        [(f"committed-{number}", "x" * 4000) for number in range(500)],
    )
    writer.execute("COMMIT")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO instance_settings (key, value) VALUES ('pending', 'x')")
    writer.execute("DELETE FROM instance_settings WHERE key = 'committed-0'")
    copy = tmp_path / "copy.db"
    try:
        result = run("db", "backup", str(copy))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.exit_code == 0, result.output
    restored = sqlite3.connect(copy)
    try:
        assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert restored.execute("SELECT count(*) FROM users").fetchone() == (1,)
        keys = {key for (key,) in restored.execute("SELECT key FROM instance_settings")}
    finally:
        restored.close()
    assert {f"committed-{number}" for number in range(500)} <= keys
    assert "pending" not in keys


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch, tmp_path):
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1/none")
    get_settings.cache_clear()
    try:
        result = run("db", "backup", str(tmp_path / "never.db"))
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "pg_dump" in said(result)
    assert not (tmp_path / "never.db").exists()


def test_serve_refuses_an_unmigrated_database_and_says_how_to_fix_it(database):
    result = run("serve", "--port", "8765")
    assert result.exit_code != 0
    assert "has no Touchline tables. Run `touchline db upgrade`" in said(result)
    assert revision_of(database) is None, "serve must not migrate a database it was pointed at"


def test_the_demo_builds_the_company_once_and_rebuilds_on_request(database):
    built = run("demo", "--no-serve")
    assert built.exit_code == 0, built.output
    assert count(database, Unit) == 16
    assert count(database, Seller) == 124
    stored = users_in(database)
    assert {user.role for user in stored.values()} == set(Role)
    assert len(stored) == 125, "a user for each seller, and the admin"
    for role, password in DEMO_PASSWORDS.items():
        assert f"{role.value} " in built.output
        assert password in built.output
    assert "admin@nordlys.example" in built.output

    again = run("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "already in the database" in said(again)
    assert all(password in again.output for password in DEMO_PASSWORDS.values())
    assert count(database, Seller) == 124
    assert "Added for this release" not in said(again)
    computed = count(database, ComputedPeriod)
    assert computed > 0

    # An upgrade that rebuilds the stored values leaves no period computed: the demo
    # command computes them again.
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(delete(KpiValue))
        connection.execute(delete(ComputedPeriod))
    engine.dispose()
    refreshed = run("demo", "--no-serve")
    assert refreshed.exit_code == 0, refreshed.output
    assert "Added for this release: KPI values, analytics." in said(refreshed)
    assert count(database, ComputedPeriod) == computed
    assert count(database, KpiValue) > 0

    extra = run("user", "add", "extra@example.com", "--role", "admin", "--password", GOOD_PASSWORD)
    assert extra.exit_code == 0, extra.output
    assert "extra@example.com" in users_in(database)
    rebuilt = run("demo", "--no-serve", "--reset")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Removing the earlier demo company" in said(rebuilt)
    assert "extra@example.com" not in users_in(database)
    assert count(database, Unit) == 16
    assert count(database, Seller) == 124


def test_the_demo_refuses_a_database_with_real_data(database):
    assert run("init", "--password", GOOD_PASSWORD).exit_code == 0
    for arguments in (("demo", "--no-serve"), ("demo", "--no-serve", "--reset")):
        refused = run(*arguments)
        assert refused.exit_code != 0
        assert "This database holds real data; the demo will not touch it." in said(refused)
    assert list(users_in(database)) == ["admin@localhost.localdomain"]
    assert count(database, Unit) == 0


def command_paths(group: typer.Typer) -> list[tuple[str, ...]]:
    """Every command and sub-command of ``group``, as the words that call it."""
    paths: list[tuple[str, ...]] = []
    stack: list[tuple[tuple[str, ...], object]] = [((), get_command(group))]
    while stack:
        path, command = stack.pop()
        paths.append(path)
        for name, child in getattr(command, "commands", {}).items():
            stack.append(((*path, name), child))
    return sorted(paths)


def test_every_command_and_sub_command_answers_help():
    paths = command_paths(app)
    for known in [
        ("init",),
        ("serve",),
        ("demo",),
        ("import",),
        ("db", "backup"),
        ("user", "token"),
    ]:
        assert known in paths
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_compute_and_report_give_the_reference_workload(database, tmp_path):
    from tests.crm.conftest import VALID, write_folder

    assert run("db", "upgrade").exit_code == 0
    imported = run("import", str(write_folder(tmp_path / "crm", VALID)))
    assert imported.exit_code == 0, imported.output
    computed = run("compute", "--period", "2026-Q1", "--period", "2026-02")
    assert computed.exit_code == 0, computed.output
    assert "Computed 2 periods" in said(computed)
    assert count(database, ComputedPeriod) >= 2

    csv_text = run("report", "--period", "2026-Q1", "--format", "csv", "--kind", "company")
    assert csv_text.exit_code == 0, csv_text.output
    header, company = csv_text.output.strip().splitlines()
    row = dict(zip(header.split(","), company.split(","), strict=True))
    assert row["kind"] == "company"
    assert row["revenue_won"] == "100.50"  # exact to the cent
    assert row["deals_won"] == "1"
    assert row["win_rate"] == "0.5"
    # D1, created 2026-01-02, first touched by X1 at 2026-03-01T23:30Z: 58 days and 23.5 h.
    assert row["speed_to_first_touch_h"] == "1415.5"

    bad = run("report", "--period", "2026-Q5")
    assert bad.exit_code == 2
    assert "2026-Q5" in said(bad)
    nothing = run("compute")
    assert nothing.exit_code == 2
    assert "--period" in said(nothing)


def test_report_kpis_gives_every_catalogue_kpi_per_seller_unit_or_company(database, tmp_path):
    from tests.crm.conftest import VALID, write_folder

    assert run("db", "upgrade").exit_code == 0
    assert run("import", str(write_folder(tmp_path / "crm", VALID))).exit_code == 0
    stored = count(database, KpiValue)

    by_seller = run("report", "kpis", "--period", "2026-Q1", "--by", "seller", "--format", "csv")
    assert by_seller.exit_code == 0, by_seller.output
    lines = by_seller.output.strip().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["id", "name", "revenue_won"]
    assert {"objection_handling", "pulse_energy", "crm_training"} <= set(header)
    rows = {
        line.split(",")[0]: dict(zip(header, line.split(","), strict=True)) for line in lines[1:]
    }
    assert list(rows) == ["S0", "S1", "S2", "S3"]  # every seller, even without events
    assert rows["S2"]["revenue_won"] == "100.50"
    # Self 4.5 and manager 3, weighed 20 and 40 (no customer ratings).
    assert rows["S2"]["objection_handling"] == "3.5"
    assert rows["S3"]["win_rate"] == "0.0"
    assert rows["S0"]["win_rate"] == ""  # nothing closed: no value, not 0

    by_company = run("report", "kpis", "--period", "2026-Q1", "--by", "company", "--format", "json")
    assert by_company.exit_code == 0, by_company.output
    company = json.loads(by_company.output)["rows"]
    assert [(row["kind"], row["id"], row["name"]) for row in company] == [
        ("company", "company", "Company")
    ]
    assert company[0]["revenue_won"] == "100.50"
    # Computed afresh: the report stores nothing.
    assert count(database, KpiValue) == stored

    by_unit = run("report", "kpis", "--period", "2026-Q1", "--by", "unit")
    assert by_unit.exit_code == 0
    assert "R1" in by_unit.output
    assert "T1" in by_unit.output

    wrong = run("report", "kpis", "--period", "2026-Q1", "--by", "team")
    assert wrong.exit_code == 2
    assert "--by" in said(wrong)


def test_a_command_on_a_database_without_tables_says_to_migrate_it(
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from touchline.cli import main

    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "teams.csv").write_text("team_id,name,parent_team_id\nT1,Team One,\n")
    monkeypatch.setattr("sys.argv", ["touchline", "import", str(folder)])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    printed = " ".join(capsys.readouterr().err.split())
    assert "has no Touchline tables" in printed
    assert "touchline db upgrade" in printed
    assert "Traceback" not in printed
