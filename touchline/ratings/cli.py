"""The ``touchline ratings`` commands: jobs to run on a schedule."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from touchline.auth.policy import SYSTEM
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.kpis.compute import company_today
from touchline.ratings.rounds import close_rounds_due

ratings_app = typer.Typer(help="Rating rounds and surveys: scheduled jobs.", no_args_is_help=True)
console = Console()


@ratings_app.command("close-due")
def close_due(
    today: Annotated[
        str | None, typer.Option(help="Close the rounds due before this day (default: today)")
    ] = None,
) -> None:
    """Close every open rating round past its due date: what was submitted is revealed.

    Run it nightly (cron, a systemd timer); closing reveals one-sided ratings too, as
    closing a round by hand does.
    """
    try:
        day = date.fromisoformat(today) if today else company_today()
    except ValueError:
        console.print(f"[red]--today: {today!r} is not a date: write 2026-12-31.[/]")
        raise typer.Exit(2) from None
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            closed = close_rounds_due(session, actor=SYSTEM, today=day)
            names = [f"{item.name} ({item.period})" for item in closed]
    finally:
        engine.dispose()
    if names:
        console.print(f"Closed {len(names)} rating rounds: " + ", ".join(names))
    else:
        console.print("No rating round is past its due date.")
