"""The ``touchline analytics`` commands: run the analyses of a period and store them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from touchline.analytics.registry import registered, run_analytics
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.kpis.service import current_quarter
from touchline.org.periods import PeriodError, parse_period

analytics_app = typer.Typer(
    help="Analytics: fair comparison, success behaviours, training plan, warnings.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)


@analytics_app.command("run")
def run_command(
    period: Annotated[
        str | None, typer.Option(help="The period to analyse (default: the running quarter)")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only this analysis; repeat for more")
    ] = None,
) -> None:
    """Run the analyses of one period and store their results for the pages and the API."""
    try:
        chosen = (
            parse_period(period, fiscal_start_month=get_settings().fiscal_year_start_month)
            if period
            else current_quarter()
        )
    except PeriodError as error:
        errors.print(f"[red]--period: {error}[/]")
        raise typer.Exit(2) from None
    known = {item.key for item in registered()}
    unknown = sorted(set(only or []) - known)
    if unknown:
        errors.print(
            f"[red]--only: no analysis {', '.join(unknown)}; "
            f"there are {', '.join(sorted(known))}.[/]"
        )
        raise typer.Exit(2)
    wanted = set(only) if only else None
    engine = make_engine(get_settings().database_url)
    try:
        with (
            transaction(make_sessionmaker(engine)) as session,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
            ) as progress,
        ):
            total = len(wanted) if wanted else len(known)
            task = progress.add_task(f"analysing {chosen.label}", total=total)

            def step(key: str) -> None:
                progress.update(task, description=f"analysed {key}")
                progress.advance(task)

            summaries = run_analytics(session, chosen, only=wanted, progress=step)
    finally:
        engine.dispose()
    table = Table(title=f"Analytics of {chosen.label}")
    table.add_column("analysis")
    table.add_column("seconds", justify="right")
    for summary in summaries:
        table.add_row(summary.key, f"{summary.seconds:.2f}")
    console.print(table)
