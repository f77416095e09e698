"""Period arithmetic: months, fiscal quarters and years from any start month, ISO weeks."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchline.org.periods import (
    PeriodError,
    PeriodKind,
    fiscal_year_of,
    parse_period,
    period_containing,
    periods_between,
)

START_MONTHS = list(range(1, 13))


@pytest.mark.parametrize("start_month", START_MONTHS)
def test_four_quarters_and_twelve_months_tile_the_fiscal_year(start_month):
    year = parse_period("FY2026", fiscal_start_month=start_month)
    for kind, count in ((PeriodKind.QUARTER, 4), (PeriodKind.MONTH, 12)):
        parts = periods_between(year.start, year.end, kind, fiscal_start_month=start_month)
        assert len(parts) == count
        assert parts[0].start == year.start
        assert parts[-1].end == year.end
        for before, after in itertools.pairwise(parts):
            assert after.start == before.end + timedelta(days=1)
    assert year.start.month == start_month


def test_a_fiscal_year_is_named_after_the_year_it_ends_in():
    assert parse_period("FY2026", fiscal_start_month=1).start == date(2026, 1, 1)
    april = parse_period("FY2026", fiscal_start_month=4)
    assert (april.start, april.end) == (date(2025, 4, 1), date(2026, 3, 31))
    october = parse_period("FY2026", fiscal_start_month=10)
    assert (october.start, october.end) == (date(2025, 10, 1), date(2026, 9, 30))


def test_quarters_count_from_the_fiscal_year_start():
    first = parse_period("2026-Q1", fiscal_start_month=4)
    assert (first.start, first.end) == (date(2025, 4, 1), date(2025, 6, 30))
    last = parse_period("2026-Q4", fiscal_start_month=4)
    assert (last.start, last.end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("2026-Q1", fiscal_start_month=1).end == date(2026, 3, 31)


def test_leap_days_belong_to_their_month_quarter_and_year():
    leap = date(2024, 2, 29)
    assert parse_period("2024-02", fiscal_start_month=1).end == leap
    assert period_containing(leap, PeriodKind.QUARTER, fiscal_start_month=1).label == "2024-Q1"
    march_year = parse_period("FY2025", fiscal_start_month=3)
    assert (march_year.start, march_year.end) == (date(2024, 3, 1), date(2025, 2, 28))
    assert parse_period("FY2024", fiscal_start_month=3).contains(leap)
    assert parse_period("FY2024", fiscal_start_month=3).days == 366


def test_iso_weeks():
    assert parse_period("2020-W53", fiscal_start_month=1).start == date(2020, 12, 28)
    with pytest.raises(PeriodError):
        parse_period("2021-W53", fiscal_start_month=1)
    assert parse_period("2026-W01", fiscal_start_month=1).start == date(2025, 12, 29)


def test_labels_are_read_leniently_and_written_canonically():
    assert parse_period(" fy2026 ", fiscal_start_month=1).label == "FY2026"
    assert parse_period("2026-q1", fiscal_start_month=1).label == "2026-Q1"


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "FY26", "2026", "", "Q1-2026", "2026-W00"])
def test_other_text_is_refused_with_the_accepted_forms(text):
    with pytest.raises(PeriodError, match="2026-Q1"):
        parse_period(text, fiscal_start_month=1)


def test_a_start_month_outside_1_to_12_is_refused():
    with pytest.raises(ValueError, match="1-12"):
        fiscal_year_of(date(2026, 1, 1), fiscal_start_month=13)


def test_elapsed_share_runs_from_one_day_to_the_whole_period():
    quarter = parse_period("2026-Q1", fiscal_start_month=1)
    assert quarter.elapsed_share(quarter.start) == pytest.approx(1 / 90)
    assert quarter.elapsed_share(quarter.end) == 1.0
    assert quarter.elapsed_share(date(2025, 12, 31)) == 0.0


@given(st.text(max_size=12), st.integers(min_value=1, max_value=12))
def test_any_text_parses_to_a_round_tripping_period_or_is_refused(text, start_month):
    try:
        period = parse_period(text, fiscal_start_month=start_month)
    except PeriodError:
        return
    assert parse_period(period.label, fiscal_start_month=start_month) == period


@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(list(PeriodKind)),
    st.integers(min_value=1, max_value=12),
)
def test_the_period_containing_a_day_contains_it_and_its_neighbours_touch(day, kind, start):
    period = period_containing(day, kind, fiscal_start_month=start)
    assert period.contains(day)
    assert parse_period(period.label, fiscal_start_month=start) == period
    assert period.next().start == period.end + timedelta(days=1)
    assert period.previous().end == period.start - timedelta(days=1)
    assert period.next().previous() == period


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    st.integers(min_value=0, max_value=800),
    st.sampled_from(list(PeriodKind)),
)
def test_periods_between_cover_the_range(start, length, kind):
    end = start + timedelta(days=length)
    parts = periods_between(start, end, kind, fiscal_start_month=7)
    assert parts[0].contains(start)
    assert parts[-1].contains(end)
