"""``touchline coaching due``: who a manager should see first, from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from touchline.auth import service as users
from touchline.auth.policy import actor_for
from touchline.coaching.access import today
from touchline.coaching.cadence import due_list
from touchline.coaching.tables import due_table
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.errors import DomainError
from touchline.web.exports import table_csv

coaching_app = typer.Typer(help="Coaching: conversations due and overdue.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@coaching_app.command("due")
def due_command(
    manager: Annotated[str, typer.Option("--manager", help="E-mail of the manager (or leader)")],
    everyone: Annotated[
        bool,
        typer.Option("--everyone", help="Every seller they may coach, not only direct reports"),
    ] = False,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table")] = False,
) -> None:
    """List the sellers whose conversation is due or overdue, the ones to see first first."""
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            try:
                user = users.get_by_email(session, manager)
            except DomainError as error:
                errors.print(f"[red]--manager: {error.message}[/]")
                raise typer.Exit(2) from None
            states = due_list(session, actor=actor_for(session, user), everyone=everyone)
            if csv:
                typer.echo(table_csv(due_table(states)), nl=False)
                return
            day = today()
            table = Table(title=f"Coaching due for {user.name or user.email}")
            for heading in ("seller", "state", "due", "last held", "why"):
                table.add_column(heading)
            for state in states:
                reasons = []
                if state.off_track:
                    reasons.append("off track: " + ", ".join(state.off_track))
                if state.falling:
                    reasons.append("falling: " + ", ".join(state.falling))
                if state.overdue_actions:
                    reasons.append(f"{state.overdue_actions} action items overdue")
                table.add_row(
                    f"{state.seller.name} ({state.seller.external_id})",
                    state.state(day),
                    state.due_on.isoformat(),
                    state.last_held_on.isoformat() if state.last_held_on else "-",
                    "; ".join(reasons) or "-",
                )
            console.print(table)
    finally:
        engine.dispose()
