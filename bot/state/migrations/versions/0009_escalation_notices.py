"""escalation notices: the channel messages that announced an escalation, redrawn when it ends

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_notices",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("escalation_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_escalation_notices_escalation_id_escalations"),
        ),
        sa.PrimaryKeyConstraint("channel", "ts", name=op.f("pk_escalation_notices")),
    )
    with op.batch_alter_table("escalation_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_notices_escalation_id"), ["escalation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_notices_escalation_id"))

    op.drop_table("escalation_notices")
