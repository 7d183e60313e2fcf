"""Events API deliveries taken in: an event Slack delivers again runs once, on every replica.

Slack delivers an event again when it got no 2xx within 3 s, an error status or no connection:
at once, after a minute and after five, with the same `event_id` (globally unique, Slack says)
and `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` headers (in Socket Mode, `retry_attempt` and
`retry_reason`), to whichever replica the load balancer picks. The delivery whose insert wins
runs the event; every later one finds the row. Memory would not do: the retry may reach another
replica, or this one restarted.

A row is kept for an hour, well past Slack's last retry (about five minutes after the first
try), and pruned by a housekeeping job (bot/jobs/scheduler.py) on every replica.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import slack_events
from bot.timestamps import utcnow

KEEP = timedelta(hours=1)
EVENT_ID_MAX = 255  # the column's length; Slack's are about a dozen characters


class SlackEvents:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def first_delivery(self, event_id: str) -> bool:
        """True the first time `event_id` is seen (by any replica sharing the database)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(slack_events).values(event_id=event_id, received_at=self._clock())
                )
        except IntegrityError:
            return False
        return True

    async def forget_old(self) -> int:
        """Drop the events Slack can no longer deliver again; how many were dropped."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(slack_events).where(slack_events.c.received_at < self._clock() - KEEP)
            )
        return result.rowcount
