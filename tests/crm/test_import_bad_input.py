"""Bad input: every problem is reported by file, line and column; nothing is written."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.crm.conftest import VALID, dump, without_history, write_folder
from touchline.auth.policy import SYSTEM
from touchline.crm.models import ImportRun
from touchline.crm.service import run_import
from touchline.org.models import Seller

DEAL_HEADER = "deal_id,account_id,seller_id,created_date,close_date,status,amount,stage\n"
GOOD_DEAL = "D9,A1,S2,2026-01-02,2026-02-01,won,10.00,\n"
# The valid deals (lines 2-4: activities refer to them) and one more good one (line 5).
GOOD_DEALS = VALID["deals.csv"] + GOOD_DEAL


def refused(db, tmp_path, files):
    """Import the valid folder with ``files`` replaced; return the problems of the refusal."""
    before = dump(db)
    folder = write_folder(
        tmp_path / "bad", {**{k: v for k, v in VALID.items() if k != "deals.csv"}, **files}
    )
    report = run_import(db, actor=SYSTEM, path=folder)
    assert not report.ok
    assert without_history(dump(db)) == without_history(before)
    return report.problems


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("D8,A1,S2,2026-13-02,,open,10,", "created_date", "not a date"),
        ("D8,A1,S2,2026-01-02,,open,-3,", "amount", "must not be below 0"),
        ("D8,A1,S2,2026-01-02,,open,ten,", "amount", "not a number"),
        ("D8,A1,S2,2026-01-02,,open,1.005,", "amount", "at most 2 decimals"),
        ("D8,A1,S2,2026-01-02,,maybe,1,", "status", "unknown value"),
        ("D8,A1,S2,2026-01-02,,won,1,", "close_date", "needs a close_date"),
        ("D8,A404,S2,2026-01-02,,open,1,", "account_id", "unknown account"),
        ("D8,A1,S404,2026-01-02,,open,1,", "seller_id", "unknown seller"),
        ("D8,A1,,2026-01-02,,open,1,", "seller_id", "a value is required"),
    ],
)
def test_a_bad_value_is_named_by_line_and_column(db, tmp_path, row, column, reason):
    problems = refused(db, tmp_path, {"deals.csv": GOOD_DEALS + row + "\n"})
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == ("deals.csv", 6, column)
    assert reason in problem.reason


def test_a_duplicate_id_names_both_lines(db, tmp_path):
    problems = refused(db, tmp_path, {"deals.csv": GOOD_DEALS + GOOD_DEAL})
    assert problems[0].line == 6
    assert "first seen in deals.csv line 5" in problems[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (
            DEAL_HEADER.replace("status,", "").encode() + b"D9,A1,S2,2026-01-02,,1,\n",
            "missing column",
        ),
        (DEAL_HEADER.encode() + "D9,A1,S2,2026-01-02,,open,1,Ø\n".encode("latin-1"), "not UTF-8"),
        (DEAL_HEADER.encode() + b"D9,A1,S2,2026-01-02,,open,1,,extra\n", "cannot be read"),
        (DEAL_HEADER.encode() + b'D9,A1,S2,2026-01-02,,open,1,"never closed\n', "cannot be read"),
    ],
)
def test_a_broken_file_is_refused_with_a_clear_reason(db, tmp_path, content, reason):
    problems = refused(db, tmp_path, {"deals.csv": content})
    assert any(reason in problem.reason and problem.file == "deals.csv" for problem in problems)


def test_a_byte_that_is_not_utf8_is_named_by_line_and_column(db, tmp_path):
    content = DEAL_HEADER.encode() + "D9,A1,S2,2026-01-02,,open,1,Tilbud på Ø\n".encode("latin-1")
    (problem,) = [p for p in refused(db, tmp_path, {"deals.csv": content}) if p.file == "deals.csv"]
    assert (problem.file, problem.line, problem.column) == ("deals.csv", 2, "stage")
    assert problem.value == "Tilbud p\ufffd \ufffd"


def test_an_empty_file_names_the_columns_it_lacks(db, tmp_path):
    report = run_import(db, actor=SYSTEM, path=write_folder(tmp_path / "e", {"deals.csv": b""}))
    problems = report.problems
    assert {(p.file, p.line) for p in problems} == {("deals.csv", 1)}
    assert {p.column for p in problems} >= {"deal_id", "seller_id", "status", "amount"}
    assert all("the file is empty" in p.reason for p in problems)


def test_a_header_only_file_imports_nothing_and_is_fine(db, tmp_path):
    folder = write_folder(
        tmp_path / "empty", {"activities.csv": VALID["activities.csv"].splitlines()[0] + "\n"}
    )
    report = run_import(db, actor=SYSTEM, path=folder)
    assert report.ok
    assert report.counts[0].rows == 0


# --- properties: malformed files of several kinds, always refused, always located ------------

LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå", min_size=1, max_size=8)
BAD_DATES = st.one_of(
    st.sampled_from(["2026-13-02", "2026-02-30", "2025-02-29", "2026-00-10", "20260102"]),
    st.dates().map(lambda day: day.strftime("%d/%m/%Y")),
    LETTERS,
)
BAD_TIMESTAMPS = st.one_of(
    st.sampled_from(["2026-03-01 10:00", "2026-03-01T25:00:00Z", "01/03/2026 10:00"]),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S")),  # no offset
    LETTERS,
)
NEGATIVE = st.decimals(max_value=Decimal("-0.01"), min_value=-(10**9), places=2).map(str)
NOT_NUMBERS = st.one_of(
    st.sampled_from(["12,5", "1e3", "NaN", "1.234", "--1", "1 000", "0x10", "½"]), LETTERS
)
NOT_WHOLE = st.one_of(st.sampled_from(["1.5", "1e3", "ten", "15 min"]), LETTERS)


def unknown(choices: tuple[str, ...]) -> st.SearchStrategy[str]:
    return LETTERS.filter(lambda value: value.lower() not in choices)


UNKNOWN_ID = st.integers(min_value=0, max_value=999).map(lambda n: f"NOPE-{n}")
LATIN1_TEXT = st.sampled_from(["Ø", "Søren Æbelø", "Tilbud på æbler", "Åse"])


@dataclass(frozen=True)
class Spec:
    """A file of the interchange format: its columns, a good row, and ways to break a cell."""

    file: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    good: tuple[str, ...]  # a good row; its id column (the first) gets a fresh id
    fixed: str = ""  # rows every file of this kind keeps (others refer to them)
    # column -> (bad values, words the reason contains)
    bad: dict[str, tuple[st.SearchStrategy[str], str]] = field(default_factory=dict)


SPECS = (
    Spec(
        "deals.csv",
        (
            *("deal_id", "account_id", "seller_id", "created_date", "close_date", "status"),
            *("amount", "stage"),
        ),
        ("deal_id", "account_id", "seller_id", "created_date", "status", "amount"),
        ("P", "A1", "S2", "2026-01-02", "2026-02-01", "won", "10.00", "proposal"),
        bad={
            "created_date": (BAD_DATES, "not a date"),
            "close_date": (BAD_DATES, "not a date"),
            "amount": (st.one_of(NEGATIVE, NOT_NUMBERS), "not"),
            "status": (unknown(("open", "won", "lost")), "unknown value"),
            "account_id": (UNKNOWN_ID, "unknown account"),
            "seller_id": (UNKNOWN_ID, "unknown seller"),
        },
    ),
    Spec(
        "activities.csv",
        (
            *("activity_id", "seller_id", "type", "occurred_at", "account_id", "deal_id"),
            *("duration_min", "outcome"),
        ),
        ("activity_id", "seller_id", "type", "occurred_at"),
        ("Q", "S2", "call", "2026-03-01T10:00:00Z", "A1", "D1", "15", "no_next_step"),
        bad={
            "occurred_at": (BAD_TIMESTAMPS, "not a timestamp"),
            "duration_min": (st.one_of(NOT_WHOLE, st.integers(max_value=-1).map(str)), "not"),
            "type": (unknown(("call", "meeting", "email", "demo", "social")), "unknown value"),
            "outcome": (unknown(("next_step_agreed", "no_next_step")), "unknown value"),
            "seller_id": (UNKNOWN_ID, "unknown seller"),
            "account_id": (UNKNOWN_ID, "unknown account"),
            "deal_id": (UNKNOWN_ID, "unknown deal"),
        },
    ),
    Spec(
        "sellers.csv",
        ("seller_id", "name", "email", "team_id", "manager_id", "territory_id", "hire_date"),
        ("seller_id", "name", "email", "team_id"),
        ("N", "Nils Holm", "nils@x.dk", "T1", "S1", "TE1", "2021-04-01"),
        fixed="".join(VALID["sellers.csv"].splitlines(keepends=True)[1:]),
        bad={
            "hire_date": (BAD_DATES, "not a date"),
            "team_id": (UNKNOWN_ID, "unknown team"),
            "manager_id": (UNKNOWN_ID, "unknown seller"),
            "territory_id": (UNKNOWN_ID, "unknown territory"),
        },
    ),
    Spec(
        "ratings.csv",
        ("rating_id", "kpi", "seller_id", "rater_role", "period", "score", "rater_id", "comment"),
        ("rating_id", "kpi", "seller_id", "rater_role", "period", "score"),
        ("G", "objection_handling", "S2", "peer", "2026-Q1", "3.5", "S3", "clear"),
        bad={
            "period": (
                st.one_of(st.sampled_from(["2026-Q5", "Q1-2026", "2026-13", "26-Q1"]), LETTERS),
                "not a period",
            ),
            "score": (
                st.one_of(NEGATIVE, LETTERS, st.sampled_from(["100.5", "7e1", "1.2345", "3,5"])),
                "",
            ),
            "rater_role": (
                unknown(("self", "manager", "peer", "customer", "mystery_shopper")),
                "unknown value",
            ),
            "seller_id": (UNKNOWN_ID, "unknown seller"),
        },
    ),
)


@dataclass
class Malformed:
    """A malformed file and the problems it must give: (line, column, words of the reason)."""

    spec: Spec
    content: bytes
    expected: list[tuple[int, str, str]]


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _fixed_lines(spec: Spec) -> int:
    return len(spec.fixed.splitlines())


@st.composite
def bad_rows(draw: st.DrawFn, spec: Spec) -> Malformed:
    """Good rows with one to three bad cells, or a row that repeats an id."""
    count = draw(st.integers(min_value=2, max_value=5))
    rows = [[f"{spec.good[0]}{n}", *spec.good[1:]] for n in range(count)]
    first_line = 2 + _fixed_lines(spec)
    planted: dict[tuple[int, str], str] = {}
    for _defect in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=count - 1))
        choices = [*spec.bad, *(["duplicate"] if index > 0 else [])]
        column = draw(st.sampled_from(choices))
        if column == "duplicate":
            rows[index][0] = rows[0][0]
            planted[(index, spec.columns[0])] = "duplicate id"
            continue
        values, reason = spec.bad[column]
        rows[index][spec.columns.index(column)] = draw(values)
        planted[(index, column)] = reason
    text = ",".join(spec.columns) + "\n" + spec.fixed + "".join(map(_csv_line, rows))
    expected = [(first_line + index, column, why) for (index, column), why in planted.items()]
    return Malformed(spec, text.encode(), expected)


@st.composite
def broken_files(draw: st.DrawFn, spec: Spec) -> Malformed:
    """A file missing a required column, one with a cell that is not UTF-8, or an empty one."""
    kind = draw(st.sampled_from(["missing column", "encoding", "empty"]))
    rows = [[f"{spec.good[0]}{n}", *spec.good[1:]] for n in range(draw(st.integers(1, 4)))]
    if kind == "empty":
        return Malformed(spec, b"", [(1, spec.columns[0], "the file is empty")])
    if kind == "missing column":
        gone = spec.columns.index(draw(st.sampled_from(spec.required)))
        header = [c for n, c in enumerate(spec.columns) if n != gone]
        body = "".join(_csv_line([c for n, c in enumerate(row) if n != gone]) for row in rows)
        text = ",".join(header) + "\n" + body
        return Malformed(spec, text.encode(), [(1, spec.columns[gone], "missing column")])
    index = draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = draw(st.integers(min_value=0, max_value=len(spec.columns) - 1))
    rows[index][column] = "\x00LATIN1\x00"
    text = ",".join(spec.columns) + "\n" + spec.fixed + "".join(map(_csv_line, rows))
    content = text.encode().replace(b"\x00LATIN1\x00", draw(LATIN1_TEXT).encode("latin-1"))
    line = 2 + _fixed_lines(spec) + index
    return Malformed(spec, content, [(line, spec.columns[column], "not UTF-8")])


MALFORMED = st.sampled_from(SPECS).flatmap(
    lambda spec: st.one_of(bad_rows(spec), broken_files(spec))
)


def stocked(db, tmp_path_factory) -> None:
    """Store the valid company once: the malformed files are imported against it."""
    if db.scalar(select(func.count()).select_from(Seller)) == 0:
        folder = write_folder(tmp_path_factory.mktemp("stock"), VALID)
        assert run_import(db, actor=SYSTEM, path=folder).ok


def check_refused_and_located(db, tmp_path_factory, case: Malformed) -> None:
    stocked(db, tmp_path_factory)
    before = dump(db)
    folder = write_folder(tmp_path_factory.mktemp("malformed"), {case.spec.file: case.content})
    report = run_import(db, actor=SYSTEM, path=folder)
    # Read back at once, before any rollback could hide what the import wrote.
    after = dump(db)
    assert not report.ok, "a malformed file was accepted"
    found: dict[tuple[int | None, str | None], list[str]] = {}
    for problem in report.problems:
        found.setdefault((problem.line, problem.column), []).append(problem.reason)
    for line, column, words in case.expected:
        reasons = found.get((line, column), [])
        assert any(words in reason for reason in reasons), (
            f"{case.spec.file} line {line} column {column}: {words!r} not in "
            f"{[p.describe() for p in report.problems]}"
        )
    for problem in report.problems:
        assert problem.file == case.spec.file, problem.describe()
        assert problem.line is not None, problem.describe()
        assert problem.column, problem.describe()
    assert without_history(after) == without_history(before)
    (run,) = [row for row in after["import_runs"] if row not in before["import_runs"]]
    recorded = db.get(ImportRun, run[0])
    assert (recorded.status, recorded.problems) == ("failed", len(report.problems))


PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@settings(PROPERTY, max_examples=50)
@given(case=MALFORMED)
def test_malformed_files_are_refused_and_located_on_sqlite(db, tmp_path_factory, case):
    check_refused_and_located(db, tmp_path_factory, case)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
@settings(PROPERTY, max_examples=10)
@given(case=MALFORMED)
def test_malformed_files_are_refused_and_located_on_postgresql(db, tmp_path_factory, case):
    check_refused_and_located(db, tmp_path_factory, case)


CELLS = st.sampled_from(
    [
        *("", "x", "-1", "1.234", "2026-02-30", "2026-01-02", "won", "open", "lost", "A1"),
        *("S2", "S404", "1e3", "NaN", " ", "\u00e9", "12,5", "9" * 30, '"', "D1"),
    ]
)


@settings(PROPERTY, max_examples=25)
@given(st.lists(st.lists(CELLS, min_size=6, max_size=10), min_size=1, max_size=5))
def test_any_jumble_of_cells_never_crashes_and_never_writes(db, tmp_path_factory, rows):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("the jumble runs on SQLite; the located cases above run on both")
    before = dump(db)
    lines = [",".join(cells) for cells in rows]
    folder = write_folder(
        tmp_path_factory.mktemp("prop"), {"deals.csv": DEAL_HEADER + "\n".join(lines) + "\n"}
    )
    report = run_import(db, actor=SYSTEM, path=folder)
    assert not report.ok  # every jumble lacks a known seller on a row, or breaks the CSV
    assert all(problem.file == "deals.csv" and problem.reason for problem in report.problems)
    assert without_history(dump(db)) == without_history(before)
