"""The embedded store's conversation metadata, with Infobip's semantics
(`…/conversations/{id}/metadata` in the contract): GET gives the map, PUT replaces it ("Method
overwrites old metadata"), PATCH merges into it ("If there is no present metadata, one will be
created from request"), DELETE removes it; an unknown conversation is NOT_FOUND for each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.backends.local_queries import conversation_row
from bot.errors import InvalidInput
from bot.models import Metadata
from bot.state.local_tables import local_conversation_metadata as M

# The contract's request schema for PUT and PATCH: an object with at least one property.
EMPTY = "Metadata to save needs at least one key."
KEYS_MAX = 100  # a bound of our own: the contract names none, and a map is read whole


async def get(conn: AsyncConnection, conversation_id: str) -> Metadata:
    await conversation_row(conn, conversation_id)
    found = await conn.execute(select(M.c.content).where(M.c.conversation_id == conversation_id))
    content = found.scalar()
    return dict(content) if isinstance(content, dict) else {}


async def put(conn: AsyncConnection, conversation_id: str, values: Metadata, at: datetime) -> None:
    await conversation_row(conn, conversation_id)
    await _write(conn, conversation_id, _checked(values), at)


async def patch(
    conn: AsyncConnection, conversation_id: str, values: Metadata, at: datetime
) -> None:
    merged = {**await get(conn, conversation_id), **_checked(values)}
    await _write(conn, conversation_id, _checked(merged), at)


async def remove(conn: AsyncConnection, conversation_id: str) -> None:
    await conversation_row(conn, conversation_id)
    await conn.execute(delete(M).where(M.c.conversation_id == conversation_id))


def _checked(values: Metadata) -> Metadata:
    if not values:
        raise InvalidInput(EMPTY)
    if len(values) > KEYS_MAX:
        raise InvalidInput(f"A conversation's metadata holds at most {KEYS_MAX} keys here.")
    return dict(values)


async def _write(
    conn: AsyncConnection, conversation_id: str, values: Metadata, at: datetime
) -> None:
    changed = await conn.execute(
        update(M)
        .where(M.c.conversation_id == conversation_id)
        .values(content=values, updated_at=at)
    )
    if changed.rowcount == 0:
        await conn.execute(
            insert(M).values(conversation_id=conversation_id, content=values, updated_at=at)
        )
