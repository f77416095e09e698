"""KPI computation against DuckDB running the same reference workload, on SQLite and PostgreSQL.

    python benchmarks/kpi_bench.py --profile small|medium|large [--repeat N]
        [--databases sqlite,postgresql] [--quarter 2026-Q2]
    python -m benchmarks.kpi_bench --profile small|medium|large [--repeat N]

The generated interchange folder of the profile is imported (child process
``python -m touchline import FOLDER --json``) into a fresh database of each backend. Then,
with ``--repeat`` timed rounds each (after one untimed warm-up run for the reference,
(a) and (b)) and medians shown, it measures:

* the reference: the whole reference KPI workload (docs/kpis.md) for the
  quarter (every seller, every unit rolled up through parent teams, the company), written
  as one DuckDB SQL query over typed in-memory tables of the same CSV files (loading them
  is not timed);
* (a) the engine's full quarter: open a connection, ``load_organisation`` and ``compute``;
* (b) the materialised full quarter: ``compute_period`` in a session, rolled back;
* (c) the incremental refresh after one more day of activities (a copy of the last
  day's activities, dated a day later) is imported: ``refresh_events`` for that day's
  deals and activities (``changes_on_days``), in-process, once its month, quarter and
  year were computed, as the import's hook runs it; also the child import of that day
  with the refresh its hook ran;
* the team heatmap page (``/units/{team}/heatmap``), p50 and p95 over 200 requests of a
  signed-in admin through the ASGI app, once the quarter is materialised and a scorecard
  template is assigned to the company;
* the peak RSS of this process and of the import children.

The engine's values for the quarter are checked once per backend against DuckDB's, for
every subject and KPI (exact for counts and cents, relative 1e-9 otherwise); a mismatch
is printed and makes the run exit non-zero. Time zone UTC throughout.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script (python benchmarks/kpi_bench.py): make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select

from benchmarks.common import console, fresh_database, generated, median, postgres_available
from benchmarks.import_bench import run_import
from touchline.config import get_settings
from touchline.db import make_engine, make_sessionmaker
from touchline.kpis.compute import compute_period, compute_periods
from touchline.kpis.engine import compute, load_organisation
from touchline.kpis.incremental import changes_on_days, refresh_events
from touchline.kpis.metrics import REFERENCE_WORKLOAD
from touchline.org.models import Seller, Unit
from touchline.org.periods import Period, PeriodKind, parse_period, period_containing

UTC = ZoneInfo("UTC")
HEATMAP_REQUESTS = 200
PASSWORD = "bench-password-not-secret"  # noqa: S105 (a throwaway user of a throwaway database)
COUNTS = (
    "deals_won",
    "new_customers",
    "meetings",
    "meetings_new_customers",
    "calls",
    "emails",
    "demos",
)
CENTS = ("revenue_won", "pipeline_created")
RATIOS = (
    "win_rate",
    "avg_deal_size",
    "meeting_quality",
    "speed_to_first_touch_h",
    "sales_cycle_days",
)
KPI_CODES = (*CENTS, *COUNTS, *RATIOS)
Key = tuple[str, str]

# ----------------------------------------------------------------------------- DuckDB


def load_duckdb(folder: Path) -> duckdb.DuckDBPyConnection:
    """Return an in-memory DuckDB holding the organisation, deals and activities, typed.

    Like the product's database, an activity keeps the date it has in the company's zone
    (``occurred_on``) next to its instant.
    """
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET enable_progress_bar = false")

    def csv(name: str) -> str:
        return f"read_csv('{folder / name}', header = true, all_varchar = true)"

    connection.execute(
        f"CREATE TABLE teams AS SELECT team_id, parent_team_id FROM {csv('teams.csv')}"
    )
    connection.execute(
        f"CREATE TABLE sellers AS SELECT seller_id, team_id FROM {csv('sellers.csv')}"
    )
    connection.execute(
        f"""
        CREATE TABLE deals AS
        SELECT deal_id, account_id, seller_id,
               CAST(created_date AS DATE) AS created_date,
               CAST(close_date AS DATE) AS close_date,
               status,
               CAST(amount AS DECIMAL(18, 2)) AS amount
        FROM {csv("deals.csv")}
        """
    )
    connection.execute(
        f"""
        CREATE TABLE activities AS
        SELECT activity_id, seller_id, type,
               CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at,
               CAST(timezone('UTC', CAST(occurred_at AS TIMESTAMPTZ)) AS DATE) AS occurred_on,
               account_id, deal_id,
               CAST(duration_min AS INTEGER) AS duration_min,
               outcome
        FROM {csv("activities.csv")}
        """
    )
    return connection


# Every KPI of the reference workload for P = [$start, $end], one row per subject. Sums
# are taken per seller, then rolled up to every unit above the seller's team and to the
# company; the medians are taken over the pooled events of each subject.
REFERENCE_SQL = """
WITH RECURSIVE
ancestry(team_id, unit_id) AS (
    SELECT team_id, team_id FROM teams
    UNION ALL
    SELECT a.team_id, t.parent_team_id
    FROM ancestry a JOIN teams t ON t.team_id = a.unit_id
    WHERE t.parent_team_id IS NOT NULL
),
counts_for(seller_id, kind, subject_id) AS (
    SELECT seller_id, 'seller', seller_id FROM sellers
    UNION ALL
    SELECT s.seller_id, 'unit', a.unit_id FROM sellers s JOIN ancestry a USING (team_id)
    UNION ALL
    SELECT seller_id, 'company', '' FROM sellers
),
subjects(kind, subject_id) AS (
    SELECT 'seller', seller_id FROM sellers
    UNION ALL SELECT 'unit', team_id FROM teams
    UNION ALL SELECT 'company', ''
),
first_won AS (
    -- per account its first-ever won deal: earliest close_date, ties by deal_id (bytes)
    SELECT DISTINCT ON (account_id) account_id, seller_id, close_date
    FROM deals
    WHERE status = 'won' AND account_id IS NOT NULL
    ORDER BY account_id, close_date, deal_id
),
closed AS (
    SELECT seller_id,
           count(*) FILTER (WHERE status = 'won') AS won,
           coalesce(sum(amount) FILTER (WHERE status = 'won'), 0) AS won_amount,
           count(*) FILTER (WHERE status = 'lost') AS lost
    FROM deals
    WHERE close_date BETWEEN $start AND $end
    GROUP BY seller_id
),
created AS (
    SELECT seller_id, sum(amount) AS pipeline
    FROM deals
    WHERE created_date BETWEEN $start AND $end
    GROUP BY seller_id
),
news AS (
    SELECT seller_id, count(*) AS new_customers
    FROM first_won
    WHERE close_date BETWEEN $start AND $end
    GROUP BY seller_id
),
acts AS (
    SELECT a.seller_id,
           count(*) FILTER (WHERE type = 'meeting') AS meetings,
           count(*) FILTER (WHERE type = 'call') AS calls,
           count(*) FILTER (WHERE type = 'email') AS emails,
           count(*) FILTER (WHERE type = 'demo') AS demos,
           count(*) FILTER (WHERE type = 'meeting' AND outcome IS NOT NULL) AS with_outcome,
           count(*) FILTER (WHERE type = 'meeting' AND outcome = 'next_step_agreed')
               AS next_step,
           count(*) FILTER (
               WHERE type = 'meeting' AND a.account_id IS NOT NULL
                 AND (f.close_date IS NULL OR f.close_date >= a.occurred_on)
           ) AS meetings_new
    FROM activities a LEFT JOIN first_won f ON f.account_id = a.account_id
    WHERE a.occurred_on BETWEEN $start AND $end
    GROUP BY a.seller_id
),
per_seller AS (
    SELECT s.seller_id,
           coalesce(c.won, 0) AS won,
           coalesce(c.won_amount, 0) AS won_amount,
           coalesce(c.lost, 0) AS lost,
           coalesce(n.new_customers, 0) AS new_customers,
           coalesce(p.pipeline, 0) AS pipeline,
           coalesce(a.meetings, 0) AS meetings,
           coalesce(a.calls, 0) AS calls,
           coalesce(a.emails, 0) AS emails,
           coalesce(a.demos, 0) AS demos,
           coalesce(a.with_outcome, 0) AS with_outcome,
           coalesce(a.next_step, 0) AS next_step,
           coalesce(a.meetings_new, 0) AS meetings_new
    FROM sellers s
    LEFT JOIN closed c USING (seller_id)
    LEFT JOIN created p USING (seller_id)
    LEFT JOIN news n USING (seller_id)
    LEFT JOIN acts a USING (seller_id)
),
rolled AS (
    SELECT f.kind, f.subject_id,
           sum(won) AS won, sum(won_amount) AS won_amount, sum(lost) AS lost,
           sum(new_customers) AS new_customers, sum(pipeline) AS pipeline,
           sum(meetings) AS meetings, sum(calls) AS calls, sum(emails) AS emails,
           sum(demos) AS demos, sum(with_outcome) AS with_outcome,
           sum(next_step) AS next_step, sum(meetings_new) AS meetings_new
    FROM per_seller JOIN counts_for f USING (seller_id)
    GROUP BY f.kind, f.subject_id
),
cycles AS (
    SELECT f.kind, f.subject_id,
           median(CAST(d.close_date - d.created_date AS DOUBLE)) AS cycle_days
    FROM deals d JOIN counts_for f USING (seller_id)
    WHERE d.status = 'won' AND d.close_date BETWEEN $start AND $end
    GROUP BY f.kind, f.subject_id
),
first_touches AS (
    -- per deal created in P: hours from midnight (UTC) of created_date to the first
    -- activity on the deal at or after that midnight, by anyone, possibly after P
    SELECT d.seller_id,
           (epoch_ms(min(a.occurred_at)) - epoch_ms(CAST(d.created_date AS TIMESTAMPTZ)))
               / 3600000.0 AS hours
    FROM deals d
    JOIN activities a
      ON a.deal_id = d.deal_id AND a.occurred_at >= CAST(d.created_date AS TIMESTAMPTZ)
    WHERE d.created_date BETWEEN $start AND $end
    GROUP BY d.deal_id, d.seller_id, d.created_date
),
touches AS (
    SELECT f.kind, f.subject_id, median(t.hours) AS touch_hours
    FROM first_touches t JOIN counts_for f USING (seller_id)
    GROUP BY f.kind, f.subject_id
)
SELECT s.kind, s.subject_id,
       coalesce(r.won_amount, 0) AS revenue_won,
       coalesce(r.won, 0) AS deals_won,
       CASE WHEN r.won + r.lost > 0 THEN CAST(r.won AS DOUBLE) / (r.won + r.lost) END
           AS win_rate,
       CASE WHEN r.won > 0 THEN CAST(r.won_amount AS DOUBLE) / r.won END AS avg_deal_size,
       coalesce(r.new_customers, 0) AS new_customers,
       coalesce(r.pipeline, 0) AS pipeline_created,
       coalesce(r.meetings, 0) AS meetings,
       coalesce(r.meetings_new, 0) AS meetings_new_customers,
       coalesce(r.calls, 0) AS calls,
       coalesce(r.emails, 0) AS emails,
       coalesce(r.demos, 0) AS demos,
       CASE WHEN r.with_outcome > 0 THEN CAST(r.next_step AS DOUBLE) / r.with_outcome END
           AS meeting_quality,
       t.touch_hours AS speed_to_first_touch_h,
       c.cycle_days AS sales_cycle_days
