"""INSERT … ON CONFLICT for both state databases (SQLite and PostgreSQL spell it alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert


def _insert(conn: AsyncConnection, table: Table) -> Any:
    return (postgres_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def upsert(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], *, key: Sequence[str]
) -> Insert:
    """Insert the row, or overwrite the columns not in `key` of the row that has its key."""
    statement = _insert(conn, table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name not in key}
    result: Insert = statement.on_conflict_do_update(index_elements=list(key), set_=changed)
    return result


async def insert_ignoring_duplicates(conn: AsyncConnection, table: Table, **values: Any) -> None:
    await conn.execute(_insert(conn, table).values(**values).on_conflict_do_nothing())


async def insert_unless_present(conn: AsyncConnection, table: Table, **values: Any) -> bool:
    """Insert the row unless its key is taken; whether this insert made it (one wins a race)."""
    # RETURNING, not rowcount: a driver may answer -1 ("unknown") for a skipped insert.
    key = list(table.primary_key.columns)
    statement = _insert(conn, table).values(**values).on_conflict_do_nothing().returning(*key)
    return (await conn.execute(statement)).first() is not None
