"""job ticks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:04:38.360653
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_ticks",
        sa.Column("job_id", sa.String(length=255), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "scheduled_at", name=op.f("pk_job_ticks")),
    )
    with op.batch_alter_table("job_ticks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_job_ticks_job_id_claimed_at"), ["job_id", "claimed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_ticks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_ticks_job_id_claimed_at"))

    op.drop_table("job_ticks")
