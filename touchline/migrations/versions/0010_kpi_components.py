"""kpi components: per seller and day and month, first wins, first touches, period basis

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

The tables an incremental refresh of KPI values works from (touchline/kpis/models.py,
touchline/kpis/incremental.py), and on computed_periods the basis and the metrics of
each stored period. The new tables start empty: the first import or ``touchline compute
--all`` after the upgrade builds them; until then a refresh recomputes whole periods.
Downgrading drops them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPONENTS = (
    "won",
    "won_cents",
    "lost",
    "new_customers",
    "pipeline_cents",
    "calls",
    "meetings",
    "emails",
    "demos",
    "social",
    "meetings_with_outcome",
    "meetings_next_step",
    "meetings_new_customers",
)


def _components() -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in COMPONENTS]


def upgrade() -> None:
    op.create_table(
        "kpi_day_components",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seller_id", sa.Integer(), autoincrement=False, nullable=False),
        *_components(),
        sa.PrimaryKeyConstraint("day", "seller_id", name=op.f("pk_kpi_day_components")),
    )
    op.create_table(
        "kpi_month_components",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("seller_id", sa.Integer(), autoincrement=False, nullable=False),
        *_components(),
        sa.PrimaryKeyConstraint("month", "seller_id", name=op.f("pk_kpi_month_components")),
    )
    op.create_table(
        "kpi_first_wins",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_kpi_first_wins")),
    )
    op.create_table(
        "kpi_first_touches",
        sa.Column("deal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("created_date", sa.Date(), nullable=False),
        sa.Column("first_touch_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_touch_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_kpi_first_touches")),
    )
    with op.batch_alter_table("kpi_first_touches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kpi_first_touches_created",
            ["created_date", "seller_id", "first_touch_ms"],
            unique=False,
        )
        batch_op.create_index("ix_kpi_first_touches_on", ["first_touch_on"], unique=False)
    with op.batch_alter_table("computed_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("metrics", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("computed_periods", schema=None) as batch_op:
        batch_op.drop_column("metrics")
        batch_op.drop_column("basis")
    with op.batch_alter_table("kpi_first_touches", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_first_touches_on")
        batch_op.drop_index("ix_kpi_first_touches_created")
    op.drop_table("kpi_first_touches")
    op.drop_table("kpi_first_wins")
    op.drop_table("kpi_month_components")
    op.drop_table("kpi_day_components")
