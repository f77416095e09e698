"""`python -m touchline.migrations.check`: fail when the models and migrations disagree.

Builds a throw-away SQLite database from the migrations, then runs ``alembic check``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.util.exc import CommandError

from touchline.db import make_engine
from touchline.migrations import alembic_config, upgrade


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'check.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        try:
            command.check(alembic_config(url))
        except CommandError as error:
            print(f"models and migrations disagree: {error}", file=sys.stderr)
            return 1
    print("migrations match the models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
