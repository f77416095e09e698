"""coaching: cadences, conversations, agenda items, notes, action items, impediments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The tables of the coaching workspace (touchline/coaching/models.py). Nothing existing
changes; downgrading drops them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import touchline.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coaching_cadences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(unit_id IS NULL) <> (seller_id IS NULL)",
            name=op.f("ck_coaching_cadences_unit_or_seller"),
        ),
        sa.CheckConstraint(
            "every_days BETWEEN 1 AND 365", name=op.f("ck_coaching_cadences_every_days")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_coaching_cadences_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["users.id"],
            name=op.f("fk_coaching_cadences_set_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_coaching_cadences_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_cadences")),
        sa.UniqueConstraint(
            "unit_id", "seller_id", name=op.f("uq_coaching_cadences_unit_id_seller_id")
        ),
    )
    op.create_table(
        "coaching_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("manager_user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("scheduled_at", touchline.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("seller_reflection", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field_versions", sa.JSON(), nullable=False),
        sa.Column("private_note", sa.Text(), nullable=False),
        sa.Column("private_version", sa.Integer(), nullable=False),
        sa.Column("manager_signed_version", sa.Integer(), nullable=True),
        sa.Column("manager_signed_at", touchline.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("seller_signed_version", sa.Integer(), nullable=True),
        sa.Column("seller_signed_at", touchline.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("locked_at", touchline.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'held', 'locked')", name=op.f("ck_coaching_conversations_status")
        ),
        sa.ForeignKeyConstraint(
            ["manager_user_id"],
            ["users.id"],
            name=op.f("fk_coaching_conversations_manager_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_coaching_conversations_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_conversations")),
    )
    with op.batch_alter_table("coaching_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_conversations_manager_user_id"),
            ["manager_user_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_coaching_conversations_seller", ["seller_id", "held_on"], unique=False
        )

    op.create_table(
        "coaching_action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=10), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=True),
        sa.Column("competence", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("drop_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "owner IN ('manager', 'seller')", name=op.f("ck_coaching_action_items_owner")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'dropped')", name=op.f("ck_coaching_action_items_status")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["coaching_conversations.id"],
            name=op.f("fk_coaching_action_items_conversation_id_coaching_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_coaching_action_items_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpis.id"],
            name=op.f("fk_coaching_action_items_kpi_id_kpis"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_coaching_action_items_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_action_items")),
    )
    with op.batch_alter_table("coaching_action_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_action_items_conversation_id"),
            ["conversation_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_coaching_action_items_seller", ["seller_id", "status", "due_on"], unique=False
        )

    op.create_table(
        "coaching_addenda",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_coaching_addenda_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["coaching_conversations.id"],
            name=op.f("fk_coaching_addenda_conversation_id_coaching_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_addenda")),
    )
    with op.batch_alter_table("coaching_addenda", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_addenda_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "coaching_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_by_side", sa.String(length=10), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_coaching_topics_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["coaching_conversations.id"],
            name=op.f("fk_coaching_topics_conversation_id_coaching_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_coaching_topics_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_topics")),
    )
    with op.batch_alter_table("coaching_topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_topics_seller_id"), ["seller_id"], unique=False
        )

    op.create_table(
        "coaching_agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=True),
        sa.Column("action_item_id", sa.Integer(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_by_side", sa.String(length=10), nullable=True),
        sa.Column("dropped", sa.Boolean(), nullable=False),
        sa.Column("created_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["coaching_action_items.id"],
            name=op.f("fk_coaching_agenda_items_action_item_id_coaching_action_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_coaching_agenda_items_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["coaching_conversations.id"],
            name=op.f("fk_coaching_agenda_items_conversation_id_coaching_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["kpis.id"],
            name=op.f("fk_coaching_agenda_items_kpi_id_kpis"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_agenda_items")),
    )
    with op.batch_alter_table("coaching_agenda_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coaching_agenda_items_conversation", ["conversation_id", "position"], unique=False
        )

    op.create_table(
        "coaching_impediments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("within_control", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "category IN ('work_environment', 'job_design', 'policy_practice', 'personal', 'external')",
            name=op.f("ck_coaching_impediments_category"),
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["coaching_agenda_items.id"],
            name=op.f("fk_coaching_impediments_agenda_item_id_coaching_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_coaching_impediments_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_coaching_impediments_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_impediments")),
    )
    with op.batch_alter_table("coaching_impediments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_impediments_agenda_item_id"), ["agenda_item_id"], unique=False
        )
        batch_op.create_index(
            "ix_coaching_impediments_recorded", ["recorded_on", "category"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coaching_impediments_seller_id"), ["seller_id"], unique=False
        )

    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", touchline.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["coaching_agenda_items.id"],
            name=op.f("fk_coaching_notes_agenda_item_id_coaching_agenda_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_coaching_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
        sa.UniqueConstraint(
            "agenda_item_id", "side", name=op.f("uq_coaching_notes_agenda_item_id_side")
        ),
    )


def downgrade() -> None:
    op.drop_table("coaching_notes")
    with op.batch_alter_table("coaching_impediments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_impediments_seller_id"))
        batch_op.drop_index("ix_coaching_impediments_recorded")
        batch_op.drop_index(batch_op.f("ix_coaching_impediments_agenda_item_id"))

    op.drop_table("coaching_impediments")
    with op.batch_alter_table("coaching_agenda_items", schema=None) as batch_op:
        batch_op.drop_index("ix_coaching_agenda_items_conversation")

    op.drop_table("coaching_agenda_items")
    with op.batch_alter_table("coaching_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_topics_seller_id"))

    op.drop_table("coaching_topics")
    with op.batch_alter_table("coaching_addenda", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_addenda_conversation_id"))

    op.drop_table("coaching_addenda")
    with op.batch_alter_table("coaching_action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_coaching_action_items_seller")
        batch_op.drop_index(batch_op.f("ix_coaching_action_items_conversation_id"))

    op.drop_table("coaching_action_items")
    with op.batch_alter_table("coaching_conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_coaching_conversations_seller")
        batch_op.drop_index(batch_op.f("ix_coaching_conversations_manager_user_id"))

    op.drop_table("coaching_conversations")
    op.drop_table("coaching_cadences")
