"""The analytics run and pages against a notebook doing the same work, on SQLite and PostgreSQL.

    python benchmarks/analytics_bench.py --profile small|medium|large [--repeat N]
        [--databases sqlite,postgresql] [--period 2026-Q3] [--requests 50]
    python -m benchmarks.analytics_bench --profile small|medium|large [--repeat N] ...

The generated interchange folder of the profile is imported (child process
``python -m touchline import FOLDER --json``) into a fresh database of each backend and
the KPIs of the analysed period and its 7 predecessors of the same kind are computed and
committed (``compute_periods``: the analyses read 8 periods of stored values). These
set-up steps are timed and printed, not counted. Then it measures, with ``--repeat``
timed rounds (medians shown) after one untimed first run:

* Touchline's full analytics run of the period: ``run_analytics`` of every registered
  analysis in a session, then ``commit`` (as ``touchline analytics run`` does: each
  round replaces the stored results), per analysis and in total; the analyses' shared
  dataset (``load_dataset``) is loaded inside the first analysis that reads it and is
  also timed on its own;
* every analytics page of ``touchline.analytics.pages.sections()`` and the hub, p50 and
  p95 over ``--requests`` requests each (after one warm-up) through the ASGI app, signed
  in as the manager of the team with the most field sellers and as a leader;
* the peak RSS of each step (the high-water mark is reset before it, Linux).

The reference is the same core work as a data scientist would write it in a notebook,
measured in the same run on the same data: DuckDB over the same CSV files (loaded into
typed in-memory tables first, not timed) computes per field seller and period the KPIs
the analyses read, for the period and the 7 before; then NumPy, statsmodels and SciPy
fit the fairness regression (OLS of log revenue won on log market potential, log of the
inherited account base and tenure band) and compare the top quartile of the fair ratio
with the rest per behaviour in the period and the one before (Mann–Whitney U, Hedges' g
with a bootstrap interval, Benjamini–Hochberg). The ratio Touchline / reference is shown
next to the targets: the whole run under 30 s per database, every page's p95 under
300 ms. Time zone UTC throughout.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (python benchmarks/analytics_bench.py): make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
import numpy as np
import statsmodels.api as sm
from rich.table import Table
from scipy import stats
from sqlalchemy import Engine, func, select
from statsmodels.stats.multitest import multipletests

from benchmarks.common import console, fresh_database, generated, median, postgres_available
from benchmarks.import_bench import run_import
from benchmarks.kpi_bench import percentile, timed, wide
from touchline.analytics.dataset import TENURE_BANDS, history_of, load_dataset
from touchline.analytics.registry import registered, run_analytics
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker
from touchline.kpis.compute import compute_periods
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodError, parse_period

TOTAL_S = 30.0
PAGE_P95_S = 0.300
REQUESTS = 50
PASSWORD = "bench-password-not-secret"  # noqa: S105 (throwaway users of a throwaway database)
# The behaviours the reference compares between the top quartile and the rest.
BEHAVIOURS = (
    "meetings",
    "meeting_quality",
    "meetings_new_customers",
    "calls",
    "emails",
    "demos",
    "social_touches",
    "win_rate",
)
# Every KPI the reference computes per field seller and period (the query's columns).
REFERENCE_KPIS = ("revenue_won", "deals_won", "new_customers", *BEHAVIOURS)
TOP_SHARE = 0.25
BOOTSTRAP = 1000
MIN_GROUP = 8

# ----------------------------------------------------------------------------- reference


def load_reference(folder: Path) -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB holding the files the analyses' KPIs come from, typed."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET enable_progress_bar = false")

    def csv(name: str) -> str:
        return f"read_csv('{folder / name}', header = true, all_varchar = true)"

    connection.execute(f"CREATE TABLE teams AS SELECT team_id, manager_id FROM {csv('teams.csv')}")
    connection.execute(
        f"""
        CREATE TABLE sellers AS
        SELECT seller_id, territory_id, CAST(hire_date AS DATE) AS hire_date
        FROM {csv("sellers.csv")}
        """
    )
    connection.execute(
        f"""
        CREATE TABLE territories AS
        SELECT territory_id, CAST(market_potential AS DOUBLE) AS market_potential
        FROM {csv("territories.csv")}
        """
    )
    connection.execute(
        f"CREATE TABLE accounts AS SELECT account_id, territory_id FROM {csv('accounts.csv')}"
    )
    connection.execute(
        f"""
        CREATE TABLE deals AS
        SELECT deal_id, account_id, seller_id, CAST(close_date AS DATE) AS close_date,
               status, CAST(amount AS DECIMAL(18, 2)) AS amount
        FROM {csv("deals.csv")}
        """
    )
    connection.execute(
        f"""
        CREATE TABLE activities AS
        SELECT seller_id, type,
               CAST(timezone('UTC', CAST(occurred_at AS TIMESTAMPTZ)) AS DATE) AS occurred_on,
               account_id, outcome
        FROM {csv("activities.csv")}
        """
    )
    return connection


# Per field seller (active, managing no unit) and period of `periods`: the KPIs the
# analyses read, as docs/kpis.md defines them.
VALUES_SQL = """
WITH
field AS (
    SELECT seller_id FROM sellers
    WHERE seller_id NOT IN (SELECT manager_id FROM teams WHERE manager_id IS NOT NULL)
),
first_won AS (
    SELECT DISTINCT ON (account_id) account_id, seller_id, close_date
    FROM deals
    WHERE status = 'won' AND account_id IS NOT NULL
    ORDER BY account_id, close_date, deal_id
),
closed AS (
    SELECT d.seller_id, p.col,
           count(*) FILTER (WHERE status = 'won') AS won,
           coalesce(sum(amount) FILTER (WHERE status = 'won'), 0) AS won_amount,
           count(*) FILTER (WHERE status = 'lost') AS lost
    FROM deals d JOIN periods p ON d.close_date BETWEEN p.p_start AND p.p_end
    GROUP BY d.seller_id, p.col
),
news AS (
    SELECT f.seller_id, p.col, count(*) AS new_customers
    FROM first_won f JOIN periods p ON f.close_date BETWEEN p.p_start AND p.p_end
    GROUP BY f.seller_id, p.col
),
acts AS (
    SELECT a.seller_id, p.col,
           count(*) FILTER (WHERE type = 'meeting') AS meetings,
           count(*) FILTER (WHERE type = 'call') AS calls,
           count(*) FILTER (WHERE type = 'email') AS emails,
           count(*) FILTER (WHERE type = 'demo') AS demos,
           count(*) FILTER (WHERE type = 'social') AS social,
           count(*) FILTER (WHERE type = 'meeting' AND outcome IS NOT NULL) AS with_outcome,
           count(*) FILTER (WHERE type = 'meeting' AND outcome = 'next_step_agreed')
               AS next_step,
           count(*) FILTER (
               WHERE type = 'meeting' AND a.account_id IS NOT NULL
                 AND (f.close_date IS NULL OR f.close_date >= a.occurred_on)
           ) AS meetings_new
    FROM activities a
    JOIN periods p ON a.occurred_on BETWEEN p.p_start AND p.p_end
    LEFT JOIN first_won f ON f.account_id = a.account_id
    GROUP BY a.seller_id, p.col
)
SELECT s.seller_id, p.col,
       coalesce(c.won_amount, 0) AS revenue_won,
       coalesce(c.won, 0) AS deals_won,
       coalesce(n.new_customers, 0) AS new_customers,
       coalesce(a.meetings, 0) AS meetings,
       CASE WHEN a.with_outcome > 0 THEN CAST(a.next_step AS DOUBLE) / a.with_outcome END
           AS meeting_quality,
       coalesce(a.meetings_new, 0) AS meetings_new_customers,
       coalesce(a.calls, 0) AS calls,
       coalesce(a.emails, 0) AS emails,
       coalesce(a.demos, 0) AS demos,
       coalesce(a.social, 0) AS social_touches,
       CASE WHEN c.won + c.lost > 0 THEN CAST(c.won AS DOUBLE) / (c.won + c.lost) END
           AS win_rate
