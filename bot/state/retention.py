"""Retention: the state database keeps what grows with use only as long as `retention:` in
convbot.yml says (bot/config.py, RetentionConfig), pruned hourly by every replica.

What grows, and what is kept of it:
- `audit_log`: a row per change and per refusal; rows older than `retention.audit_log`.
- `job_ticks`: a row per digest or hand-off tick; older than `retention.job_ticks`, except each
  job's latest (what `/readyz` and `/conv schedules` show as its last run), and never younger
  than the misfire grace plus the lease (a tick pruned inside them could be claimed again).
- `escalations`, `escalation_pages` and `escalation_notices`: ended escalations (not `active`)
  and their pages and announcements, ended
  longer ago than `retention.escalations`.
- `digest_posts`: posted digests older than `retention.digest_posts`; a press on one of them
  still acts, but no longer redraws the message (bot/slack/listeners/digest_items.py).
- `slack_threads`: threads retired (their conversation closed) longer ago than
  `retention.threads`; open threads are kept while their conversation is open.
The other growing tables prune themselves: `card_action_claims` (bot/state/claims.py),
`slack_events`, `slack_thread_replies` and `conversation_snoozes`.

Deletes run in batches of BATCH rows, each its own transaction, so the first prune of a large
backlog neither holds a long lock nor builds one huge transaction on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, and_, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import RetentionConfig
from bot.state.tables import (
    audit_log,
    digest_posts,
    escalation_notices,
    escalation_pages,
    escalations,
    job_ticks,
    slack_threads,
)
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
BATCH = 5_000
# A tick is claimed again if its row is gone while it is still due; keep it well past that.
TICK_MARGIN = timedelta(hours=1)


class Retention:
    def __init__(
        self,
        engine: AsyncEngine,
        config: RetentionConfig,
        *,
        tick_horizon: timedelta = timedelta(0),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`tick_horizon`: how long a tick may still be claimed (misfire grace plus lease)."""
        self._engine = engine
        self._config = config
        self._tick_keep = max(config.job_ticks, tick_horizon + TICK_MARGIN)
        self._clock = clock

    async def prune(self) -> dict[str, int]:
        """Drop what is past its retention; rows dropped per table."""
        now = self._clock()
        dropped = {
            "audit_log": await self._audit(now - self._config.audit_log),
            "job_ticks": await self._ticks(now - self._tick_keep),
            "escalations": await self._escalations(now - self._config.escalations),
            "digest_posts": await self._batched(
                digest_posts,
                [digest_posts.c.channel, digest_posts.c.ts],
                digest_posts.c.posted_at < now - self._config.digest_posts,
            ),
            "slack_threads": await self._batched(
                slack_threads,
                [slack_threads.c.conversation_id, slack_threads.c.channel_id],
                and_(
                    slack_threads.c.retired_at.is_not(None),
                    slack_threads.c.retired_at < now - self._config.threads,
                ),
            ),
        }
        if any(dropped.values()):
            log.info("retention: dropped %s", dropped)
        return dropped

    async def _audit(self, cutoff: datetime) -> int:
        return await self._batched(audit_log, [audit_log.c.id], audit_log.c.at < cutoff)

    async def _ticks(self, cutoff: datetime) -> int:
        newer = job_ticks.alias("newer")
        latest = (
            select(func.max(newer.c.scheduled_at))
            .where(newer.c.job_id == job_ticks.c.job_id)
            .scalar_subquery()
        )
        old = and_(job_ticks.c.claimed_at < cutoff, job_ticks.c.scheduled_at < latest)
        return await self._batched(job_ticks, [job_ticks.c.job_id, job_ticks.c.scheduled_at], old)

    async def _escalations(self, cutoff: datetime) -> int:
        ended = and_(
            escalations.c.status != "active",
            escalations.c.ended_at.is_not(None),
            escalations.c.ended_at < cutoff,
        )
        total = 0
        while True:
            async with self._engine.begin() as conn:
                found = await conn.execute(select(escalations.c.id).where(ended).limit(BATCH))
                batch = [row.id for row in found]
                if not batch:
                    return total
                # Pages and notices first: they refer to their escalation.
                await conn.execute(
                    delete(escalation_pages).where(escalation_pages.c.escalation_id.in_(batch))
                )
                await conn.execute(
                    delete(escalation_notices).where(escalation_notices.c.escalation_id.in_(batch))
                )
                await conn.execute(delete(escalations).where(escalations.c.id.in_(batch)))
            total += len(batch)

    async def _batched(
        self, table: Table, key: list[ColumnElement[object]], old: ColumnElement[bool]
    ) -> int:
        """Delete the rows matching `old`, BATCH at a time by their primary key."""
        total = 0
        while True:
            async with self._engine.begin() as conn:
                found = await conn.execute(select(*key).where(old).limit(BATCH))
                rows = [tuple(row) for row in found]
                if not rows:
                    return total
                condition = (
                    key[0].in_([row[0] for row in rows])
                    if len(key) == 1
                    else tuple_(*key).in_(rows)  # row values: SQLite 3.15+, PostgreSQL
                )
                await conn.execute(delete(table).where(condition))
            total += len(rows)
            if len(rows) < BATCH:
                return total
