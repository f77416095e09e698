"""KPI expressions: what a user may write, what they are told when they may not, and
that one KPI gives the same value in Python, over NumPy columns and in the database."""

from __future__ import annotations

import math
import warnings
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from touchline.kpis.expressions import ExpressionError, parse

KNOWN = (
    "calls",
    "deals_won",
    "meetings",
    "meetings_new_customers",
    "pipeline_created",
    "revenue_won",
    "win_rate",
)
COUNTS = ("calls", "deals_won", "meetings", "meetings_new_customers")
ALLOWED = "use + - * / and min, max, abs"

# One month of one seller: the values the examples below compute with.
MONTH = {
    "calls": 12,
    "deals_won": 4,
    "meetings": 3,
    "meetings_new_customers": 1,
    "pipeline_created": 200_000.0,
    "revenue_won": 50_000.0,
    "win_rate": 0.25,
}

# Counts are integer columns and amounts float ones, as in the CRM tables.
metadata = sa.MetaData()
METRICS = sa.Table(
    "metrics",
    metadata,
    sa.Column("row", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.Integer if name in COUNTS else sa.Float) for name in KNOWN),
)


@pytest.fixture(scope="module")
def database():
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def in_database(engine, kpi, rows):
    """Return the KPI for each row as the database computes it, in row order."""
    with engine.begin() as connection:
        connection.execute(sa.delete(METRICS))
        connection.execute(
            sa.insert(METRICS), [{"row": index, **row} for index, row in enumerate(rows)]
        )
        query = (
            sa.select(kpi.to_sql(dict(METRICS.c.items())))
            .select_from(METRICS)
            .order_by(METRICS.c.row)
        )
        return list(connection.scalars(query))


def in_columns(kpi, rows):
    """Return the KPI for each row computed over NumPy columns, None where NaN."""
    columns = {
        name: np.array([np.nan if row[name] is None else row[name] for row in rows], dtype=float)
        for name in KNOWN
    }
    return [None if math.isnan(value) else float(value) for value in kpi.evaluate_columns(columns)]


def three_ways(engine, text, values):
    """Return one KPI computed by evaluate, evaluate_columns and the database."""
    kpi = parse(text, known=KNOWN)
    row = {**dict.fromkeys(KNOWN), **values}
    return kpi.evaluate(row), in_columns(kpi, [row])[0], in_database(engine, kpi, [row])[0]


def refusal(text, known=KNOWN):
    with pytest.raises(ExpressionError) as refused:
        parse(text, known=known)
    return refused.value


# --- what may be written ---------------------------------------------------------------


def test_a_ratio_of_two_metrics():
    kpi = parse("revenue_won / pipeline_created", known=KNOWN)

    assert kpi.text == "revenue_won / pipeline_created"
    assert kpi.names == {"revenue_won", "pipeline_created"}
    assert kpi.evaluate({"revenue_won": 120_000, "pipeline_created": 400_000}) == 0.3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calls + meetings", 15),
        ("calls - meetings", 9),
        ("calls * meetings", 36),
        ("calls / meetings", 4),
        ("meetings / calls", 0.25),  # two integer columns still divide as floats
        ("meetings_new_customers / meetings", 1 / 3),
        ("(calls + meetings) * 2 - 1.5", 28.5),
        ("calls + meetings * 2", 18),  # * before +
        ("calls - meetings - 1", 8),  # left to right
        ("calls - (meetings - 1)", 10),
        ("calls / meetings / 2", 2),
        ("calls / (meetings / 3)", 12),
        ("-win_rate", -0.25),
        ("- -win_rate", 0.25),
        ("+calls", 12),
        ("-calls * 2", -24),
        ("-(calls - meetings)", -9),
        ("deals_won * -2", -8),
        ("min(calls, meetings)", 3),
        ("min(calls, meetings, 2.5)", 2.5),
        ("max(calls, meetings, 5)", 12),
        ("abs(meetings - calls)", 9),
        ("min(max(win_rate * 4, 0), 0.5)", 0.5),
        ("revenue_won / deals_won / 1e3", 12.5),
        ("1_000 * deals_won", 4000),
    ],
)
def test_every_operator_and_function_computes_the_same_three_ways(database, text, expected):
    assert three_ways(database, text, MONTH) == (
        pytest.approx(expected),
        pytest.approx(expected),
        pytest.approx(expected),
    )


