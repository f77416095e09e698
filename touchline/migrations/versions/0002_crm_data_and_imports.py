"""crm data and imports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import touchline.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("segment", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_accounts_territory_id_territories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("external_id", name=op.f("uq_accounts_external_id")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accounts_territory_id"), ["territory_id"], unique=False
        )

    op.create_table(
        "customer_survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("customer_status", sa.String(length=20), nullable=False),
        sa.Column("answered_date", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("seller_predicted_score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_customer_survey_responses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_customer_survey_responses_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_survey_responses")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customer_survey_responses_external_id")),
    )
    with op.batch_alter_table("customer_survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_survey_seller_date", ["seller_id", "answered_date"], unique=False
        )

    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("created_date", sa.Date(), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "status = 'open' OR close_date IS NOT NULL", name=op.f("ck_deals_closed_has_date")
        ),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f("ck_deals_status")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_deals_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_deals_seller_id_sellers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("external_id", name=op.f("uq_deals_external_id")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_account_close", ["account_id", "close_date"], unique=False)
        batch_op.create_index("ix_deals_seller_close", ["seller_id", "close_date"], unique=False)
        batch_op.create_index(
            "ix_deals_seller_created", ["seller_id", "created_date"], unique=False
        )

    op.create_table(
        "pulse_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("motivation", sa.Integer(), nullable=False),
        sa.Column("energy", sa.Integer(), nullable=False),
        sa.Column("pride", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_pulse_answers_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_answers")),
        sa.UniqueConstraint("seller_id", "week", name=op.f("uq_pulse_answers_seller_id_week")),
    )
    op.create_table(
        "rating_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("kpi", sa.String(length=100), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("rater_role", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rater_id", sa.String(length=100), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_rating_records_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_records")),
        sa.UniqueConstraint("external_id", name=op.f("uq_rating_records_external_id")),
    )
    with op.batch_alter_table("rating_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rating_records_seller_period", ["seller_id", "period"], unique=False
        )

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_activities_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_activities_deal_id_deals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_activities_seller_id_sellers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("external_id", name=op.f("uq_activities_external_id")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_account", ["account_id"], unique=False)
        batch_op.create_index("ix_activities_deal_at", ["deal_id", "occurred_at"], unique=False)
        batch_op.create_index(
            "ix_activities_seller_type_on", ["seller_id", "type", "occurred_on"], unique=False
        )

    op.create_table(
        "deal_stage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_stage_changes_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_changes")),
        sa.UniqueConstraint(
            "deal_id",
            "entered_on",
            "stage",
            name=op.f("uq_deal_stage_changes_deal_id_entered_on_stage"),
        ),
    )
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_stage_changes_deal_id"), ["deal_id"], unique=False
        )

    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", touchline.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("pruned", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_runs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_runs_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_runs_started_at"))

    op.drop_table("import_runs")
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_stage_changes_deal_id"))

    op.drop_table("deal_stage_changes")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_seller_type_on")
        batch_op.drop_index("ix_activities_deal_at")
        batch_op.drop_index("ix_activities_account")

    op.drop_table("activities")
    with op.batch_alter_table("rating_records", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_records_seller_period")

    op.drop_table("rating_records")
    op.drop_table("pulse_answers")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_seller_created")
        batch_op.drop_index("ix_deals_seller_close")
        batch_op.drop_index("ix_deals_account_close")

    op.drop_table("deals")
    with op.batch_alter_table("customer_survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_survey_seller_date")

    op.drop_table("customer_survey_responses")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_territory_id"))

    op.drop_table("accounts")