FROM subjects s
LEFT JOIN rolled r USING (kind, subject_id)
LEFT JOIN cycles c USING (kind, subject_id)
LEFT JOIN touches t USING (kind, subject_id)
"""

# The DuckDB query selects the workload's columns in the contract's order.
RESULT_COLUMNS = REFERENCE_WORKLOAD


def duckdb_reference(
    connection: duckdb.DuckDBPyConnection, start: date, end: date
) -> dict[Key, dict[str, Any]]:
    """Run the whole workload once; return every KPI by (kind, external id)."""
    rows = connection.execute(REFERENCE_SQL, {"start": start, "end": end}).fetchall()
    return {(row[0], row[1]): dict(zip(RESULT_COLUMNS, row[2:], strict=True)) for row in rows}


# ----------------------------------------------------------------------------- checking


def differences(
    expected: dict[Key, dict[str, Any]], keys: list[Key], values: dict[str, np.ndarray]
) -> list[str]:
    """Return, in words, every (subject, KPI) where the engine differs from DuckDB."""
    found: list[str] = []
    missing = set(expected) - set(keys)
    extra = set(keys) - set(expected)
    if missing or extra:
        found.append(
            f"subjects differ: DuckDB only {sorted(missing)[:5]}, ours only {sorted(extra)[:5]}"
        )
    for position, key in enumerate(keys):
        if key not in expected:
            continue
        for code in KPI_CODES:
            theirs = expected[key][code]
            ours = float(values[code][position])
            if code in CENTS:
                # Exact to the cent: whole cents / 100 is the double nearest the decimal.
                same = not math.isnan(ours) and Decimal(f"{ours:.2f}") == Decimal(theirs)
                same = same and ours == float(theirs)
            elif code in COUNTS:
                same = ours == int(theirs)
            elif theirs is None:
                same = math.isnan(ours)
            else:
                same = math.isclose(ours, float(theirs), rel_tol=1e-9)
            if not same:
                found.append(
                    f"{key[0]} {key[1] or '(company)'} {code}: DuckDB {theirs}, ours {ours!r}"
                )
    return found


def subject_keys(engine: Engine, organisation: Any) -> list[Key]:
    """Return the (kind, external id) of every subject, in the engine's order."""
    with engine.connect() as connection:
        sellers = dict(connection.execute(select(Seller.id, Seller.external_id)).all())
        units = dict(connection.execute(select(Unit.id, Unit.external_id)).all())
    return (
        [("seller", sellers[int(i)]) for i in organisation.seller_ids]
        + [("unit", units[int(i)]) for i in organisation.unit_ids]
        + [("company", "")]
    )


