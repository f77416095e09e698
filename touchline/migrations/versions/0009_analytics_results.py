"""analytics: the stored results of each analysis per period

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

One table, ``analytics_results`` (touchline/analytics/models.py). Nothing existing
changes; downgrading drops it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import touchline.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_results",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("analysis", sa.String(length=40), nullable=False),
        sa.Column("computed_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("period", "analysis", name=op.f("pk_analytics_results")),
    )


def downgrade() -> None:
    op.drop_table("analytics_results")
