"""escalations and their pages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("active_conversation_id", sa.String(length=255), nullable=True),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint(
            "active_conversation_id", name=op.f("uq_escalations_active_conversation_id")
        ),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalations_status_next_at"), ["status", "next_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalations_conversation_id_started_at"),
            ["conversation_id", "started_at"],
            unique=False,
        )
    op.create_table(
        "escalation_pages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("escalation_id", sa.String(length=36), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_escalation_pages_escalation_id_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_pages")),
    )
    with op.batch_alter_table("escalation_pages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_pages_escalation_id"), ["escalation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_pages_status_claimed_at"),
            ["status", "claimed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_pages_status_claimed_at"))
        batch_op.drop_index(batch_op.f("ix_escalation_pages_escalation_id"))
    op.drop_table("escalation_pages")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_conversation_id_started_at"))
        batch_op.drop_index(batch_op.f("ix_escalations_status_next_at"))
    op.drop_table("escalations")
