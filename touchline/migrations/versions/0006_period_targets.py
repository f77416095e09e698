"""period-specific seller targets

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A seller's scorecard lines take effect from a date, so a target raised for the next
quarter leaves the past as it was. Existing lines apply from the beginning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scorecard_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("effective_from", sa.Date(), server_default="1900-01-01", nullable=False)
        )
        batch_op.drop_constraint("uq_scorecard_lines_template_id_seller_id_kpi_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_scorecard_lines_template_id_seller_id_kpi_id_effective_from"),
            ["template_id", "seller_id", "kpi_id", "effective_from"],
        )


def downgrade() -> None:
    with op.batch_alter_table("scorecard_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_scorecard_lines_template_id_seller_id_kpi_id_effective_from", type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_scorecard_lines_template_id_seller_id_kpi_id"),
            ["template_id", "seller_id", "kpi_id"],
        )
        batch_op.drop_column("effective_from")
