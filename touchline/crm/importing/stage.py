"""Read, map and validate: DuckDB streams the files, types every row and finds every problem.

Nothing here touches Touchline's database except to read which external ids it
already holds. The result is a DuckDB connection with one typed table per
canonical target (``s_<target>``) and the list of problems; the writer moves the
rows only when that list is empty.
"""

from __future__ import annotations

import csv
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from touchline.crm.importing.mapping import TEMPLATE_PART, Condition, FieldSource, Mapping
from touchline.crm.importing.mapping import TableMapping as Block
from touchline.crm.importing.report import FileCounts, LookupCounts, Problem
from touchline.crm.importing.schema import TARGETS, Field, Kind, Target
from touchline.org.structure import find_cycle

# The external ids already stored for a target, and the links of self-references.
ExistingIds = Callable[[str], list[str]]
ExistingLinks = Callable[[str, str], dict[str, str | None]]
Progress = Callable[[str, int], None]

UTC_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
ISO_OFFSET = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)"
ISO_NAIVE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
PERIOD = r"\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4]|FY\d{4}"
WEEK = r"\d{4}-W(0[1-9]|[1-4][0-9]|5[0-3])"
LINE_IN_ERROR = re.compile(r"[Ll]ine:?\s*(\d+)")


def quote(identifier: str) -> str:
    """Return ``identifier`` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Return ``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Staged:
    """The outcome of staging: typed tables in ``connection``, counts and problems."""

    connection: duckdb.DuckDBPyConnection
    targets: list[Target]
    counts: dict[tuple[str, str], FileCounts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lookups: list[LookupCounts] = field(default_factory=list)
    workdir: tempfile.TemporaryDirectory[str] | None = None
    # Seconds spent reading and validating each target.
    seconds: dict[str, float] = field(default_factory=dict)

    def rows(self, target: Target) -> int:
        rows = self.connection.execute(f"SELECT count(*) FROM s_{target.name}").fetchall()
        return int(rows[0][0])

    def close(self) -> None:
        self.connection.close()
        if self.workdir is not None:
            self.workdir.cleanup()


@dataclass
class _Header:
    path: Path
    columns: list[str]
    # A file of no bytes at all: it has no header row, so every column is missing.
    empty: bool = False


@dataclass(frozen=True)
class _LookupUse:
    """One lookup of a block: the other file's key column, and this file's keys as SQL."""

    file: str
    match: str
    own_sql: str  # selects this block's keys (after key_map) as ``__key``
    field: str  # target.field it feeds


class Stager:
    """Stages the files of one import folder according to one mapping."""

    def __init__(
        self,
        folder: Path,
        mapping: Mapping,
        *,
        company_timezone: str,
        existing_ids: ExistingIds,
        existing_links: ExistingLinks,
        progress: Progress | None = None,
        memory_limit: str = "512MB",
        score_ranges: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self.folder = folder
        self.score_ranges = score_ranges
        self.mapping = mapping
        self.company_timezone = company_timezone
        self.existing_ids = existing_ids
        self.existing_links = existing_links
        self.progress = progress or (lambda _label, _n: None)
        self.workdir = tempfile.TemporaryDirectory(prefix="touchline-import-")
        self.connection = duckdb.connect(
            config={
                "memory_limit": memory_limit,
                "temp_directory": str(Path(self.workdir.name) / "spill"),
                "preserve_insertion_order": True,
            }
        )
        self.connection.execute("SET TimeZone = 'UTC'")
        self.problems: list[Problem] = []
        self.counts: dict[tuple[str, str], FileCounts] = {}
        self.notes: list[str] = []
        self._headers: dict[str, _Header | None] = {}
        self.seconds: dict[str, float] = {}
        self._lookups: dict[tuple[str, str, str, str, tuple[tuple[str, str], ...]], str] = {}
        self._lookup_uses: list[_LookupUse] = []

    # --- files -------------------------------------------------------------------

    def header(self, name: str, *, optional: bool) -> _Header | None:
        """Return the header of file ``name``, or None (with a problem) when unusable."""
        if name in self._headers:
            return self._headers[name]
        path = self.folder / name
        result: _Header | None = None
        if not path.is_file():
            if not optional:
                self.problems.append(Problem(name, None, None, None, "the file is missing"))
        elif path.stat().st_size == 0:
            result = _Header(path=path, columns=[], empty=True)
        else:
            result = self._read_header(name, path)
        self._headers[name] = result
        return result

    def _read_header(self, name: str, path: Path) -> _Header | None:
        with path.open("rb") as source:
            first = source.readline()
        try:
            text = first.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            reason = f"the file is not UTF-8 (byte 0x{first[error.start]:02x} cannot be read)"
            _index, cell = self._bad_utf8_cell(first)
            self.problems.append(Problem(name, 1, cell, None, reason))
            return None
        row = next(csv.reader([text], delimiter=self.mapping.delimiter), [])
        columns = [column.strip() for column in row]
        if not any(columns):
            self.problems.append(Problem(name, 1, None, None, "the header row is empty"))
            return None
        seen: set[str] = set()
        for column in columns:
            if not column:
                self.problems.append(Problem(name, 1, None, None, "a column has no name"))
                return None
            if column in seen:
                self.problems.append(Problem(name, 1, column, None, "the column appears twice"))
                return None
            seen.add(column)
        return _Header(path=path, columns=columns)

    def read_csv(self, header: _Header) -> str:
        """Return the SQL that reads the file as text columns, numbered by line."""
        columns = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in header.columns) + "}"
        return (
            "(SELECT row_number() OVER () + 1 AS __line, * FROM read_csv("
            f"{literal(str(header.path))}, columns = {columns}, header = true, "
            f"auto_detect = false, delim = {literal(self.mapping.delimiter)}, quote = '\"', "
            "escape = '\"', strict_mode = true, null_padding = false, encoding = 'utf-8'))"
        )

    def _scan_error(self, name: str, error: duckdb.Error) -> None:
        message = str(error)
        match = LINE_IN_ERROR.search(message)
        first = message.strip().splitlines()[0] if message.strip() else "unreadable"
        reason = re.sub(r"^[A-Za-z ]*Error:\s*", "", first)
        reason = "the CSV cannot be read: " + reason
        self.problems.append(
            Problem(name, int(match.group(1)) if match else None, None, None, reason)
        )

    def _bad_utf8(self, name: str, header: _Header) -> Problem | None:
        """Return the problem of the first byte that is not UTF-8: its line and column."""
        with header.path.open("rb") as source:
            for number, raw in enumerate(source, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    reason = f"the file is not UTF-8 (byte 0x{raw[error.start]:02x} cannot be read)"
                    index, cell = self._bad_utf8_cell(raw)
                    column = header.columns[index] if index < len(header.columns) else None
                    shown = cell.encode("latin-1").decode("utf-8", errors="replace")
                    return Problem(name, number, column, shown, reason)
        return None

    def _bad_utf8_cell(self, raw: bytes) -> tuple[int, str]:
        """Return (index, text read as Latin-1) of the first cell of ``raw`` that is not UTF-8."""
        # Latin-1 maps every byte to one character, so each cell's bytes can be tested alone.
        cells = next(csv.reader([raw.decode("latin-1")], delimiter=self.mapping.delimiter), [])
        for index, cell in enumerate(cells):
            try:
                cell.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                return index, cell.strip()
        return len(cells), ""

    # --- mapping to SQL ----------------------------------------------------------

    def _column(self, header: _Header, column: str) -> str:
        if column not in header.columns:
            return "NULL"
        return f"NULLIF(TRIM(src.{quote(column)}), '')"

    def _template(self, header: _Header, template: str) -> str:
        parts: list[str] = []
        used: list[str] = []
        position = 0
        for match in TEMPLATE_PART.finditer(template):
            if match.start() > position:
                parts.append(literal(template[position : match.start()]))
            column = self._column(header, match.group(1).strip())
            used.append(column)
            transform = match.group(2)
            if transform == "slug":
                column = (
                    "trim(regexp_replace(lower(strip_accents(replace(replace(replace("
                    f"{column}, 'ø', 'o'), 'Ø', 'O'), 'æ', 'ae'))), '[^a-z0-9]+', '.', 'g'), '.')"
                )
            elif transform in ("lower", "upper"):
                column = f"{transform}({column})"
            elif transform == "short":
                column = f"left({column}, 8)"
            parts.append(f"COALESCE({column}, '')")
            position = match.end()
        if position < len(template):
            parts.append(literal(template[position:]))
        if not used:
            return literal(template)
        all_empty = " AND ".join(f"{column} IS NULL" for column in used)
        return f"CASE WHEN {all_empty} THEN NULL ELSE concat({', '.join(parts)}) END"

    def _lookup(
        self, source: FieldSource, header: _Header, *, target: str, field: str
    ) -> str | None:
        assert source.lookup is not None
        lookup = source.lookup
        other = self.header(lookup.file, optional=False)
        if other is None:
            return None
        for column in (lookup.match, lookup.column):
            if column not in other.columns:
                reason = f"missing column, needed to look up {target} values"
                self.problems.append(Problem(lookup.file, 1, column, None, _empty(other, reason)))
                return None
        key_map = tuple(sorted(lookup.key_map.items()))
        key = (lookup.file, lookup.match, lookup.column, lookup.on, key_map)
        if key not in self._lookups:
            alias = f"lk_{len(self._lookups)}"
            self._lookups[key] = alias
        self._lookup_uses.append(
            _LookupUse(
                lookup.file,
                lookup.match,
                f"SELECT {self._lookup_key(lookup.on, key_map)} AS __key "
                f"FROM {self.read_csv(header)} AS src",
                f"{target}.{field}",
            )
        )
        return self._lookups[key]

    @staticmethod
    def _lookup_key(column: str, key_map: tuple[tuple[str, str], ...]) -> str:
        own_key = f"NULLIF(TRIM(src.{quote(column)}), '')"
        if key_map:
            cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in key_map)
            own_key = f"(CASE {own_key} {cases} ELSE {own_key} END)"
        return own_key

    def _raw(self, block: Block, name: str, header: _Header) -> tuple[str, str] | None:
        """Return (expression before the value map, label for problems) of a field."""
        source = block.source(name)
        if source is None:
            return None
        expression, label = self._source_sql(block, source, name, header)
        fallback = source.fallback
        while fallback is not None:
            other, _label = self._source_sql(block, fallback, name, header)
            expression = f"COALESCE({expression}, {other})"
            fallback = fallback.fallback
        return expression, label

    def _source_sql(
        self, block: Block, source: FieldSource, name: str, header: _Header
    ) -> tuple[str, str]:
        expression, label = self._plain_source(block, source, name, header)
        if source.when is not None:
            expression = f"(CASE WHEN {self._condition(source.when, header)} THEN {expression} END)"
        return expression, label

    def _plain_source(
        self, block: Block, source: FieldSource, name: str, header: _Header
    ) -> tuple[str, str]:
        if source.column is not None:
            return self._column(header, source.column), source.column
        if source.value is not None:
            return literal(source.value), name
        if source.template is not None:
            return self._template(header, source.template), name
        alias = self._lookup(source, header, target=block.target, field=name)
        if alias is None:
            return "NULL", name
        return f"NULLIF(TRIM({alias}.__value), '')", name

    def _mapped(self, expression: str, source: FieldSource) -> str:
        if source.map:
            cases = " ".join(
                f"WHEN {literal(key)} THEN {literal(value)}" for key, value in source.map.items()
            )
            otherwise = {
                "error": expression,
                "keep": expression,
                "default": literal(source.default) if source.default is not None else "NULL",
            }[source.unmapped]
            expression = f"(CASE {expression} {cases} ELSE {otherwise} END)"
        if source.default is not None:
            expression = f"COALESCE({expression}, {literal(source.default)})"
        return expression

    @staticmethod
    def _condition(condition: Condition, header: _Header) -> str:
        if condition.column not in header.columns:
            value = "NULL"
        else:
            value = f"NULLIF(TRIM(src.{quote(condition.column)}), '')"
        fold = (lambda text: f"lower({text})") if condition.ignore_case else (lambda text: text)

        def literals(values: list[str]) -> str:
            return ", ".join(fold(literal(item)) for item in values)

        text = fold(f"COALESCE({value}, '')")
        if condition.empty is not None:
            return f"({value} IS NULL) = {str(condition.empty).lower()}"
        if condition.equals is not None:
            return f"{text} = {fold(literal(condition.equals))}"
        if condition.in_ is not None:
            return f"{text} IN ({literals(condition.in_)})"
        if condition.starts_with is not None:
            return f"starts_with({text}, {fold(literal(condition.starts_with))})"
        assert condition.not_in is not None
        return f"{text} NOT IN ({literals(condition.not_in)})"

    def _check_columns(self, block: Block, target: Target, header: _Header) -> bool:
        required = {f.name for f in target.fields if f.required} | set(block.required)
        ok = True
        for name in target.field_names:
            source = block.source(name)
            if source is None:
                continue
            needed = name in required or source.template is not None
            for column in source.columns():
                if column not in header.columns and needed:
                    reason = f"missing column, needed for {target.name} field {name!r}"
                    self.problems.append(
                        Problem(block.file, 1, column, None, _empty(header, reason))
                    )
                    ok = False
        for rule in block.skip:
            if rule.when.column not in header.columns:
                reason = "missing column, needed by a skip rule"
                self.problems.append(
                    Problem(block.file, 1, rule.when.column, None, _empty(header, reason))
                )
                ok = False
        if header.empty and ok:
            # Nothing needed a column, yet a file of no bytes cannot be what was meant.
            problem = Problem(block.file, 1, None, None, "the file is empty: no header row")
            if problem not in self.problems:
                self.problems.append(problem)
            ok = False
        return ok

    def _block_sql(self, block: Block, target: Target, header: _Header) -> str | None:
        self._lookups = {}
        selects = [f"{literal(block.file)} AS __file", "src.__line AS __line"]
        for field_def in target.fields:
            raw = self._raw(block, field_def.name, header)
            if raw is None:
                selects.append(f"NULL::VARCHAR AS {quote(field_def.name)}")
                selects.append(f"NULL::VARCHAR AS {quote(field_def.name + '__raw')}")
                selects.append(f"{literal(field_def.name)} AS {quote(field_def.name + '__col')}")
                continue
            expression, label = raw
            source = block.source(field_def.name)
            assert source is not None
            selects.append(f"{self._mapped(expression, source)} AS {quote(field_def.name)}")
            selects.append(f"{expression} AS {quote(field_def.name + '__raw')}")
            selects.append(f"{literal(label)} AS {quote(field_def.name + '__col')}")
        skip = " ".join(
            f"WHEN {self._condition(rule.when, header)} THEN {literal(rule.reason)}"
            for rule in block.skip
        )
        selects.append(f"CASE {skip} ELSE NULL END AS __skip" if skip else "NULL AS __skip")
        joins = []
        for (file, match, column, source_column, key_map), alias in self._lookups.items():
            other = self._headers[file]
            assert other is not None
            own_key = self._lookup_key(source_column, key_map)
            joins.append(
                f"LEFT JOIN (SELECT NULLIF(TRIM({quote(match)}), '') AS __key, "
                f"first(NULLIF(TRIM({quote(column)}), '')) AS __value "
                f"FROM {self.read_csv(other)} GROUP BY 1) AS {alias} "
                f"ON {alias}.__key = {own_key}"
            )
        return f"SELECT {', '.join(selects)} FROM {self.read_csv(header)} AS src {' '.join(joins)}"

    # --- typing and checks ---------------------------------------------------------

    def _typed(self, field_def: Field) -> str:
        name = quote(field_def.name)
        kind = field_def.kind
        if kind in (Kind.ID, Kind.TEXT):
            return name
        if kind is Kind.CHOICE:
            return f"lower({name})"
        if kind is Kind.BOOLEAN:
            return (
                f"CASE lower({name}) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN "
                f"true WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END"
            )
        if kind is Kind.DATE:
            formats = ", ".join(map(literal, self.mapping.date_formats))
            return f"try_strptime({name}, [{formats}])::DATE"
        if kind is Kind.TIMESTAMP:
            return self._timestamp(name)
        if kind is Kind.DECIMAL:
            pattern = literal(rf"-?[0-9]+(\.[0-9]{{1,{field_def.places}}})?")
            return (
                f"CASE WHEN regexp_full_match({name}, {pattern}) "
                f"THEN TRY_CAST({name} AS DECIMAL(18, {field_def.places})) END"
            )
        if kind is Kind.INTEGER:
            return (
                f"CASE WHEN regexp_full_match({name}, '-?[0-9]{{1,15}}') "
                f"THEN TRY_CAST({name} AS BIGINT) END"
            )
        if kind is Kind.PERIOD:
            matches = f"regexp_full_match(upper({name}), {literal(PERIOD)})"
            return f"CASE WHEN {matches} THEN upper({name}) END"
        assert kind is Kind.WEEK
        return (
            f"CASE WHEN regexp_full_match(upper({name}), {literal(WEEK)}) AND "
            f"(substr(upper({name}), 7, 2) <> '53' OR week(make_date("
            f"TRY_CAST(substr({name}, 1, 4) AS INTEGER), 12, 28)) = 53) THEN upper({name}) END"
        )

    def _timestamp(self, name: str) -> str:
        zone = literal(self.company_timezone)
        naive_zone = literal(self.mapping.timezone) if self.mapping.timezone else None
        branches = [
            f"WHEN regexp_full_match({name}, {literal(ISO_OFFSET)}) "
            f"THEN TRY_CAST(replace({name}, 'z', 'Z') AS TIMESTAMPTZ)",
            f"WHEN regexp_full_match({name}, {literal(ISO_DATE)}) "
            f"THEN timezone({zone}, TRY_CAST({name} AS DATE)::TIMESTAMP)",
        ]
        if naive_zone:
            branches.append(
                f"WHEN regexp_full_match({name}, {literal(ISO_NAIVE)}) "
                f"THEN timezone({naive_zone}, TRY_CAST({name} AS TIMESTAMP))"
            )
        for fmt in self.mapping.timestamp_formats:
            if "%z" in fmt or "%Z" in fmt:
                branches.append(
                    f"WHEN try_strptime({name}, {literal(fmt)}) IS NOT NULL "
                    f"THEN try_strptime({name}, {literal(fmt)})::TIMESTAMPTZ"
                )
            elif naive_zone:
                branches.append(
                    f"WHEN try_strptime({name}, {literal(fmt)}) IS NOT NULL "
                    f"THEN timezone({naive_zone}, try_strptime({name}, {literal(fmt)}))"
                )
        return f"CASE {' '.join(branches)} END"

    def _reason(self, field_def: Field) -> str:
        kind = field_def.kind
        if kind is Kind.CHOICE:
            return f"unknown value: use {', '.join(field_def.choices)}"
        if kind is Kind.BOOLEAN:
            return "not true or false"
        if kind is Kind.DATE:
            example = self.mapping.date_formats[0]
            for code, shown in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD")):
                example = example.replace(code, shown)
            return f"not a date in the form {example}"
        if kind is Kind.TIMESTAMP:
            if self.mapping.timezone:
                return "not a timestamp (ISO 8601, e.g. 2026-03-31T14:05:00+02:00)"
            return "not a timestamp with a time zone offset (e.g. 2026-03-31T14:05:00+02:00)"
        if kind is Kind.DECIMAL:
            return f"not a number with at most {field_def.places} decimals (e.g. 1250.50)"
        if kind is Kind.INTEGER:
            return "not a whole number"
        if kind is Kind.PERIOD:
            return "not a period: use 2026-03 (month), 2026-Q1 (quarter) or FY2026 (year)"
        if kind is Kind.WEEK:
            return "not an ISO week such as 2026-W07"
        return "invalid"

    def _field_problems(self, target: Target, block_required: set[str]) -> str:
        """Return SQL that lists (file, line, column, value, reason) of bad fields."""
        table = f"m_{target.name}"
        parts: list[str] = []

        def add(field_def: Field, condition: str, reason: str, value: str | None = None) -> None:
            shown = value or quote(field_def.name + "__raw")
            parts.append(
                f"SELECT __file, __line, {quote(field_def.name + '__col')}, {shown}, "
                f"{literal(reason)} FROM {table} WHERE __skip IS NULL AND ({condition})"
            )

        for field_def in target.fields:
            name = quote(field_def.name)
            raw = quote(field_def.name + "__raw")
            typed = self._typed(field_def)
            if field_def.required or field_def.name in block_required:
                add(field_def, f"{raw} IS NULL AND {name} IS NULL", "a value is required")
            add(
                field_def,
                f"{raw} IS NOT NULL AND {name} IS NULL",
                "no value in the mapping's value map for it",
            )
            if field_def.kind is Kind.CHOICE:
                choices = ", ".join(map(literal, field_def.choices))
                add(
                    field_def,
                    f"{name} IS NOT NULL AND lower({name}) NOT IN ({choices})",
                    self._reason(field_def),
                )
            elif field_def.kind not in (Kind.ID, Kind.TEXT):
                add(field_def, f"{name} IS NOT NULL AND ({typed}) IS NULL", self._reason(field_def))
            if field_def.kind in (Kind.ID, Kind.TEXT):
                add(
                    field_def,
                    f"length({name}) > {field_def.max_length}",
                    f"longer than {field_def.max_length} characters",
                )
            if field_def.minimum is not None:
                add(
                    field_def,
                    f"({typed}) < {field_def.minimum}",
                    f"must not be below {field_def.minimum}",
                )
            if field_def.maximum is not None:
                add(
                    field_def,
                    f"({typed}) > {field_def.maximum}",
                    f"must not be above {field_def.maximum}",
                )
        return " UNION ALL ".join(parts)

    # --- the whole run -------------------------------------------------------------

    def run(self) -> Staged:
        """Stage every target of the mapping; return the typed tables and the problems."""
        staged_targets: list[Target] = []
        for target in TARGETS:
            blocks = self.mapping.tables_for(target.name)
            parts: list[tuple[Block, str]] = []
            required: set[str] = set()
            for block in blocks:
                header = self.header(block.file, optional=block.optional)
                if header is None:
                    continue
                if not self._check_columns(block, target, header):
                    continue
                sql = self._block_sql(block, target, header)
                if sql is not None:
                    parts.append((block, sql))
                    required |= set(block.required)
            if not parts:
                continue
            with self._timed(target):
                if not self._materialise(target, parts, required):
                    continue
            staged_targets.append(target)
        for target in staged_targets:
            with self._timed(target):
                self._check_duplicates(target)
                self._check_rules(target)
                self._check_references(target, staged_targets)
                self._check_cycles(target, staged_targets)
        lookups = self._count_lookups() if not self.problems else []
        return Staged(
            connection=self.connection,
            targets=staged_targets,
            counts=self.counts,
            problems=self.problems,
            notes=self.notes,
            lookups=lookups,
            workdir=self.workdir,
            seconds=self.seconds,
        )

    @contextmanager
    def _timed(self, target: Target) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[target.name] = self.seconds.get(target.name, 0.0) + elapsed

    def _materialise(
        self, target: Target, parts: list[tuple[Block, str]], required: set[str]
    ) -> bool:
        table = f"m_{target.name}"
        self.progress(f"reading {target.name}", 0)
        blocks = [block for block, _sql in parts]
        union = " UNION ALL ".join(
            f"SELECT {number} AS __block, * FROM ({sql})" for number, (_b, sql) in enumerate(parts)
        )
        try:
            self.connection.execute(f"CREATE TEMP TABLE {table} AS {union}")
        except duckdb.Error as error:
            self._blame(target, blocks, error)
            return False
        for block in blocks:
            self.counts.setdefault((block.file, target.name), FileCounts(block.file, target.name))
        rows = self.connection.execute(
            f"SELECT __file, __skip, count(*) FROM {table} GROUP BY ALL"
        ).fetchall()
        for file, reason, count in rows:
            counts = self.counts.setdefault((file, target.name), FileCounts(file, target.name))
            if reason is None:
                counts.rows += count
            else:
                counts.skipped += count
                counts.skip_reasons[reason] = counts.skip_reasons.get(reason, 0) + count
        # Every row is checked, repeated ones too, so each problem has its own line.
        self._add_problems(self._field_problems(target, required))
        typed = ", ".join(
            f"COALESCE({self._typed(field_def)}, {field_def.default or 'NULL'}) "
            f"AS {quote(field_def.name)}"
            for field_def in target.fields
        )
        extra = ""
        timestamp_fields = [f for f in target.fields if f.kind is Kind.TIMESTAMP]
        for field_def in timestamp_fields:
            value = self._typed(field_def)
            extra += (
                f", strftime(({value}) AT TIME ZONE 'UTC', {literal(UTC_FORMAT)}) "
                f"AS {quote(field_def.name + '__utc')}"
                f", (({value}) AT TIME ZONE {literal(self.company_timezone)})::DATE "
                f"AS {quote(field_def.name + '__local_date')}"
            )
        kept = f"SELECT __block, __file, __line, {typed}{extra} FROM {table} WHERE __skip IS NULL"
        if any(block.distinct for block in blocks):
            self._fold(target, blocks, kept)
        else:
            self.connection.execute(
                f"CREATE TEMP TABLE s_{target.name} AS SELECT * EXCLUDE (__block) FROM ({kept})"
            )
        self.connection.execute(f"DROP TABLE {table}")
        if target.name == "units":
            self._infer_unit_kinds()
        total = self.connection.execute(f"SELECT count(*) FROM s_{target.name}").fetchall()
        self.progress(f"read {target.name}", int(total[0][0]))
        return True

    def _fold(self, target: Target, blocks: list[Block], kept: str) -> None:
        """Create ``s_<target>`` from ``kept`` with the identical rows of distinct blocks folded.

        Rows are identical when their typed values are (two Salesforce history rows of one
        stage on one day, written at different times, are one entry). A row keeps the first
        line it was read from; the rows folded into it are counted per file.
        """
        folding = ", ".join(str(n) for n, block in enumerate(blocks) if block.distinct)
        every = all(block.distinct for block in blocks)
        values = [quote(f.name) for f in target.fields]
        values += [
            quote(f.name + suffix)
            for f in target.fields
            if f.kind is Kind.TIMESTAMP
            for suffix in ("__utc", "__local_date")
        ]
        # The same entity named in several files (an owner on deals and on activities) is one
        # row when every block is distinct; otherwise rows fold within their own file only.
        group = [*([] if every else ["__file"]), *values]
        group.append(f"CASE WHEN __block IN ({folding}) THEN NULL ELSE __block END")
        group.append(f"CASE WHEN __block IN ({folding}) THEN NULL ELSE __line END")
        first = "ORDER BY __file, __line"
        self.connection.execute(
            f"CREATE TEMP TABLE s_{target.name} AS SELECT first(__file {first}) AS __file, "
            f"first(__line {first}) AS __line, {', '.join(values)} "
            f"FROM ({kept}) GROUP BY {', '.join(group)} ORDER BY __file, __line"
        )
        after = dict(
            self.connection.execute(
                f"SELECT __file, count(*) FROM s_{target.name} GROUP BY 1"
            ).fetchall()
        )
        for block in {block.file: block for block in blocks}.values():
            counts = self.counts[(block.file, target.name)]
            remaining = int(after.get(block.file, 0))
            counts.folded = counts.rows - remaining
            counts.rows = remaining

    def _blame(self, target: Target, blocks: list[Block], error: duckdb.Error) -> None:
        """Report why the files of ``target`` cannot be read: bad bytes, or a scan of each file."""
        for block in blocks:
            header = self._headers.get(block.file)
            if header is None:
                continue
            problem = self._bad_utf8(block.file, header)
            if problem is not None:
                self.problems.append(problem)
                return
            try:
                self.connection.execute(f"SELECT * FROM {self.read_csv(header)}").fetchall()
            except duckdb.Error as file_error:
                self._scan_error(block.file, file_error)
                return
        self._scan_error(", ".join(block.file for block in blocks), error)

    def _count_lookups(self) -> list[LookupCounts]:
        """Count the rows of files read only to look values up, and how many of them matched."""
        imported = {block.file for block in self.mapping.tables}
        found: list[LookupCounts] = []
        for file in dict.fromkeys(use.file for use in self._lookup_uses):
            if file in imported:
                continue
            uses = [use for use in self._lookup_uses if use.file == file]
            header = self._headers.get(file)
            if header is None:
                continue
            matches = " OR ".join(
                f"NULLIF(TRIM({quote(use.match)}), '') IN ({use.own_sql})" for use in uses
            )
            rows, matched = self.connection.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {matches}) FROM {self.read_csv(header)}"
            ).fetchall()[0]
            found.append(
                LookupCounts(
                    file,
                    rows=int(rows),
                    matched=int(matched),
                    used_for=list(dict.fromkeys(use.field for use in uses)),
                )
            )
        return found

    def _infer_unit_kinds(self) -> None:
        """Give units without a kind one from their place: top, middle or bottom of the tree."""
        self.connection.execute(
            "UPDATE s_units SET kind = CASE WHEN parent IS NULL THEN 'company' "
            "WHEN external_id IN (SELECT parent FROM s_units WHERE parent IS NOT NULL) "
            "THEN 'region' ELSE 'team' END WHERE kind IS NULL"
        )

    def _add_problems(self, sql: str) -> None:
        if not sql:
            return
        for file, line, column, value, reason in self.connection.execute(sql).fetchall():
            self.problems.append(Problem(file, line, column, value, reason))

    def _check_duplicates(self, target: Target) -> None:
        key = ", ".join(quote(name) for name in target.key)
        present = " AND ".join(f"{quote(name)} IS NOT NULL" for name in target.key)
        shown = " || ' / ' || ".join(f"COALESCE({quote(n)}::VARCHAR, '')" for n in target.key)
        label = "id" if target.key == ("external_id",) else " + ".join(target.key)
        column = self._label(target, target.field(target.key[0]))
        self._add_problems(
            f"SELECT __file, __line, {column}, value, "
            f"'duplicate ' || {literal(label)} || ': first seen in ' || first_file || "
            f"' line ' || first_line FROM (SELECT __file, __line, {shown} AS value, "
            f"first_value(__file) OVER w AS first_file, first_value(__line) OVER w AS first_line, "
            f"row_number() OVER w AS n FROM s_{target.name} WHERE {present} "
            f"WINDOW w AS (PARTITION BY {key} ORDER BY __file, __line)) WHERE n > 1"
        )

    def _check_rules(self, target: Target) -> None:
        if target.name == "deals":
            self._add_problems(
                "SELECT __file, __line, 'close_date', status, "
                "'a won or lost deal needs a close_date' FROM s_deals "
                "WHERE status IN ('won', 'lost') AND close_date IS NULL"
            )
        if target.name == "ratings" and self.score_ranges is not None:
            self._check_scales(target, self.score_ranges)

    def _check_scales(self, target: Target, ranges: dict[str, tuple[float, float]]) -> None:
        """A rating must name a KPI rated on a scale, with a score on that scale."""
        codes = sorted(ranges)
        self.connection.register(
            "tl_scales_view",
            {
                "kpi": np.array(codes, dtype=object),
                "low": np.array([ranges[c][0] for c in codes], dtype=float),
                "high": np.array([ranges[c][1] for c in codes], dtype=float),
            },
        )
        self.connection.execute(
            "CREATE OR REPLACE TEMP TABLE tl_scales AS SELECT * FROM tl_scales_view"
        )
        self.connection.unregister("tl_scales_view")
        kpi_label = self._label(target, target.field("kpi"))
        score_label = self._label(target, target.field("score"))
        self._add_problems(
            f"SELECT r.__file, r.__line, {kpi_label}, r.kpi, "
            "'not a KPI rated on a scale (see the KPI catalogue)' FROM s_ratings r "
            "WHERE r.kpi IS NOT NULL AND r.kpi NOT IN (SELECT kpi FROM tl_scales)"
        )
        self._add_problems(
            f"SELECT r.__file, r.__line, {score_label}, printf('%g', r.score::DOUBLE), "
            "'off the scale of ' || r.kpi || ': give ' || printf('%g', c.low) || ' to ' "
            "|| printf('%g', c.high) FROM s_ratings r JOIN tl_scales c ON c.kpi = r.kpi "
            "WHERE r.score < c.low OR r.score > c.high"
        )

    def _existing_table(self, target: Target) -> str:
        table = f"e_{target.name}"
        exists = self.connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
        ).fetchall()
        if exists[0][0]:
            return table
        ids = np.array(self.existing_ids(target.name), dtype=object)
        self.connection.register(f"{table}_view", {"external_id": ids})
        self.connection.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM {table}_view")
        self.connection.unregister(f"{table}_view")
        return table

    def _check_references(self, target: Target, staged: list[Target]) -> None:
        staged_names = {t.name for t in staged}
        for field_def in target.fields:
            if field_def.ref is None:
                continue
            referenced = next(t for t in TARGETS if t.name == field_def.ref)
            known = [f"SELECT external_id FROM {self._existing_table(referenced)}"]
            if referenced.name in staged_names:
                known.append(f"SELECT external_id FROM s_{referenced.name}")
            column = f"{quote(field_def.name)}"
            label_sql = self._label(target, field_def)
            reason = (
                f"unknown {_singular(referenced.name)}: no such id in the import or the database"
            )
            self._add_problems(
                f"SELECT __file, __line, {label_sql}, {column}, "
                f"{literal(reason)} "
                f"FROM s_{target.name} s WHERE {column} IS NOT NULL AND NOT EXISTS ("
                f"SELECT 1 FROM ({' UNION ALL '.join(known)}) k WHERE k.external_id = s.{column})"
            )

    def _label(self, target: Target, field_def: Field) -> str:
        labels = []
        for block in self.mapping.tables_for(target.name):
            source = block.source(field_def.name)
            label = source.column if source and source.column else field_def.name
            labels.append(f"WHEN {literal(block.file)} THEN {literal(label)}")
        return f"CASE __file {' '.join(labels)} ELSE {literal(field_def.name)} END"

    def _check_cycles(self, target: Target, staged: list[Target]) -> None:
        for field_def in target.self_refs:
            links = self.existing_links(target.name, field_def.name)
            rows = self.connection.execute(
                f"SELECT external_id, {quote(field_def.name)}, __file, __line FROM s_{target.name}"
            ).fetchall()
            where: dict[str, tuple[str, int]] = {}
            for external_id, parent, file, line in rows:
                links[external_id] = parent
                where[external_id] = (file, line)
            cycle = find_cycle(links)
            if cycle:
                file, line = where.get(cycle[0], (target.name, 0))
                what = "unit tree" if target.name == "units" else "manager chain"
                self.problems.append(
                    Problem(
                        file,
                        line or None,
                        field_def.name,
                        cycle[0],
                        f"the {what} would form a cycle: {' -> '.join(cycle)}",
                    )
                )


def _empty(header: _Header, reason: str) -> str:
    """Return ``reason``, saying why the column is missing when the file is empty."""
    return f"the file is empty (no header row): {reason}" if header.empty else reason


def _singular(name: str) -> str:
    return {
        "units": "team",
        "territories": "territory",
        "sellers": "seller",
        "accounts": "account",
        "deals": "deal",
    }.get(name, name)


def stage_folder(
    folder: Path,
    mapping: Mapping,
    *,
    company_timezone: str,
    existing_ids: ExistingIds,
    existing_links: ExistingLinks,
    progress: Progress | None = None,
    score_ranges: dict[str, tuple[float, float]] | None = None,
) -> Staged:
    """Read, map and validate the files of ``folder``; return the staged result.

    The caller must ``close()`` the result. Problems never raise: they are returned.
    """
    return Stager(
        folder,
        mapping,
        company_timezone=company_timezone,
        existing_ids=existing_ids,
        existing_links=existing_links,
        progress=progress,
        score_ranges=score_ranges,
    ).run()