def test_the_database_adds_in_the_order_written(database):
    # Floats do not associate: -1e16 + 1 rounds back to -1e16, so the sum is 0, not 1.
    text = "revenue_won + (pipeline_created + 1)"

    assert three_ways(database, text, {"revenue_won": 1e16, "pipeline_created": -1e16}) == (
        0,
        0,
        0,
    )


def test_a_formula_may_span_lines_and_keeps_its_text_without_the_surrounding_space():
    kpi = parse("  meetings_new_customers\n  / meetings\n", known=KNOWN)

    assert kpi.text == "meetings_new_customers\n  / meetings"
    assert kpi.evaluate(MONTH) == pytest.approx(1 / 3)


def test_two_parses_of_one_text_are_equal():
    assert parse("calls + meetings", known=KNOWN) == parse(" calls + meetings ", known=KNOWN)
    assert len({parse("calls", known=KNOWN), parse("calls", known=KNOWN)}) == 1


def test_amounts_may_come_as_decimals_and_counts_as_ints():
    kpi = parse("revenue_won / deals_won", known=KNOWN)

    assert kpi.evaluate({"revenue_won": Decimal("100000.50"), "deals_won": 4}) == 25000.125


# --- "no value" -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("revenue_won / pipeline_created", {"revenue_won": 5.0, "pipeline_created": 0.0}),
        ("calls / (meetings - meetings)", {"calls": 12, "meetings": 3}),
        ("calls / 0", {"calls": 12}),
        ("0 / 0", {}),
        ("min(calls / 0, 1)", {"calls": 12}),
        ("-calls / -0.0", {"calls": 12}),
    ],
)
def test_dividing_by_zero_gives_no_value_never_zero_or_infinity(database, text, values):
    assert three_ways(database, text, values) == (None, None, None)


@pytest.mark.parametrize(
    "text",
    [
        "calls + win_rate",
        "calls - win_rate",
        "calls * win_rate",
        "calls / win_rate",
        "win_rate / calls",
        "win_rate * 0",
        "-win_rate",
        "abs(win_rate)",
        "min(calls, win_rate)",
        "max(calls, win_rate, 100)",
    ],
)
def test_a_missing_operand_leaves_the_kpi_without_value(database, text):
    assert three_ways(database, text, {"calls": 12, "win_rate": None}) == (None, None, None)


def test_a_result_beyond_the_float_range_has_no_value(database):
    text = "revenue_won * revenue_won * pipeline_created"

    assert three_ways(database, text, {"revenue_won": 1e200, "pipeline_created": 1e200}) == (
        None,
        None,
        None,
    )


def test_infinite_or_nan_inputs_count_as_no_value():
    kpi = parse("revenue_won + 1", known=KNOWN)

    assert kpi.evaluate({"revenue_won": math.inf}) is None
    assert kpi.evaluate({"revenue_won": Decimal("NaN")}) is None
    assert kpi.evaluate({"revenue_won": 10**400}) is None
    result = kpi.evaluate_columns({"revenue_won": np.array([1.0, np.inf, -np.inf, np.nan])})
    np.testing.assert_array_equal(result, [2.0, np.nan, np.nan, np.nan])


def test_columns_follow_the_same_rules_without_a_numpy_warning():
    kpi = parse("revenue_won / pipeline_created + abs(win_rate)", known=KNOWN)
    columns = {
        "revenue_won": np.array([50.0, 50.0, np.nan, 1e308, 0.0]),
        "pipeline_created": np.array([100.0, 0.0, 100.0, 1e-308, 0.0]),
        "win_rate": np.array([-0.5, 0.5, 0.5, 0.5, 0.5]),
    }

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = kpi.evaluate_columns(columns)

    np.testing.assert_array_equal(result, [1.0, np.nan, np.nan, np.nan, np.nan])


def test_a_constant_expression_gives_its_value_on_every_row():
    kpi = parse("2 * 3", known=KNOWN)

    assert kpi.names == frozenset()
    np.testing.assert_array_equal(kpi.evaluate_columns({"calls": np.zeros(3)}), [6.0, 6.0, 6.0])


def test_columns_of_different_lengths_are_refused():
    kpi = parse("calls + meetings", known=KNOWN)

    with pytest.raises(ValueError, match="same shape"):
        kpi.evaluate_columns({"calls": np.zeros(3), "meetings": np.zeros(4)})