# ----------------------------------------------------------------------------- measuring


@dataclass
class Figures:
    """The seconds of every round, per (measure, backend)."""

    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: str, backend: str, seconds: float) -> None:
        self.seconds.setdefault((measure, backend), []).append(seconds)

    def median(self, measure: str, backend: str) -> float:
        return median(self.seconds.get((measure, backend), []))


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def write_next_day(reference: duckdb.DuckDBPyConnection, folder: Path) -> date:
    """Write into ``folder`` an activities.csv holding a copy of the last day's activities,
    one day later and with new ids (same sellers, deals, accounts); return the new day."""
    last = reference.execute("SELECT max(occurred_on) FROM activities").fetchone()
    if last is None or last[0] is None:
        raise SystemExit("the data holds no activities")
    last_day: date = last[0]
    folder.mkdir(parents=True, exist_ok=True)
    reference.execute(
        f"""
        COPY (
            SELECT 'X' || activity_id AS activity_id, seller_id, type,
                   strftime(timezone('UTC', occurred_at + INTERVAL 1 DAY),
                            '%Y-%m-%dT%H:%M:%SZ') AS occurred_at,
                   account_id, deal_id, duration_min, outcome
            FROM activities
            WHERE occurred_on = DATE '{last_day.isoformat()}'
            ORDER BY activity_id
        ) TO '{folder / "activities.csv"}' (HEADER, DELIMITER ',')
        """
    )
    return last_day + timedelta(days=1)


