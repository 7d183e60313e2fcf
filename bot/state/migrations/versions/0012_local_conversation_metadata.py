"""local conversation metadata: the embedded store's key/value map per conversation (issue 18)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "local_conversation_metadata",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["local_conversations.id"],
            name=op.f("fk_local_conversation_metadata_conversation_id_local_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_local_conversation_metadata")),
    )


def downgrade() -> None:
    op.drop_table("local_conversation_metadata")
