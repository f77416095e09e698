"""Periods: months, fiscal quarters, fiscal years and ISO weeks, from the fiscal year start.

Labels:

- month ``2026-03``: the calendar month;
- quarter ``2026-Q1``: the first quarter of fiscal year 2026;
- year ``FY2026``: fiscal year 2026;
- week ``2026-W07``: the ISO 8601 week (Monday to Sunday), numbered within its ISO year.

A fiscal year is named after the calendar year in which it **ends**:

- starting in January, FY2026 is 2026-01-01..2026-12-31;
- starting in April, FY2026 is 2025-04-01..2026-03-31;
- starting in October, FY2026 is 2025-10-01..2026-09-30.

Quarters are numbered from the fiscal year start and carry its name: starting in April,
2026-Q1 is 2025-04-01..2025-06-30 and 2026-Q4 is 2026-01-01..2026-03-31.

Only the fiscal quarter and year depend on the start month; months and weeks never do.

Every period lies within 1900-01-01..9999-12-31 and is named by a year up to 9999. A label
whose period would reach outside (FY1900 when the year starts after January, 9999-W52) is
refused like any other bad label, and so are the quarter and year of a day in FY10000 (from
9999-02-01 when the year starts in February). So every Period this module hands out has a
label that parses back to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 31)
FORMS = "use 2026-03 (month), 2026-Q1 (quarter), FY2026 (fiscal year) or 2026-W07 (week)"

# ASCII only: \d would also take other scripts' digits, which int() then quietly reads.
_FLAGS = re.ASCII | re.IGNORECASE
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", _FLAGS)
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])", _FLAGS)
_YEAR = re.compile(r"FY([0-9]{4})", _FLAGS)
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})", _FLAGS)


class PeriodError(ValueError):
    """Text that names no period, or a period reaching outside 1900-01-01..9999-12-31."""


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    WEEK = "week"


def _check_start(fiscal_start_month: int) -> None:
    # bool is an int subclass; True would otherwise pass as January.
    if isinstance(fiscal_start_month, bool) or not 1 <= fiscal_start_month <= 12:
        raise ValueError(
            f"the fiscal year start month must be 1-12 (1 = January), not {fiscal_start_month!r}"
        )


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _first_month_of_fiscal_year(fiscal_year: int, fiscal_start_month: int) -> tuple[int, int]:
    if fiscal_start_month == 1:
        return fiscal_year, 1
    return fiscal_year - 1, fiscal_start_month


def _span_of_months(label: str, first: tuple[int, int], count: int) -> tuple[date, date]:
    """Return the first and last day of ``count`` months from ``first``; refuses out of range."""
    last_year, last_month = _add_months(*first, count - 1)
    # Checked on the numbers first: date() itself cannot hold the years just outside.
    if first[0] < FIRST_DAY.year or last_year > LAST_DAY.year:
        raise PeriodError(f"{label} runs outside {FIRST_DAY}..{LAST_DAY}")
    if (last_year, last_month) == (LAST_DAY.year, 12):
        end = LAST_DAY
    else:
        end = date(*_add_months(last_year, last_month, 1), 1) - timedelta(days=1)
    return date(*first, 1), end


def _iso_weeks_in(year: int) -> int:
    # 28 December always falls in the last ISO week of its year.
    return date(year, 12, 28).isocalendar().week


def fiscal_year_of(day: date, *, fiscal_start_month: int) -> int:
    """Return the fiscal year ``day`` belongs to, named after the calendar year it ends in.

    Refuses a start month outside 1..12 with ValueError.
    """
    _check_start(fiscal_start_month)
    if fiscal_start_month == 1 or day.month < fiscal_start_month:
        return day.year
    return day.year + 1


@dataclass(frozen=True, order=True)
class Period:
    """A labelled span of days; ``end`` is inclusive.

    Periods sort by kind, then chronologically. ``fiscal_start_month`` is kept so that
    ``next()``, ``previous()`` and ``months()`` stay in the same fiscal calendar.
    """

    kind: PeriodKind
    start: date
    end: date
    label: str
    fiscal_start_month: int = field(compare=False)

    def __post_init__(self) -> None:
        _check_start(self.fiscal_start_month)
        if self.end < self.start:
            raise ValueError(f"{self.label} ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """Return the number of days in the period, both ends included."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """Return True when ``day`` lies in the period."""
        return self.start <= day <= self.end

    def next(self) -> Period:
        """Return the period of the same kind right after this one.

        Refuses with PeriodError when that period would end after 9999-12-31.
        """
        if self.end == LAST_DAY:
            raise PeriodError(f"no {self.kind} follows {self.label}: {LAST_DAY} is the last day")
        return period_containing(
            self.end + timedelta(days=1), self.kind, fiscal_start_month=self.fiscal_start_month
        )

    def previous(self) -> Period:
        """Return the period of the same kind right before this one.

        Refuses with PeriodError when that period would start before 1900-01-01.
        """
        if self.start == FIRST_DAY:
            raise PeriodError(f"no {self.kind} precedes {self.label}: {FIRST_DAY} is the first day")
        return period_containing(
            self.start - timedelta(days=1), self.kind, fiscal_start_month=self.fiscal_start_month
        )

    def day_index(self, day: date) -> int:
        """Return the 0-based position of ``day`` in the period (0 on the first day).

        Refuses a day outside the period with ValueError.
        """
        if not self.contains(day):
            raise ValueError(f"{day} is not in {self.label} ({self.start}..{self.end})")
        return (day - self.start).days

    def elapsed_share(self, day: date) -> float:
        """Return the share of the period's days up to and including ``day``.

        1/days on the first day, 1.0 on the last; clamped to 0.0 before the period and 1.0
        after it, so a pace computed from it never runs negative or past the whole.
        """
        if day < self.start:
            return 0.0
        if day >= self.end:
            return 1.0
        return (self.day_index(day) + 1) / self.days

    def months(self) -> list[Period]:
        """Return the calendar months inside the period, in order.

        A month gives itself, a quarter three months and a year twelve. A week gives an empty
        list: no whole month lies inside one.
        """
        if self.kind is PeriodKind.WEEK:
            return []
        return periods_between(
            self.start, self.end, PeriodKind.MONTH, fiscal_start_month=self.fiscal_start_month
        )


def _month(year: int, month: int, fiscal_start_month: int) -> Period:
    label = f"{year:04d}-{month:02d}"
    start, end = _span_of_months(label, (year, month), 1)
    return Period(PeriodKind.MONTH, start, end, label, fiscal_start_month)


def _check_fiscal_year(label: str, fiscal_year: int) -> None:
    # The days after FY9999 starts fit in a date, but a five-digit label would not parse back.
    if fiscal_year > LAST_DAY.year:
        raise PeriodError(f"{label} is after FY{LAST_DAY.year}, the last fiscal year")


def _quarter(fiscal_year: int, quarter: int, fiscal_start_month: int) -> Period:
    label = f"{fiscal_year:04d}-Q{quarter}"
    _check_fiscal_year(label, fiscal_year)
    first = _add_months(
        *_first_month_of_fiscal_year(fiscal_year, fiscal_start_month), 3 * (quarter - 1)
    )
    start, end = _span_of_months(label, first, 3)
    return Period(PeriodKind.QUARTER, start, end, label, fiscal_start_month)


def _year(fiscal_year: int, fiscal_start_month: int) -> Period:
    label = f"FY{fiscal_year:04d}"
    _check_fiscal_year(label, fiscal_year)
    first = _first_month_of_fiscal_year(fiscal_year, fiscal_start_month)
    start, end = _span_of_months(label, first, 12)
    return Period(PeriodKind.YEAR, start, end, label, fiscal_start_month)


def _week(year: int, week: int, fiscal_start_month: int) -> Period:
    label = f"{year:04d}-W{week:02d}"
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise PeriodError(f"{label} runs outside {FIRST_DAY}..{LAST_DAY}")
    if not 1 <= week <= _iso_weeks_in(year):
        raise PeriodError(f"{year} has ISO weeks 01 to {_iso_weeks_in(year)}, not {week:02d}")
    start = date.fromisocalendar(year, week, 1)
    # The last week of 9999 ends in 10000, which date cannot hold.
    if start > LAST_DAY - timedelta(days=6) or start < FIRST_DAY:
        raise PeriodError(f"{label} runs outside {FIRST_DAY}..{LAST_DAY}")
    return Period(PeriodKind.WEEK, start, start + timedelta(days=6), label, fiscal_start_month)


def _from_label(text: str, fiscal_start_month: int) -> Period | None:
    if match := _MONTH.fullmatch(text):
        month = int(match[2])
        return _month(int(match[1]), month, fiscal_start_month) if 1 <= month <= 12 else None
    if match := _QUARTER.fullmatch(text):
        return _quarter(int(match[1]), int(match[2]), fiscal_start_month)
    if match := _YEAR.fullmatch(text):
        return _year(int(match[1]), fiscal_start_month)
    if match := _WEEK.fullmatch(text):
        week = int(match[2])
        return _week(int(match[1]), week, fiscal_start_month) if 1 <= week <= 53 else None
    return None


def parse_period(label: str, *, fiscal_start_month: int) -> Period:
    """Return the period named by ``label``: ``2026-03``, ``2026-Q1``, ``FY2026`` or ``2026-W07``.

    Case and surrounding whitespace are ignored; the returned label is canonical. Refuses any
    other text, month 13, week 53 of a 52-week year and periods reaching outside
    1900-01-01..9999-12-31 with PeriodError naming the text and the accepted forms. Refuses a
    start month outside 1..12 with ValueError.
    """
    _check_start(fiscal_start_month)
    try:
        period = _from_label(label.strip(), fiscal_start_month)
    except PeriodError as error:
        raise PeriodError(f"{label!r} is not a period: {error}; {FORMS}") from None
    if period is None:
        raise PeriodError(f"{label!r} is not a period: {FORMS}")
    return period


def period_containing(day: date, kind: PeriodKind, *, fiscal_start_month: int) -> Period:
    """Return the period of ``kind`` that holds ``day``.

    Refuses with PeriodError a day whose period reaches outside 1900-01-01..9999-12-31, and a
    start month outside 1..12 with ValueError.
    """
    _check_start(fiscal_start_month)
    if kind is PeriodKind.MONTH:
        return _month(day.year, day.month, fiscal_start_month)
    if kind is PeriodKind.WEEK:
        year, week, _weekday = day.isocalendar()
        return _week(year, week, fiscal_start_month)
    fiscal_year = fiscal_year_of(day, fiscal_start_month=fiscal_start_month)
    if kind is PeriodKind.YEAR:
        return _year(fiscal_year, fiscal_start_month)
    first_year, first_month = _first_month_of_fiscal_year(fiscal_year, fiscal_start_month)
    months_in = (day.year * 12 + day.month) - (first_year * 12 + first_month)
    return _quarter(fiscal_year, months_in // 3 + 1, fiscal_start_month)


def periods_between(
    start: date, end: date, kind: PeriodKind, *, fiscal_start_month: int
) -> list[Period]:
    """Return every period of ``kind`` that overlaps ``start``..``end`` (inclusive), in order.

    The first period holds ``start`` and the last holds ``end``, so they may reach beyond the
    range. Refuses ``end`` before ``start`` with ValueError (a reversed range is a caller's
    mistake, not an empty one), and the errors of ``period_containing``.
    """
    _check_start(fiscal_start_month)
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    found = [period_containing(start, kind, fiscal_start_month=fiscal_start_month)]
    while found[-1].end < end:
        found.append(found[-1].next())
    return found
