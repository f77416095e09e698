"""Import throughput against DuckDB loading the same files, on SQLite and PostgreSQL.

    python benchmarks/import_bench.py --profile small|medium|large [--repeat N]
    python -m benchmarks.import_bench --profile small|medium|large [--repeat N]

For every file of the generated interchange folder it prints rows per second of
Touchline's import (read, map, validate every row, then upsert) next to DuckDB's
full parse of the same file (``CREATE TABLE t AS SELECT * FROM read_csv(...)``),
measured in the same run, and their ratio against the targets of activities
(PostgreSQL at least 1/8 of DuckDB's rate, SQLite 1/15); the peak memory of the
import process (target: under 1 GiB); and how long generating the data took
(target: under 3 minutes). With ``--repeat`` the medians are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (python benchmarks/import_bench.py): make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
from rich.table import Table

from benchmarks.common import (
    console,
    fresh_database,
    generated,
    generation_seconds,
    median,
    postgres_available,
)

# The least share of DuckDB's rate each database must reach for activities.csv.
TARGETS = {"sqlite": 15, "postgresql": 8}
PEAK_MIB = 1024
GENERATION_S = 180

FILES = (
    "teams.csv",
    "territories.csv",
    "sellers.csv",
    "accounts.csv",
    "deals.csv",
    "activities.csv",
    "ratings.csv",
    "customer_surveys.csv",
    "pulse.csv",
)
TARGET_OF = {
    "teams.csv": "units",
    "territories.csv": "territories",
    "sellers.csv": "sellers",
    "accounts.csv": "accounts",
    "deals.csv": "deals",
    "activities.csv": "activities",
    "ratings.csv": "ratings",
    "customer_surveys.csv": "customer_surveys",
    "pulse.csv": "pulse",
}


def duckdb_rates(folder: Path) -> dict[str, float]:
    """Rows per second of DuckDB parsing each file into a table."""
    rates: dict[str, float] = {}
    connection = duckdb.connect()
    for name in FILES:
        path = folder / name
        if not path.exists():
            continue
        started = time.perf_counter()
        connection.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{path}')")
        elapsed = time.perf_counter() - started
        rows = connection.execute("SELECT count(*) FROM t").fetchall()[0][0]
        rates[name] = rows / elapsed
    connection.close()
    return rates


def run_import(folder: Path, url: str) -> tuple[dict[str, Any], float, float]:
    """Import ``folder`` into ``url`` in a child process; return report, seconds, peak MiB.

    The peak is the child's own (``os.wait4``), not the largest child of this process so
    far, which would count the data generation.
    """
    # The child imports this checkout's touchline, wherever the benchmark is run from.
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "TOUCHLINE_DATABASE_URL": url, "PYTHONPATH": path}
    command = [sys.executable, "-m", "touchline", "import", str(folder), "--json"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        console.print(stdout[-3000:], stderr[-3000:])
        raise SystemExit(f"the import failed on {url}")
    return json.loads(stdout), elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    options = parser.parse_args()

    folder = generated(options.profile, options.seed)
    backends = [b for b in options.databases.split(",") if b]
    if "postgresql" in backends and not postgres_available():
        console.print("[yellow]no PostgreSQL answers: measuring SQLite only[/]")
        backends.remove("postgresql")

    reference: dict[str, list[float]] = defaultdict(list)
    ours: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[str, list[float]] = defaultdict(list)
    peaks: dict[str, list[float]] = defaultdict(list)
    rows: dict[str, int] = {}
    for round_number in range(options.repeat):
        for name, rate in duckdb_rates(folder).items():
            reference[name].append(rate)
        for backend in backends:
            with fresh_database(backend) as url:
                console.print(f"round {round_number + 1}: importing into {backend}")
                report, elapsed, peak = run_import(folder, url)
            totals[backend].append(elapsed)
            peaks[backend].append(peak)
            read, write = report["read_seconds"], report["write_seconds"]
            for counts in report["counts"]:
                name, target = counts["file"], counts["target"]
                seconds = read.get(target, 0.0) + write.get(target, 0.0)
                rows[name] = counts["rows"]
                ours[(backend, name)].append(counts["rows"] / seconds if seconds else 0.0)

    table = Table(
        "database",
        "file",
        "rows",
        "Touchline rows/s",
        "DuckDB rows/s",
        "ratio",
        "target",
        title=f"Import, profile {options.profile} (medians of {options.repeat})",
    )
    for backend in backends:
        for name in FILES:
            if (backend, name) not in ours:
                continue
            mine, theirs = median(ours[(backend, name)]), median(reference[name])
            target = ""
            if name == "activities.csv":
                met = mine * TARGETS[backend] >= theirs
                target = f"1/{TARGETS[backend]}: {'met' if met else 'MISSED'}"
            table.add_row(
                backend,
                name,
                f"{rows[name]:,}",
                f"{mine:,.0f}",
                f"{theirs:,.0f}",
                f"1/{theirs / mine:.1f}" if mine else "-",
                target,
            )
    console.print(table)
    summary = Table(
        "database", "whole import (s)", "peak RSS (MiB)", "target", title="Whole import"
    )
    for backend in backends:
        peak = median(peaks[backend])
        verdict = "met" if peak < PEAK_MIB else "MISSED"
        summary.add_row(
            backend, f"{median(totals[backend]):.1f}", f"{peak:.0f}", f"< {PEAK_MIB}: {verdict}"
        )
    console.print(summary)
    seconds = generation_seconds(folder)
    if seconds is not None:
        verdict = "met" if seconds < GENERATION_S else "MISSED"
        console.print(
            f"Generating the {options.profile} company took {seconds:.1f} s "
            f"(target < {GENERATION_S} s: {verdict})"
        )


if __name__ == "__main__":
    main()
