"""Conversations' transcripts in Slack threads (issue 18): one thread per (conversation,
channel), how far the mirror has posted in it, and which replica mirrors each channel.

Opening is an insert on the unique (conversation, channel) key: two presses, or two replicas,
open one thread, and the loser reads the winner's row. The mirror's cursor moves only after
the message is in Slack (bot/slack/thread_mirror.py), so a stop between the two never loses one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import slack_threads, thread_channel_leases
from bot.state.upsert import insert_unless_present
from bot.timestamps import utcnow

# The ids kept beside the cursor: messages sharing its instant (createdAt has milliseconds).
CURSOR_IDS_MAX = 200


@dataclass(frozen=True)
class SlackThread:
    conversation_id: str
    channel_id: str
    root_ts: str
    opened_by: str
    opened_at: datetime
    permalink: str | None = None
    cursor_at: datetime | None = None
    cursor_ids: tuple[str, ...] = field(default_factory=tuple)
    cursor_version: int = 0
    posting_id: str | None = None
    closed_at: datetime | None = None
    failures: int = 0
    backoff_until: datetime | None = None
    retired_at: datetime | None = None
    thread_replies: str | None = None  # what its first post announced; None: nothing (off)

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


def _thread(row: object) -> SlackThread:
    m = row._mapping  # type: ignore[attr-defined]
    return SlackThread(
        conversation_id=m["conversation_id"],
        channel_id=m["channel_id"],
        root_ts=m["root_ts"],
        opened_by=m["opened_by"],
        opened_at=m["opened_at"],
        permalink=m["permalink"],
        cursor_at=m["cursor_at"],
        cursor_ids=tuple(m["cursor_ids"] or ()),
        cursor_version=m["cursor_version"],
        posting_id=m["posting_id"],
        closed_at=m["closed_at"],
        failures=m["failures"],
        backoff_until=m["backoff_until"],
        retired_at=m["retired_at"],
        thread_replies=m["thread_replies"],
    )


def _key(conversation_id: str, channel_id: str) -> ColumnElement[bool]:
    return and_(
        slack_threads.c.conversation_id == conversation_id,
        slack_threads.c.channel_id == channel_id,
    )


class ThreadStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def open(
        self,
        conversation_id: str,
        channel_id: str,
        root_ts: str,
        opened_by: str,
        *,
        cursor_at: datetime | None = None,
        cursor_ids: Sequence[str] = (),
        hold_until: datetime | None = None,
        thread_replies: str | None = None,
    ) -> tuple[SlackThread, bool]:
        """The conversation's thread in the channel, and whether this call opened it (under
        `root_ts`); False: one was open already (a second press, another replica).
        `hold_until`: the mirror leaves it alone until then (its transcript is being posted)."""
        async with self._engine.begin() as conn:
            inserted = await insert_unless_present(
                conn,
                slack_threads,
                conversation_id=conversation_id,
                channel_id=channel_id,
                root_ts=root_ts,
                opened_by=opened_by,
                opened_at=self._clock(),
                cursor_at=cursor_at,
                cursor_ids=list(cursor_ids)[-CURSOR_IDS_MAX:],
                failures=0,
                backoff_until=hold_until,
                thread_replies=thread_replies,
            )
        found = await self.find(conversation_id, channel_id)
        assert found is not None  # inserted above, or there before
        return found, inserted

    async def find(self, conversation_id: str, channel_id: str) -> SlackThread | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(slack_threads).where(_key(conversation_id, channel_id)))
            ).first()
        return None if row is None else _thread(row)

    async def by_root(self, channel_id: str, root_ts: str) -> SlackThread | None:
        """The thread under the message `root_ts` of the channel, if it is a conversation's."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(slack_threads).where(
                        slack_threads.c.channel_id == channel_id,
                        slack_threads.c.root_ts == root_ts,
                    )
                )
            ).first()
        return None if row is None else _thread(row)

    async def links(self, channel_id: str, conversation_ids: Sequence[str]) -> dict[str, str]:
        """Conversation id → its thread's permalink in the channel, for the cards drawn there."""
        if not conversation_ids:
            return {}
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(slack_threads.c.conversation_id, slack_threads.c.permalink).where(
                    slack_threads.c.channel_id == channel_id,
                    slack_threads.c.conversation_id.in_(list(dict.fromkeys(conversation_ids))),
                    slack_threads.c.permalink.is_not(None),
                )
            )
            return {row.conversation_id: row.permalink for row in rows}

    async def set_permalink(self, conversation_id: str, channel_id: str, permalink: str) -> None:
        await self._update(conversation_id, channel_id, permalink=permalink)

    async def advance(
        self,
        conversation_id: str,
        channel_id: str,
        cursor_at: datetime | None,
        cursor_ids: Sequence[str],
        *,
        was: int | None = None,
        posting_id: str | None = None,
    ) -> bool:
        """The mirror posted up to `cursor_at` (the ids posted at that instant): a success, so
        any back-off ends. `was`: the cursor version this move starts from; False (nothing
        written) when the cursor has moved since (another replica, the mirror past a slow
        opening), so a late write never sets an older cursor. `posting_id`: a message past the
        cursor whose post got no answer, so its fate is read back (see `posting`)."""
        where = _key(conversation_id, channel_id)
        if was is not None:
            where = and_(where, slack_threads.c.cursor_version == was)
        async with self._engine.begin() as conn:
            moved = await conn.execute(
                update(slack_threads)
                .where(where)
                .values(
                    cursor_at=cursor_at,
                    cursor_ids=list(cursor_ids)[-CURSOR_IDS_MAX:],
                    cursor_version=slack_threads.c.cursor_version + 1,
                    posting_id=posting_id,
                    failures=0,
                    backoff_until=None,
                )
            )
        return bool(moved.rowcount)

    async def posting(self, conversation_id: str, channel_id: str, message_id: str | None) -> None:
        """`message_id` is about to be posted: if nothing follows, its fate is read back (None:
        nothing is)."""
        await self._update(conversation_id, channel_id, posting_id=message_id)

    async def closing(self, conversation_id: str) -> None:
        """The conversation closed: each of its open threads gets a last poll, then retires."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(slack_threads)
                .where(
                    slack_threads.c.conversation_id == conversation_id,
                    slack_threads.c.retired_at.is_(None),
                    slack_threads.c.closed_at.is_(None),
                )
                .values(closed_at=self._clock(), backoff_until=None)
            )

    async def back_off(
        self, conversation_id: str, channel_id: str, failures: int, until: datetime
    ) -> None:
        await self._update(conversation_id, channel_id, failures=failures, backoff_until=until)

    async def forget(self, conversation_id: str, channel_id: str) -> None:
        """A thread that could not be opened after all (Slack refused its first post)."""
        async with self._engine.begin() as conn:
            await conn.execute(slack_threads.delete().where(_key(conversation_id, channel_id)))

    async def retire(self, conversation_id: str, channel_id: str) -> None:
        """The conversation closed: the thread is no longer mirrored, and retention drops it."""
        await self._update(conversation_id, channel_id, retired_at=self._clock())

    async def open_channels(self, limit: int) -> list[str]:
        """Channels with open threads, at most `limit` (bounded work per pass)."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(slack_threads.c.channel_id)
                .where(slack_threads.c.retired_at.is_(None))
                .group_by(slack_threads.c.channel_id)
                .order_by(slack_threads.c.channel_id)
                .limit(limit)
            )
            return [row.channel_id for row in rows]

    async def open_in(self, channel_id: str, limit: int) -> list[SlackThread]:
        """The channel's open threads due for a poll (not backing off), oldest first."""
        now = self._clock()
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(slack_threads)
                .where(
                    slack_threads.c.channel_id == channel_id,
                    slack_threads.c.retired_at.is_(None),
                    or_(
                        slack_threads.c.backoff_until.is_(None),
                        slack_threads.c.backoff_until <= now,
                    ),
                )
                .order_by(slack_threads.c.opened_at, slack_threads.c.conversation_id)
                .limit(limit)
            )
            return [_thread(row) for row in rows]

    async def _update(self, conversation_id: str, channel_id: str, **values: object) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(slack_threads).where(_key(conversation_id, channel_id)).values(**values)
            )