def periods_of(day: date) -> list[Period]:
    start_month = get_settings().fiscal_year_start_month
    return [
        period_containing(day, kind, fiscal_start_month=start_month)
        for kind in (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
    ]


def refresh_day(session: Any, day: date) -> Any:
    """Refresh the KPIs for every deal and activity of one day (``changes_on_days``),
    once they are stored and refreshed: what is left when nothing changed."""
    return refresh_events(session, changes=changes_on_days(session, [day]), trigger="bench")


def import_held_back(session: Any, folder: Path) -> Any:
    """Import ``folder`` in ``session`` without the KPI refresh; return its changes."""
    from touchline.auth.policy import SYSTEM
    from touchline.crm import service

    caught: list[Any] = []
    hooks = list(service.AFTER_IMPORT)
    service.AFTER_IMPORT[:] = [lambda _session, _report, changes, _progress: caught.append(changes)]
    try:
        report = service.run_import(session, actor=SYSTEM, path=folder)
    finally:
        service.AFTER_IMPORT[:] = hooks
    if not report.ok or not caught:
        raise SystemExit(f"the import of {folder} failed: {report.problems[:3]}")
    return caught[0]


def computed_periods(engine: Engine) -> dict[str, tuple[Any, float, str]]:
    from touchline.kpis.models import ComputedPeriod

    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ComputedPeriod.period,
                ComputedPeriod.computed_at,
                ComputedPeriod.duration_s,
                ComputedPeriod.trigger,
            )
        ).all()
    return {row[0]: (row[1], float(row[2] or 0.0), row[3]) for row in rows}


