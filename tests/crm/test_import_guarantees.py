"""An import is all or nothing, even when the process is killed halfway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.crm.conftest import VALID, write_folder
from touchline.crm.models import Activity
from touchline.db import make_engine, make_sessionmaker
from touchline.migrations import upgrade

ACTIVITIES = 300_000


def big_folder(folder: Path) -> Path:
    write_folder(
        folder,
        {
            name: VALID[name]
            for name in ("teams.csv", "territories.csv", "sellers.csv", "accounts.csv")
        },
    )
    with (folder / "activities.csv").open("w") as sink:
        sink.write("activity_id,seller_id,type,occurred_at,account_id,duration_min\n")
        for number in range(ACTIVITIES):
            sink.write(f"K{number},S2,call,2026-03-01T10:{number % 60:02d}:00Z,A1,{number % 50}\n")
    return folder


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return big_folder(tmp_path_factory.mktemp("big"))


def activities(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(Activity)) or 0
    finally:
        engine.dispose()


def start_import(url: str, folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TOUCHLINE_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "touchline", "import", str(folder), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killing_an_import_halfway_leaves_the_database_as_it_was(big, tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    upgrade(make_engine(url))
    process = start_import(url, big)
    time.sleep(2.5)  # well into reading and writing 300,000 rows
    assert process.poll() is None, "the import finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert activities(url) == 0
    rerun = start_import(url, big)
    _output, errors = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, errors[-2000:]
    assert activities(url) == ACTIVITIES


def test_memory_stays_modest_while_importing_many_rows(big, tmp_path):
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    upgrade(make_engine(url))
    probe = (
        "import resource, sys; from touchline.cli import main; sys.argv = ['touchline', "
        f"'import', {str(big)!r}, '--json']\n"
        "try:\n    main()\nfinally:\n"
        "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "TOUCHLINE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    peak_kib = int(done.stderr.rsplit("PEAK", 1)[1].split()[0])
    assert peak_kib < 600 * 1024
    assert activities(url) == ACTIVITIES


def test_one_bad_row_among_thousands_writes_nothing(tmp_path):
    folder = big_folder(tmp_path / "bad")
    with (folder / "activities.csv").open("a") as sink:
        sink.write("K-bad,S2,telepathy,2026-03-01T10:00:00Z,A1,5\n")
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    upgrade(make_engine(url))
    done = start_import(url, folder)
    output, _errors = done.communicate(timeout=300)
    assert done.returncode == 1
    assert f'"line": {ACTIVITIES + 2}' in output
    assert activities(url) == 0