FROM field s CROSS JOIN periods p
LEFT JOIN closed c ON c.seller_id = s.seller_id AND c.col = p.col
LEFT JOIN news n ON n.seller_id = s.seller_id AND n.col = p.col
LEFT JOIN acts a ON a.seller_id = s.seller_id AND a.col = p.col
ORDER BY s.seller_id, p.col
"""

# Per field seller the factors outside their control at the period's first day.
FACTORS_SQL = """
WITH customers AS (
    SELECT DISTINCT account_id FROM deals WHERE status = 'won' AND close_date < $start
),
inherited AS (
    SELECT a.territory_id, count(*) AS accounts
    FROM accounts a JOIN customers c USING (account_id)
    WHERE a.territory_id IS NOT NULL
    GROUP BY a.territory_id
)
SELECT s.seller_id, t.market_potential, s.hire_date, coalesce(i.accounts, 0) AS accounts
FROM sellers s
LEFT JOIN territories t USING (territory_id)
LEFT JOIN inherited i USING (territory_id)
WHERE s.seller_id NOT IN (SELECT manager_id FROM teams WHERE manager_id IS NOT NULL)
ORDER BY s.seller_id
"""


@dataclass(frozen=True)
class Behaviour:
    code: str
    back: int
    top: int
    rest: int
    g: float
    low: float
    high: float
    p: float
    q: float = float("nan")


@dataclass(frozen=True)
class ReferenceResult:
    sellers: int
    modelled: int
    r2: float
    top: int
    behaviours: list[Behaviour]


def hedges_g(top: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Hedges' g of ``top`` against ``rest`` along the last axis (bias-corrected d)."""
    n1, n2 = top.shape[-1], rest.shape[-1]
    pooled = np.sqrt(
        ((n1 - 1) * top.var(axis=-1, ddof=1) + (n2 - 1) * rest.var(axis=-1, ddof=1)) / (n1 + n2 - 2)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (top.mean(axis=-1) - rest.mean(axis=-1)) / pooled
    return np.asarray(d * (1 - 3 / (4 * (n1 + n2) - 9)))


def reference_run(connection: duckdb.DuckDBPyConnection, history: list[Period]) -> ReferenceResult:
    """The notebook's work: the KPIs of 8 periods, the fairness fit, the behaviour tests."""
    rows = ",".join(
        f"({column}, DATE '{p.start.isoformat()}', DATE '{p.end.isoformat()}')"
        for column, p in enumerate(history)
    )
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE periods AS "
        f"SELECT * FROM (VALUES {rows}) t(col, p_start, p_end)"
    )
    values = connection.execute(VALUES_SQL).fetchall()
    factors = connection.execute(FACTORS_SQL, {"start": history[-1].start}).fetchall()
    ids = [row[0] for row in factors]
    row_of = {seller: row for row, seller in enumerate(ids)}
    arrays = {code: np.full((len(ids), len(history)), np.nan) for code in REFERENCE_KPIS}
    for record in values:
        row, column = row_of[record[0]], record[1]
        for code, value in zip(REFERENCE_KPIS, record[2:], strict=True):
            if value is not None:
                arrays[code][row, column] = float(value)

    start = history[-1].start
    potential = np.array([np.nan if r[1] is None else r[1] for r in factors], dtype=float)
    tenure = np.array(
        [np.nan if r[2] is None else max((start - r[2]).days / 365.25, 0.0) for r in factors]
    )
    band = np.searchsorted(np.array(TENURE_BANDS), tenure, side="right").astype(float)
    band[~np.isfinite(tenure)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        design = np.column_stack(
            [
                np.log(np.where(potential > 0, potential, np.nan)),
                np.log1p(np.array([r[3] for r in factors], dtype=float)),
                np.where(np.isnan(band), np.nan, band == 1),
                np.where(np.isnan(band), np.nan, band == 2),
            ]
        )
    revenue = arrays["revenue_won"][:, -1]
    known = np.isfinite(design).all(axis=1)
    usable = known & np.isfinite(revenue) & (revenue > 0)
    varying = design[usable].std(axis=0) > 0
    x = sm.add_constant(design[:, varying][known], has_constant="add")
    model = sm.OLS(np.log(revenue[usable]), x[usable[known]]).fit()
    expected = np.full(len(ids), np.nan)
    expected[known] = np.exp(x @ model.params) * np.mean(np.exp(model.resid))
    with np.errstate(divide="ignore", invalid="ignore"):
        fair = revenue / expected
    rated = np.isfinite(fair)
    top = rated & (fair >= np.quantile(fair[rated], 1 - TOP_SHARE))
    rest = rated & ~top

    rng = np.random.default_rng(7)
    found: list[Behaviour] = []
    for code in BEHAVIOURS:
        for back in (0, 1):
            column = arrays[code][:, -1 - back]
            a, b = column[top & np.isfinite(column)], column[rest & np.isfinite(column)]
            if len(a) < MIN_GROUP or len(b) < MIN_GROUP:
                continue
            g = float(hedges_g(a, b))
            boots = hedges_g(
                a[rng.integers(len(a), size=(BOOTSTRAP, len(a)))],
                b[rng.integers(len(b), size=(BOOTSTRAP, len(b)))],
            )
            low, high = np.nanpercentile(boots, [2.5, 97.5])
            p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
            found.append(Behaviour(code, back, len(a), len(b), g, float(low), float(high), p))
    if found:
        q = multipletests([b.p for b in found], method="fdr_bh")[1]
        found = [
            Behaviour(b.code, b.back, b.top, b.rest, b.g, b.low, b.high, b.p, float(v))
            for b, v in zip(found, q, strict=True)
        ]
    return ReferenceResult(
        len(ids), int(usable.sum()), float(model.rsquared), int(top.sum()), found
    )


# ----------------------------------------------------------------------------- measuring


@dataclass
class Figures:
    """The seconds of every round, per (measure, backend), and notes to print."""

    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: str, backend: str, seconds: float) -> None:
        self.seconds.setdefault((measure, backend), []).append(seconds)

    def median(self, measure: str, backend: str) -> float:
        return median(self.seconds.get((measure, backend), []))

    def has(self, measure: str, backend: str) -> bool:
        return (measure, backend) in self.seconds


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux); False where impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mib() -> float:
    """This process's peak RSS since the last reset (since its start where none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Viewer:
    role: str
    email: str
    label: str


def add_viewers(engine: Engine) -> list[Viewer]:
    """Add a manager of the team with the most field sellers and a leader; return them."""
    from touchline.auth.models import Role, User
    from touchline.auth.passwords import hash_password

    with make_sessionmaker(engine)() as session:
        managers = select(Unit.manager_id).where(Unit.manager_id.is_not(None))
        sizes = session.execute(
            select(Unit.id, Unit.external_id, Unit.manager_id, func.count(Seller.id))
            .join(Seller, Seller.unit_id == Unit.id)
            .where(
                Unit.kind == "team",
                Unit.manager_id.is_not(None),
                Seller.active.is_(True),
                Seller.id.not_in(managers),
            )
            .group_by(Unit.id, Unit.external_id, Unit.manager_id)
        ).all()
        viewers = [Viewer("leader", "bench-leader@example.com", "leader (sees all)")]
        session.add(
            User(
                email=viewers[0].email,
                name="Bench leader",
                role=Role.LEADER,
                password_hash=hash_password(PASSWORD),
            )
        )
        if sizes:
            _id, team, manager, count = min(sizes, key=lambda row: (-row[3], row[1]))
            viewers.insert(
                0,
                Viewer(
                    "manager", "bench-manager@example.com", f"manager of {team} ({count} sellers)"
                ),
            )
            session.add(
                User(
                    email=viewers[0].email,
                    name="Bench manager",
                    role=Role.MANAGER,
                    seller_id=manager,
                    password_hash=hash_password(PASSWORD),
                )
            )
        session.commit()
    return viewers


def sign_in(client: Any, email: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    if token is None:
        raise SystemExit("the login page has no CSRF token")
    signed = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
    )
    if signed.status_code != 303:
        raise SystemExit(f"signing in as {email} answered {signed.status_code}")


def page_paths() -> list[tuple[str, str]]:
    """Return (path, title) of the hub and of every analytics page the hub lists."""
    from touchline.analytics.pages import sections

    return [("/analytics", "hub"), *((s.path, s.title) for s in sections())]


def measure_pages(
    engine: Engine, url: str, period: Period, requests: int, figures: Figures, backend: str
) -> list[tuple[str, str]]:
    """Time every analytics page as each viewer; return the (page, viewer) rows measured."""
    from fastapi.testclient import TestClient

    from touchline.app import create_app
    from touchline.config import Settings

    viewers = add_viewers(engine)
    settings = Settings(database_url=url, secret_key="bench-secret-" + "x" * 32, timezone="UTC")
    app = create_app(settings, engine=engine)
    measured: list[tuple[str, str]] = []
    for viewer in viewers:
        with TestClient(app, follow_redirects=False) as client:
            sign_in(client, viewer.email)
            for path, _title in page_paths():
                target = f"{path}{'&' if '?' in path else '?'}period={period.label}"
                first = client.get(target)  # warm-up, not counted
                if first.status_code != 200:
                    figures.notes.append(
                        f"{backend}: GET {target} as {viewer.role} answered "
                        f"{first.status_code}: not measured"
                    )
                    continue
                seconds = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(target)
                    seconds.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise SystemExit(f"GET {target} answered {response.status_code}")
                figures.add(f"{path} p50|{viewer.label}", backend, percentile(seconds, 50))
                figures.add(f"{path} p95|{viewer.label}", backend, percentile(seconds, 95))
                measured.append((path, viewer.label))
    return measured


# ----------------------------------------------------------------------------- main

IMPORT = "import (child)"
COMPUTE = "compute_periods, 8 periods"
TOTAL = "run_analytics + commit"
FIRST = "first run (untimed)"
COMMIT = "commit (inside the total)"
DATASET = "load_dataset (inside the first analysis)"
REFERENCE = "reference (DuckDB + NumPy/SciPy)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    options = parser.parse_args()
    # Before anything reads the settings (here and in the import children): the generated
    # data, DuckDB and the engine all use UTC.
    os.environ["TOUCHLINE_TIMEZONE"] = "UTC"
    get_settings.cache_clear()
    repeat = max(1, options.repeat)
    requests = max(1, options.requests)
    try:
        period = parse_period(
            options.period, fiscal_start_month=get_settings().fiscal_year_start_month
        )
    except PeriodError as error:
        parser.error(f"--period: {error}")
    history = history_of(period)
    analyses = [item.key for item in registered()]  # imports every analysis module
    if not analyses:
        raise SystemExit("no analysis is registered")
    console.print(
        f"analyses registered: {', '.join(analyses)}; period {period.label} with "
        f"{history[0].label} … {history[-1].label} ({len(history)} periods)"
    )

    folder = generated(options.profile, options.seed)
    backends = [b for b in options.databases.split(",") if b]
    if "postgresql" in backends and not postgres_available():
        console.print("[yellow]no PostgreSQL answers: measuring SQLite only[/]")
        backends.remove("postgresql")

    figures = Figures()
    peaks: dict[tuple[str, str], float] = {}
    pages: dict[str, list[tuple[str, str]]] = {}
    summary: dict[str, Any] = {}

    # The reference: load untimed, one untimed run, then the timed rounds.
    reset_peak()
    load_seconds, reference = timed(lambda: load_reference(folder))
    threads = reference.execute("SELECT current_setting('threads')").fetchone()
    console.print(
        f"DuckDB ({threads[0] if threads else '?'} threads) loaded the CSV files in "
        f"{load_seconds:.2f} s (not counted)"
    )
    found = reference_run(reference, history)
    for _ in range(repeat):
        seconds, _result = timed(lambda: reference_run(reference, history))
        figures.add(REFERENCE, "reference", seconds)
    reference.close()
    peaks[("reference", REFERENCE)] = peak_mib()

    for backend in backends:
        with fresh_database(backend) as url:
            console.print(f"{backend}: importing {folder.name}")
            # The child starts with this process's high-water mark (Linux keeps it across
            # exec): reset it, so that the import's peak is its own.
            reset_peak()
            _report, seconds, peaks[(backend, IMPORT)] = run_import(folder, url)
            figures.add(IMPORT, backend, seconds)
            engine = make_engine(url)
            factory = make_sessionmaker(engine)
            try:
                console.print(f"{backend}: computing the KPIs of {len(history)} periods")
                with factory() as session:
                    seconds, _result = timed(
                        partial(compute_periods, session, history, trigger="bench")
                    )
                    session.commit()
                figures.add(COMPUTE, backend, seconds)

                reset_peak()
                for round_number in range(repeat + 1):
                    with factory() as session:
                        started = time.perf_counter()
                        ran = run_analytics(session, period, trigger="bench")
                        computed = time.perf_counter()
                        session.commit()
                        elapsed = time.perf_counter() - started
                    if not round_number:
                        figures.add(FIRST, backend, elapsed)
                        continue
                    figures.add(TOTAL, backend, elapsed)
                    figures.add(COMMIT, backend, started + elapsed - computed)
                    for item in ran:
                        figures.add(item.key, backend, item.seconds)
                    with factory() as session:
                        seconds, dataset = timed(partial(load_dataset, session, period))
                        session.rollback()
                    figures.add(DATASET, backend, seconds)
                    summary[backend] = (dataset.size, len(dataset.kpis))
                peaks[(backend, TOTAL)] = peak_mib()

                reset_peak()
                console.print(f"{backend}: timing the analytics pages")
                pages[backend] = measure_pages(engine, url, period, requests, figures, backend)
                peaks[(backend, "pages")] = peak_mib()
                fairness_check(engine, period, found, figures, backend)
            finally:
                engine.dispose()

    print_tables(options, period, backends, analyses, figures, peaks, pages, requests, summary)
    out = wide()
    reference_note(found, out)
    for note in figures.notes:
        out.print(note)


def fairness_check(
    engine: Engine, period: Period, found: ReferenceResult, figures: Figures, backend: str
) -> None:
    """Note the stored fairness fit next to the reference's (the same model on the same data)."""
    from touchline.analytics.registry import stored_payload

    with make_sessionmaker(engine)() as session:
        payload = stored_payload(session, period, "fairness")
    fit = (payload or {}).get("kpis", {}).get("revenue_won")
    if not fit or fit.get("r2") is None:
        return
    figures.notes.append(
        f"{backend}: the fairness fit of revenue_won: R² {fit['r2']:.4f} over "
        f"{fit['sellers']} sellers (reference: R² {found.r2:.4f} over {found.modelled})"
    )