def measure_heatmap(engine: Engine, url: str, quarter: Period) -> tuple[list[float], str] | str:
    """Return the seconds of each heatmap request and the unit shown, or why not measured."""
    from fastapi.testclient import TestClient

    from touchline.app import create_app
    from touchline.auth.models import Role, User
    from touchline.auth.passwords import hash_password
    from touchline.auth.policy import SYSTEM
    from touchline.config import Settings
    from touchline.demo.scorecards import LINES
    from touchline.kpis.assignments import LineSpec, assign_template, save_template
    from touchline.kpis.models import Kpi, KpiValue, SubjectKind

    factory = make_sessionmaker(engine)
    with factory() as session:
        # As `touchline compute` does it: the period, then fresh planner statistics.
        compute_periods(session, [quarter], trigger="bench")
        specs = []
        for code, weight in LINES:
            kpi = session.scalar(select(Kpi).where(Kpi.code == code))
            if kpi is None:
                return f"no KPI {code} in the catalogue"
            values = session.scalars(
                select(KpiValue.value).where(
                    KpiValue.kpi_id == kpi.id,
                    KpiValue.period == quarter.label,
                    KpiValue.subject_kind == SubjectKind.SELLER,
                )
            ).all()
            present = [float(v) for v in values if v is not None]
            target = statistics.fmean(present) * 1.1 if present else None
            specs.append(LineSpec(code, weight, target))
        template = save_template(session, actor=SYSTEM, name="Bench", lines=specs)
        root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
        assign_template(session, actor=SYSTEM, template=template, unit=root)
        session.add(
            User(
                email="bench-admin@example.com",
                name="Bench",
                role=Role.ADMIN,
                password_hash=hash_password(PASSWORD),
            )
        )
        # The team with the most active sellers (the first by id among equals).
        teams = session.execute(
            select(Unit.external_id, Seller.id)
            .join(Seller, Seller.unit_id == Unit.id)
            .where(Unit.kind == "team", Seller.active)
            .order_by(Unit.external_id)
        ).all()
        session.commit()
    if not teams:
        return "no team with active sellers"
    sizes: dict[str, int] = {}
    for external_id, _seller in teams:
        sizes[external_id] = sizes.get(external_id, 0) + 1
    team = min(sizes, key=lambda name: (-sizes[name], name))

    settings = Settings(database_url=url, secret_key="bench-secret-" + "x" * 32, timezone="UTC")
    app = create_app(settings, engine=engine)
    path = f"/units/{team}/heatmap?period={quarter.label}"
    with TestClient(app, follow_redirects=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token, "the login page has no CSRF token"
        signed = client.post(
            "/login",
            data={
                "email": "bench-admin@example.com",
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/",
            },
        )
        assert signed.status_code == 303, signed.text[:500]
        first = client.get(path)  # warm-up, not counted
        if first.status_code != 200:
            return f"GET {path} answered {first.status_code}"
        seconds = []
        for _ in range(HEATMAP_REQUESTS):
            started = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200
    return seconds, f"GET {path} ({sizes[team]} active sellers in the team)"


def wide() -> Console:
    """The console, or when piped (80 columns then) one wide enough for the table."""
    return console if console.is_terminal else Console(width=150)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# ----------------------------------------------------------------------------- main


FULL = "(a) engine, full quarter"
MATERIALISED = "(b) compute_period, full quarter"
REFRESH = "(c) refresh of 1 new day"
REFRESH_AGAIN = "(c'') refresh of that day again"
DAY_IMPORT = "(c') import of that day (child)"
HEATMAP_P50 = "heatmap page p50"
HEATMAP_P95 = "heatmap page p95"
TARGET_RATIO = {"postgresql": 5.0, "sqlite": 8.0}
INCREMENTAL_SHARE = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quarter", default="2026-Q2")
    options = parser.parse_args()
    # Before anything reads the settings (here and in the import children): the generated
    # data, DuckDB and the engine all use UTC.
    os.environ["TOUCHLINE_TIMEZONE"] = "UTC"
    get_settings.cache_clear()
    repeat = max(1, options.repeat)
    quarter = parse_period(
        options.quarter, fiscal_start_month=get_settings().fiscal_year_start_month
    )
    if quarter.kind is not PeriodKind.QUARTER:
        parser.error(f"{options.quarter} is not a quarter")

    folder = generated(options.profile, options.seed)
    backends = [b for b in options.databases.split(",") if b]
    if "postgresql" in backends and not postgres_available():
        console.print("[yellow]no PostgreSQL answers: measuring SQLite only[/]")
        backends.remove("postgresql")

    # The reference.
    load_seconds, reference = timed(lambda: load_duckdb(folder))
    threads = reference.execute("SELECT current_setting('threads')").fetchone()
    console.print(
        f"DuckDB ({threads[0] if threads else '?'} threads) loaded the CSV files in "
        f"{load_seconds:.2f} s (not counted)"
    )
    figures = Figures()
    # One untimed run first, here and for each of ours: it gives the values to compare.
    expected = duckdb_reference(reference, quarter.start, quarter.end)
    for _ in range(repeat):
        seconds, _result = timed(lambda: duckdb_reference(reference, quarter.start, quarter.end))
        figures.add("reference", "duckdb", seconds)

    scratch = Path(tempfile.mkdtemp(prefix="touchline-kpi-bench-"))
    day_folder = scratch / "next-day"
    new_day = write_next_day(reference, day_folder)
    new_rows = reference.execute(
        f"SELECT count(*) FROM read_csv('{day_folder / 'activities.csv'}')"
    ).fetchone()
    reference.close()

    mismatched = False
    imports: dict[str, float] = {}
    heatmap_units: dict[str, str] = {}
    for backend in backends:
        with fresh_database(backend) as url:
            console.print(f"{backend}: importing {folder.name}")
            _report, seconds, _peak = run_import(folder, url)
            imports[backend] = seconds
            engine = make_engine(url)
            factory = make_sessionmaker(engine)
            try:
                # (a) the engine alone; the untimed first run is checked against DuckDB.
                def full_quarter(engine: Engine = engine) -> Any:
                    with engine.connect() as connection:
                        return compute(
                            connection,
                            quarter.start,
                            quarter.end,
                            zone=UTC,
                            organisation=load_organisation(connection),
                        )

                organisation, values = full_quarter()
                for _ in range(repeat):
                    seconds, _result = timed(full_quarter)
                    figures.add(FULL, backend, seconds)
                wrong = differences(expected, subject_keys(engine, organisation), values)
                if wrong:
                    mismatched = True
                    console.print(f"[red]{backend}: {len(wrong)} values differ from DuckDB[/]")
                    for line in wrong[:10]:
                        console.print(f"  {line}")
                else:
                    console.print(
                        f"{backend}: results identical ({len(expected)} subjects x "
                        f"{len(KPI_CODES)} KPIs against DuckDB)"
                    )

                # (b) materialised, rolled back; a first, untimed run warms up as in (a).
                for round_number in range(repeat + 1):
                    with factory() as session:
                        seconds, _result = timed(
                            lambda session=session: compute_period(
                                session, quarter, trigger="bench"
                            )
                        )
                        session.rollback()
                    if round_number:
                        figures.add(MATERIALISED, backend, seconds)

                # (c) one more day of activities, then its refresh: the day is imported
                # in-process with the refresh hook held back, the refresh is timed with
                # the changes the import reported, then everything is rolled back.
                with factory() as session:
                    for period in periods_of(new_day):
                        compute_period(session, period, trigger="bench")
                    session.commit()
                for _ in range(repeat):
                    with factory() as session:
                        changes = import_held_back(session, day_folder)
                        seconds, results = timed(
                            lambda session=session, changes=changes: refresh_events(
                                session, changes=changes, trigger="bench"
                            )
                        )
                        session.rollback()
                    figures.add(REFRESH, backend, seconds)
                figures.notes.append(
                    f"{backend}: the refresh of {new_day} "
                    f"{'from components' if not any(r.whole for r in results) else 'WHOLE'}: "
                    + ", ".join(f"{r.period} {r.written} values rewritten" for r in results)
                )
                before = computed_periods(engine)
                _report, seconds, _peak = run_import(day_folder, url)
                figures.add(DAY_IMPORT, backend, seconds)
                after = computed_periods(engine)
                by_hook = sorted(
                    label
                    for label, (at, _duration, trigger) in after.items()
                    if trigger == "import" and before.get(label, (None,))[0] != at
                )
                hook_seconds = sum(after[label][1] for label in by_hook)
                figures.notes.append(
                    f"{backend}: the import of {new_day} ({new_rows[0] if new_rows else '?'} "
                    f"activities) took {seconds:.2f} s; its hook refreshed {len(by_hook)} "
                    f"periods ({', '.join(by_hook[:3])}{' …' if len(by_hook) > 3 else ''}) "
                    f"in {hook_seconds:.2f} s (periods only, without the components)"
                )
                for _ in range(repeat):
                    with factory() as session:
                        seconds, _result = timed(
                            lambda session=session: refresh_day(session, new_day)
                        )
                        session.rollback()
                    figures.add(REFRESH_AGAIN, backend, seconds)

                # The heatmap page, once the quarter is materialised.
                measured = measure_heatmap(engine, url, quarter)
                if isinstance(measured, str):
                    figures.notes.append(f"{backend}: heatmap not measured: {measured}")
                else:
                    requests, heatmap_units[backend] = measured
                    figures.notes.append(
                        f"{backend}: heatmap p50/p95 of {heatmap_units[backend]}, "
                        f"{len(requests)} requests after one warm-up"
                    )
                    figures.add(HEATMAP_P50, backend, percentile(requests, 50))
                    figures.add(HEATMAP_P95, backend, percentile(requests, 95))
            finally:
                engine.dispose()

    shutil.rmtree(scratch, ignore_errors=True)
    print_table(options, quarter, backends, figures, heatmap_units)
    out = wide()
    for note in figures.notes:
        out.print(note)
    for backend, seconds in imports.items():
        out.print(f"{backend}: the whole import of {folder.name} took {seconds:.1f} s")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.print(f"peak RSS: this process {own:.0f} MiB, largest import child {children:.0f} MiB")
    if mismatched:
        raise SystemExit("the engine's values differ from DuckDB's")


def print_table(
    options: argparse.Namespace,
    quarter: Period,
    backends: list[str],
    figures: Figures,
    heatmap_units: dict[str, str],
) -> None:
    reference = figures.median("reference", "duckdb")
    table = Table(
        "measure",
        "backend",
        "median s",
        "DuckDB median s",
        "ratio",
        "target",
        "met",
        title=(
            f"KPIs of {quarter.label}, profile {options.profile} "
            f"(medians of {max(1, options.repeat)}; heatmap over {HEATMAP_REQUESTS} requests)"
        ),
    )
    table.add_row("reference workload", "duckdb", f"{reference:.4f}", f"{reference:.4f}", "1.0x")
    for backend in backends:
        limit = TARGET_RATIO.get(backend, 5.0)
        for measure in (FULL, MATERIALISED):
            mine = figures.median(measure, backend)
            ratio = mine / reference
            table.add_row(
                measure,
                backend,
                f"{mine:.4f}",
                f"{reference:.4f}",
                f"{ratio:.1f}x",
                f"≤{limit:g}x",
                "yes" if ratio <= limit else "[red]no[/]",
            )
        full = figures.median(MATERIALISED, backend)
        mine = figures.median(REFRESH, backend)
        share = mine / full
        table.add_row(
            REFRESH,
            backend,
            f"{mine:.4f}",
            "-",
            f"{share:.0%} of (b)",
            f"<{INCREMENTAL_SHARE:.0%} of (b)",
            "yes" if share < INCREMENTAL_SHARE else "[red]no[/]",
        )
        again = figures.median(REFRESH_AGAIN, backend)
        table.add_row(
            REFRESH_AGAIN, backend, f"{again:.4f}", "-", f"{again / full:.0%} of (b)", "-", "-"
        )
        day_import = figures.median(DAY_IMPORT, backend)
        table.add_row(
            DAY_IMPORT,
            backend,
            f"{day_import:.2f}",
            "-",
            f"{day_import / full:.0%} of (b)",
            "-",
            "-",
        )
        if backend in heatmap_units:
            for measure in (HEATMAP_P50, HEATMAP_P95):
                table.add_row(
                    measure,
                    backend,
                    f"{figures.median(measure, backend):.4f}",
                    "-",
                    "-",
                    "-",
                    "-",
                )
    wide().print(table)


if __name__ == "__main__":
    main()
