"""The ``touchline`` command: one sub-command group per domain, each with ``--help``."""

from __future__ import annotations

import logging.config
import sqlite3
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

import touchline.models  # noqa: F401 (every table, and every domain's KPI providers)
from touchline.analytics.cli import analytics_app
from touchline.auth import service as users
from touchline.auth.policy import SYSTEM
from touchline.coaching.cli import coaching_app
from touchline.config import get_settings
from touchline.crm.cli import import_command
from touchline.db import is_sqlite, make_engine, make_sessionmaker, transaction
from touchline.errors import DomainError
from touchline.kpis.cli import compute_command, report_app
from touchline.logs import log_config
from touchline.migrations import current_revision, head_revision, upgrade
from touchline.org.models import Seller
from touchline.ratings.cli import ratings_app

if TYPE_CHECKING:
    from collections.abc import Sequence

    from touchline.demo.flows import DemoLogin

app = typer.Typer(
    help="Touchline: sales performance management. Judge how results are reached.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Migrate and back up the database.", no_args_is_help=True)
user_app = typer.Typer(help="Add users, set passwords, issue API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("import")(import_command)
app.command("compute")(compute_command)
app.add_typer(report_app, name="report")
app.add_typer(user_app, name="user")
app.add_typer(ratings_app, name="ratings")
app.add_typer(coaching_app, name="coaching")
app.add_typer(analytics_app, name="analytics")
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr and return the exit to raise."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _engine() -> Engine:
    return make_engine(get_settings().database_url)


def _migrate_with_message(engine: Engine) -> None:
    before = current_revision(engine)
    head = head_revision()
    if before == head:
        console.print(f"Database is up to date (revision {head}).")
        return
    upgrade(engine)
    console.print(f"Database migrated from {before or 'empty'} to revision {head}.")


@app.command()
def init(
    admin_email: Annotated[
        str, typer.Option("--admin-email", help="E-mail of the first admin")
    ] = "admin@localhost.localdomain",
    password: Annotated[
        str | None, typer.Option(help="Password of the first admin (asked when left out)")
    ] = None,
) -> None:
    """Create the database tables and the first admin."""
    engine = _engine()
    _migrate_with_message(engine)
    with transaction(make_sessionmaker(engine)) as session:
        if users.any_user(session):
            console.print("Users exist already; no admin was added.")
            return
        if password is None:
            password = typer.prompt(
                f"Password for {admin_email}", hide_input=True, confirmation_prompt=True
            )
        try:
            users.create(session, actor=SYSTEM, email=admin_email, role="admin", password=password)
        except DomainError as error:
            raise fail(error.message) from None
    console.print(f"Admin [bold]{admin_email}[/] created. Start the server with `touchline serve`.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL for more than 1)")] = 1,
) -> None:
    """Serve the web application and the API."""
    settings = get_settings()
    engine = _engine()
    revision = current_revision(engine)
    if revision != head_revision():
        if settings.is_default_sqlite:
            _migrate_with_message(engine)
        elif revision is None:
            raise fail(
                f"The database at {make_url(settings.database_url).render_as_string()} has no "
                "Touchline tables. Run `touchline db upgrade` (or `touchline init`), then serve."
            )
        else:
            raise fail(
                f"The database is at revision {revision}; this Touchline needs "
                f"{head_revision()}. Back it up, run `touchline db upgrade`, then serve."
            )
    if workers > 1 and is_sqlite(engine):
        errors.print(
            "[yellow]note:[/] several workers share one SQLite file; writes wait for each "
            "other. Use PostgreSQL (TOUCHLINE_DATABASE_URL) for real concurrency."
        )
    engine.dispose()
    import uvicorn

    console.print(f"Touchline serves at [bold]http://{host}:{port}[/] (Ctrl+C stops it).")
    uvicorn.run(
        "touchline.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(settings.log_level),
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest revision."""
    _migrate_with_message(_engine())


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and the one this Touchline needs."""
    revision = current_revision(_engine())
    console.print(f"database: {revision or 'empty'}; needed: {head_revision()}")


@db_app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="File to write the copy to (must not exist)")],
) -> None:
    """Make a consistent copy of the database, also while the server runs."""
    settings = get_settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise fail(
            "Backups of PostgreSQL are made with its own tool while the server runs, e.g. "
            "`pg_dump --format=custom --file=touchline.dump DBNAME`; restore with pg_restore."
        )
    source_path = url.database
    if not source_path or source_path == ":memory:":
        raise fail("An in-memory database cannot be backed up.")
    if not Path(source_path).exists():
        raise fail(f"There is no database file at {source_path}.")
    if path.exists():
        raise fail(f"{path} exists already; give a new file name.")
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(path)
    try:
        with Progress(
            TextColumn("backing up"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("backup", total=None)

            def report(_status: int, remaining: int, total: int) -> None:
                progress.update(task, total=total, completed=total - remaining)

            # Copies in steps, so a running server is never blocked for long.
            source.backup(target, pages=256, progress=report)
    finally:
        target.close()
        source.close()
    console.print(f"Copied {source_path} to {path}.")


def _session() -> AbstractContextManager[Session]:
    return transaction(make_sessionmaker(_engine()))


def _ask_password(email: str, password: str | None) -> str:
    if password is not None:
        return password
    return str(typer.prompt(f"Password for {email}", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login)")],
    role: Annotated[str, typer.Option(help="seller, manager, leader or admin")],
    seller: Annotated[
        str | None, typer.Option(help="External id of the seller this user is")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password: Annotated[str | None, typer.Option(help="Password (asked when left out)")] = None,
) -> None:
    """Add a user with a role, optionally linked to a seller."""
    try:
        with _session() as session:
            user = users.create(
                session,
                actor=SYSTEM,
                email=email,
                role=role,
                name=name,
                password=_ask_password(email, password),
                seller_external_id=seller,
            )
            console.print(f"User [bold]{user.email}[/] added as {user.role}.")
    except DomainError as error:
        raise fail(error.message) from None


@user_app.command("passwd")
def user_passwd(
    email: Annotated[str, typer.Argument(help="The user's e-mail address")],
    password: Annotated[str | None, typer.Option(help="New password (asked when left out)")] = None,
) -> None:
    """Set a user's password; their open sessions end."""
    try:
        with _session() as session:
            user = users.get_by_email(session, email)
            users.set_password(
                session, actor=SYSTEM, user=user, password=_ask_password(email, password)
            )
    except DomainError as error:
        raise fail(error.message) from None
    console.print(f"Password of {email} changed.")


@user_app.command("token")
def user_token(
    email: Annotated[str, typer.Argument(help="The user's e-mail address")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Print a new API token for a user (shown once; only its digest is stored)."""
    try:
        with _session() as session:
            user = users.get_by_email(session, email)
            token = users.issue_token(session, actor=SYSTEM, user=user, name=name)
    except DomainError as error:
        raise fail(error.message) from None
    # The bare token on stdout, so scripts can capture it.
    print(token)


@user_app.command("list")
def user_list() -> None:
    """List the users, their roles and linked sellers."""
    with _session() as session:
        rows = users.list_users(session, actor=SYSTEM)
        # The seller's external id, the one `user add --seller` takes, not the row id.
        external_ids = dict(session.execute(select(Seller.id, Seller.external_id)).all())
        # E-mails are logins: kept on one line; the other columns fold, never cut short.
        table = Table(
            Column("e-mail", no_wrap=True),
            *(Column(heading, overflow="fold") for heading in ("name", "role", "seller", "active")),
        )
        for user in rows:
            seller = external_ids.get(user.seller_id, "–") if user.seller_id else "–"
            table.add_row(user.email, user.name, user.role, seller, str(user.active))
    console.print(table)


def _print_logins(logins: Sequence[DemoLogin]) -> None:
    """Print the demo logins so that every e-mail and password can be copied whole.

    A table when the terminal is wide enough to keep them on one line each; in a
    narrower one, one plain line per login that the terminal itself wraps.
    """
    headings = ("role", "e-mail", "password", "who")
    rows = [(login.role.value, login.email, login.password, login.who) for login in logins]
    widest = [max(len(row[column]) for row in [headings, *rows]) for column in range(3)]
    # Three columns at their widest, "who" at eight, and the table's 13 border cells.
    if console.width < sum(widest) + 8 + 13:
        console.print("Demo logins (role, e-mail, password, who):", highlight=False)
        for row in rows:
            console.print("  ".join(row), highlight=False, soft_wrap=True)
        return
    table = Table(title="Demo logins")
    for heading in headings:
        table.add_column(heading, no_wrap=heading in ("e-mail", "password"), overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server afterwards")
    ] = True,
    size: Annotated[
        str, typer.Option(help="small (~120 sellers), medium (~500) or large (~2,000)")
    ] = "small",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same company")] = 7,
    reset: Annotated[
        bool, typer.Option(help="Replace an earlier demo company in the database")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Build the demo company (with users for every role) and serve it."""
    from touchline.demo import flows

    if size not in ("small", "medium", "large"):
        raise fail(f"unknown size {size!r}: use small, medium or large")

    engine = _engine()
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        empty, is_demo = flows.is_empty(session), flows.is_demo(session)
    if not empty and not is_demo:
        raise fail(
            "This database holds real data; the demo will not touch it. Point "
            "TOUCHLINE_DATABASE_URL at another database for the demo."
        )
    if not empty and reset:
        console.print("Removing the earlier demo company.")
        flows.wipe(engine)
        upgrade(engine)
        empty = True
    with transaction(factory) as session:
        if empty:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rows]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("building the demo company", total=None, rows="")

                def report(label: str, rows: int) -> None:
                    progress.update(task, description=label, rows=f"{rows:,} rows")

                logins = flows.build(session, size=size, seed=seed, progress=report)
        else:
            console.print("The demo company is already in the database (--reset rebuilds it).")
            with console.status("bringing the demo company up to date"):
                added = flows.bring_up_to_date(session)
            if added:
                console.print("Added for this release: " + ", ".join(added) + ".")
            logins = flows.demo_logins(session)
    _print_logins(logins)
    console.print("Every seller and manager can sign in with their role's password, by the e-mail")
    console.print("on their seller page. docs/demo-company.md tells what the data holds.")
    engine.dispose()
    if serve_after:
        serve(host=host, port=port, workers=1)


def _not_migrated() -> str | None:
    """Say what is wrong when the database is not at this Touchline's revision, else None."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    if revision == head_revision():
        return None
    where = make_url(settings.database_url).render_as_string()
    if revision is None:
        return (
            f"The database at {where} has no Touchline tables. "
            "Run `touchline db upgrade` (or `touchline init`) first."
        )
    return (
        f"The database at {where} is at revision {revision}; this Touchline needs "
        f"{head_revision()}. Back it up, then run `touchline db upgrade`."
    )


def main() -> None:
    """Entry point of the console script."""
    logging.config.dictConfig(log_config(get_settings().log_level))
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (OperationalError, ProgrammingError):
        # A command met a missing table or column: say so when migrations are the cause.
        message = _not_migrated()
        if message is None:
            raise
        errors.print(f"[red]{message}[/]")
        sys.exit(1)
