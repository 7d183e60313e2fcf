"""slack threads: conversations' transcripts in Slack threads, and who mirrors each channel

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_threads",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("root_ts", sa.String(length=32), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=255), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cursor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor_ids", sa.JSON(), nullable=False),
        sa.Column("posting_id", sa.String(length=255), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.SmallInteger(), nullable=False),
        sa.Column("backoff_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", "channel_id", name=op.f("pk_slack_threads")),
    )
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_threads_channel_id_retired_at"),
            ["channel_id", "retired_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_slack_threads_retired_at"), ["retired_at"], unique=False
        )
    op.create_table(
        "thread_channel_leases",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_thread_channel_leases")),
    )


def downgrade() -> None:
    op.drop_table("thread_channel_leases")
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_threads_retired_at"))
        batch_op.drop_index(batch_op.f("ix_slack_threads_channel_id_retired_at"))
    op.drop_table("slack_threads")
