"""What an import found and did: problems, and counts per file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FULL_PROBLEMS = 100


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, and where: file, line, column and value."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str

    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def describe(self) -> str:
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{self.where()}: {self.reason}{value}"


@dataclass
class FileCounts:
    """What happened to the rows of one file for one canonical table."""

    file: str
    target: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    pruned: int = 0
    # Source rows of ``distinct`` blocks that repeat an entity already read (a team named
    # on every seller row): folded into that one row, counted here.
    folded: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "target": self.target,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "pruned": self.pruned,
            "folded": self.folded,
            "skip_reasons": dict(self.skip_reasons),
        }


@dataclass
class LookupCounts:
    """A file read only to look values up for other files' rows: its rows and how many matched."""

    file: str
    rows: int = 0
    matched: int = 0
    # The fields it feeds, as ``target.field``.
    used_for: list[str] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return self.rows - self.matched

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "used_for": list(self.used_for),
        }


@dataclass
class PruneCandidates:
    """The stored rows of one table that the imported files lack: how many, and the first ids."""

    target: str
    files: list[str]
    count: int
    first_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "files": list(self.files),
            "count": self.count,
            "first_ids": list(self.first_ids),
        }


@dataclass
class ImportReport:
    """The outcome of an import: its counts, or every problem that stopped it."""

    source: str
    format: str
    dry_run: bool = False
    prune: bool = False
    counts: list[FileCounts] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Per table, the stored rows that ``prune`` deletes (or, in a dry run, would delete).
    prune_candidates: dict[str, PruneCandidates] = field(default_factory=dict)
    lookups: list[LookupCounts] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    run_id: int | None = None
    # Seconds per target: reading and validating, and writing.
    read_seconds: dict[str, float] = field(default_factory=dict)
    write_seconds: dict[str, float] = field(default_factory=dict)
    # The spans of days whose figures the written rows can change (see the service's
    # ``_changed_spans``); ``changes_everything`` when the organisation changed.
    changed_spans: list[tuple[date, date]] = field(default_factory=list)
    changes_everything: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        """``succeeded`` (a dry run that found nothing wrong too) or ``failed``."""
        return "succeeded" if self.ok else "failed"

    def problems_by_reason(self) -> Counter[str]:
        """Count the problems by reason, for the ones past the first hundred."""
        return Counter(problem.reason for problem in self.problems)

    def first_problems(self) -> list[Problem]:
        """The problems reported in full, in file and line order."""
        return sorted(self.problems, key=_problem_order)[:FULL_PROBLEMS]

    def counts_for(self, target: str) -> list[FileCounts]:
        return [counts for counts in self.counts if counts.target == target]

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.problems, key=_problem_order)
        rest = Counter(problem.reason for problem in ordered[FULL_PROBLEMS:])
        return {
            "source": self.source,
            "format": self.format,
            "ok": self.ok,
            "status": self.status,
            "dry_run": self.dry_run,
            "prune": self.prune,
            "duration_s": round(self.duration_s, 3),
            "counts": [counts.as_dict() for counts in self.counts],
            "problems": [problem.__dict__ for problem in ordered[:FULL_PROBLEMS]],
            "more_problems_by_reason": dict(rest),
            "problem_count": len(self.problems),
            "prune_candidates": {k: v.as_dict() for k, v in self.prune_candidates.items()},
            "lookups": [lookup.as_dict() for lookup in self.lookups],
            "notes": list(self.notes),
            "run_id": self.run_id,
            "read_seconds": {k: round(v, 3) for k, v in self.read_seconds.items()},
            "write_seconds": {k: round(v, 3) for k, v in self.write_seconds.items()},
        }


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line or 0, problem.column or "")
