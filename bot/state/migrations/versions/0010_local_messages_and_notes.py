"""local messages and notes: the embedded store's conversation transcripts (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "local_messages",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("from_address", sa.String(length=255), nullable=False),
        sa.Column("to_address", sa.String(length=255), nullable=False),
        sa.Column("author_id", sa.String(length=255), nullable=True),
        sa.Column("author_type", sa.String(length=16), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["local_conversations.id"],
            name=op.f("fk_local_messages_conversation_id_local_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_local_messages")),
        sa.UniqueConstraint("id", name=op.f("uq_local_messages_id")),
    )
    with op.batch_alter_table("local_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_local_messages_conversation_id_created_at_seq"),
            ["conversation_id", "created_at", "seq"],
            unique=False,
        )

    op.create_table(
        "local_notes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["local_conversations.id"],
            name=op.f("fk_local_notes_conversation_id_local_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_local_notes")),
        sa.UniqueConstraint("id", name=op.f("uq_local_notes_id")),
    )
    with op.batch_alter_table("local_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_local_notes_conversation_id_created_at_seq"),
            ["conversation_id", "created_at", "seq"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("local_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_notes_conversation_id_created_at_seq"))
    op.drop_table("local_notes")
    with op.batch_alter_table("local_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_messages_conversation_id_created_at_seq"))
    op.drop_table("local_messages")
