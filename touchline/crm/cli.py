"""The ``touchline import`` command."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, text

from touchline.auth.policy import SYSTEM
from touchline.config import get_settings
from touchline.crm import service
from touchline.crm.importing.report import ImportReport
from touchline.crm.importing.schema import TARGETS_BY_NAME
from touchline.db import make_engine, make_sessionmaker, transaction
from touchline.errors import DomainError

console = Console()
errors = Console(stderr=True)


class _Meter:
    """Turns the importer's (label, rows) reports into a progress line with rows per second."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None, rate="")
        self.label = ""
        self.started = time.perf_counter()

    def __call__(self, label: str, rows: int) -> None:
        if label != self.label:
            self.label = label
            self.started = time.perf_counter()
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = f"{rows:,} rows, {rows / elapsed:,.0f} rows/s" if rows else ""
        self.progress.update(self.task, description=label, rate=rate)


# From this many new rows in a table, its statistics are refreshed after the import.
BULK_ROWS = 50_000


def tidy_after_bulk_load(engine: Engine, targets: list[str]) -> None:
    """Refresh the planner's statistics of tables that grew a lot, after the commit.

    On PostgreSQL, VACUUM ANALYZE also marks the pages visible, so the KPI queries can
    answer from their covering indexes at once instead of after autovacuum's next round.
    SQLite's plans are pinned to their indexes and need nothing.
    """
    tables = sorted({TARGETS_BY_NAME[name].table for name in targets if name in TARGETS_BY_NAME})
    if not tables or engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM ANALYZE {table}"))


def _run(
    path: Path, *, format: str | None, mapping: Path | None, dry_run: bool, prune: bool
) -> ImportReport:
    engine = make_engine(get_settings().database_url)
    try:
        with (
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=errors,
                transient=True,
            ) as progress,
            transaction(make_sessionmaker(engine)) as session,
        ):
            report = service.run_import(
                session,
                actor=SYSTEM,
                path=path,
                progress=_Meter(progress),
                format=format,
                mapping=mapping,
                dry_run=dry_run,
                prune=prune,
            )
        if report.ok and not report.dry_run:
            tidy_after_bulk_load(
                engine, [c.target for c in report.counts if c.inserted >= BULK_ROWS]
            )
        return report
    finally:
        engine.dispose()


def print_report(report: ImportReport) -> None:
    """Print the counts per file, or the problems, as tables."""
    if report.counts and report.ok:
        title = "Dry run: nothing was written" if report.dry_run else "Imported"
        table = Table(
            "file",
            "table",
            "rows",
            "inserted",
            "updated",
            "unchanged",
            "skipped",
            "folded",
            "pruned",
            title=f"{title} ({report.format}, {report.duration_s:.1f} s)",
        )
        for counts in report.counts:
            table.add_row(
                counts.file,
                counts.target,
                f"{counts.rows:,}",
                f"{counts.inserted:,}",
                f"{counts.updated:,}",
                f"{counts.unchanged:,}",
                f"{counts.skipped:,}",
                f"{counts.folded:,}",
                f"{counts.pruned:,}",
            )
        console.print(table)
        for counts in report.counts:
            for reason, number in counts.skip_reasons.items():
                console.print(f"  {counts.file}: skipped {number:,} rows: {reason}")
            if counts.folded:
                console.print(
                    f"  {counts.file}: folded {counts.folded:,} rows that repeat a row of "
                    f"{counts.target} already read (a distinct block)"
                )
        for lookup in report.lookups:
            console.print(
                f"  {lookup.file}: {lookup.rows:,} rows read only to look up "
                f"{', '.join(lookup.used_for)}; {lookup.matched:,} matched, "
                f"{lookup.unmatched:,} not used"
            )
        print_prune_candidates(report)
    if report.problems:
        table = Table(
            "file",
            "line",
            "column",
            "value",
            "problem",
            title=f"{len(report.problems):,} problems: nothing was written",
        )
        for problem in report.first_problems():
            table.add_row(
                problem.file,
                str(problem.line or ""),
                problem.column or "",
                "" if problem.value is None else repr(problem.value),
                problem.reason,
            )
        errors.print(table)
        rest = len(report.problems) - len(report.first_problems())
        if rest > 0:
            errors.print(f"… and {rest:,} more problems:")
            for reason, number in report.problems_by_reason().most_common():
                errors.print(f"  {number:,} × {reason}")


def print_prune_candidates(report: ImportReport) -> None:
    """Print, per table, the stored rows missing from the files: how many, and the first ids."""
    if not report.prune_candidates:
        return
    verb = "will delete" if report.dry_run else "deleted"
    console.print(f"[bold]--prune {verb} these stored rows, missing from the files:[/]")
    for candidates in report.prune_candidates.values():
        shown = ", ".join(candidates.first_ids)
        more = " …" if candidates.count > len(candidates.first_ids) else ""
        console.print(
            f"  {candidates.target} ({', '.join(candidates.files)}): "
            f"{candidates.count:,} ({shown}{more})"
        )


def import_command(
    path: Annotated[Path, typer.Argument(help="A folder of CSV files, a .zip file or one .csv")],
    format: Annotated[
        str | None, typer.Option(help="interchange, salesforce or hubspot (detected when left out)")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="A mapping file (TOML) for any other CRM export")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count, write nothing")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete stored rows missing from the imported files")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Prune without asking")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Import CRM data: validate every row, then write all of it or nothing."""
    try:
        if prune and not dry_run and not yes:
            preview = _run(path, format=format, mapping=mapping, dry_run=True, prune=True)
            if not preview.ok:
                print_report(preview)
                raise typer.Exit(1)
            if preview.prune_candidates:
                print_prune_candidates(preview)
                if not typer.confirm("Delete them?"):
                    raise typer.Exit(1)
        report = _run(path, format=format, mapping=mapping, dry_run=dry_run, prune=prune)
    except DomainError as error:
        errors.print(f"[bold red]error:[/] {error.message}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)