def reference_note(found: ReferenceResult, out: Any) -> None:
    telling = sorted((b for b in found.behaviours if b.q < 0.05), key=lambda b: -abs(b.g))
    words = ", ".join(
        f"{b.code}{' (period before)' if b.back else ''} g {b.g:+.2f} [{b.low:+.2f}, {b.high:+.2f}]"
        for b in telling
    )
    out.print(
        f"reference: {found.sellers} field sellers, fairness R² {found.r2:.3f} over "
        f"{found.modelled}, top quartile {found.top}; behaviours with q < 0.05 of "
        f"{len(found.behaviours)} tested: {words or 'none'}"
    )


def verdict(met: bool) -> str:
    return "met" if met else "[red]MISSED[/]"


def print_tables(
    options: argparse.Namespace,
    period: Period,
    backends: list[str],
    analyses: list[str],
    figures: Figures,
    peaks: dict[tuple[str, str], float],
    pages: dict[str, list[tuple[str, str]]],
    requests: int,
    summary: dict[str, Any],
) -> None:
    out = wide()
    repeat = max(1, options.repeat)
    reference = figures.median(REFERENCE, "reference")
    table = Table(
        "measure",
        "database",
        "median s",
        "reference s",
        "ratio",
        "target",
        title=(
            f"Analytics run of {period.label}, profile {options.profile} "
            f"(medians of {repeat}, committed each round)"
        ),
    )
    table.add_row(REFERENCE, "-", f"{reference:.3f}", f"{reference:.3f}", "1.0x", "")
    for backend in backends:
        for measure in (*analyses, DATASET, COMMIT, FIRST):
            if figures.has(measure, backend):
                table.add_row(
                    measure, backend, f"{figures.median(measure, backend):.3f}", "", "", ""
                )
        mine = figures.median(TOTAL, backend)
        table.add_row(
            f"[bold]{TOTAL}[/]",
            backend,
            f"{mine:.3f}",
            f"{reference:.3f}",
            f"{mine / reference:.1f}x",
            f"< {TOTAL_S:g} s: {verdict(mine < TOTAL_S)}",
        )
    out.print(table)

    table = Table(
        "page",
        "viewer",
        "database",
        "p50 ms",
        "p95 ms",
        "target",
        title=f"Analytics pages of {period.label} ({requests} requests each after a warm-up)",
    )
    for backend in backends:
        for path, viewer in pages.get(backend, []):
            p50 = figures.median(f"{path} p50|{viewer}", backend)
            p95 = figures.median(f"{path} p95|{viewer}", backend)
            table.add_row(
                path,
                viewer,
                backend,
                f"{p50 * 1000:.1f}",
                f"{p95 * 1000:.1f}",
                f"p95 < {PAGE_P95_S * 1000:.0f} ms: {verdict(p95 < PAGE_P95_S)}",
            )
    out.print(table)

    table = Table(
        "database",
        "field sellers",
        "import s",
        "compute 8 periods s",
        "import peak MiB",
        "run peak MiB",
        "pages peak MiB",
        title="Set-up (not counted) and peak RSS",
    )
    for backend in backends:
        sellers, _kpis = summary.get(backend, (0, 0))
        table.add_row(
            backend,
            f"{sellers:,}",
            f"{figures.median(IMPORT, backend):.1f}",
            f"{figures.median(COMPUTE, backend):.1f}",
            f"{peaks.get((backend, IMPORT), float('nan')):.0f}",
            f"{peaks.get((backend, TOTAL), float('nan')):.0f}",
            f"{peaks.get((backend, 'pages'), float('nan')):.0f}",
        )
    table.add_row(
        "reference", "", "", "", "", f"{peaks.get(('reference', REFERENCE), float('nan')):.0f}", ""
    )
    out.print(table)


if __name__ == "__main__":
    main()
