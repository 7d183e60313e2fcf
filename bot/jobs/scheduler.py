"""The scheduler every replica runs: APScheduler's AsyncIOScheduler with one job per digest."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.config import OpsConfig
from bot.jobs.digests import DigestJobs
from bot.jobs.handoffs import HandoffNotices
from bot.service.escalations import EscalationService

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


def replica_name() -> str:
    """Who claimed a tick, for operators reading job_ticks: host, process, and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Jobs:
    """What the scheduler runs, as the composition root (bot/bootstrap.py) built it."""

    digests: DigestJobs
    handoffs: HandoffNotices
    escalations: EscalationService
    # Hourly on every replica, by job id, so the state tables stay small (deleting what another
    # replica already deleted is harmless).
    housekeeping: dict[str, Callable[[], Awaitable[object]]]
    # The thread mirror (bot/slack/thread_mirror.py), every `threads.poll_interval` on every
    # replica: it starts a worker for each channel with open threads that has none; a replica's
    # workers post in the channels whose lease it holds.
    threads: Callable[[], Awaitable[object]] | None = None


def start_scheduler(work: Jobs, config: OpsConfig) -> AsyncIOScheduler:
    """Start the jobs in this event loop, and catch up on a tick missed while we were down."""
    jobs = work.digests
    escalations = work.escalations
    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs.install(scheduler)
    # Due escalation steps live in the state database; every replica sweeps, and each step is
    # held by one of them (SELECT … FOR UPDATE SKIP LOCKED) while it is sent.
    if escalations.configured:

        def wake(escalation_id: str, when: datetime) -> None:
            # On time to the second in this process; the sweep covers restarts and replicas.
            scheduler.add_job(
                escalations.run_due,
                DateTrigger(run_date=when + timedelta(milliseconds=50)),
                args=[escalation_id],
                id=f"escalation:{escalation_id}",
                replace_existing=True,
                misfire_grace_time=None,
            )

        escalations.wake_at(wake)
        scheduler.add_job(
            escalations.tick,
            IntervalTrigger(seconds=config.scheduler.escalation_sweep.total_seconds()),
            # First run at once: a step that fell due while no replica ran is sent at start-up.
            next_run_time=datetime.now(UTC),
            id="escalations:sweep",
            coalesce=True,
            max_instances=1,
        )
    if config.oncall.schedules:
        scheduler.add_job(
            work.handoffs.run,
            IntervalTrigger(seconds=config.scheduler.escalation_sweep.total_seconds()),
            id="oncall:handoffs",
            coalesce=True,
            max_instances=1,
        )
    if work.threads is not None:
        scheduler.add_job(
            work.threads,
            IntervalTrigger(seconds=config.threads.poll_interval.total_seconds()),
            id="threads:mirror",
            coalesce=True,
            max_instances=1,
        )
    for job_id, forget in work.housekeeping.items():
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
