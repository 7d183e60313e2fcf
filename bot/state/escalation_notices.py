"""The channel messages that announced an escalation, so they can be redrawn when it ends.

`/conv escalate` posts "@ana escalated … Paging @ben now" in the channel it was typed in; when
the escalation is acknowledged or resolved, on whichever replica and after any restart, that
message is redrawn with the outcome. Only messages recorded here are ever redrawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import escalation_notices
from bot.timestamps import utcnow


@dataclass(frozen=True)
class EscalationNotice:
    escalation_id: str
    channel: str
    ts: str
    text: str  # the announcement's first line (who escalated what), kept in the redraw


class EscalationNotices:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def remember(self, escalation_id: str, channel: str, ts: str, text: str) -> None:
        row = {
            "escalation_id": escalation_id,
            "channel": channel,
            "ts": ts,
            "text": text,
            "posted_at": self._clock(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(insert(escalation_notices).values(**row))

    async def of(self, escalation_id: str) -> list[EscalationNotice]:
        """The escalation's announcements, oldest first."""
        statement = (
            select(escalation_notices)
            .where(escalation_notices.c.escalation_id == escalation_id)
            .order_by(escalation_notices.c.posted_at)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return [
            EscalationNotice(
                escalation_id=row["escalation_id"],
                channel=row["channel"],
                ts=row["ts"],
                text=row["text"],
            )
            for row in rows
        ]
