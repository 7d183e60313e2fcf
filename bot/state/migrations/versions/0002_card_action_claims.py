"""card action claims

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:18:05.020259
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_action_claims",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "version", name=op.f("pk_card_action_claims")),
    )
    with op.batch_alter_table("card_action_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_action_claims_claimed_at"), ["claimed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("card_action_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_action_claims_claimed_at"))

    op.drop_table("card_action_claims")
