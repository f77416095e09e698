"""The command line: set-up, users, backups, serving checks and the demo."""

from __future__ import annotations

import sqlite3

import pytest
import typer
from fastapi.testclient import TestClient
from typer.main import get_command
from typer.testing import CliRunner

from tests.factories import make_org
from touchline.app import create_app
from touchline.cli import app
from touchline.config import Settings, get_settings
from touchline.db import make_engine, make_sessionmaker

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch):
    """A SQLite file for the command to use, through TOUCHLINE_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*arguments: str, input: str | None = None):
    return runner.invoke(app, list(arguments), input=input)


def test_init_creates_the_schema_and_one_first_admin(database):
    first = run("init", "--admin-email", "boss@example.com", "--password", "a-good-password")
    assert first.exit_code == 0, first.output
    assert "boss@example.com" in first.output
    again = run("init", "--admin-email", "other@example.com", "--password", "a-good-password")
    assert "no admin was added" in again.output
    listing = run("user", "list")
    assert "boss@example.com" in listing.output
    assert "other@example.com" not in listing.output


def test_users_are_added_refused_changed_and_given_tokens(database):
    run("db", "upgrade")
    with make_sessionmaker(make_engine(database))() as session:
        make_org(session)
    added = run(
        "user",
        "add",
        "new@example.com",
        "--role",
        "seller",
        "--seller",
        "C1",
        "--password",
        "a-good-password",
    )
    assert added.exit_code == 0, added.output
    for arguments, words in (
        (
            ("user", "add", "x@example.com", "--role", "boss", "--password", "pw-long-enough"),
            "Unknown role",
        ),
        (
            (
                "user",
                "add",
                "y@example.com",
                "--role",
                "seller",
                "--seller",
                "NOPE",
                "--password",
                "pw-long-enough",
            ),
            "No seller with the external id",
        ),
        (
            ("user", "add", "new@example.com", "--role", "admin", "--password", "pw-long-enough"),
            "already exists",
        ),
    ):
        refused = run(*arguments)
        assert refused.exit_code == 1
        assert words in refused.output
    assert "x@example.com" not in run("user", "list").output
    assert run("user", "passwd", "new@example.com", "--password", "another-password").exit_code == 0
    token = run("user", "token", "new@example.com").output.strip().splitlines()[-1]
    client = TestClient(create_app(Settings(database_url=database)))
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "new@example.com"


def test_backup_copies_a_consistent_database_even_while_someone_writes(database, tmp_path):
    run("init", "--password", "a-good-password")
    writer = sqlite3.connect(database.removeprefix("sqlite:///"))
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO instance_settings (key, value) VALUES ('pending', 'x')")
    copy = tmp_path / "copy.db"
    result = run("db", "backup", str(copy))
    writer.rollback()
    writer.close()
    assert result.exit_code == 0, result.output
    with sqlite3.connect(copy) as restored:
        assert restored.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert restored.execute(
            "SELECT count(*) FROM instance_settings WHERE key='pending'"
        ).fetchone() == (0,)
    assert run("db", "backup", str(copy)).exit_code == 1


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch):
    monkeypatch.setenv("TOUCHLINE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1/none")
    get_settings.cache_clear()
    result = run("db", "backup", "never.db")
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "pg_dump" in result.output


def test_serve_refuses_an_unmigrated_database_and_says_how_to_fix_it(database):
    result = run("serve", "--port", "1")
    assert result.exit_code == 1
    assert "touchline db upgrade" in result.output
    assert run("db", "upgrade").exit_code == 0
    assert "needed: " in run("db", "current").output


def test_the_demo_builds_once_rebuilds_on_request_and_never_touches_real_data(database):
    built = run("demo", "--no-serve")
    assert built.exit_code == 0, built.output
    for role in ("admin", "leader", "manager", "seller"):
        assert role in built.output
    again = run("demo", "--no-serve")
    assert "already in the database" in again.output
    assert run("demo", "--no-serve", "--reset").exit_code == 0


def test_the_demo_refuses_a_database_with_real_data(database):
    run("init", "--password", "a-good-password")
    refused = run("demo", "--no-serve")
    assert refused.exit_code == 1
    assert "real data" in refused.output


def commands(group: typer.Typer, prefix: tuple[str, ...] = ()):
    click_group = get_command(group)
    stack = [(prefix, click_group)]
    while stack:
        path, command = stack.pop()
        yield path
        for name, child in getattr(command, "commands", {}).items():
            stack.append(((*path, name), child))


def test_every_command_answers_help():
    paths = list(commands(app))
    assert ("import",) in paths
    assert ("user", "token") in paths
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
