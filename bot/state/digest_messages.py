"""The message an `edit_in_place` digest edits at each tick, one per (digest, channel)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import digest_messages
from bot.state.upsert import upsert
from bot.timestamps import utcnow


class DigestMessages:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def find(self, digest: str, channel: str) -> str | None:
        """The ts of the digest's message in the channel, if one was posted."""
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(digest_messages.c.ts).where(
                    digest_messages.c.digest == digest, digest_messages.c.channel == channel
                )
            )
            return found.scalar_one_or_none()

    async def remember(self, digest: str, channel: str, ts: str) -> None:
        async with self._engine.begin() as conn:
            row = {"digest": digest, "channel": channel, "ts": ts, "posted_at": self._clock()}
            await conn.execute(upsert(conn, digest_messages, row, key=["digest", "channel"]))

    async def forget(self, digest: str, channel: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(digest_messages).where(
                    digest_messages.c.digest == digest, digest_messages.c.channel == channel
                )
            )
