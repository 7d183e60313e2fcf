"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 09:46:49.698476
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("surface", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_conversation_id_at"), ["conversation_id", "at"], unique=False
        )

    op.create_table(
        "local_agents",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_agents")),
    )
    op.create_table(
        "local_conversations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.SmallInteger(), nullable=False),
        sa.Column("queue_id", sa.String(length=255), nullable=True),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_conversations")),
    )
    with op.batch_alter_table("local_conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_local_conversations_agent_id_priority_rank_status"),
            ["agent_id", "priority_rank", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_agent_id_status_created_at"),
            ["agent_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_priority_rank_created_at"),
            ["priority_rank", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_queue_id_status_created_at"),
            ["queue_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_status_priority_rank_created_at"),
            ["status", "priority_rank", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_local_conversations_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "local_queues",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("auto_assignment", sa.Boolean(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=True),
        sa.Column("last_assigned_agent_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_local_queues_name")),
    )
    op.create_table(
        "local_tags",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_local_tags")),
    )
    op.create_table(
        "local_conversation_tags",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("tag_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["local_conversations.id"],
            name=op.f("fk_local_conversation_tags_conversation_id_local_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_name"],
            ["local_tags.name"],
            name=op.f("fk_local_conversation_tags_tag_name_local_tags"),
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "tag_name", name=op.f("pk_local_conversation_tags")
        ),
    )
    with op.batch_alter_table("local_conversation_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_local_conversation_tags_tag_name_conversation_id"),
            ["tag_name", "conversation_id"],
            unique=False,
        )

    op.create_table(
        "local_queue_agents",
        sa.Column("queue_id", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["local_agents.id"],
            name=op.f("fk_local_queue_agents_agent_id_local_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["local_queues.id"],
            name=op.f("fk_local_queue_agents_queue_id_local_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "agent_id", name=op.f("pk_local_queue_agents")),
    )
    op.create_table(
        "local_routing_rules",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("queue_id", sa.String(length=255), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["local_queues.id"],
            name=op.f("fk_local_routing_rules_queue_id_local_queues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_routing_rules")),
    )


def downgrade() -> None:
    op.drop_table("local_routing_rules")
    op.drop_table("local_queue_agents")
    with op.batch_alter_table("local_conversation_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_conversation_tags_tag_name_conversation_id"))

    op.drop_table("local_conversation_tags")
    op.drop_table("local_tags")
    op.drop_table("local_queues")
    with op.batch_alter_table("local_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_conversations_updated_at"))
        batch_op.drop_index(batch_op.f("ix_local_conversations_status_priority_rank_created_at"))
        batch_op.drop_index(batch_op.f("ix_local_conversations_queue_id_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_local_conversations_priority_rank_created_at"))
        batch_op.drop_index(batch_op.f("ix_local_conversations_created_at"))
        batch_op.drop_index(batch_op.f("ix_local_conversations_agent_id_status_created_at"))

    op.drop_table("local_conversations")
    op.drop_table("local_agents")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_conversation_id_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
