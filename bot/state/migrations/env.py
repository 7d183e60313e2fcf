"""Alembic environment: always run by `bot.state.db.migrate` on a connection it passes in."""

from typing import Any, Literal

from alembic import context

# Importing a table module adds its tables to `metadata`: both, so that it holds the whole schema
# whatever was imported before.
from bot.state import local_tables, tables  # noqa: F401
from bot.state.schema import UTCDateTime, metadata


def _render_item(kind: str, item: Any, _autogen: Any) -> str | Literal[False]:
    # Migrations must not import our types: they outlive them. UTC handling is Python-side only.
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
