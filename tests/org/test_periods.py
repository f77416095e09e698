"""Period arithmetic: months, fiscal quarters and years from any start month, ISO weeks."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchline.org.periods import (
    Period,
    PeriodError,
    PeriodKind,
    fiscal_year_of,
    parse_period,
    period_containing,
    periods_between,
)

START_MONTHS = list(range(1, 13))

days = st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31))
kinds = st.sampled_from(list(PeriodKind))
start_months = st.integers(min_value=1, max_value=12)


def span(period: Period) -> tuple[date, date]:
    return period.start, period.end


def assert_tiles(parts: list[Period], whole: Period) -> None:
    assert parts[0].start == whole.start
    assert parts[-1].end == whole.end
    for before, after in itertools.pairwise(parts):
        assert after.start == before.end + timedelta(days=1)


# Fiscal years, quarters and months


@pytest.mark.parametrize("start_month", START_MONTHS)
def test_four_quarters_tile_the_fiscal_year(start_month):
    year = parse_period("FY2026", fiscal_start_month=start_month)
    quarters = [parse_period(f"2026-Q{q}", fiscal_start_month=start_month) for q in (1, 2, 3, 4)]
    assert_tiles(quarters, year)
    assert (
        periods_between(year.start, year.end, PeriodKind.QUARTER, fiscal_start_month=start_month)
        == quarters
    )
    assert sum(quarter.days for quarter in quarters) == year.days


@pytest.mark.parametrize("start_month", START_MONTHS)
def test_twelve_months_tile_the_fiscal_year(start_month):
    year = parse_period("FY2026", fiscal_start_month=start_month)
    months = year.months()
    assert len(months) == 12
    assert_tiles(months, year)
    assert months[0].start.month == start_month
    assert [month.kind for month in months] == [PeriodKind.MONTH] * 12


@pytest.mark.parametrize("start_month", START_MONTHS)
def test_each_quarter_holds_three_months(start_month):
    for q in (1, 2, 3, 4):
        quarter = parse_period(f"2026-Q{q}", fiscal_start_month=start_month)
        assert len(quarter.months()) == 3
        assert_tiles(quarter.months(), quarter)


@pytest.mark.parametrize("start_month", START_MONTHS)
def test_the_fiscal_year_ends_in_the_year_it_is_named_after(start_month):
    year = parse_period("FY2026", fiscal_start_month=start_month)
    assert year.end.year == 2026
    assert year.days == 365
    assert fiscal_year_of(year.start, fiscal_start_month=start_month) == 2026
    assert fiscal_year_of(year.end, fiscal_start_month=start_month) == 2026
    assert fiscal_year_of(year.end + timedelta(days=1), fiscal_start_month=start_month) == 2027


def test_a_fiscal_year_is_named_after_the_year_it_ends_in():
    assert span(parse_period("FY2026", fiscal_start_month=1)) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    assert span(parse_period("FY2026", fiscal_start_month=4)) == (
        date(2025, 4, 1),
        date(2026, 3, 31),
    )
    assert span(parse_period("FY2026", fiscal_start_month=10)) == (
        date(2025, 10, 1),
        date(2026, 9, 30),
    )


def test_fiscal_year_of_a_day():
    assert fiscal_year_of(date(2025, 3, 31), fiscal_start_month=4) == 2025
    assert fiscal_year_of(date(2025, 4, 1), fiscal_start_month=4) == 2026
    assert fiscal_year_of(date(2025, 12, 31), fiscal_start_month=1) == 2025


def test_quarters_count_from_the_fiscal_year_start():
    assert span(parse_period("2026-Q1", fiscal_start_month=4)) == (
        date(2025, 4, 1),
        date(2025, 6, 30),
    )
    assert span(parse_period("2026-Q4", fiscal_start_month=4)) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert span(parse_period("2026-Q1", fiscal_start_month=1)) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )


def test_a_quarter_found_from_a_day_carries_the_fiscal_year():
    quarter = period_containing(date(2025, 5, 15), PeriodKind.QUARTER, fiscal_start_month=4)
    assert quarter.label == "2026-Q1"


def test_the_same_days_in_different_fiscal_calendars_are_different_quarters():
    january = parse_period("2026-Q1", fiscal_start_month=1)
    april = parse_period("2026-Q4", fiscal_start_month=4)
    assert span(january) == span(april)
    assert january != april


def test_months_do_not_depend_on_the_fiscal_year():
    assert span(parse_period("2026-03", fiscal_start_month=1)) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
    )
    assert parse_period("2026-03", fiscal_start_month=7) == parse_period(
        "2026-03", fiscal_start_month=1
    )


def test_a_month_is_its_only_month_and_a_week_has_none():
    march = parse_period("2026-03", fiscal_start_month=1)
    assert march.months() == [march]
    assert parse_period("2026-W07", fiscal_start_month=1).months() == []


# Leap years


def test_the_leap_day_is_in_february_and_in_the_first_quarter():
    leap = date(2024, 2, 29)
    february = parse_period("2024-02", fiscal_start_month=1)
    assert february.end == leap
    assert february.days == 29
    assert period_containing(leap, PeriodKind.MONTH, fiscal_start_month=1) == february
    quarter = period_containing(leap, PeriodKind.QUARTER, fiscal_start_month=1)
    assert quarter.label == "2024-Q1"
    assert quarter.days == 91


def test_a_calendar_fiscal_year_holds_its_leap_day():
    year = period_containing(date(2024, 2, 29), PeriodKind.YEAR, fiscal_start_month=1)
    assert year.label == "FY2024"
    assert year.days == 366


def test_a_fiscal_year_from_march_holds_the_leap_day_of_the_year_after_it_starts():
    year = period_containing(date(2024, 2, 29), PeriodKind.YEAR, fiscal_start_month=3)
    assert year.label == "FY2024"
    assert span(year) == (date(2023, 3, 1), date(2024, 2, 29))
    assert year.days == 366
    assert parse_period("2024-Q4", fiscal_start_month=3).end == date(2024, 2, 29)
    assert span(parse_period("FY2025", fiscal_start_month=3)) == (
        date(2024, 3, 1),
        date(2025, 2, 28),
    )


# ISO weeks


def test_iso_weeks_start_on_monday():
    week = parse_period("2026-W07", fiscal_start_month=1)
    assert span(week) == (date(2026, 2, 9), date(2026, 2, 15))
    assert week.start.weekday() == 0


def test_week_one_can_start_in_the_previous_calendar_year():
    assert parse_period("2026-W01", fiscal_start_month=1).start == date(2025, 12, 29)
    assert (
        period_containing(date(2025, 12, 31), PeriodKind.WEEK, fiscal_start_month=1).label
        == "2026-W01"
    )


def test_week_53_exists_only_in_long_iso_years():
    assert span(parse_period("2020-W53", fiscal_start_month=1)) == (
        date(2020, 12, 28),
        date(2021, 1, 3),
    )
    assert (
        period_containing(date(2021, 1, 1), PeriodKind.WEEK, fiscal_start_month=1).label
        == "2020-W53"
    )
    with pytest.raises(PeriodError, match="2021 has ISO weeks 01 to 52"):
        parse_period("2021-W53", fiscal_start_month=1)


# Reading and writing labels


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2026-03", "2026-03"),
        ("2026-Q1", "2026-Q1"),
        ("FY2026", "FY2026"),
        ("2026-W07", "2026-W07"),
        (" fy2026 ", "FY2026"),
        (" 2026-q1 ", "2026-Q1"),
        ("2026-w07\n", "2026-W07"),
    ],
)
def test_labels_are_read_leniently_and_written_canonically(text, label):
    assert parse_period(text, fiscal_start_month=1).label == label


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-3",
        "2026-Q5",
        "2026-Q0",
        "FY26",
        "2026",
        "",
        "Q1-2026",
        "2026-W00",
        "2026-W54",
        "FY 2026",
        "2026-03-01",
        "٢٠٢٦-03",
        "1899-12",
        "0000-01",
    ],
)
def test_other_text_is_refused_with_the_accepted_forms(text):
    with pytest.raises(PeriodError) as refusal:
        parse_period(text, fiscal_start_month=1)
    assert str(refusal.value).startswith(f"{text!r} is not a period: ")
    assert "2026-03 (month), 2026-Q1 (quarter), FY2026 (fiscal year) or 2026-W07 (week)" in str(
        refusal.value
    )


def test_the_refusal_reads_as_the_example():
    with pytest.raises(PeriodError) as refusal:
        parse_period("2026-13", fiscal_start_month=1)
    assert str(refusal.value) == (
        "'2026-13' is not a period: use 2026-03 (month), 2026-Q1 (quarter), "
        "FY2026 (fiscal year) or 2026-W07 (week)"
    )


def test_a_period_error_is_a_value_error():
    with pytest.raises(ValueError, match="is not a period"):
        parse_period("soon", fiscal_start_month=1)


@pytest.mark.parametrize("start_month", [0, 13, -1])
def test_a_start_month_outside_1_to_12_is_refused(start_month):
    with pytest.raises(ValueError, match="1-12"):
        fiscal_year_of(date(2026, 1, 1), fiscal_start_month=start_month)
    with pytest.raises(ValueError, match="1-12"):
        parse_period("2026-03", fiscal_start_month=start_month)
    with pytest.raises(ValueError, match="1-12"):
        period_containing(date(2026, 1, 1), PeriodKind.MONTH, fiscal_start_month=start_month)
    with pytest.raises(ValueError, match="1-12"):
        periods_between(
            date(2026, 1, 1), date(2026, 2, 1), PeriodKind.MONTH, fiscal_start_month=start_month
        )


# The edges of the calendar: 1900-01-01 to 9999-12-31


def test_the_first_and_last_years_parse_when_they_fit():
    assert parse_period("1900-01", fiscal_start_month=1).start == date(1900, 1, 1)
    assert parse_period("1900-W01", fiscal_start_month=1).start == date(1900, 1, 1)
    assert parse_period("FY1900", fiscal_start_month=1).start == date(1900, 1, 1)
    assert parse_period("9999-12", fiscal_start_month=1).end == date(9999, 12, 31)
    assert parse_period("FY9999", fiscal_start_month=1).end == date(9999, 12, 31)
    assert parse_period("FY9999", fiscal_start_month=4).end == date(9999, 3, 31)
    assert parse_period("9999-W51", fiscal_start_month=1).end == date(9999, 12, 26)


@pytest.mark.parametrize(("text", "start_month"), [("FY1900", 4), ("1900-Q1", 7), ("9999-W52", 1)])
def test_periods_reaching_outside_the_calendar_are_refused(text, start_month):
    with pytest.raises(PeriodError, match=re.escape("runs outside 1900-01-01..9999-12-31")):
        parse_period(text, fiscal_start_month=start_month)


def test_there_is_nothing_before_the_first_or_after_the_last_day():
    with pytest.raises(PeriodError, match="no month precedes 1900-01"):
        parse_period("1900-01", fiscal_start_month=1).previous()
    with pytest.raises(PeriodError, match="no year follows FY9999"):
        parse_period("FY9999", fiscal_start_month=1).next()
    with pytest.raises(PeriodError):
        period_containing(date(9999, 12, 31), PeriodKind.WEEK, fiscal_start_month=1)
    with pytest.raises(PeriodError):
        period_containing(date(1899, 12, 31), PeriodKind.MONTH, fiscal_start_month=1)


def test_the_days_of_fiscal_year_10000_have_a_month_but_no_quarter_or_year():
    day = date(9999, 2, 1)
    assert period_containing(day, PeriodKind.MONTH, fiscal_start_month=2).label == "9999-02"
    for kind in (PeriodKind.QUARTER, PeriodKind.YEAR):
        with pytest.raises(PeriodError, match="after FY9999"):
            period_containing(day, kind, fiscal_start_month=2)


# Position within a period


def test_elapsed_share_runs_from_one_day_to_the_whole_period():
    quarter = parse_period("2026-Q1", fiscal_start_month=1)
    assert quarter.days == 90
    assert quarter.elapsed_share(quarter.start) == pytest.approx(1 / 90)
    assert quarter.elapsed_share(date(2026, 2, 14)) == pytest.approx(45 / 90)
    assert quarter.elapsed_share(quarter.end) == 1.0


def test_elapsed_share_is_clamped_outside_the_period():
    quarter = parse_period("2026-Q1", fiscal_start_month=1)
    assert quarter.elapsed_share(date(2025, 12, 31)) == 0.0
    assert quarter.elapsed_share(date(2026, 4, 1)) == 1.0


def test_day_index_counts_from_zero_and_refuses_other_days():
    week = parse_period("2026-W07", fiscal_start_month=1)
    assert week.day_index(date(2026, 2, 9)) == 0
    assert week.day_index(date(2026, 2, 15)) == 6
    with pytest.raises(ValueError, match="not in 2026-W07"):
        week.day_index(date(2026, 2, 16))


def test_periods_between_lists_every_overlapping_period():
    months = periods_between(
        date(2026, 1, 31), date(2026, 3, 1), PeriodKind.MONTH, fiscal_start_month=1
    )
    assert [month.label for month in months] == ["2026-01", "2026-02", "2026-03"]
    one_day = periods_between(
        date(2026, 1, 5), date(2026, 1, 5), PeriodKind.YEAR, fiscal_start_month=4
    )
    assert [year.label for year in one_day] == ["FY2026"]
    with pytest.raises(ValueError, match="before it starts"):
        periods_between(date(2026, 2, 1), date(2026, 1, 1), PeriodKind.MONTH, fiscal_start_month=1)


def test_periods_sort_by_kind_then_by_date():
    later = parse_period("2026-04", fiscal_start_month=1)
    earlier = parse_period("2026-03", fiscal_start_month=1)
    assert sorted([later, earlier]) == [earlier, later]


# Properties


@given(st.text(max_size=12), start_months)
def test_any_text_parses_to_a_round_tripping_period_or_is_refused(text, start_month):
    try:
        period = parse_period(text, fiscal_start_month=start_month)
    except PeriodError:
        return
    again = parse_period(period.label, fiscal_start_month=start_month)
    assert again == period
    assert again.label == period.label == text.strip().upper()


label_texts = st.one_of(
    st.builds("{:04d}-{:02d}".format, st.integers(1900, 9999), st.integers(1, 12)),
    st.builds("{:04d}-Q{}".format, st.integers(1901, 9999), st.integers(1, 4)),
    st.builds("FY{:04d}".format, st.integers(1901, 9999)),
    st.builds("{:04d}-W{:02d}".format, st.integers(1900, 9998), st.integers(1, 52)),
)


@given(label_texts, start_months)
def test_a_label_parses_and_writes_back_unchanged(label, start_month):
    period = parse_period(label, fiscal_start_month=start_month)
    assert period.label == label
    assert parse_period(label.lower(), fiscal_start_month=start_month) == period


@given(days, kinds, start_months)
def test_the_period_containing_a_day_contains_it(day, kind, start_month):
    period = period_containing(day, kind, fiscal_start_month=start_month)
    assert period.kind is kind
    assert period.contains(day)
    assert parse_period(period.label, fiscal_start_month=start_month) == period


@given(days, kinds, start_months)
def test_next_and_previous_are_neighbours_and_undo_each_other(day, kind, start_month):
    period = period_containing(day, kind, fiscal_start_month=start_month)
    assert period.next().start == period.end + timedelta(days=1)
    assert period.previous().end == period.start - timedelta(days=1)
    assert period.next().previous() == period
    assert period.previous().next() == period


@given(days, kinds, start_months)
def test_elapsed_share_is_one_day_on_the_first_day_and_whole_on_the_last(day, kind, start_month):
    period = period_containing(day, kind, fiscal_start_month=start_month)
    assert period.elapsed_share(period.start) == pytest.approx(1 / period.days)
    assert period.elapsed_share(period.end) == 1.0
    assert 0.0 < period.elapsed_share(day) <= 1.0
    assert period.elapsed_share(day) == pytest.approx((period.day_index(day) + 1) / period.days)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    st.integers(min_value=0, max_value=800),
    kinds,
    start_months,
)
def test_periods_between_cover_the_range_without_gaps(start, length, kind, start_month):
    end = start + timedelta(days=length)
    parts = periods_between(start, end, kind, fiscal_start_month=start_month)
    assert parts[0].contains(start)
    assert parts[-1].contains(end)
    for before, after in itertools.pairwise(parts):
        assert after.start == before.end + timedelta(days=1)
    assert all(part.kind is kind for part in parts)
