"""Handoff notices: whoever comes on call gets a DM with the open URGENT and HIGH conversations.

Each handoff is a tick claimed in the state database (job `handoff:<schedule>`, the handoff's
instant), so with several replicas the person is told once; one missed while every replica was
down is still sent if it is inside the misfire grace. Claims have the digests' lease
(`scheduler.tick_lease`, see bot/state/ticks.py): a replica that died holding a claim before it
began sending is taken over at a later sweep; one that died while Slack was answering is not
sent again (at most once, as digests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.digests.service import DigestService
from bot.errors import ConvbotError
from bot.jobs.publishing import DigestPublisher, PublishFailed
from bot.models import ConversationFilter, Priority, Status
from bot.oncall.config import OncallSchedule
from bot.oncall.rota import Handoff, handoffs
from bot.state.ticks import Claim, TickClaims
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

SUMMARY_ITEMS = 10
# The digest name the summary's buttons carry (see bot/slack/digests.py); the summary's items
# redraw it only if the publisher recorded it.
SUMMARY_NAME = "default"
_OPEN_HIGH = ConversationFilter(
    statuses=[Status.OPEN, Status.WAITING], priorities=[Priority.URGENT, Priority.HIGH]
)
_LOOKAHEAD = 5  # handoffs inside one grace period: more than enough


def job_id(schedule: OncallSchedule) -> str:
    return f"handoff:{schedule.name}"


@dataclass
class HandoffNotices:
    schedules: list[OncallSchedule]
    ticks: TickClaims
    digests: DigestService
    publisher: DigestPublisher
    grace: timedelta
    lease: timedelta = timedelta(minutes=1)
    clock: Callable[[], datetime] = utcnow
    # The last handoff this process claimed or saw claimed, per schedule: not claimed again.
    _seen: dict[str, datetime] = field(default_factory=dict)

    async def run(self) -> int:
        """Tell whoever came on call since the grace began (once); how many were told."""
        now = self.clock()
        told = 0
        for schedule in self.schedules:
            passed = [h for h in handoffs(schedule, now - self.grace, _LOOKAHEAD) if h.at <= now]
            if not passed or passed[-1].user is None:
                continue
            latest = passed[-1]
            if self._seen.get(schedule.name) == latest.at:
                continue
            taken = await self.ticks.take(job_id(schedule), latest.at, self.lease)
            if taken.claim is None:
                if taken.retry_at is None:  # sent, or given up on: never again
                    self._seen[schedule.name] = latest.at
                # Else another replica holds it: a later sweep looks again, in case it died.
                continue
            self._seen[schedule.name] = latest.at
            error: str | None = None
            try:
                if not await self.notify(schedule, latest, taken.claim):
                    continue  # taken over meanwhile: the replica that took it sends it
                told += 1
            except (ConvbotError, PublishFailed) as failure:
                error = str(failure)
                log.warning("handoff notice for %s failed: %s", schedule.name, error)
            except Exception as failure:  # recorded as the tick's error; the job goes on
                error = f"unexpected {type(failure).__name__}; see the log"
                log.exception("handoff notice for %s failed", schedule.name)
            await self.ticks.finish(job_id(schedule), latest.at, error)
        return told

    async def notify(self, schedule: OncallSchedule, handoff: Handoff, claim: Claim) -> bool:
        """DM the summary; False, nothing sent, when the claim was taken over first."""
        assert handoff.user is not None
        following = handoffs(schedule, handoff.at, 1)
        until = following[0].at if following else None
        digest = await self.digests.build(SUMMARY_NAME, _OPEN_HIGH, max_items=SUMMARY_ITEMS)
        drawn = await self.publisher.draw_handoff(schedule.name, until, digest, self.clock())
        channel = await self.publisher.direct_channel(handoff.user)
        if not await self.ticks.posting(claim):
            return False
        await self.publisher.send(SUMMARY_NAME, channel, drawn)
        return True
