"""Every digest message the bot posted, with the text and blocks it drew.

A press on a digest item names, in its payload, a channel, a message ts and that message's
blocks. Those are the press's claims, not facts: redrawing whatever they name let a signed press
make the bot `chat.update` any message it can edit (a page in someone's DM) with the payload's
text. So a press redraws only a message recorded here, under the digest its button names, and
from the blocks recorded here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import digest_posts
from bot.state.upsert import upsert
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
Blocks = list[dict[str, Any]]


class _Answer(Protocol):
    """Slack's answer to chat.postMessage or chat.update (an AsyncSlackResponse)."""

    def __getitem__(self, key: str) -> Any: ...


@dataclass(frozen=True)
class DigestPost:
    digest: str
    channel: str
    ts: str
    text: str
    blocks: Blocks


class DigestPosts:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def remember(self, digest: str, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        """The digest was posted (or redrawn from scratch at a tick) as `ts` in `channel`."""
        row = {
            "channel": channel,
            "ts": ts,
            "digest": digest,
            "text": text,
            "blocks": blocks,
            "posted_at": self._clock(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(upsert(conn, digest_posts, row, key=["channel", "ts"]))

    async def posted(self, digest: str, answer: _Answer, text: str, blocks: Sequence[Any]) -> None:
        """Remember the message chat.postMessage (or chat.update) `answer`ed with. The post is
        done whatever happens here: a record that cannot be written only means that presses on
        this message answer the presser without redrawing it, so it is logged, not raised."""
        drawn = [block.to_dict() if hasattr(block, "to_dict") else dict(block) for block in blocks]
        try:
            await self.remember(digest, str(answer["channel"]), str(answer["ts"]), text, drawn)
        except (SQLAlchemyError, OSError, KeyError):
            log.warning(
                "digest %s posted but not recorded; its presses will not redraw it",
                digest,
                exc_info=True,
            )

    async def find(self, channel: str, ts: str) -> DigestPost | None:
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(digest_posts.c.digest, digest_posts.c.text, digest_posts.c.blocks).where(
                    digest_posts.c.channel == channel, digest_posts.c.ts == ts
                )
            )
            row = found.first()
        if row is None or not isinstance(row.blocks, list):
            return None
        return DigestPost(row.digest, channel, ts, row.text, row.blocks)

    async def redrawn(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        """A press redrew the message: later presses build on what it shows now."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(digest_posts)
                .where(digest_posts.c.channel == channel, digest_posts.c.ts == ts)
                .values(text=text, blocks=blocks)
            )
