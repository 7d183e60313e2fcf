"""Snoozes: a conversation left out of digests until a time, shared by every replica."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import conversation_snoozes
from bot.state.upsert import upsert
from bot.timestamps import utcnow


class SnoozeStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def snooze(self, conversation_id: str, until: datetime, by: str) -> datetime | None:
        """Snooze until `until` (replacing any earlier snooze); the snooze it replaced, if any."""
        now = self._clock()
        async with self._engine.begin() as conn:
            previous = (
                await conn.execute(
                    select(conversation_snoozes.c.until).where(
                        conversation_snoozes.c.conversation_id == conversation_id
                    )
                )
            ).scalar_one_or_none()
            await conn.execute(
                upsert(
                    conn,
                    conversation_snoozes,
                    {
                        "conversation_id": conversation_id,
                        "until": until,
                        "snoozed_by": by,
                        "snoozed_at": now,
                    },
                    key=["conversation_id"],
                )
            )
        return previous if previous is not None and previous > now else None

    async def active(self, conversation_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        """conversation id → until, for snoozes not yet over (of the given ids, or all)."""
        wanted = None if conversation_ids is None else list(conversation_ids)
        if wanted == []:
            return {}
        stmt = select(conversation_snoozes.c.conversation_id, conversation_snoozes.c.until).where(
            conversation_snoozes.c.until > self._clock()
        )
        if wanted is not None:
            stmt = stmt.where(conversation_snoozes.c.conversation_id.in_(wanted))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {conversation_id: until for conversation_id, until in rows}

    async def forget_expired(self) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(conversation_snoozes).where(conversation_snoozes.c.until <= self._clock())
            )
        return result.rowcount
