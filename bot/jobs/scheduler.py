"""The scheduler every replica runs: APScheduler's AsyncIOScheduler with one job per digest."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.digests.service import DigestService
from bot.jobs.digests import DigestJobs
from bot.jobs.handoffs import HandoffNotices
from bot.slack.deps import SlackDeps
from bot.state.digest_messages import DigestMessages
from bot.state.retention import Retention
from bot.state.slack_events import SlackEvents
from bot.state.snoozes import SnoozeStore
from bot.state.ticks import TickClaims

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


def replica_name() -> str:
    """Who claimed a tick, for operators reading job_ticks: host, process, and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def digest_jobs(deps: SlackDeps) -> DigestJobs:
    runtime = deps.runtime
    return DigestJobs(
        schedules=list(runtime.config.digests),
        digests=DigestService(runtime.conversations),
        conversations=runtime.conversations,
        ticks=TickClaims(runtime.engine, replica_name()),
        client=deps.client,
        drawing=lambda: deps.card_context(None),
        grace=runtime.config.scheduler.misfire_grace,
        messages=DigestMessages(runtime.engine),
        posts=deps.digest_posts,
        updates=deps.updates,
        lease=runtime.config.scheduler.tick_lease,
    )


def handoff_notices(deps: SlackDeps) -> HandoffNotices:
    runtime = deps.runtime
    return HandoffNotices(
        schedules=list(runtime.config.oncall.schedules),
        ticks=TickClaims(runtime.engine, replica_name()),
        digests=DigestService(runtime.conversations),
        client=deps.client,
        drawing=lambda: deps.card_context(None),
        grace=runtime.config.scheduler.misfire_grace,
        lease=runtime.config.scheduler.tick_lease,
        posts=deps.digest_posts,
    )


def start_scheduler(deps: SlackDeps) -> AsyncIOScheduler:
    """Start the jobs in this event loop, and catch up on a tick missed while we were down."""
    jobs = digest_jobs(deps)
    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs.install(scheduler)
    # Card claims only matter while a card version is fresh; old rows are dropped hourly (on
    # every replica: deleting what is already gone is harmless).
    scheduler.add_job(
        deps.claims.forget_old,
        IntervalTrigger(hours=1),
        id="housekeeping:card-claims",
        coalesce=True,
        max_instances=1,
    )
    # Due escalation steps live in the state database; every replica sweeps, and each step is
    # held by one of them (SELECT … FOR UPDATE SKIP LOCKED) while it is sent.
    if deps.escalations.configured:

        def wake(escalation_id: str, when: datetime) -> None:
            # On time to the second in this process; the sweep covers restarts and replicas.
            scheduler.add_job(
                deps.escalations.run_due,
                DateTrigger(run_date=when + timedelta(milliseconds=50)),
                args=[escalation_id],
                id=f"escalation:{escalation_id}",
                replace_existing=True,
                misfire_grace_time=None,
            )

        deps.escalations.wake_at(wake)
        scheduler.add_job(
            deps.escalations.tick,
            IntervalTrigger(seconds=deps.runtime.config.scheduler.escalation_sweep.total_seconds()),
            # First run at once: a step that fell due while no replica ran is sent at start-up.
            next_run_time=datetime.now(UTC),
            id="escalations:sweep",
            coalesce=True,
            max_instances=1,
        )
    if deps.runtime.config.oncall.schedules:
        notices = handoff_notices(deps)
        scheduler.add_job(
            notices.run,
            IntervalTrigger(seconds=deps.runtime.config.scheduler.escalation_sweep.total_seconds()),
            id="oncall:handoffs",
            coalesce=True,
            max_instances=1,
        )
    # Hourly on every replica, so these tables stay small: Slack stops redelivering an event
    # minutes after its first try, so older records of events taken in
    # (bot/state/slack_events.py) are dropped; expired snoozes are as good as none; the rest
    # is kept as long as `retention:` in convbot.yml says (bot/state/retention.py).
    config = deps.runtime.config
    retention = Retention(
        deps.runtime.engine,
        config.retention,
        tick_horizon=config.scheduler.misfire_grace + config.scheduler.tick_lease,
    )
    housekeeping = {
        "housekeeping:slack-events": SlackEvents(deps.runtime.engine).forget_old,
        "housekeeping:snoozes": SnoozeStore(deps.runtime.engine).forget_expired,
        "housekeeping:retention": retention.prune,
    }
    for job_id, forget in housekeeping.items():
        scheduler.add_job(
            forget, IntervalTrigger(hours=1), id=job_id, coalesce=True, max_instances=1
        )
    scheduler.start()
    if jobs.schedules:
        log.info(
            "scheduled %d digest(s): %s",
            len(jobs.schedules),
            ", ".join(schedule.name for schedule in jobs.schedules),
        )
        task = asyncio.get_running_loop().create_task(jobs.catch_up())
        _background.add(task)
        task.add_done_callback(_background.discard)
    return scheduler
