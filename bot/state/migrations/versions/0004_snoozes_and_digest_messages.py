"""conversation snoozes and edit-in-place digest messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_snoozes",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snoozed_by", sa.String(length=255), nullable=False),
        sa.Column("snoozed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_snoozes")),
    )
    with op.batch_alter_table("conversation_snoozes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_snoozes_until"), ["until"], unique=False)
    op.create_table(
        "digest_messages",
        sa.Column("digest", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", "channel", name=op.f("pk_digest_messages")),
    )


def downgrade() -> None:
    op.drop_table("digest_messages")
    with op.batch_alter_table("conversation_snoozes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_snoozes_until"))
    op.drop_table("conversation_snoozes")