def test_a_value_that_is_not_a_number_is_refused():
    kpi = parse("calls + 1", known=KNOWN)

    with pytest.raises(TypeError, match="metric 'calls' has the value '12'"):
        kpi.evaluate({"calls": "12"})  # type: ignore[dict-item]


def test_every_metric_the_kpi_uses_must_be_given():
    kpi = parse("calls + meetings * deals_won", known=KNOWN)

    with pytest.raises(ExpressionError) as no_value:
        kpi.evaluate({"calls": 1})
    with pytest.raises(ExpressionError) as no_column:
        kpi.evaluate_columns({"calls": np.zeros(2), "meetings": np.zeros(2)})
    with pytest.raises(ExpressionError) as no_sql_column:
        kpi.to_sql({"calls": METRICS.c.calls, "deals_won": METRICS.c.deals_won})

    assert str(no_value.value) == (
        "no value for 'deals_won', 'meetings' at position 8: give one for every metric "
        "the expression uses (calls, deals_won, meetings)"
    )
    assert (no_value.value.text, no_value.value.position) == (kpi.text, 8)
    assert str(no_column.value).startswith("no column for 'deals_won' at position 19:")
    assert str(no_sql_column.value).startswith("no column for 'meetings' at position 8:")


# --- what is refused, and what the user is told -------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown", "position"),
    [
        ("revenue_won ** 2", "'**'", 12),
        ("calls // 2", "'//'", 6),
        ("calls % 2", "'%'", 6),
        ("calls @ meetings", "'@'", 6),
        ("calls | meetings", "'|'", 6),
        ("calls & meetings", "'&'", 6),
        ("calls ^ meetings", "'^'", 6),
        ("calls << 2", "'<<'", 6),
        ("calls < meetings", "'<'", 6),
        ("(calls) >= 1", "'>='", 8),
        ("calls == meetings", "'=='", 6),
        ("calls is not meetings", "'is not'", 6),
        ("calls in meetings", "'in'", 6),
        ("calls and meetings", "'and'", 6),
        ("calls or meetings", "'or'", 6),
        ("not calls", "'not'", 0),
        ("~calls", "'~'", 0),
        ("calls.real", "'.real'", 5),
        ("calls[0]", "indexing with '[...]'", 5),
        ("'calls'", "text in quotes", 0),
        ("calls + f'{meetings}'", "text in quotes", 8),
        ("calls if win_rate else meetings", "'if ... else'", 6),
        ("lambda: calls", "'lambda'", 0),
        ("(x := 1)", "':='", 3),
        ("min(*calls)", "unpacking with '*'", 4),
        ("True", "'True'", 0),
        ("None", "'None'", 0),
        ("2j * calls", "the complex number '2j'", 0),
        ("(calls, meetings)", "a list of values separated by ','", 6),
        ("[calls]", "'[calls]'", 0),
        ("{calls: 1}", "'{calls: 1}'", 0),
        ("min(c for c in calls)", "'(c for c in calls)'", 3),
        ("calls # the note hides nothing", "'#'", 6),
        ("calls \\\n + 1", "'\\'", 6),
        ("calls\u200b + 1", "the invisible character U+200B", 5),  # pasted from a web page
    ],
)
def test_each_construct_outside_the_language_is_refused_where_it_stands(text, shown, position):
    refused = refusal(text)

    assert str(refused) == f"{shown} is not allowed at position {position}: {ALLOWED}"
    assert (refused.text, refused.position) == (text, position)


def test_an_unknown_name_is_refused_with_the_closest_known_one():
    refused = refusal("revnue_won / pipeline_created")

    assert str(refused) == (
        "unknown name 'revnue_won' at position 0 (known: calls, deals_won, meetings, "
        "meetings_new_customers, pipeline_created, revenue_won, win_rate; "
        "did you mean 'revenue_won'?)"
    )
    assert refused.position == 0


def test_an_unknown_name_far_from_any_known_one_gets_no_suggestion():
    assert str(refusal("calls / quota", known=["calls", "meetings"])) == (
        "unknown name 'quota' at position 8 (known: calls, meetings)"
    )


def test_a_long_catalogue_is_shortened_in_the_message():
    known = [f"metric_{number:02}" for number in range(20)]

    message = str(refusal("metric_99", known=known))

    assert "metric_11, ..." in message
    assert "metric_12" not in message


