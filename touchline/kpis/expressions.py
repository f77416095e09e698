"""The small, safe language of user-defined KPIs, e.g. ``revenue_won / pipeline_created``.

An expression combines metrics by name with numbers, ``+ - * /``, unary ``+ -``,
parentheses and three functions: ``min(a, b, ...)``, ``max(a, b, ...)`` and ``abs(x)``.
Python's own parser reads the text (``ast.parse``) and only that whitelist of nodes is
accepted; nothing the user typed is ever run as Python.

One expression computes three ways under the same rules, so a KPI agrees whether it is
shown for one seller, computed for a whole team at once or pushed into a query:

- ``Expression.evaluate``: one set of metric values, ``None`` meaning "no value";
- ``Expression.evaluate_columns``: NumPy float64 columns, NaN meaning "no value";
- ``Expression.to_sql``: a SQLAlchemy Core expression, NULL meaning "no value".

The rules: an operand without a value gives no value; so does a division by zero (never
0, never infinity) and any result beyond the float range. ``min`` and ``max`` skip
nothing: one argument without a value leaves the whole call without one. Everything is
computed in double precision.
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
import operator
import re
from collections.abc import Callable, Collection, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Real
from typing import Any, Literal, NamedTuple, NoReturn, TypeAlias, assert_never

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    type_coerce,
)
from sqlalchemy.sql import operators as sql_operators

MAX_LENGTH = 500
MAX_DEPTH = 50
FUNCTIONS = ("abs", "max", "min")

# min and max become one CASE that repeats each argument once per argument, plus one
# (SQL has no way to name a value once and reuse it), so nesting them multiplies the
# query's size. This caps how many metric and number references the query may hold.
MAX_DATABASE_TERMS = 1000
# SQLite's parser gives up near 100 levels of pending parentheses, operators and calls
# ("parser stack overflow"), well before MAX_DEPTH for some shapes: a / (b / (c / ...))
# fails at 17 levels. Expressions are measured against this lower cap (see _measure),
# which leaves room for the query the expression is placed in.
MAX_DATABASE_NESTING = 60

_METRIC_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ALLOWED = "use + - * / and min, max, abs"
_KNOWN_SHOWN = 12

Symbol = Literal["+", "-", "*", "/"]
Function = Literal["abs", "max", "min"]

_SYMBOLS: dict[type[ast.operator], Symbol] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
# How the refused operators are written, to name them and find them in the text.
_REFUSED_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.And: "and",
    ast.Or: "or",
    ast.Not: "not",
    ast.Invert: "~",
}


class ExpressionError(ValueError):
    """A KPI expression that cannot be read, names an unknown metric, or lacks its inputs.

    ``text`` is the text the problem is about (as the user gave it to ``parse``, or the
    expression's text when it is computed); ``position`` is a 0-based character offset
    into ``text`` where the problem starts, or None when it has no single place, such
    as an empty text.
    """

    def __init__(self, message: str, *, text: str, position: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position


# --- the checked tree -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Number:
    value: float


@dataclass(frozen=True, slots=True)
class _Metric:
    name: str
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class _Negation:
    operand: _Term


@dataclass(frozen=True, slots=True)
class _Arithmetic:
    symbol: Symbol
    left: _Term
    right: _Term


@dataclass(frozen=True, slots=True)
class _Call:
    function: Function
    arguments: tuple[_Term, ...]


_Term: TypeAlias = "_Number | _Metric | _Negation | _Arithmetic | _Call"


def _metrics(term: _Term) -> Iterator[_Metric]:
    """Yield the metric references of ``term`` in the order they are written."""
    match term:
        case _Number():
            return
        case _Metric():
            yield term
        case _Negation(operand):
            yield from _metrics(operand)
        case _Arithmetic(_, left, right):
            yield from _metrics(left)
            yield from _metrics(right)
        case _Call(_, arguments):
            for argument in arguments:
                yield from _metrics(argument)
        case _:
            assert_never(term)


# --- the expression -------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A checked KPI expression: its text, the metrics it uses and three ways to compute it.

    Build one with ``parse``; two expressions are equal when their texts are.
    """

    text: str
    names: frozenset[str]
    _term: _Term = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, float | int | Decimal | None]) -> float | None:
        """Return the KPI for one set of metric values, or None when it has no value.

        None comes back when a metric it uses is None (or not finite), when it divides
        by zero, or when the result leaves the float range. Refuses with
        ExpressionError when ``values`` lacks a metric the expression uses, and with
        TypeError a value that is not a number or None.
        """
        self._refuse_missing(values, what="value")
        return _scalar(self._term, values)

    def evaluate_columns(self, columns: Mapping[str, NDArray[Any]]) -> NDArray[np.float64]:
        """Return the KPI row by row over equal-length columns, NaN where it has no value.

        Each column holds one metric, NaN meaning "no value"; the rules are those of
        ``evaluate`` (x / 0, NaN operands and infinite results give NaN) and no NumPy
        warning is raised. A constant expression gives one value per row of the columns
        passed. Refuses with ExpressionError a missing column, and with ValueError
        columns whose shapes differ.
        """
        self._refuse_missing(columns, what="column")
        arrays = {name: np.asarray(column, dtype=np.float64) for name, column in columns.items()}
        shapes = {name: array.shape for name, array in arrays.items()}
        if len(set(shapes.values())) > 1:
            listed = ", ".join(f"{name} {shape}" for name, shape in sorted(shapes.items()))
            raise ValueError(f"the columns must all have the same shape, not {listed}")
        shape = next(iter(shapes.values()), ())
        with np.errstate(all="ignore"):
            used = {name: _finite_columns(arrays[name]) for name in self.names}
            return _finite_columns(_columns(self._term, used, shape))

    def to_sql(self, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        """Return a SQLAlchemy Core expression computing the KPI, NULL where it has none.

        It runs on SQLite and PostgreSQL alike and follows the rules of ``evaluate``:
        metrics are read as floats, ``a / b`` divides by ``NULLIF(b, 0)``, NULL operands
        give NULL, operations keep the order written, min and max are CASE expressions
        (not LEAST/GREATEST, which SQLite lacks and which skip NULLs) and an infinite or
        NaN result becomes NULL. Refuses with ExpressionError when ``columns`` lacks a
        metric the expression uses.
        """
        self._refuse_missing(columns, what="column")
        result = _sql(self._term, columns)
        # SQLite lets a result overflow to infinity and PostgreSQL keeps NaN; both are
        # "no value" here. NULLIF reads the result once, so nothing is computed twice.
        for unusable in (math.inf, -math.inf, math.nan):
            result = func.nullif(result, literal(unusable, Float), type_=Float)
        return result

    def _refuse_missing(self, given: Container[str], *, what: str) -> None:
        missing = {name for name in self.names if name not in given}
        if not missing:
            return
        first = next(metric for metric in _metrics(self._term) if metric.name in missing)
        listed = ", ".join(f"'{name}'" for name in sorted(missing))
        raise ExpressionError(
            f"no {what} for {listed} at position {first.position}: "
            f"give one for every metric the expression uses ({', '.join(sorted(self.names))})",
            text=self.text,
            position=first.position,
        )


def parse(text: str, *, known: Collection[str]) -> Expression:
    """Return the checked expression written in ``text``, using only metrics in ``known``.

    Refuses with ExpressionError, naming what is wrong and its position in ``text``: an
    empty text, one longer than MAX_LENGTH characters, a syntax error, any construct
    other than numbers, metric names, + - * /, unary + -, parentheses and calls of min,
    max and abs; a name not in ``known`` (suggesting the closest one); a number beyond
    the float range; nesting deeper than MAX_DEPTH; and shapes whose SQL would be too
    big (MAX_DATABASE_TERMS, reached by nesting min and max) or nest too deeply for
    SQLite's parser (MAX_DATABASE_NESTING), so that every expression it returns runs in
    the database too. Refuses with TypeError ``known`` given as one string.
    """
    if isinstance(known, str):
        raise TypeError("known must be a collection of metric names, not one string")
    return _Reader(text, frozenset(known)).expression()


# --- reading the text -------------------------------------------------------------------


class _Reader:
    """Reads one text into a checked tree; positions it reports index the text as given."""

    def __init__(self, text: str, known: frozenset[str]) -> None:
        self.text = text
        self.known = known
        self.source = text.strip()
        self.lead = len(text) - len(text.lstrip())
        # Any whitespace becomes a plain space, char for char, so positions stay put, a
        # formula pasted over several lines reads as one, and the AST's columns are all
        # on line 1.
        self.parsed = "".join(" " if char.isspace() else char for char in self.source)
        self.encoded = self.parsed.encode()
        self.names: set[str] = set()

    def expression(self) -> Expression:
        if not self.source:
            raise ExpressionError(
                "the expression is empty: write one such as revenue_won / pipeline_created",
                text=self.text,
                position=None,
            )
        if len(self.source) > MAX_LENGTH:
            self.refuse(
                f"the expression is longer than {MAX_LENGTH} characters",
                MAX_LENGTH,
                f": it has {len(self.source)}; split it into smaller KPIs",
            )
        for index, char in enumerate(self.source):
            # A comment would hide text from the checks; a backslash is only good for
            # escapes and line continuations, neither of which a formula needs.
            if char in "#\\":
                self.refuse(f"'{char}' is not allowed", index, f": {_ALLOWED}")
            if not char.isprintable() and not char.isspace():
                invisible = f"the invisible character U+{ord(char):04X} is not allowed"
                self.refuse(invisible, index, f": {_ALLOWED}")
        try:
            tree = ast.parse(self.parsed, mode="eval")
        except SyntaxError as error:
            self.refuse_syntax(error)
        except RecursionError:
            self.refuse(f"the expression nests deeper than {MAX_DEPTH} levels", None, "")
        read = self.read(tree.body, 1)
        return Expression(text=self.source, names=frozenset(self.names), _term=read.term)

    # positions and refusals

    def refuse(self, problem: str, at: int | None, detail: str) -> NoReturn:
        position = None if at is None else self.lead + at
        where = "" if position is None else f" at position {position}"
        raise ExpressionError(f"{problem}{where}{detail}", text=self.text, position=position)

    def refuse_syntax(self, error: SyntaxError) -> NoReturn:
        # Python's hints ("Perhaps you forgot a comma?") speak of Python, not of KPIs.
        reason = (error.msg or "invalid syntax").split(". ")[0]
        offset = error.offset or 0
        if 1 <= offset <= len(self.source):
            self.refuse("syntax error", offset - 1, f": {reason}")
        self.refuse("syntax error", len(self.source), ": the expression ends too early")

    def char(self, column: int | None) -> int:
        """Return the character offset of an AST column, which counts UTF-8 bytes."""
        if column is None:
            return 0
        return len(self.encoded[:column].decode("utf-8", errors="replace"))

    def start(self, node: ast.AST) -> int:
        return self.char(getattr(node, "col_offset", None))

    def end(self, node: ast.AST) -> int:
        return self.char(getattr(node, "end_col_offset", None))

    def find(self, written: str, after: ast.AST, before: ast.AST | None = None) -> int:
        """Return where ``written`` (an operator) stands between two nodes."""
        start = self.end(after)
        stop = len(self.parsed) if before is None else self.start(before)
        found = self.parsed.find(written.split()[0], start, stop)
        return found if found >= 0 else start

    def suggestion(self, name: str, candidates: Collection[str]) -> str:
        close = difflib.get_close_matches(name.lower(), sorted(candidates), n=1)
        return f"; did you mean '{close[0]}'?" if close else ""

    # the walk

    def read(self, node: ast.expr, depth: int) -> _Read:
        """Return the checked term for ``node``, refusing it when it nests or grows too far."""
        if depth > MAX_DEPTH:
            self.refuse(
                f"the expression nests deeper than {MAX_DEPTH} levels",
                self.start(node),
                ": split it into smaller KPIs",
            )
        read = self.read_node(node, depth)
        if read.size > MAX_DATABASE_TERMS:
            self.refuse(
                "the expression is too complex",
                self.start(node),
                ": min and max repeat their arguments in the database query, which would "
                f"grow to {read.size} terms (the limit is {MAX_DATABASE_TERMS}); "
                "nest fewer of them",
            )
        if read.nesting > MAX_DATABASE_NESTING:
            self.refuse(
                "the expression nests too deeply for the database",
                self.start(node),
                f": its query would need {read.nesting} levels of parentheses, operators "
                f"and functions (the limit is {MAX_DATABASE_NESTING}); write it flatter, "
                "e.g. a + b + c rather than a + (b + (c)), or split it into smaller KPIs",
            )
        return read

    def read_node(self, node: ast.expr, depth: int) -> _Read:
        match node:
            case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(
                value, bool
            ):
                return _measure(_Number(self.number(node, value)), [])
            case ast.Name(id=name):
                return _measure(self.metric(node, name), [])
            case ast.UnaryOp(op=ast.UAdd(), operand=operand):
                return self.read(operand, depth + 1)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = self.read(operand, depth + 1)
                return _measure(_Negation(inner.term), [inner])
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _SYMBOLS:
                a = self.read(left, depth + 1)
                b = self.read(right, depth + 1)
                return _measure(_Arithmetic(_SYMBOLS[type(op)], a.term, b.term), [a, b])
            case ast.Call():
                return self.call(node, depth)
        self.refuse_construct(node)

    def number(self, node: ast.expr, value: int | float) -> float:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.refuse(
                "the number is too large", self.start(node), ": numbers must stay below 1e308"
            )
        return number

    def metric(self, node: ast.Name, name: str) -> _Metric:
        at = self.start(node)
        if not _METRIC_NAME.fullmatch(name):
            self.refuse(
                f"'{name}' is not a metric name",
                at,
                ": metric names are lower-case letters, digits and '_', starting with a "
                f"letter{self.suggestion(name, self.known)}",
            )
        if name not in self.known:
            shown = sorted(self.known)[:_KNOWN_SHOWN]
            listed = ", ".join(shown) + (", ..." if len(self.known) > _KNOWN_SHOWN else "")
            known = f"known: {listed}" if shown else "no metrics are known"
            self.refuse(
                f"unknown name '{name}'", at, f" ({known}{self.suggestion(name, self.known)})"
            )
        self.names.add(name)
        return _Metric(name, at)

    def call(self, node: ast.Call, depth: int) -> _Read:
        callee = node.func
        if not isinstance(callee, ast.Name):
            self.read(callee, depth + 1)  # an attribute or the like is refused by name
            self.refuse(
                f"'{self.segment(callee)}(...)' is not allowed",
                self.start(node),
                ": only min, max and abs can be called",
            )
        name = callee.id
        if name not in FUNCTIONS:
            self.refuse(
                f"unknown function '{name}'",
                self.start(callee),
                f" (known: {', '.join(FUNCTIONS)}{self.suggestion(name, FUNCTIONS)})",
            )
        if node.keywords:
            keyword = node.keywords[0]
            written = f"'{keyword.arg}='" if keyword.arg else "'**'"
            self.refuse(
                f"the keyword argument {written} is not allowed",
                self.start(keyword),
                f": {name} takes plain arguments, as in {name}(a, b)",
            )
        read = [self.read(argument, depth + 1) for argument in node.args]
        if name == "abs" and len(read) != 1:
            self.refuse(
                f"abs takes exactly one argument (got {len(read)})",
                self.start(node),
                ": write abs(x)",
            )
        if name != "abs" and len(read) < 2:
            self.refuse(
                f"{name} takes at least two arguments (got {len(read)})",
                self.start(node),
                f": write {name}(a, b, ...)",
            )
        function: Function = "abs" if name == "abs" else "min" if name == "min" else "max"
        return _measure(_Call(function, tuple(argument.term for argument in read)), read)

    def refuse_construct(self, node: ast.expr) -> NoReturn:
        what, at = self.describe(node)
        self.refuse(f"{what} is not allowed", at, f": {_ALLOWED}")

    def describe(self, node: ast.expr) -> tuple[str, int]:
        """Return how to name a refused construct and where it starts."""
        match node:
            case ast.BinOp(left=left, op=op, right=right):
                written = _REFUSED_SYMBOLS.get(type(op), "this operator")
                return f"'{written}'", self.find(written, left, right)
            case ast.Compare(left=left, ops=[op, *_], comparators=[right, *_]):
                written = _REFUSED_SYMBOLS.get(type(op), "comparison")
                return f"'{written}'", self.find(written, left, right)
            case ast.BoolOp(op=op, values=[left, right, *_]):
                written = _REFUSED_SYMBOLS.get(type(op), "and")
                return f"'{written}'", self.find(written, left, right)
            case ast.UnaryOp(op=op):
                return f"'{_REFUSED_SYMBOLS.get(type(op), 'this operator')}'", self.start(node)
            case ast.Attribute(value=value, attr=attribute):
                return f"'.{attribute}'", self.find(".", value)
            case ast.Subscript(value=value):
                return "indexing with '[...]'", self.find("[", value)
            case ast.IfExp(body=body, test=test):
                return "'if ... else'", self.find("if", body, test)
            case ast.NamedExpr(target=target, value=value):
                return "':='", self.find(":=", target, value)
            case ast.Lambda():
                return "'lambda'", self.start(node)
            case ast.Starred():
                return "unpacking with '*'", self.start(node)
            case ast.Constant(value=str() | bytes()) | ast.JoinedStr():
                return "text in quotes", self.start(node)
            case ast.Constant(value=complex()):
                return f"the complex number '{self.segment(node)}'", self.start(node)
            case ast.Tuple(elts=[first, _, *_]):
                return "a list of values separated by ','", self.find(",", first)
        return f"'{self.segment(node)}'", self.start(node)

    def segment(self, node: ast.expr) -> str:
        written = self.parsed[self.start(node) : self.end(node)]
        return written if len(written) <= 30 else f"{written[:27]}..."


# --- one set of values ------------------------------------------------------------------

_PYTHON: dict[Symbol, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def _as_number(name: str, value: object) -> float | None:
    """Return ``value`` as a finite float, or None for "no value"."""
    if value is None:
        return None
    if not isinstance(value, Real | Decimal):
        raise TypeError(f"metric '{name}' has the value {value!r}; give a number or None")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # an int beyond the float range; Decimal('sNaN')
        return None
    return number if math.isfinite(number) else None


def _finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def _scalar(term: _Term, values: Mapping[str, object]) -> float | None:
    match term:
        case _Number(value):
            return value
        case _Metric(name):
            return _as_number(name, values[name])
        case _Negation(operand):
            number = _scalar(operand, values)
            return None if number is None else -number
        case _Arithmetic(symbol, left, right):
            a = _scalar(left, values)
            b = _scalar(right, values)
            if a is None or b is None or (symbol == "/" and b == 0):
                return None
            return _finite(_PYTHON[symbol](a, b))
        case _Call(function, arguments):
            numbers: list[float] = []
            for argument in arguments:
                number = _scalar(argument, values)
                if number is None:
                    return None
                numbers.append(number)
            if function == "abs":
                return abs(numbers[0])
            return min(numbers) if function == "min" else max(numbers)
        case _:
            assert_never(term)


# --- columns ----------------------------------------------------------------------------

_NUMPY: dict[Symbol, Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
}


def _finite_columns(column: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return a copy of ``column`` with every non-finite value turned into NaN."""
    return np.where(np.isfinite(column), column, np.nan)


def _columns(
    term: _Term, columns: Mapping[str, NDArray[np.float64]], shape: tuple[int, ...]
) -> NDArray[np.float64]:
    match term:
        case _Number(value):
            return np.full(shape, value, dtype=np.float64)
        case _Metric(name):
            return columns[name]
        case _Negation(operand):
            return np.negative(_columns(operand, columns, shape))
        case _Arithmetic(symbol, left, right):
            a = _columns(left, columns, shape)
            b = _columns(right, columns, shape)
            if symbol == "/":
                # Rows dividing by zero keep the NaN they start with: "no value", not inf.
                quotient = np.full(shape, np.nan, dtype=np.float64)
                np.divide(a, b, out=quotient, where=b != 0)
                return _finite_columns(quotient)
            return _finite_columns(_NUMPY[symbol](a, b))
        case _Call(function, arguments):
            evaluated = [_columns(argument, columns, shape) for argument in arguments]
            if function == "abs":
                return np.abs(evaluated[0])
            # np.minimum and np.maximum let NaN win, which is the rule for min and max.
            extreme = np.minimum if function == "min" else np.maximum
            return functools.reduce(extreme, evaluated)
        case _:
            assert_never(term)


# --- SQL --------------------------------------------------------------------------------


class _Read(NamedTuple):
    """A checked term with what its SQL will weigh."""

    term: _Term
    size: int  # metric and number references written in its SQL
    nesting: int  # levels of SQLite's parser stack its SQL needs


def _measure(term: _Term, parts: Sequence[_Read]) -> _Read:
    """Return ``term`` with its SQL's size and nesting, given those of its parts.

    The nesting counts what SQLite's parser holds open while it reads the SQL that
    ``_sql`` writes; the weights were measured against SQLite's parser with each shape
    nested until it overflowed, and round up.
    """
    sizes = [part.size for part in parts]
    nestings = [part.nesting for part in parts]
    match term:
        case _Number():  # ?
            return _Read(term, 1, 1)
        case _Metric():  # CAST(x AS FLOAT)
            return _Read(term, 1, 4)
        case _Negation():  # -(x)
            return _Read(term, sizes[0], nestings[0] + 2)
        case _Arithmetic("/", _, _):  # (a) / nullif(b, 0)
            return _Read(term, sum(sizes), max(nestings[0] + 1, nestings[1] + 5))
        case _Arithmetic():  # (a) - (b)
            return _Read(term, sum(sizes), max(nestings[0] + 1, nestings[1] + 3))
        case _Call("abs", _):  # abs(x)
            return _Read(term, sizes[0], nestings[0] + 3)
        case _Call(_, arguments):  # CASE WHEN (a IS NULL OR ...) WHEN (a <= b AND ...) ...
            return _Read(term, (len(arguments) + 1) * sum(sizes), max(nestings) + 7)
        case _:
            assert_never(term)


# SQLAlchemy's own + and * flatten a + (b + c) into a + b + c, but floats do not
# associate (1e16 + (-1e16 + 1) is 0, (1e16 - 1e16) + 1 is 1), and its own / adds
# "+ 0.0" on SQLite, one more level for SQLite's parser. Plain operators with the same
# precedence keep the order the user wrote and the text the parser reads short.
_PRECEDENCE: dict[Symbol, int] = {
    "+": sql_operators._PRECEDENCE[sql_operators.add],
    "-": sql_operators._PRECEDENCE[sql_operators.sub],
    "*": sql_operators._PRECEDENCE[sql_operators.mul],
    "/": sql_operators._PRECEDENCE[sql_operators.truediv],
}


def _sql(term: _Term, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
    match term:
        case _Number(value):
            return literal(value, Float)
        case _Metric(name):
            column = columns[name]
            # Integer and numeric columns are read as floats, so + - * and / compute as
            # they do in Python, on SQLite and PostgreSQL alike.
            return column if isinstance(column.type, Float) else cast(column, Float)
        case _Negation(operand):
            return -_sql(operand, columns)
        case _Arithmetic(symbol, left, right):
            a = _sql(left, columns)
            b = _sql(right, columns)
            if symbol == "/":
                # NULLIF(b, 0) is CASE WHEN b = 0 THEN NULL ELSE b END with b written
                # once, so nested divisions do not double the query at every level. Both
                # sides are floats (see _Metric above), so '/' divides as floats.
                b = func.nullif(b, literal(0.0, Float), type_=Float)
            return a.op(symbol, precedence=_PRECEDENCE[symbol], return_type=Float)(b)
        case _Call("abs", (argument,)):
            return func.abs(_sql(argument, columns), type_=Float)
        case _Call(function, arguments):
            return _sql_extreme(function, [_sql(argument, columns) for argument in arguments])
        case _:
            assert_never(term)


def _sql_extreme(function: Function, arguments: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    """Return min or max of ``arguments`` as one CASE that is NULL when any argument is.

    ``CASE WHEN a IS NULL OR b IS NULL OR c IS NULL THEN NULL
    WHEN a <= b AND a <= c THEN a WHEN b <= c THEN b ELSE c END``: once the first
    arguments are ruled out, the least value is among the rest, so each argument is
    compared with the later ones only.
    """
    beats = operator.le if function == "min" else operator.ge
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
        (or_(*(argument.is_(None) for argument in arguments)), null())
    ]
    for index, candidate in enumerate(arguments[:-1]):
        later = arguments[index + 1 :]
        whens.append((and_(*(beats(candidate, other) for other in later)), candidate))
    return type_coerce(case(*whens, else_=arguments[-1]), Float)
