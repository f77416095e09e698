"""What an import changed, for the ones who keep figures derived from CRM data.

The writer shows the watcher the rows of deals and activities it is about to change (as
they were stored), the same rows once written, and the rows it is about to prune; the
watcher keeps, per table, the sellers, days, deals and accounts those rows name, before
and after. A hook registered in ``AFTER_IMPORT`` (the KPI engine's refresh) gets the
result as a ``Changes``. Beyond ``ROWS_LISTED`` distinct (seller, days, deal, account)
rows of a table the lists are not kept and the table is marked incomplete: whoever
reads it recomputes everything instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

# The tables whose rows the KPIs are built from, and what their rows name: the seller,
# the days, the deal, the account (a deal's own id only once stored).
WATCHED: dict[str, dict[str, str]] = {
    "deals": {
        "seller_id": "sellers",
        "created_date": "days",
        "close_date": "days",
        "id": "deals",
        "account_id": "accounts",
    },
    "activities": {
        "seller_id": "sellers",
        "occurred_on": "days",
        "deal_id": "deals",
        "account_id": "accounts",
    },
}
ROWS_LISTED = 20_000


@dataclass
class TableChanges:
    """The rows of one table an import inserted, updated or pruned: what they name, as
    stored before and as written (rows written unchanged are left out)."""

    target: str
    files: list[str] = field(default_factory=list)
    sellers: set[int] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    deals: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    complete: bool = True


@dataclass
class Changes:
    """What an import changed: per watched table, and whether the organisation did."""

    tables: dict[str, TableChanges] = field(default_factory=dict)
    organisation: bool = False
    accounts_pruned: bool = False
    # The spans of days of everything else that changed (ratings, pulse), from the report.
    other_spans: list[tuple[date, date]] = field(default_factory=list)

    @property
    def everything(self) -> bool:
        """True when no list is precise enough: the organisation, pruned accounts, or a
        table with too many rows to list."""
        return (
            self.organisation
            or self.accounts_pruned
            or any(not table.complete for table in self.tables.values())
        )

    def table(self, target: str) -> TableChanges:
        return self.tables.setdefault(target, TableChanges(target))


class ChangeWatcher:
    """Notes, for the watched tables, what the rows the writer changes name."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.changes = Changes()

    def rows(self, target: str, source: str, *, stored: bool = True) -> None:
        """Note the rows of ``source`` (a FROM clause with alias ``t``) for ``target``.

        ``stored``: the rows are in the table itself (else in a staging table, whose new
        rows have no id yet).
        """
        columns = WATCHED.get(target)
        if columns is None:
            return
        table = self.changes.table(target)
        if not table.complete:
            return
        names = [name for name in columns if stored or name != "id"]
        listed = ", ".join(f"t.{name}" for name in names)
        found = self.connection.execute(
            text(f"SELECT DISTINCT {listed} FROM {source} LIMIT {ROWS_LISTED + 1}")  # noqa: S608
        ).all()
        if len(found) > ROWS_LISTED:
            table.complete = False
            return
        for row in found:
            for name, value in zip(names, row, strict=True):
                if value is None:
                    continue
                kind = columns[name]
                if kind == "days" and isinstance(value, str):
                    value = date.fromisoformat(value[:10])  # SQLite gives dates as text
                getattr(table, kind).add(value)