def test_a_name_that_cannot_be_a_metric_is_refused_with_a_suggestion():
    assert str(refusal("Revenue_Won / pipeline_created")) == (
        "'Revenue_Won' is not a metric name at position 0: metric names are lower-case "
        "letters, digits and '_', starting with a letter; did you mean 'revenue_won'?"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "unknown function '__import__' at position 0 (known: abs, max, min)"),
        ("().__class__", f"'.__class__' is not allowed at position 2: {ALLOWED}"),
        ("calls.__class__", f"'.__class__' is not allowed at position 5: {ALLOWED}"),
        ("open('x').read()", f"'.read' is not allowed at position 9: {ALLOWED}"),
        ("eval('1')", "unknown function 'eval' at position 0 (known: abs, max, min)"),
        (
            "__builtins__",
            "'__builtins__' is not a metric name at position 0: metric names are lower-case "
            "letters, digits and '_', starting with a letter",
        ),
        ("(calls)(2)", "unknown function 'calls' at position 1 (known: abs, max, min)"),
        ("min.__self__", f"'.__self__' is not allowed at position 3: {ALLOWED}"),
    ],
)
def test_pythons_escape_hatches_are_refused(text, message):
    assert str(refusal(text)) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "mn(calls, meetings)",
            "unknown function 'mn' at position 0 (known: abs, max, min; did you mean 'min'?)",
        ),
        (
            "min(calls, meetings, key=abs)",
            "the keyword argument 'key=' is not allowed at position 21: min takes plain "
            "arguments, as in min(a, b)",
        ),
        (
            "calls + min(calls)",
            "min takes at least two arguments (got 1) at position 8: write min(a, b, ...)",
        ),
        ("max()", "max takes at least two arguments (got 0) at position 0: write max(a, b, ...)"),
        (
            "abs(calls, meetings)",
            "abs takes exactly one argument (got 2) at position 0: write abs(x)",
        ),
    ],
)
def test_functions_are_called_plainly_with_their_number_of_arguments(text, message):
    assert str(refusal(text)) == message


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_an_empty_expression_is_refused(text):
    refused = refusal(text)

    assert str(refused) == (
        "the expression is empty: write one such as revenue_won / pipeline_created"
    )
    assert refused.position is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("calls +", "syntax error at position 7: the expression ends too early"),
        ("(calls", "syntax error at position 0: '(' was never closed"),
        ("calls meetings", "syntax error at position 6: invalid syntax"),
        ("calls)", "syntax error at position 5: unmatched ')'"),
        ("calls = 1", "syntax error at position 6: invalid syntax"),
    ],
)
def test_a_syntax_error_names_its_position(text, message):
    assert str(refusal(text)) == message


def test_positions_count_characters_of_the_text_as_given():
    assert refusal("  revenue_won ** 2").position == 14
    assert refusal("   ").text == "   "
    assert refusal("café + calls").position == 0
    assert refusal("'café' + calls ** 2").position == 0  # the quotes come first
    assert refusal("calls + 'é' ").position == 8
    assert refusal("calls + é ** 2").position == 10


@pytest.mark.parametrize("text", ["1e999", "9" * 400])
def test_a_number_beyond_the_float_range_is_refused(text):
    assert str(refusal(f"calls * {text}")) == (
        "the number is too large at position 8: numbers must stay below 1e308"
    )


def test_the_text_may_be_500_characters_long_and_no_longer():
    longest = "calls * 1." + "0" * 490

    assert parse(longest, known=KNOWN).evaluate({"calls": 3}) == 3
    assert str(refusal(longest + "0")) == (
        "the expression is longer than 500 characters at position 500: it has 501; "
        "split it into smaller KPIs"
    )


def test_nesting_stops_at_50_levels(database):
    fifty_levels = "calls" + " + 1" * 49  # 49 additions over one metric

    assert three_ways(database, fifty_levels, {"calls": 12}) == (61, 61, 61)
    assert str(refusal(fifty_levels + " + 1")) == (
        "the expression nests deeper than 50 levels at position 0: split it into smaller KPIs"
    )


def test_a_shape_sqlite_cannot_read_is_refused_before_it_reaches_the_database():
    message = str(refusal("calls / (" * 12 + "calls" + ")" * 12))

    assert message.startswith("the expression nests too deeply for the database at position 0:")


