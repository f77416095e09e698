"""Alembic environment: runs on a connection handed in, or on the URL of the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from touchline.db import make_engine
from touchline.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own_connection:
        _run(own_connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Touchline runs migrations online only: use `touchline db upgrade`")
run_migrations_online()
