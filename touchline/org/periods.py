"""Periods: months, fiscal quarters, fiscal years and ISO weeks, from the fiscal year start.

Labels:

- month ``2026-03``: the calendar month;
- quarter ``2026-Q1``: the first quarter of fiscal year 2026;
- year ``FY2026``: fiscal year 2026;
- week ``2026-W07``: the ISO 8601 week (Monday to Sunday).

A fiscal year is named after the calendar year in which it **ends**. With the
fiscal year starting in January, FY2026 is 2026-01-01..2026-12-31; starting in
April, FY2026 is 2025-04-01..2026-03-31 and 2026-Q1 is April to June 2025.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class PeriodError(ValueError):
    """Text that is not a period label."""


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    WEEK = "week"


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_YEAR = re.compile(r"FY(\d{4})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
FORMS = "use 2026-03 (month), 2026-Q1 (quarter), FY2026 (fiscal year) or 2026-W07 (week)"


def _check_start(fiscal_start_month: int) -> None:
    if not 1 <= fiscal_start_month <= 12:
        raise ValueError(f"the fiscal year start month must be 1-12, not {fiscal_start_month}")


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    next_year, next_month = _add_months(year, month, 1)
    return date(next_year, next_month, 1) - timedelta(days=1)


def fiscal_year_of(day: date, *, fiscal_start_month: int) -> int:
    """Return the fiscal year ``day`` belongs to (named after the year it ends in)."""
    _check_start(fiscal_start_month)
    if fiscal_start_month == 1 or day.month < fiscal_start_month:
        return day.year
    return day.year + 1


def _fiscal_year_start(fiscal_year: int, fiscal_start_month: int) -> tuple[int, int]:
    return (fiscal_year, 1) if fiscal_start_month == 1 else (fiscal_year - 1, fiscal_start_month)


@dataclass(frozen=True, order=True)
class Period:
    """A span of days with its label; ``end`` is inclusive."""

    start: date
    end: date
    kind: PeriodKind = field(compare=False)
    label: str = field(compare=False)
    fiscal_start_month: int = field(default=1, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """True when ``day`` lies in the period."""
        return self.start <= day <= self.end

    def next(self) -> Period:
        """Return the period of the same kind right after this one."""
        return period_containing(
            self.end + timedelta(days=1), self.kind, fiscal_start_month=self.fiscal_start_month
        )

    def previous(self) -> Period:
        """Return the period of the same kind right before this one."""
        return period_containing(
            self.start - timedelta(days=1), self.kind, fiscal_start_month=self.fiscal_start_month
        )

    def day_index(self, day: date) -> int:
        """Return the 0-based position of ``day`` in the period; refuses a day outside it."""
        if not self.contains(day):
            raise ValueError(f"{day} is not in {self.label}")
        return (day - self.start).days

    def elapsed_share(self, day: date) -> float:
        """Return the share of the period's days up to and including ``day`` (0 to 1)."""
        if day < self.start:
            return 0.0
        if day >= self.end:
            return 1.0
        return (self.day_index(day) + 1) / self.days

    def months(self) -> list[Period]:
        """Return the months inside the period (a month: itself; a week: none)."""
        if self.kind is PeriodKind.WEEK:
            return []
        return periods_between(
            self.start, self.end, PeriodKind.MONTH, fiscal_start_month=self.fiscal_start_month
        )


def _month(year: int, month: int, fiscal_start_month: int) -> Period:
    return Period(
        date(year, month, 1),
        _month_end(year, month),
        PeriodKind.MONTH,
        f"{year:04d}-{month:02d}",
        fiscal_start_month,
    )


def _quarter(fiscal_year: int, quarter: int, fiscal_start_month: int) -> Period:
    year, month = _fiscal_year_start(fiscal_year, fiscal_start_month)
    first_year, first_month = _add_months(year, month, 3 * (quarter - 1))
    last_year, last_month = _add_months(first_year, first_month, 2)
    return Period(
        date(first_year, first_month, 1),
        _month_end(last_year, last_month),
        PeriodKind.QUARTER,
        f"{fiscal_year:04d}-Q{quarter}",
        fiscal_start_month,
    )


def _year(fiscal_year: int, fiscal_start_month: int) -> Period:
    year, month = _fiscal_year_start(fiscal_year, fiscal_start_month)
    last_year, last_month = _add_months(year, month, 11)
    return Period(
        date(year, month, 1),
        _month_end(last_year, last_month),
        PeriodKind.YEAR,
        f"FY{fiscal_year:04d}",
        fiscal_start_month,
    )


def _week(year: int, week: int, fiscal_start_month: int) -> Period:
    start = date.fromisocalendar(year, week, 1)
    return Period(
        start,
        start + timedelta(days=6),
        PeriodKind.WEEK,
        f"{year:04d}-W{week:02d}",
        fiscal_start_month,
    )


def parse_period(label: str, *, fiscal_start_month: int) -> Period:
    """Return the period named by ``label``; refuses anything else with PeriodError."""
    _check_start(fiscal_start_month)
    text = label.strip().upper()
    try:
        if match := _MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if 1900 <= year <= 9999 and 1 <= month <= 12:
                return _month(year, month, fiscal_start_month)
        elif match := _QUARTER.fullmatch(text):
            year = int(match[1])
            if 1901 <= year <= 9999:
                return _quarter(year, int(match[2]), fiscal_start_month)
        elif match := _YEAR.fullmatch(text):
            year = int(match[1])
            if 1901 <= year <= 9999:
                return _year(year, fiscal_start_month)
        elif match := _WEEK.fullmatch(text):
            year, week = int(match[1]), int(match[2])
            if 1900 <= year <= 9998 and week >= 1:
                return _week(year, week, fiscal_start_month)
    except ValueError:
        pass
    raise PeriodError(f"{label!r} is not a period: {FORMS}")


def period_containing(day: date, kind: PeriodKind, *, fiscal_start_month: int) -> Period:
    """Return the period of ``kind`` that holds ``day``."""
    _check_start(fiscal_start_month)
    if kind is PeriodKind.MONTH:
        return _month(day.year, day.month, fiscal_start_month)
    if kind is PeriodKind.WEEK:
        year, week, _weekday = day.isocalendar()
        return _week(year, week, fiscal_start_month)
    fiscal_year = fiscal_year_of(day, fiscal_start_month=fiscal_start_month)
    if kind is PeriodKind.YEAR:
        return _year(fiscal_year, fiscal_start_month)
    year, month = _fiscal_year_start(fiscal_year, fiscal_start_month)
    months_in = (day.year * 12 + day.month) - (year * 12 + month)
    return _quarter(fiscal_year, months_in // 3 + 1, fiscal_start_month)


def periods_between(
    start: date, end: date, kind: PeriodKind, *, fiscal_start_month: int
) -> list[Period]:
    """Return every period of ``kind`` that overlaps ``start``..``end``, in order."""
    if end < start:
        return []
    found = [period_containing(start, kind, fiscal_start_month=fiscal_start_month)]
    while found[-1].end < end:
        found.append(found[-1].next())
    return found
