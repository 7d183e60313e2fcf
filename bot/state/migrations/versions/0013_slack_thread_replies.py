"""slack thread replies: what each person's message in a `thread_replies` thread became, and
threads found by their root message and knowing the mode they announced (issue 18 item 4)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_thread_replies",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "channel_id", "message_ts", "kind", name=op.f("pk_slack_thread_replies")
        ),
    )
    with op.batch_alter_table("slack_thread_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_thread_replies_channel_id_conversation_id_created_at"),
            ["channel_id", "conversation_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_slack_thread_replies_created_at"), ["created_at"], unique=False
        )
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_replies", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_slack_threads_channel_id_root_ts"),
            ["channel_id", "root_ts"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_threads_channel_id_root_ts"))
        batch_op.drop_column("thread_replies")
    op.drop_table("slack_thread_replies")
