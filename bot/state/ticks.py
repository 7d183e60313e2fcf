"""Tick claims: each scheduled run of a job is done by exactly one replica, once.

A job run first inserts (job id, scheduled time); the unique key lets one insert win on every
replica sharing the database, and a restarted process finds the ticks already done.

A claimant can die (kill -9, a lost host) between its claim and its post. `take` (digests)
therefore gives a claim a lease: a tick still unfinished one lease after it was claimed, whose
claimant had not yet begun posting, is taken over by whoever asks next (another replica, or the
restarted bot), so it is not lost. The claimant marks the tick (`posting`) just before it asks
Slack to post, and only while the claim is still its own; from then on nobody takes the tick
over, because Slack's chat.postMessage has no idempotency key and the bot cannot read channel
history: whether a post whose answer was never recorded reached Slack is unknowable, and a
second post would be a duplicate. Such a tick is recorded as failed (`ABANDONED`) one lease
after its post began, and is not posted again. The two conditional UPDATEs (take over: only if
not posting; mark posting: only if the claim is still ours) exclude each other on the row, so a
slow but live claimant that lost its lease never posts beside the replica that took over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import job_ticks
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

ERROR_MAX = 2000
# The error of a tick whose claimant stopped after it had begun posting (see the module doc).
ABANDONED = (
    "the replica posting this tick stopped before Slack's answer was recorded; not posted again,"
    " since Slack may already show it"
)


@dataclass(frozen=True)
class Claim:
    """A tick this replica may run. `claimed_at` tells this claim from a later takeover of the
    same tick (by this replica too), so it fences a claimant that lost its lease."""

    job_id: str
    scheduled_at: datetime
    claimed_by: str
    claimed_at: datetime


@dataclass(frozen=True)
class Taken:
    """What `take` found: a claim of our own, or when to look again (the holder's lease ends
    then), or neither (the tick is done, or was abandoned mid-post)."""

    claim: Claim | None = None
    retry_at: datetime | None = None


class TickRecord(BaseModel):
    job_id: str
    scheduled_at: datetime
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None
    error: str | None
    posting_at: datetime | None = None


class TickClaims:
    def __init__(
        self, engine: AsyncEngine, replica: str, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self._replica = replica
        self._clock = clock

    async def claim(self, job_id: str, scheduled_at: datetime) -> bool:
        """True for the one caller that gets to run this tick; False for everyone else."""
        return await self._insert(job_id, scheduled_at, self._clock())

    async def _insert(self, job_id: str, scheduled_at: datetime, now: datetime) -> bool:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(job_ticks).values(
                        job_id=job_id,
                        scheduled_at=scheduled_at,
                        claimed_by=self._replica,
                        claimed_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def take(self, job_id: str, scheduled_at: datetime, lease: timedelta) -> Taken:
        """Claim the tick, or take it over from a claimant that let its lease run out before it
        began posting; else say when to look again (see the module doc)."""
        now = self._clock()
        if await self._insert(job_id, scheduled_at, now):
            return Taken(Claim(job_id, scheduled_at, self._replica, now))
        tick = and_(job_ticks.c.job_id == job_id, job_ticks.c.scheduled_at == scheduled_at)
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(job_ticks).where(tick))).first()
        now = self._clock()
        if row is None or row.finished_at is not None:
            return Taken()
        if row.posting_at is None and row.claimed_at < now - lease:
            # Conditional on what was read: of several replicas taking over at once, one wins.
            async with self._engine.begin() as conn:
                taken_over = await conn.execute(
                    update(job_ticks)
                    .where(
                        tick,
                        job_ticks.c.claimed_by == row.claimed_by,
                        job_ticks.c.claimed_at == row.claimed_at,
                        job_ticks.c.finished_at.is_(None),
                        job_ticks.c.posting_at.is_(None),
                    )
                    .values(claimed_by=self._replica, claimed_at=now)
                )
            if taken_over.rowcount != 1:  # another replica took it, or its claimant went on
                return Taken(retry_at=now + lease)
            log.warning(
                "%s at %s: took the tick over from %s, which claimed it at %s and never began "
                "posting it",
                job_id,
                scheduled_at.isoformat(),
                row.claimed_by,
                row.claimed_at.isoformat(),
            )
            return Taken(Claim(job_id, scheduled_at, self._replica, now))
        if row.posting_at is not None and row.posting_at < now - lease:
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(job_ticks)
                    .where(tick, job_ticks.c.finished_at.is_(None))
                    .values(finished_at=now, error=ABANDONED)
                )
            log.warning("%s at %s (%s): %s", job_id, scheduled_at, row.claimed_by, ABANDONED)
            return Taken()
        return Taken(retry_at=(row.posting_at or row.claimed_at) + lease)

    async def posting(self, claim: Claim) -> bool:
        """Mark the tick as being posted, just before asking Slack; False when the claim is no
        longer ours (taken over after its lease ran out): then the caller must not post."""
        async with self._engine.begin() as conn:
            marked = await conn.execute(
                update(job_ticks)
                .where(
                    job_ticks.c.job_id == claim.job_id,
                    job_ticks.c.scheduled_at == claim.scheduled_at,
                    job_ticks.c.claimed_by == claim.claimed_by,
                    job_ticks.c.claimed_at == claim.claimed_at,
                    job_ticks.c.finished_at.is_(None),
                    job_ticks.c.posting_at.is_(None),
                )
                .values(posting_at=self._clock())
            )
        return bool(marked.rowcount == 1)

    async def finish(self, job_id: str, scheduled_at: datetime, error: str | None = None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(job_ticks)
                .where(job_ticks.c.job_id == job_id, job_ticks.c.scheduled_at == scheduled_at)
                .values(finished_at=self._clock(), error=error[:ERROR_MAX] if error else None)
            )

    async def last(self, job_id: str) -> TickRecord | None:
        """The newest tick of a job: its last run and last error, for `/conv schedules`."""
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(job_ticks)
                        .where(job_ticks.c.job_id == job_id)
                        .order_by(job_ticks.c.scheduled_at.desc())
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
        return TickRecord.model_validate(dict(row)) if row else None

    async def count(self, job_id: str) -> int:
        async with self._engine.connect() as conn:
            total = await conn.execute(
                select(func.count()).select_from(job_ticks).where(job_ticks.c.job_id == job_id)
            )
        return int(total.scalar_one())
