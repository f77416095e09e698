"""Imports of CRM data, and their history.

``run_import`` is the one entry point the CLI, the API and the import page share:
stage (read, map, validate every row), then, only when nothing is wrong, write
everything in the caller's transaction. A dry run writes inside a savepoint and
rolls it back, so its counts are exactly what a real run would do.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from touchline.audit import service as audit
from touchline.auth.models import Role
from touchline.auth.policy import Actor
from touchline.config import get_settings
from touchline.crm.importing.changes import Changes, ChangeWatcher
from touchline.crm.importing.mapping import (
    FORMATS,
    Mapping,
    MappingError,
    builtin_format,
    load_mapping,
)
from touchline.crm.importing.report import ImportReport, Problem, PruneCandidates
from touchline.crm.importing.schema import TARGETS_BY_NAME
from touchline.crm.importing.stage import Staged, stage_folder
from touchline.crm.importing.write import Writer
from touchline.crm.models import Activity, Deal, ImportRun
from touchline.db import utcnow
from touchline.errors import InvalidInput
from touchline.org.periods import parse_period

Progress = Callable[[str, int], None]
INTERCHANGE_FILES = (
    "teams.csv",
    "territories.csv",
    "sellers.csv",
    "accounts.csv",
    "deals.csv",
    "deal_stages.csv",
    "activities.csv",
    "ratings.csv",
    "customer_surveys.csv",
    "pulse.csv",
)


def detect_format(folder: Path) -> str:
    """Return the format of the files in ``folder``; refuses when none fits."""
    if (folder / "Opportunity.csv").is_file():
        return "salesforce"
    deals = folder / "deals.csv"
    if deals.is_file():
        with deals.open("rb") as source:
            head = source.readline()
        if b"Record ID" in head:
            return "hubspot"
    if any((folder / name).is_file() for name in INTERCHANGE_FILES):
        return "interchange"
    raise InvalidInput(
        f"{folder}: no known files found; give --format ({', '.join(FORMATS)}) or --mapping FILE",
        field="path",
    )


def _unpack(path: Path, into: Path) -> Path:
    """Return a folder holding the files of ``path``: a folder, a zip file or one CSV file."""
    if path.is_dir():
        return path
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder", field="path")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                name = PurePosixPath(member.filename)
                if member.is_dir() or name.name.startswith("."):
                    continue
                if name.is_absolute() or ".." in name.parts:
                    raise InvalidInput(f"{path}: unsafe path in the archive: {name}", field="path")
                # Files are flattened: an export zipped with its folder imports the same.
                with archive.open(member) as source, (into / name.name).open("wb") as sink:
                    shutil.copyfileobj(source, sink)
        return into
    if path.suffix.lower() == ".csv":
        shutil.copyfile(path, into / path.name)
        return into
    raise InvalidInput(f"{path}: give a folder, a .zip file or a .csv file", field="path")


def resolve_mapping(folder: Path, *, format: str | None, mapping: Path | None) -> Mapping:
    """Return the mapping to use: a mapping file, a named format, or the detected format."""
    if mapping is not None:
        return load_mapping(mapping)
    return builtin_format(format or detect_format(folder))


def _existing_ids(session: Session) -> Callable[[str], list[str]]:
    def ids(target: str) -> list[str]:
        table = TARGETS_BY_NAME[target].table
        return list(session.execute(text(f"SELECT external_id FROM {table}")).scalars())  # noqa: S608

    return ids


def _existing_links(session: Session) -> Callable[[str, str], dict[str, str | None]]:
    def links(target: str, field: str) -> dict[str, str | None]:
        table = TARGETS_BY_NAME[target].table
        column = "parent_id" if field == "parent" else f"{field}_id"
        rows = session.execute(
            text(
                f"SELECT c.external_id, p.external_id FROM {table} c "  # noqa: S608
                f"LEFT JOIN {table} p ON p.id = c.{column}"
            )
        )
        return dict(rows.all())

    return links


def run_import(
    session: Session,
    *,
    actor: Actor,
    path: Path,
    format: str | None = None,
    mapping: Path | None = None,
    dry_run: bool = False,
    prune: bool = False,
    source_label: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the CRM data at ``path`` (folder, zip or CSV) and return the report.

    Admins only. Every row is validated before anything is written; with any
    problem nothing is written and the report lists them all. With ``prune``,
    stored rows missing from the imported files are deleted (per imported table).
    Every run, a dry run or one that failed too, is kept in the import history;
    only a real run without problems writes CRM rows.
    """
    actor.require(Role.ADMIN)
    started = time.perf_counter()
    started_at = utcnow()
    report = ImportReport(
        source=source_label or str(path),
        format=format or ("mapping file" if mapping else ""),
        dry_run=dry_run,
        prune=prune,
    )
    with tempfile.TemporaryDirectory(prefix="touchline-upload-") as scratch:
        chosen: Mapping | None = None
        try:
            folder = _unpack(path, Path(scratch))
            chosen = resolve_mapping(folder, format=format, mapping=mapping)
        except InvalidInput as error:
            report.problems.append(_refusal(path, error.message))
        except MappingError as error:
            report.problems.append(_refusal(mapping or path, str(error)))
        changes = Changes()
        if chosen is not None:
            report.format = chosen.name
            changes = _stage_and_write(
                session, report, folder, chosen, path=path, progress=progress
            )
    report.duration_s = time.perf_counter() - started
    report.run_id = _record(session, actor, report, started_at=started_at)
    if report.ok and not dry_run:
        for hook in AFTER_IMPORT:
            hook(session, report, changes, progress)
    return report