class ChannelLeases:
    """One replica mirrors a channel at a time: it holds the channel's lease and renews it each
    pass; a replica that stops renewing (stopped, killed) loses it one lease later.

    A lease is timed by the database's clock (PostgreSQL's `now()`), not each replica's: two
    machines whose clocks differ still agree on when a lease ran out, and the holder, counting
    from before it asked, never thinks it holds longer than the database says. SQLite is one
    machine's clock anyway. `clock` replaces it (tests)."""

    def __init__(
        self,
        engine: AsyncEngine,
        holder: str,
        lease: timedelta,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self.holder = holder
        self._lease = lease
        self._clock = clock

    def _now(self) -> Any:
        """Now, as the leases are timed: a value, or the database's own `now()`."""
        if self._clock is not None:
            return self._clock()
        if self._engine.dialect.name == "postgresql":
            return func.now()  # the transaction's start: the statement runs right after
        return utcnow()

    async def hold(self, channel_id: str) -> bool:
        """Take or renew the channel's lease; False while another replica holds it."""
        now = self._now()
        until = now + self._lease
        t = thread_channel_leases
        async with self._engine.begin() as conn:
            renewed = await conn.execute(
                update(t)
                .where(
                    t.c.channel_id == channel_id, or_(t.c.holder == self.holder, t.c.until < now)
                )
                .values(holder=self.holder, until=until)
            )
            if renewed.rowcount:
                return True
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        t.insert().values(channel_id=channel_id, holder=self.holder, until=until)
                    )
            except IntegrityError:
                return False  # held by another replica, whose lease has not run out
        return True

    async def release(self, channel_id: str) -> None:
        t = thread_channel_leases
        async with self._engine.begin() as conn:
            await conn.execute(
                t.delete().where(t.c.channel_id == channel_id, t.c.holder == self.holder)
            )
