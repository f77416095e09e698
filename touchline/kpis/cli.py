"""The ``touchline compute`` command and the ``touchline report`` group."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from touchline.auth.policy import SYSTEM
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.kpis import compute as computing
from touchline.kpis.metrics import REFERENCE_WORKLOAD
from touchline.kpis.report import ReportRow, kpi_report, workload_report
from touchline.org.periods import Period, PeriodError, parse_period

console = Console()
errors = Console(stderr=True)


def _period(label: str) -> Period:
    try:
        return parse_period(label, fiscal_start_month=get_settings().fiscal_year_start_month)
    except PeriodError as error:
        errors.print(f"[red]--period: {error}[/]")
        raise typer.Exit(2) from None


def compute_command(
    period: Annotated[
        list[str] | None,
        typer.Option(help="A period to compute (2026-Q1, 2026-03, FY2026); repeat for more"),
    ] = None,
    all_periods: Annotated[
        bool,
        typer.Option("--all", help="Every month, quarter and year from the first data to today"),
    ] = False,
) -> None:
    """Compute and store every KPI for every seller, unit and the company."""
    if not period and not all_periods:
        errors.print("[red]Say which periods: --period 2026-Q1 (repeatable) or --all.[/]")
        raise typer.Exit(2)
    wanted = [_period(label) for label in period or []]
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            if all_periods:
                span = computing.data_span(session)
                if span is None:
                    console.print("No deals or activities yet: nothing to compute.")
                    return
                first, last = span
                # The components the incremental refresh works from, afresh too.
                from touchline.kpis.components import rebuild_components

                rebuild_components(session)
                wanted += computing.periods_for(
                    first,
                    max(last, computing.company_today()),
                    fiscal_start_month=get_settings().fiscal_year_start_month,
                )
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
            ) as progress:
                task = progress.add_task("computing", total=len(wanted))

                def step(label: str) -> None:
                    progress.update(task, description=f"computed {label}")
                    progress.advance(task)

                results = computing.compute_periods(
                    session, wanted, trigger="compute", progress=step
                )
                total_values = sum(result.values for result in results)
    finally:
        engine.dispose()
    console.print(f"Computed {len(wanted)} periods: {total_values:,} values stored.")


def _csv(rows: list[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "id", "name", *REFERENCE_WORKLOAD])
    for row in rows:
        writer.writerow(
            [row.kind, row.external_id, row.name]
            + ["" if row.values[c] is None else str(row.values[c]) for c in REFERENCE_WORKLOAD]
        )
    return out.getvalue()


def _shown(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return f"{value:,}"


report_app = typer.Typer(
    help="Reports of a period: every KPI of the catalogue, or the reference workload.",
    invoke_without_command=True,
)


def _write(text: str, output: Path | None, rows: int) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {rows:,} rows to {output}.")


def _table_text(table: Table, output: Path | None) -> str | None:
    """Print a Rich table, or return its text when it goes to a file."""
    if output is None:
        Console(width=400).print(table)
        return None
    buffer = Console(file=io.StringIO(), width=400)
    buffer.print(table)
    return buffer.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def _rows_json(period: Period, rows: list[ReportRow]) -> str:
    return json.dumps(
        {
            "period": period.label,
            "start": str(period.start),
            "end": str(period.end),
            "rows": [
                {
                    "kind": row.kind,
                    "id": row.external_id,
                    "name": row.name,
                    # Decimals as strings: exact to the cent, as in the CSV.
                    **{
                        code: str(value) if isinstance(value, Decimal) else value
                        for code, value in row.values.items()
                    },
                }
                for row in rows
            ],
        },
        indent=1,
    )


def _check_format(format: str) -> None:
    if format not in ("table", "csv", "json"):
        errors.print(f"[red]--format: use table, csv or json, not {format!r}.[/]")
        raise typer.Exit(2)


@report_app.callback()
def report_callback(
    context: typer.Context,
    period: Annotated[
        str | None, typer.Option(help="With no sub-command: the reference workload's period")
    ] = None,
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
    kind: Annotated[str, typer.Option(help="Which rows: all, company, unit or seller")] = "all",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of the screen")
    ] = None,
) -> None:
    """Without a sub-command, ``touchline report --period P`` is ``report workload``."""
    if context.invoked_subcommand is not None:
        return
    if period is None:
        errors.print("[red]Say which period: touchline report kpis --period 2026-Q1 --by seller[/]")
        raise typer.Exit(2)
    workload_command(period=period, format=format, kind=kind, output=output)


@report_app.command("workload")
def workload_command(
    period: Annotated[str, typer.Option(help="The period: 2026-Q1, 2026-03 or FY2026")],
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
    kind: Annotated[str, typer.Option(help="Which rows: all, company, unit or seller")] = "all",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of the screen")
    ] = None,
) -> None:
    """Print the reference KPI workload for a period, computed exactly from the CRM data."""
    _check_format(format)
    if kind not in ("all", "company", "unit", "seller"):
        errors.print(f"[red]--kind: use all, company, unit or seller, not {kind!r}.[/]")
        raise typer.Exit(2)
    chosen = _period(period)
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            rows = workload_report(session, actor=SYSTEM, period=chosen)
    finally:
        engine.dispose()
    rows = [row for row in rows if kind in ("all", row.kind)]
    if format == "csv":
        text = _csv(rows)
    elif format == "json":
        text = _rows_json(chosen, rows)
    else:
        table = Table("kind", "id", "name", *REFERENCE_WORKLOAD, title=f"{chosen.label}")
        for row in rows:
            table.add_row(
                row.kind,
                row.external_id,
                row.name,
                *[_shown(row.values[code]) for code in REFERENCE_WORKLOAD],
            )
        shown = _table_text(table, output)
        if shown is None:
            return
        text = shown
    _write(text, output, len(rows))


@report_app.command("kpis")
def kpis_command(
    period: Annotated[str, typer.Option(help="The period: 2026-Q1, 2026-03 or FY2026")],
    by: Annotated[
        str, typer.Option(help="One row per seller, unit or company (or all)")
    ] = "seller",
    format: Annotated[str, typer.Option(help="table, csv or json")] = "table",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of the screen")
    ] = None,
) -> None:
    """Print every KPI of the catalogue for a period: one row per seller, unit or company.

    Columns: external id, name, then one per KPI code, empty where there is no value.
    Computed afresh, nothing stored.
    """
    _check_format(format)
    if by not in ("seller", "unit", "company", "all"):
        errors.print(f"[red]--by: use seller, unit, company or all, not {by!r}.[/]")
        raise typer.Exit(2)
    chosen = _period(period)
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            report = kpi_report(session, actor=SYSTEM, period=chosen, by=by)
    finally:
        engine.dispose()
    codes = [kpi.code for kpi in report.kpis]
    leading = ["kind", "id", "name"] if by == "all" else ["id", "name"]

    def first(row: ReportRow) -> list[str]:
        return [row.kind, row.external_id, row.name][-len(leading) :]

    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*leading, *codes])
        for row in report.rows:
            writer.writerow(
                first(row) + ["" if row.values[c] is None else str(row.values[c]) for c in codes]
            )
        text = out.getvalue()
    elif format == "json":
        text = _rows_json(chosen, report.rows)
    else:
        table = Table(*leading, *codes, title=f"{chosen.label}")
        for row in report.rows:
            table.add_row(*first(row), *[_shown(row.values[code]) for code in codes])
        shown = _table_text(table, output)
        if shown is None:
            return
        text = shown
    _write(text, output, len(report.rows))