def test_min_and_max_nested_until_the_query_explodes_are_refused():
    message = str(refusal("min(" * 6 + "calls" + ", meetings)" * 6))

    assert message.startswith("the expression is too complex at position 0:")
    assert "would grow to 1821 terms (the limit is 1000)" in message


@pytest.mark.parametrize(
    "shape",
    [
        lambda n: "calls - (" * n + "meetings" + ")" * n,
        lambda n: "calls / (" * n + "meetings" + ")" * n,
        lambda n: "-" * n + "calls",
        lambda n: "-(calls + " * n + "meetings" + ")" * n,
        lambda n: "abs(" * n + "calls" + ")" * n,
        lambda n: "min(meetings, " * n + "calls" + ")" * n,
        lambda n: "(" * n + "calls" + " / meetings)" * n,
    ],
)
def test_the_deepest_expression_of_each_shape_still_runs_in_sqlite(database, shape):
    depth = 1
    while True:
        try:
            parse(shape(depth + 1), known=KNOWN)
        except ExpressionError:
            break
        depth += 1
    evaluated, in_numpy, in_sql = three_ways(database, shape(depth), {"calls": 7, "meetings": 2})

    assert depth >= 5
    assert in_numpy == pytest.approx(evaluated)
    assert in_sql == pytest.approx(evaluated)


def test_known_must_be_names_not_one_string():
    with pytest.raises(TypeError):
        parse("calls", known="calls")


# --- the SQL ------------------------------------------------------------------------------


def test_min_and_max_become_case_expressions_on_postgresql_too():
    kpi = parse("min(calls, meetings) + max(calls, 1)", known=KNOWN)

    sql = str(kpi.to_sql(dict(METRICS.c.items())).compile(dialect=postgresql.dialect()))

    assert sql.count("CASE WHEN") == 2
    assert "least" not in sql.lower()
    assert "greatest" not in sql.lower()


# --- the three ways agree on any expression -------------------------------------------------


def expressions():
    """Random KPI texts from the whole language, with and without parentheses."""
    leaves = st.sampled_from(KNOWN) | st.sampled_from(["0", "1", "2", "0.5", "3.25", "1e-3"])

    def combine(parts):
        operators = st.sampled_from(["+", "-", "*", "/"])
        return st.one_of(
            st.tuples(parts, operators, parts).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
            st.tuples(parts, operators, parts).map(lambda p: f"{p[0]} {p[1]} {p[2]}"),
            parts.map(lambda part: f"-{part}"),
            parts.map(lambda part: f"abs({part})"),
            st.tuples(st.sampled_from(["min", "max"]), st.lists(parts, min_size=2, max_size=3)).map(
                lambda p: f"{p[0]}({', '.join(p[1])})"
            ),
        )

    return st.recursive(leaves, combine, max_leaves=10)


# Values stay far from the float range's edges: beyond them SQLite carries an infinity
# through the next operations where Python already has "no value".
count = st.none() | st.just(0) | st.integers(-1000, 1000)
amount = (
    st.none()
    | st.just(0.0)
    | st.floats(-1e6, 1e6, allow_nan=False).filter(lambda value: value == 0 or abs(value) > 1e-3)
)
rows = st.lists(
    st.fixed_dictionaries({name: count if name in COUNTS else amount for name in KNOWN}),
    min_size=1,
    max_size=4,
)


def parse_unless_too_big(text):
    """Return the parsed KPI, or None when only its size for the database is refused."""
    try:
        return parse(text, known=KNOWN)
    except ExpressionError as refused:
        if "too complex" in str(refused) or "too deeply" in str(refused):
            return None
        raise


@settings(max_examples=200, deadline=None)
@given(text=expressions(), rows=rows)
def test_python_numpy_and_the_database_agree_on_any_expression(database, text, rows):
    kpi = parse_unless_too_big(text)
    if kpi is None:
        reject()

    one_by_one = [kpi.evaluate(row) for row in rows]
    over_columns = in_columns(kpi, rows)
    in_sql = in_database(database, kpi, rows)

    for expected, columns_value, sql_value in zip(one_by_one, over_columns, in_sql, strict=True):
        if expected is None:
            assert (columns_value, sql_value) == (None, None)
        else:
            assert columns_value is not None
            assert sql_value is not None
            assert math.isclose(columns_value, expected, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(sql_value, expected, rel_tol=1e-9, abs_tol=1e-12)
