"""What each person's message in a `thread_replies` thread became (issue 18 item 4).

- At most once: a message is claimed (an insert on its channel and ts) before it is sent, so a
  second delivery of it, on any replica, under another event id or after a restart, finds the
  claim and sends nothing. A send cut off between the claim and its outcome stays `sending`: it
  is not sent again (a customer must not get a reply twice), and the mirror stops waiting for
  it after PENDING_MAX.
- Never echoed: the Infobip message id a reply got is recorded against the thread, and the
  thread mirror (bot/slack/thread_mirror.py) skips that OUTBOUND message instead of posting it
  into the thread as new. While a reply is still `sending` its id is not known yet, so the
  mirror leaves the thread's outbound messages for its next pass.
- An edit is answered once: its row is the message's ts with kind `edit`.

Rows are kept for KEEP, long past the mirror's pass over the reply, then pruned hourly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import slack_thread_replies
from bot.state.upsert import insert_unless_present
from bot.timestamps import utcnow

Kind = Literal["message", "edit"]
State = Literal["sending", "sent", "saved", "failed", "told"]
KEEP = timedelta(days=1)
# A reply still `sending` after this was cut off (its send is bounded far below it): the mirror
# no longer holds the thread's outbound messages back for it.
PENDING_MAX = timedelta(minutes=2)
ECHOES_MAX = 200  # replies read per thread per pass: those of the last KEEP, newest first


@dataclass(frozen=True)
class Echoes:
    """A thread's replies sent from Slack: the Infobip ids they got, and whether one is still
    being sent (its id unknown yet)."""

    message_ids: frozenset[str]
    pending: bool


class ThreadReplyRecords:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def claim(
        self, channel_id: str, message_ts: str, kind: Kind, conversation_id: str, state: State
    ) -> bool:
        """Whether this call is the first to take the Slack message (of this kind)."""
        async with self._engine.begin() as conn:
            return await insert_unless_present(
                conn,
                slack_thread_replies,
                channel_id=channel_id,
                message_ts=message_ts,
                kind=kind,
                conversation_id=conversation_id,
                state=state,
                created_at=self._clock(),
            )

    async def settle(
        self, channel_id: str, message_ts: str, state: State, message_id: str | None = None
    ) -> None:
        """The message's outcome (and the Infobip id a reply got)."""
        t = slack_thread_replies
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(
                    t.c.channel_id == channel_id,
                    t.c.message_ts == message_ts,
                    t.c.kind == "message",
                )
                .values(state=state, message_id=message_id)
            )

    async def state(self, channel_id: str, message_ts: str) -> str | None:
        t = slack_thread_replies
        async with self._engine.connect() as conn:
            return (
                await conn.execute(
                    select(t.c.state).where(
                        t.c.channel_id == channel_id,
                        t.c.message_ts == message_ts,
                        t.c.kind == "message",
                    )
                )
            ).scalar()

    async def echoes(self, channel_id: str, conversation_id: str) -> Echoes:
        """The thread's recent replies from Slack, for the mirror to skip."""
        t = slack_thread_replies
        now = self._clock()
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.state, t.c.message_id, t.c.created_at)
                    .where(
                        t.c.channel_id == channel_id,
                        t.c.conversation_id == conversation_id,
                        t.c.kind == "message",
                        t.c.created_at >= now - KEEP,
                    )
                    .order_by(t.c.created_at.desc())
                    .limit(ECHOES_MAX)
                )
            ).all()
        return Echoes(
            message_ids=frozenset(row.message_id for row in rows if row.message_id),
            pending=any(
                row.state == "sending" and row.created_at >= now - PENDING_MAX for row in rows
            ),
        )

    async def forget_old(self) -> int:
        """Drop the rows past KEEP; how many were dropped."""
        t = slack_thread_replies
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.created_at < self._clock() - KEEP))
        return result.rowcount