def _refusal(path: Path, message: str) -> Problem:
    """Return the problem of an import refused before reading a row: the file and the reason."""
    reason = message.removeprefix(f"{path}: ")
    return Problem(path.name or str(path), None, None, None, reason)


def _stage_and_write(
    session: Session,
    report: ImportReport,
    folder: Path,
    chosen: Mapping,
    *,
    path: Path,
    progress: Progress | None,
) -> Changes:
    """Stage (read, map, validate) the files; write them only when nothing is wrong.

    Return what the written rows changed (nothing for a dry run or a refused import).
    """
    staged = stage_folder(
        folder,
        chosen,
        company_timezone=get_settings().timezone,
        existing_ids=_existing_ids(session),
        existing_links=_existing_links(session),
        progress=progress,
        score_ranges=_score_ranges(session),
    )
    try:
        report.problems.extend(staged.problems)
        report.notes.extend(staged.notes)
        report.lookups = list(staged.lookups)
        report.read_seconds = dict(staged.seconds)
        if not staged.targets and not staged.problems:
            report.problems.append(
                Problem(str(path), None, None, None, "none of the mapped files is here")
            )
        if report.problems:
            report.counts = list(staged.counts.values())
            return Changes()
        changes = _write(session, staged, report, progress=progress)
        if not report.ok or report.dry_run:
            return Changes()
        _changed_spans(session, staged, report)
        return _settled(changes, staged, report)
    finally:
        staged.close()


def _settled(changes: Changes, staged: Staged, report: ImportReport) -> Changes:
    """Return ``changes`` keeping only the tables whose rows changed, with their files,
    and with what reaches everything: the organisation, pruned accounts."""
    changed = [c for c in report.counts if c.inserted or c.updated or c.pruned]
    names = {c.target for c in changed}
    changes.organisation = bool(names & {"units", "sellers"})
    changes.accounts_pruned = any(c.pruned for c in changed if c.target == "accounts")
    changes.tables = {name: table for name, table in changes.tables.items() if name in names}
    for table in changes.tables.values():
        table.files = sorted({c.file for c in changed if c.target == table.target})
    changes.other_spans = _rated_spans(staged, names)
    return changes


def _write(
    session: Session, staged: Staged, report: ImportReport, *, progress: Progress | None
) -> Changes:
    savepoint = session.begin_nested()
    connection = session.connection()
    watcher = ChangeWatcher(connection)
    writer = Writer(connection, staged, progress=progress, watcher=watcher)
    try:
        report.counts = writer.write()
        report.write_seconds = dict(writer.seconds)
        if report.prune:
            report.prune_candidates = {
                name: PruneCandidates(
                    target=name,
                    files=[c.file for c in report.counts if c.target == name],
                    count=total,
                    first_ids=ids,
                )
                for name, (total, ids) in writer.prune_candidates().items()
            }
            writer.prune(report.counts)
            report.problems.extend(writer.problems)
        writer.drop_stage_tables()
    except BaseException:
        savepoint.rollback()
        raise
    if report.dry_run or report.problems:
        savepoint.rollback()
    else:
        savepoint.commit()
    return watcher.changes


# Called after every import that wrote data, in its transaction (the KPI engine
# registers its refresh here, keeping this domain free of the ones above it).
# Above this many touched deals, their earliest created date is taken over all deals.
TOUCHED_DEALS_LISTED = 5000

# Each hook gets the session, the report, what the import changed and the progress.
AFTER_IMPORT: list[Callable[[Session, ImportReport, Changes, Progress | None], None]] = []

# The scales imported ratings are checked against, by KPI code: (lowest, highest). The
# ratings domain registers where they come from; without it any score 0-100 passes.
SCORE_RANGES: list[Callable[[Session], dict[str, tuple[float, float]]]] = []


def _score_ranges(session: Session) -> dict[str, tuple[float, float]] | None:
    if not SCORE_RANGES:
        return None
    found: dict[str, tuple[float, float]] = {}
    for source in SCORE_RANGES:
        found |= source(session)
    return found


