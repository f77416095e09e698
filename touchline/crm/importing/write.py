"""Write: move staged rows into Touchline's database in the caller's transaction.

Per canonical table: the clean rows go into a temporary table of the target
database (PostgreSQL: ``COPY``; SQLite: batched inserts), then one set-based
statement upserts them by external id, resolving references to internal ids and
leaving rows whose values did not change untouched. Counts of inserted, updated
and unchanged rows are taken before the upsert from the same comparison.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import (
    AddConstraint,
    Constraint,
    CreateIndex,
    DropConstraint,
    DropIndex,
    UniqueConstraint,
)

from touchline.crm.importing.changes import WATCHED, ChangeWatcher
from touchline.crm.importing.report import FileCounts, Problem
from touchline.crm.importing.schema import TARGETS, TARGETS_BY_NAME, Field, Kind, Target
from touchline.crm.importing.stage import Staged, literal, quote
from touchline.db import Base

Progress = Callable[[str, int], None]
BATCH = 20_000
BULK_ROWS = 50_000


@dataclass(frozen=True)
class Column:
    """A column of the target table and how its value is produced from the staged row."""

    name: str  # column of the database table
    staged: str  # DuckDB expression over the staged row, giving the value as text or number
    sql_type: str  # type of the column in the temporary table of the target database
    ref: str | None = None  # target whose external id the staged value is
    keep_when_empty: bool = False


def _columns(target: Target, dialect: str) -> list[Column]:
    columns: list[Column] = []
    for field in target.fields:
        columns.extend(_field_columns(target, field, dialect))
    return columns


def _field_columns(target: Target, field: Field, dialect: str) -> list[Column]:
    postgres = dialect == "postgresql"
    name = "s." + quote(field.name)
    if field.ref is not None:
        db_column = "parent_id" if field.name == "parent" else f"{field.name}_id"
        return [
            Column(db_column, name, "TEXT", ref=field.ref, keep_when_empty=field.keep_when_empty)
        ]
    if field.kind is Kind.TIMESTAMP:
        # SQLite keeps timestamps as text in SQLAlchemy's layout, in UTC.
        utc = "s." + quote(field.name + "__utc")
        return [
            Column(
                field.name,
                f"{utc} || '+00'" if postgres else utc,
                "TIMESTAMPTZ" if postgres else "TEXT",
            ),
            Column(
                field.name.replace("_at", "_on"),
                f"strftime(s.{quote(field.name + '__local_date')}, '%Y-%m-%d')",
                "DATE" if postgres else "TEXT",
            ),
        ]
    if field.kind is Kind.DATE:
        return [Column(field.name, f"strftime({name}, '%Y-%m-%d')", "DATE" if postgres else "TEXT")]
    if target.name == "deals" and field.name == "amount":
        return [Column("amount_cents", f"CAST(round({name} * 100) AS BIGINT)", "BIGINT")]
    if field.kind is Kind.DECIMAL:
        sql_type = "DOUBLE PRECISION" if field.places > 2 else "NUMERIC(18, 2)"
        return [Column(field.name, f"CAST({name} AS VARCHAR)", sql_type)]
    if field.kind is Kind.INTEGER:
        return [Column(field.name, name, "BIGINT")]
    if field.kind is Kind.BOOLEAN:
        return [Column(field.name, name, "BOOLEAN")]
    return [Column(field.name, name, "TEXT")]


def _deferred(target: Target, column: Column) -> bool:
    """True for references to rows written later or alongside (a unit's parent and manager).

    They are set by an update once every table of the import is written.
    """
    if column.ref is None:
        return False
    order = [t.name for t in TARGETS]
    return order.index(column.ref) >= order.index(target.name)


def _key_columns(target: Target, columns: list[Column]) -> list[Column]:
    """Return the columns of ``columns`` that identify a row of ``target``."""
    wanted = {"parent_id" if name == "parent" else name for name in target.key}
    wanted |= {f"{name}_id" for name in target.key}
    return [column for column in columns if column.name in wanted]


class Writer:
    """Writes the staged rows of one import through one database connection."""

    def __init__(
        self,
        connection: Connection,
        staged: Staged,
        *,
        progress: Progress | None = None,
        watcher: ChangeWatcher | None = None,
    ) -> None:
        self.connection = connection
        self.watcher = watcher
        self.staged = staged
        self.duck = staged.connection
        self.dialect = connection.dialect.name
        self.progress = progress or (lambda _label, _n: None)
        self.distinct = "IS DISTINCT FROM" if self.dialect == "postgresql" else "IS NOT"
        self.problems: list[Problem] = []
        self.seconds: dict[str, float] = {}
        self._ids_loaded: set[str] = set()
        # Targets that went through a temporary table (the others were loaded straight
        # into empty tables, so nothing can have vanished from them).
        self._staged_in_database: list[Target] = []

    # --- moving rows across ------------------------------------------------------

    def _ids(self, target_name: str) -> str:
        """Return a DuckDB table mapping the stored external ids of a target to internal ids."""
        table = f"ids_{target_name}"
        if target_name not in self._ids_loaded:
            rows = self.connection.execute(
                text(f"SELECT external_id, id FROM {TARGETS_BY_NAME[target_name].table}")
            ).all()
            external = np.array([row[0] for row in rows], dtype=object)
            internal = np.array([row[1] for row in rows], dtype=np.int64)
            self.duck.register(f"{table}_view", {"external_id": external, "id": internal})
            self.duck.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_view")
            self.duck.unregister(f"{table}_view")
            self._ids_loaded.add(target_name)
        return table

    def _transfer_query(self, target: Target, columns: list[Column], *, with_file: bool) -> str:
        """Return the DuckDB query giving the rows to write, references as internal ids.

        References to rows already stored are resolved here, in DuckDB, so the database
        only has to insert.
        """
        selects = ["s.__file"] if with_file else []
        joins = []
        for index, column in enumerate(columns):
            if column.ref is not None and not _deferred(target, column):
                alias = f"r{index}"
                joins.append(
                    f"LEFT JOIN {self._ids(column.ref)} {alias} "
                    f"ON {alias}.external_id = {column.staged}"
                )
                selects.append(f"{alias}.id")
            else:
                selects.append(column.staged)
        return f"SELECT {', '.join(selects)} FROM s_{target.name} s {' '.join(joins)}"

    def _stage_table(self, target: Target, columns: list[Column]) -> str:
        """Move the target's rows into a temporary table of the database; return its name."""
        table = f"tl_stage_{target.name}"
        definitions = ", ".join(
            f"{quote(c.name)} {'BIGINT' if c.ref and not _deferred(target, c) else c.sql_type}"
            for c in columns
        )
        suffix = " ON COMMIT DROP" if self.dialect == "postgresql" else ""
        self.connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        self.connection.execute(
            text(f"CREATE TEMPORARY TABLE {table} (src_file TEXT, {definitions}){suffix}")
        )
        names = ["src_file", *(c.name for c in columns)]
        self._send(table, names, self._transfer_query(target, columns, with_file=True), target)
        return table

    def _load_direct(self, target: Target, columns: list[Column]) -> None:
        """Write the rows straight into an empty table: nothing to compare, nothing to merge."""
        names = [c.name for c in columns]
        self._send(
            target.table, names, self._transfer_query(target, columns, with_file=False), target
        )

    def _send(self, table: str, names: list[str], query: str, target: Target) -> None:
        if self.dialect == "postgresql":
            self._copy_postgres(table, names, query, target)
        else:
            self._insert_batches(table, names, query, target)

    def _copy_postgres(self, table: str, names: list[str], query: str, target: Target) -> None:
        assert self.staged.workdir is not None
        path = Path(self.staged.workdir.name) / f"{target.name}.csv"
        self.duck.execute(f"COPY ({query}) TO {literal(str(path))} (FORMAT csv, HEADER false)")
        raw = self.connection.connection.driver_connection
        assert raw is not None
        written = 0
        columns = ", ".join(quote(name) for name in names)
        copy_sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy, path.open("rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
                written += chunk.count(b"\n")
                self.progress(f"writing {target.name}", written)
        path.unlink()

    def _insert_batches(self, table: str, names: list[str], query: str, target: Target) -> None:
        columns = ", ".join(quote(name) for name in names)
        placeholders = ", ".join("?" for _ in names)
        statement = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
        raw = self.connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        result = self.duck.execute(query)
        written = 0
        while rows := result.fetchmany(BATCH):
            cursor.executemany(statement, rows)
            written += len(rows)
            self.progress(f"writing {target.name}", written)
        cursor.close()

    # --- upserting ---------------------------------------------------------------

    def _resolved(self, target: Target, columns: list[Column], stage: str) -> tuple[str, str]:
        """Return (select list, joins) of the staged rows, without the deferred references."""
        selects: list[str] = ["s.src_file"]
        for column in columns:
            if not _deferred(target, column):
                selects.append(f"s.{quote(column.name)} AS {quote(column.name)}")
        return ", ".join(selects), ""

    def _count(
        self, target: Target, columns: list[Column], stage: str
    ) -> dict[str, tuple[int, int, int]]:
        selects, joins = self._resolved(target, columns, stage)
        keys = _key_columns(target, columns)
        match = " AND ".join(f"t.{quote(k.name)} = x.{quote(k.name)}" for k in keys)
        compared = [c for c in columns if c not in keys and not _deferred(target, c)]
        differs = [f"t.{quote(c.name)} {self.distinct} x.{quote(c.name)}" for c in compared]
        late_joins = ""
        for index, column in enumerate(columns):
            if _deferred(target, column):
                assert column.ref is not None
                alias = f"p{index}"
                ref_table = TARGETS_BY_NAME[column.ref].table
                late_joins += (
                    f" LEFT JOIN {ref_table} {alias} ON {alias}.id = t.{quote(column.name)}"
                )
                late = quote(column.name + "__ext")
                differ = f"{alias}.external_id {self.distinct} x.{late}"
                if column.keep_when_empty:
                    differ = f"(x.{late} IS NOT NULL AND {differ})"
                differs.append(differ)
                selects += f", s.{quote(column.name)} AS {late}"
        changed = " OR ".join(differs) if differs else "false"
        sql = (
            f"SELECT x.src_file, count(*), "
            f"sum(CASE WHEN t.id IS NULL THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN t.id IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END) "
            f"FROM (SELECT {selects} FROM {stage} s {joins}) x "
            f"LEFT JOIN {target.table} t ON {match}{late_joins} GROUP BY x.src_file"
        )
        return {
            file: (int(total), int(inserted or 0), int(updated or 0))
            for file, total, inserted, updated in self.connection.execute(text(sql))
        }

    def _upsert(self, target: Target, columns: list[Column], stage: str) -> None:
        selects, joins = self._resolved(target, columns, stage)
        own = [c for c in columns if not _deferred(target, c)]
        names = ", ".join(quote(c.name) for c in own)
        keys = _key_columns(target, columns)
        updates = [c for c in own if c not in keys]
        conflict = ", ".join(quote(k.name) for k in keys)
        if updates:
            assignments = ", ".join(f"{quote(c.name)} = excluded.{quote(c.name)}" for c in updates)
            changed = " OR ".join(
                f"{target.table}.{quote(c.name)} {self.distinct} excluded.{quote(c.name)}"
                for c in updates
            )
            action = f"DO UPDATE SET {assignments} WHERE {changed}"
        else:
            action = "DO NOTHING"
        values = ", ".join(f"x.{quote(c.name)}" for c in own)
        self.connection.execute(
            text(
                f"INSERT INTO {target.table} ({names}) SELECT {values} FROM "
                f"(SELECT {selects} FROM {stage} s {joins}) x WHERE true "
                f"ON CONFLICT ({conflict}) {action}"
            )
        )

    def _set_deferred(self, target: Target, columns: list[Column], stage: str) -> None:
        for column in columns:
            if not _deferred(target, column):
                continue
            assert column.ref is not None
            ref_table = TARGETS_BY_NAME[column.ref].table
            resolved = (
                f"(SELECT p.id FROM {stage} s JOIN {ref_table} p "
                f"ON p.external_id = s.{quote(column.name)} "
                f"WHERE s.external_id = {target.table}.external_id)"
            )
            given = f"SELECT external_id FROM {stage}"
            if column.keep_when_empty:
                given += f" WHERE {quote(column.name)} IS NOT NULL"
            self.connection.execute(
                text(
                    f"UPDATE {target.table} SET {quote(column.name)} = {resolved} "
                    f"WHERE external_id IN ({given}) "
                    f"AND {quote(column.name)} {self.distinct} {resolved}"
                )
            )

    # --- the whole write ---------------------------------------------------------

    def write(self) -> list[FileCounts]:
        """Write every staged target; return the counts per file."""
        counts = self.staged.counts
        for target in self.staged.targets:
            started = time.perf_counter()
            columns = _columns(target, self.dialect)
            empty = self._is_empty(target)
            rows = sum(entry.rows for (_f, name), entry in counts.items() if name == target.name)
            if empty:
                # Nothing stored yet: every row is new, no comparison needed.
                for (_file, name), entry in counts.items():
                    if name == target.name:
                        entry.inserted, entry.updated, entry.unchanged = entry.rows, 0, 0
            # PostgreSQL copies straight into an empty table; SQLite is faster through its
            # temporary table and one INSERT ... SELECT (measured, docs/importing.md).
            direct = self.dialect == "postgresql" and empty
            if direct and not any(_deferred(target, column) for column in columns):
                with self._bulk(target, rows, unique_too=True):
                    self._load_direct(target, columns)
                if self.watcher is not None and target.name in WATCHED:
                    self.watcher.rows(target.name, f"{target.table} t")
            else:
                stage = self._stage_table(target, columns)
                self._staged_in_database.append(target)
                if not empty:
                    for file, (total, inserted, updated) in self._count(
                        target, columns, stage
                    ).items():
                        entry = counts.setdefault(
                            (file, target.name), FileCounts(file, target.name)
                        )
                        entry.inserted = inserted
                        entry.updated = updated
                        entry.unchanged = total - inserted - updated
                self.progress(f"saving {target.name}", 0)
                self._watch(target, columns, stage, empty=empty)
                with self._bulk(target, rows):
                    self._upsert(target, columns, stage)
            self.seconds[target.name] = time.perf_counter() - started
            self._ids_loaded.discard(target.name)
        for target in self._staged_in_database:
            columns = _columns(target, self.dialect)
            self._set_deferred(target, columns, f"tl_stage_{target.name}")
        if any(t.name in ("units", "sellers") for t in self.staged.targets):
            self._derive_unit_managers()
        return list(counts.values())

    def _watch(self, target: Target, columns: list[Column], stage: str, *, empty: bool) -> None:
        """Show the watcher the rows the upsert changes: as stored, and as staged."""
        if self.watcher is None or target.name not in WATCHED:
            return
        if empty:
            self.watcher.rows(target.name, f"{stage} t", stored=False)
            return
        keys = _key_columns(target, columns)
        compared = [c for c in columns if c not in keys and not _deferred(target, c)]

        def differs(stored: str, staged: str) -> str:
            found = [
                f"{stored}.{quote(c.name)} {self.distinct} {staged}.{quote(c.name)}"
                for c in compared
            ]
            return " OR ".join(found) if found else "false"

        # Both driven from the staged rows, through the stored table's unique key.
        match = " AND ".join(f"o.{quote(k.name)} = s.{quote(k.name)}" for k in keys)
        self.watcher.rows(
            target.name,
            f"{stage} s JOIN {target.table} t ON {match.replace('o.', 't.')} "
            f"WHERE {differs('t', 's')}",
        )
        self.watcher.rows(
            target.name,
            f"{stage} t WHERE NOT EXISTS (SELECT 1 FROM {target.table} o WHERE "
            f"{match.replace('s.', 't.')} AND NOT ({differs('o', 't')}))",
            stored=False,
        )

    def _is_empty(self, target: Target) -> bool:
        query = text(f"SELECT 1 FROM {target.table} LIMIT 1")
        return self.connection.execute(query).first() is None

    @contextmanager
    def _bulk(self, target: Target, rows: int, *, unique_too: bool = False) -> Iterator[None]:
        """Load a large batch without per-row index and foreign key upkeep.

        When an import brings at least ``BULK_ROWS`` rows and more than half as many as
        the table holds, the table's secondary indexes (and, on PostgreSQL, its foreign
        keys, which the import has already checked) are dropped and built again after
        the load, in the same transaction: one sort beats a million index insertions.
        With ``unique_too`` (PostgreSQL copying into an empty table: no upsert needs the
        index meanwhile), the unique constraints go too; adding them back checks them.
        """
        table = Base.metadata.tables[target.table]
        existing = self.connection.execute(text(f"SELECT count(*) FROM {target.table}")).scalar()
        if rows < BULK_ROWS or rows * 2 < (existing or 0):
            yield
            return
        indexes = [index for index in table.indexes if not index.unique]
        keys: list[Constraint] = []
        if self.dialect == "postgresql":
            keys += list(table.foreign_key_constraints)
            if unique_too:
                keys += [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        if self.dialect == "postgresql":
            # Index builds sort in memory; the server's default leaves them to disk.
            self.connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for key in keys:
            self.connection.execute(DropConstraint(key))
        for index in indexes:
            self.connection.execute(DropIndex(index))
        yield
        for index in indexes:
            self.connection.execute(CreateIndex(index))
        for key in keys:
            self.connection.execute(AddConstraint(key))

    def drop_stage_tables(self) -> None:
        """Drop the temporary tables (SQLite keeps them for the connection's life)."""
        for target in self.staged.targets:
            self.connection.execute(text(f"DROP TABLE IF EXISTS tl_stage_{target.name}"))

    def _derive_unit_managers(self) -> None:
        """Give each unit without a manager the seller who manages most of its members."""
        rows = self.connection.execute(
            text(
                "SELECT s.unit_id, s.manager_id, m.external_id, count(*) FROM sellers s "
                "JOIN sellers m ON m.id = s.manager_id JOIN units u ON u.id = s.unit_id "
                "WHERE u.manager_id IS NULL AND s.active = :active "
                "GROUP BY s.unit_id, s.manager_id, m.external_id"
            ),
            {"active": True},
        ).all()
        best: dict[int, tuple[int, str, int]] = {}
        for unit_id, manager_id, external_id, count in rows:
            current = best.get(unit_id)
            if current is None or (-count, external_id) < (-current[2], current[1]):
                best[unit_id] = (manager_id, external_id, count)
        for unit_id, (manager_id, _external_id, _count) in best.items():
            self.connection.execute(
                text("UPDATE units SET manager_id = :manager WHERE id = :unit"),
                {"manager": manager_id, "unit": unit_id},
            )

    # --- pruning -----------------------------------------------------------------

    def prune_candidates(self, limit: int = 20) -> dict[str, tuple[int, list[str]]]:
        """Return, per target, how many stored rows the import lacks and the first ids."""
        found: dict[str, tuple[int, list[str]]] = {}
        for target in self._staged_in_database:
            if target.key != ("external_id",):
                continue
            stage = f"tl_stage_{target.name}"
            missing = (
                f"FROM {target.table} t WHERE NOT EXISTS "
                f"(SELECT 1 FROM {stage} s WHERE s.external_id = t.external_id)"
            )
            if target.prunable:
                missing += f" AND t.{target.prunable}"
            total = self.connection.execute(text(f"SELECT count(*) {missing}")).scalar_one()
            if total:
                ids = self.connection.execute(
                    text(f"SELECT t.external_id {missing} ORDER BY t.external_id LIMIT {limit}")
                ).scalars()
                found[target.name] = (int(total), list(ids))
        return found

    def prune(self, counts: list[FileCounts]) -> None:
        """Delete stored rows the import lacks, children first; problems when others need them."""
        by_target = {c.target: c for c in counts}
        for target in reversed(self._staged_in_database):
            if target.key != ("external_id",):
                continue
            stage = f"tl_stage_{target.name}"

            def vanished(alias: str, stage: str = stage, target: Target = target) -> str:
                match = f"s.external_id = {alias}.external_id"
                found = f"NOT EXISTS (SELECT 1 FROM {stage} s WHERE {match})"
                if target.prunable:
                    found += f" AND {alias}.{target.prunable}"
                return found

            if self.watcher is not None and target.name in WATCHED:
                self.watcher.rows(target.name, f"{target.table} t WHERE {vanished('t')}")
            try:
                with self.connection.begin_nested():
                    if target.self_refs:
                        for field in target.self_refs:
                            column = "parent_id" if field.name == "parent" else f"{field.name}_id"
                            self.connection.execute(
                                text(
                                    f"UPDATE {target.table} SET {column} = NULL WHERE {column} IN "
                                    f"(SELECT t.id FROM {target.table} t WHERE {vanished('t')})"
                                )
                            )
                    result = self.connection.execute(
                        text(f"DELETE FROM {target.table} WHERE {vanished(target.table)}")
                    )
            except IntegrityError:
                self.problems.append(
                    Problem(
                        target.name,
                        None,
                        None,
                        None,
                        f"cannot prune {target.name}: other stored rows still refer to some of "
                        "them; import those rows too or prune them first",
                    )
                )
                continue
            if target.name in by_target:
                by_target[target.name].pruned = result.rowcount


def summarise(counts: list[FileCounts]) -> Counter[str]:
    """Return the total of each count over every file."""
    total: Counter[str] = Counter()
    for entry in counts:
        total.update(
            {
                "rows": entry.rows,
                "inserted": entry.inserted,
                "updated": entry.updated,
                "unchanged": entry.unchanged,
                "skipped": entry.skipped,
                "pruned": entry.pruned,
            }
        )
    return total
