"""Digest jobs: each tick is claimed in the state database before anything is posted.

APScheduler fires the job in every replica; only the replica whose claim of (job id, scheduled
time) succeeds builds and posts the digest. A tick missed while every replica was down is run
once at start-up if it is still inside the misfire grace.

A claim has a lease (`scheduler.tick_lease`): a replica that finds the tick held by another
looks again when the lease ends, and takes the tick over if its claimant never began posting
(it died, or is stuck); a tick whose post had begun is never posted twice (bot/state/ticks.py
says why). So a replica killed while it builds a digest loses nothing, and one killed while
Slack answers its post repeats nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]

from bot.config import DigestSchedule
from bot.digests.model import Digest
from bot.digests.service import DigestService
from bot.errors import ConvbotError
from bot.jobs.publishing import DigestPublisher, PublishFailed
from bot.schedules import job_id, next_runs, trigger_for
from bot.service.conversations import ConversationService
from bot.state.digest_messages import DigestMessages
from bot.state.ticks import Claim, TickClaims
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
# How many ticks back to look for the one that is due: enough for `every: 1s` over a long grace.
_LOOKBACK_TICKS = 10_000


@dataclass
class DigestJobs:
    schedules: list[DigestSchedule]
    digests: DigestService
    conversations: ConversationService
    ticks: TickClaims
    publisher: DigestPublisher
    grace: timedelta
    messages: DigestMessages
    clock: Callable[[], datetime] = utcnow
    lease: timedelta = timedelta(minutes=1)  # see bot/state/ticks.py
    _scheduler: AsyncIOScheduler | None = field(default=None, init=False, repr=False)

    def install(self, scheduler: AsyncIOScheduler) -> None:
        self._scheduler = scheduler
        for schedule in self.schedules:
            scheduler.add_job(
                self.run_due,
                trigger_for(schedule),
                args=[schedule],
                id=job_id(schedule),
                name=f"digest {schedule.name}",
                coalesce=True,  # a backlog of missed ticks is one post, not a burst
                misfire_grace_time=max(1, int(self.grace.total_seconds())),
                max_instances=1,
                replace_existing=True,
            )

    async def run_due(self, schedule: DigestSchedule) -> None:
        """APScheduler's entry point: run the tick that is due now."""
        due = self.due_tick(schedule, self.clock())
        if due is not None:
            await self.run(schedule, due)

    async def catch_up(self) -> None:
        """At start-up: a tick missed while down, still inside the grace, is run (once)."""
        for schedule in self.schedules:
            await self.run_due(schedule)

    def due_tick(self, schedule: DigestSchedule, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now` and within the grace, if any."""
        candidates = next_runs(schedule, now - self.grace, _LOOKBACK_TICKS)
        due = [tick for tick in candidates if tick <= now + timedelta(seconds=1)]
        return due[-1] if due else None

    async def look_again(self, schedule: DigestSchedule, scheduled_at: datetime) -> None:
        """When another replica's lease on a tick ends: run it if it is still the one due (a
        newer tick's digest supersedes it) and its claimant never finished it."""
        if self.due_tick(schedule, self.clock()) == scheduled_at:
            await self.run(schedule, scheduled_at)

    def _look_again_at(
        self, schedule: DigestSchedule, scheduled_at: datetime, at: datetime
    ) -> None:
        if self._scheduler is None:  # not installed (a one-off run): nobody to look again
            return
        self._scheduler.add_job(
            self.look_again,
            DateTrigger(run_date=at + timedelta(milliseconds=100)),
            args=[schedule, scheduled_at],
            id=f"{job_id(schedule)}:lease",
            replace_existing=True,  # only the newest held tick matters
            misfire_grace_time=None,
        )

    async def run(self, schedule: DigestSchedule, scheduled_at: datetime) -> bool:
        """Claim the tick; if it is ours, build and post the digest and record the outcome."""
        key = job_id(schedule)
        taken = await self.ticks.take(key, scheduled_at, self.lease)
        if taken.claim is None:
            if taken.retry_at is not None:  # held by another: it may die before posting
                self._look_again_at(schedule, scheduled_at, taken.retry_at)
            return False
        error: str | None = None
        try:
            digest = await self.build(schedule)
            await self.post(schedule, digest, claim=taken.claim)
        except _ClaimLost:
            log.warning(
                "digest %s at %s: its claim was taken over (this replica was slower than "
                "scheduler.tick_lease, %s); the replica that took it posts it",
                schedule.name,
                scheduled_at,
                self.lease,
            )
            return False
        except (ConvbotError, PublishFailed) as failure:
            error = str(failure)
            log.warning("digest %s at %s failed: %s", schedule.name, scheduled_at, error)
        except Exception as failure:  # a scheduler job must never die of one bad tick
            error = f"unexpected {type(failure).__name__}; see the log"
            log.exception("digest %s at %s failed", schedule.name, scheduled_at)
        await self.ticks.finish(key, scheduled_at, error)
        return True

    async def build(self, schedule: DigestSchedule) -> Digest:
        queue_ids = [
            (await self.conversations.directory.resolve_queue(queue)).id
            for queue in schedule.filter.queue
        ]
        return await self.digests.build(
            schedule.name,
            schedule.to_filter(queue_ids),
            max_items=schedule.max_items,
            mention=schedule.mention,
        )

    async def post(
        self, schedule: DigestSchedule, digest: Digest, *, claim: Claim | None = None
    ) -> None:
        """Post the digest, or with `edit_in_place` redraw the message posted before.

        An empty digest with `skip_if_empty` posts nothing; in place, it still redraws the
        message, which would otherwise go on listing conversations that are done. With the
        tick's `claim`, the tick is marked as being posted before Slack is asked (raising
        `_ClaimLost`, nothing sent, if the claim was taken over meanwhile).
        """
        channel = schedule.channel
        existing = (
            await self.messages.find(schedule.name, channel) if schedule.edit_in_place else None
        )
        if schedule.skip_if_empty and digest.total == 0 and existing is None:
            return
        drawn = await self.publisher.draw(digest, self.clock())
        if claim is not None and not await self.ticks.posting(claim):
            raise _ClaimLost
        if existing is not None:
            if await self.publisher.update(schedule.name, channel, existing, drawn):
                return
            log.info("digest %s: its message in %s is gone; posting anew", schedule.name, channel)
        ts = await self.publisher.post(schedule.name, channel, drawn)
        if schedule.edit_in_place:
            await self.messages.remember(schedule.name, channel, ts)


class _ClaimLost(Exception):
    """The tick was taken over by another replica before this one began posting it."""