def _staged_dates(staged: Staged, target: str, sql: str) -> list[date]:
    if target not in {t.name for t in staged.targets}:
        return []
    row = staged.connection.execute(sql.replace("{table}", f"s_{target}")).fetchone()
    return [day for day in (row or ()) if isinstance(day, date)]


def _changed_spans(session: Session, staged: Staged, report: ImportReport) -> None:
    """Record in ``report`` the spans of days whose KPI figures the imported rows can change.

    A changed deal can change every later period (who won an account first, which
    meetings were with new customers), so deals reach to the last day with data. An
    activity changes its own day and the first touch of its deal, counted on the day the
    deal was created. Ratings and pulses change the periods they name. A change to the
    organisation (units, sellers) changes every period.
    """
    changed = [c for c in report.counts if c.inserted or c.updated or c.pruned]
    names = {c.target for c in changed}
    if names & {"units", "sellers"}:
        report.changes_everything = True
        return
    spans: list[tuple[date, date]] = []
    if "deals" in names:
        firsts = _staged_dates(
            staged, "deals", "SELECT min(created_date), min(close_date) FROM {table}"
        )
        lasts = [
            session.scalar(select(func.max(Activity.occurred_on))),
            session.scalar(select(func.max(Deal.close_date))),
            session.scalar(select(func.max(Deal.created_date))),
        ]
        known = [day for day in lasts if day is not None]
        if firsts and known:
            spans.append((min(firsts), max(known)))
    if "activities" in names:
        days = [
            row[0]
            for row in staged.connection.execute(
                'SELECT DISTINCT "occurred_at__local_date" FROM s_activities'
            ).fetchall()
        ]
        deal_ids = [
            row[0]
            for row in staged.connection.execute(
                "SELECT DISTINCT deal FROM s_activities WHERE deal IS NOT NULL"
            ).fetchall()
        ]
        if len(deal_ids) <= TOUCHED_DEALS_LISTED:
            days += (
                list(
                    session.scalars(
                        select(Deal.created_date).where(Deal.external_id.in_(deal_ids)).distinct()
                    )
                )
                if deal_ids
                else []
            )
            spans += [(day, day) for day in days]
        elif days:
            first = session.scalar(select(func.min(Deal.created_date)))
            spans.append((min([*days, *([first] if first else [])]), max(days)))
    spans += _rated_spans(staged, names)
    report.changed_spans = sorted(set(spans))


def _rated_spans(staged: Staged, names: set[str]) -> list[tuple[date, date]]:
    """Return the first days of the periods the imported ratings and pulses name."""
    spans: list[tuple[date, date]] = []
    fiscal_start = get_settings().fiscal_year_start_month
    for target, column in (("ratings", "period"), ("pulse", "week")):
        if target in names:
            for (label,) in staged.connection.execute(
                f"SELECT DISTINCT {column} FROM s_{target}"  # noqa: S608 (fixed names)
            ).fetchall():
                period = parse_period(str(label), fiscal_start_month=fiscal_start)
                spans.append((period.start, period.start))
    return sorted(set(spans))


def _record(session: Session, actor: Actor, report: ImportReport, *, started_at: datetime) -> int:
    """Keep the run in the import history; return its id. Only runs that wrote are audited."""
    run = ImportRun(
        started_at=started_at,
        finished_at=utcnow(),
        user_id=actor.user.id if actor.user else None,
        actor=actor.label,
        source=report.source[:500],
        format=report.format[:40],
        status=report.status,
        dry_run=report.dry_run,
        pruned=report.prune,
        counts={
            "files": [counts.as_dict() for counts in report.counts],
            "lookups": [lookup.as_dict() for lookup in report.lookups],
        },
        problems=len(report.problems),
        duration_s=round(report.duration_s, 3),
    )
    session.add(run)
    session.flush()
    if report.ok and not report.dry_run:
        audit.record(
            session,
            actor=actor.user,
            action="import",
            entity="import",
            entity_id=str(run.id),
            after={"source": run.source, "format": run.format, "pruned": run.pruned},
        )
    return run.id


def import_upload(
    session: Session,
    *,
    actor: Actor,
    token: str,
    format: str | None = None,
    dry_run: bool = False,
    prune: bool = False,
    source_label: str | None = None,
) -> ImportReport:
    """Import the files uploaded under ``token`` (see uploads.py) and return the report."""
    from touchline.crm import uploads

    assert actor.user is not None
    path, mapping = uploads.locate(token, owner=actor.user.id)
    return run_import(
        session,
        actor=actor,
        path=path,
        format=format or None,
        mapping=mapping,
        dry_run=dry_run,
        prune=prune,
        source_label=source_label or (path.name if path.suffix else "upload"),
    )


def history(session: Session, *, actor: Actor, limit: int = 100) -> list[ImportRun]:
    """Return the latest imports, newest first; admins only."""
    actor.require(Role.ADMIN)
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))
