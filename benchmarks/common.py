"""What the benchmarks share: the generated data, fresh databases, tables of figures."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, text

from touchline.db import make_engine
from touchline.migrations import upgrade

DATA_DIR = Path(__file__).parent / "data"
POSTGRES_ADMIN_URL = os.environ.get(
    "TOUCHLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Wide enough for the tables whole when the output goes to a file.
console = Console(width=None if sys.stdout.isatty() else 120)


def generated(profile: str, seed: int = 7) -> Path:
    """Return the interchange folder of ``profile``, generating it on first use."""
    from touchline.demo.generator import write_interchange

    folder = DATA_DIR / f"{profile}-seed{seed}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with console.status(f"generating the {profile} company"):
        write_interchange(folder, size=profile, seed=seed)
    done.write_text(f"{time.perf_counter() - started:.1f}\n")
    console.print(f"generated {profile} in {time.perf_counter() - started:.1f} s")
    return folder


def generation_seconds(folder: Path) -> float | None:
    """Return how long generating ``folder`` took, as measured on its first use."""
    done = folder / ".complete"
    try:
        return float(done.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def postgres_available() -> bool:
    """True when a PostgreSQL server answers at the admin URL."""
    engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """Yield the URL of a new, migrated database of ``backend``; drop it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="touchline-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            yield url
        return
    name = f"touchline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
