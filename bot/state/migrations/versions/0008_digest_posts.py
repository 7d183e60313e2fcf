"""digest posts: every digest message the bot posted, so that a press redraws only those

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_posts",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts", name=op.f("pk_digest_posts")),
    )
    with op.batch_alter_table("digest_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_posts_posted_at"), ["posted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_posts_posted_at"))

    op.drop_table("digest_posts")
