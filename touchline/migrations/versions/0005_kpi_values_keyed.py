"""kpi values keyed by period, subject and kpi

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

The stored KPI values are derived data: the table is rebuilt with its natural key as
the primary key, no other index and no foreign keys, and every period is marked as not
computed, so the next ``touchline compute --all`` (or import) fills it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _values_table(*, keyed: bool) -> None:
    columns: list[sa.schema.SchemaItem] = []
    if not keyed:
        columns.append(sa.Column("id", sa.Integer(), nullable=False))
    columns += [
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("value", sa.Float(), nullable=True),
    ]
    if not keyed:
        columns += [
            sa.ForeignKeyConstraint(
                ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_values_kpi_id_kpis"), ondelete="CASCADE"
            ),
            sa.ForeignKeyConstraint(
                ["version_id"],
                ["kpi_versions.id"],
                name=op.f("fk_kpi_values_version_id_kpi_versions"),
                ondelete="CASCADE",
            ),
        ]
    if keyed:
        columns.append(
            sa.PrimaryKeyConstraint(
                "period", "subject_kind", "subject_id", "kpi_id", name=op.f("pk_kpi_values")
            )
        )
    else:
        columns += [
            sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_values")),
            sa.UniqueConstraint(
                "period",
                "subject_kind",
                "subject_id",
                "kpi_id",
                name=op.f("uq_kpi_values_period_subject_kind_subject_id_kpi_id"),
            ),
        ]
    op.create_table("kpi_values", *columns)
    if not keyed:
        with op.batch_alter_table("kpi_values", schema=None) as batch_op:
            batch_op.create_index("ix_kpi_values_kpi_period", ["kpi_id", "period"], unique=False)


def upgrade() -> None:
    op.drop_table("kpi_values")
    _values_table(keyed=True)
    op.execute("DELETE FROM computed_periods")


def downgrade() -> None:
    op.drop_table("kpi_values")
    _values_table(keyed=False)
    op.execute("DELETE FROM computed_periods")
