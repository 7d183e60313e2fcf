"""The embedded store's tags, with Infobip's rules: creating a tag that exists is fine, a tag is
linked only once it exists, unlinking a tag the conversation lacks is NOT_FOUND. Whether the
conversation may change at all is the caller's check (local.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.backends.local_queries import row_exists, to_tag
from bot.errors import NotFound
from bot.models import Tag
from bot.state.local_tables import local_conversation_tags, local_tags
from bot.state.upsert import insert_ignoring_duplicates


async def create_tag(conn: AsyncConnection, name: str, tag_id: str, now: datetime) -> None:
    # Creating a tag that exists is not an error: the service creates before it links.
    await insert_ignoring_duplicates(
        conn, local_tags, name=name, id=tag_id, created_at=now, updated_at=now
    )


async def tag_named(conn: AsyncConnection, name: str) -> Tag:
    row = (await conn.execute(select(local_tags).where(local_tags.c.name == name))).one()
    return to_tag(row._mapping)


async def link(conn: AsyncConnection, conversation_id: str, tag_name: str) -> bool:
    """Link an existing tag; False when the conversation had it already (nothing changed)."""
    if not await row_exists(conn, local_tags.c.name == tag_name):
        raise NotFound(f"Tag '{tag_name}' does not exist; create it first.")
    linked = and_(
        local_conversation_tags.c.conversation_id == conversation_id,
        local_conversation_tags.c.tag_name == tag_name,
    )
    if await row_exists(conn, linked):
        return False
    # Two people tagging at once must both succeed, not collide on the key.
    await insert_ignoring_duplicates(
        conn,
        local_conversation_tags,
        conversation_id=conversation_id,
        tag_name=tag_name,
    )
    return True


async def unlink(conn: AsyncConnection, conversation_id: str, tag_name: str) -> None:
    result = await conn.execute(
        delete(local_conversation_tags).where(
            local_conversation_tags.c.conversation_id == conversation_id,
            local_conversation_tags.c.tag_name == tag_name,
        )
    )
    if result.rowcount == 0:
        raise NotFound(f"Conversation {conversation_id} has no tag '{tag_name}'.")


async def list_tags(conn: AsyncConnection, conversation_id: str | None) -> list[Tag]:
    stmt = select(local_tags).order_by(local_tags.c.name)
    if conversation_id is not None:
        stmt = stmt.join(
            local_conversation_tags, local_conversation_tags.c.tag_name == local_tags.c.name
        ).where(local_conversation_tags.c.conversation_id == conversation_id)
    return [to_tag(r) for r in (await conn.execute(stmt)).mappings()]
