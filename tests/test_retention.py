"""Retention: what grows with use is pruned as `retention:` in convbot.yml says, on SQLite and
PostgreSQL (bot/state/retention.py). Rows are written as the bot writes them (its own stores
where they take a clock, plain inserts where the bot's rows come from a running escalation), the
prune runs as the hourly job runs it, and what is left is read back from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import OpsConfig, RetentionConfig
from bot.jobs.scheduler import start_scheduler
from bot.models import Actor
from bot.state.audit import AuditLog
from bot.state.digest_posts import DigestPosts
from bot.state.retention import Retention
from bot.state.tables import audit_log, escalation_pages, escalations, job_ticks
from bot.state.ticks import TickClaims
from tests.slack_harness import running_bot

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ANA = Actor(id="UANA00001", surface="slack")


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def _escalation(engine: AsyncEngine, id: str, status: str, ended: datetime | None) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(escalations).values(
                id=id,
                conversation_id=f"c-{id}",
                active_conversation_id=f"c-{id}" if status == "active" else None,
                policy="default",
                started_by="U1",
                started_at=at(400),
                status=status,
                step=1,
                round=0,
                next_at=at(0) if status == "active" else None,
                ended_by=None if ended is None else "U1",
                ended_at=ended,
            )
        )
        for step in range(2):
            await conn.execute(
                insert(escalation_pages).values(
                    escalation_id=id,
                    round=0,
                    step=step,
                    target="user:U1",
                    status="sent",
                    claimed_at=at(400),
                )
            )


async def test_each_growing_table_keeps_only_what_its_retention_says(engine: AsyncEngine) -> None:
    config = RetentionConfig()  # the defaults: 365 d, 30 d, 90 d, 7 d
    for days in (400, 366, 10):
        await AuditLog(engine, clock=lambda d=days: at(d)).record(ANA, "denied", None, None, None)
    for days in (60, 45, 31, 1):
        ticks = TickClaims(engine, "r1", clock=lambda d=days: at(d))
        assert await ticks.claim("digest:often", at(days))
    lonely = TickClaims(engine, "r1", clock=lambda: at(200))
    assert await lonely.claim("digest:yearly", at(200))  # its only tick: its last run
    await _escalation(engine, "old-ended", "acknowledged", at(100))
    await _escalation(engine, "new-ended", "resolved", at(10))
    await _escalation(engine, "old-active", "active", None)
    for days, ts in ((8, "1.000001"), (5, "2.000002")):
        posts = DigestPosts(engine, clock=lambda d=days: at(d))
        await posts.remember("support", "C1", ts, "text", [{"type": "divider"}])

    dropped = await Retention(engine, config, clock=lambda: NOW).prune()

    assert dropped == {
        "audit_log": 2,
        "job_ticks": 3,
        "escalations": 1,
        "digest_posts": 1,
        "slack_threads": 0,
    }
    async with engine.connect() as conn:
        audit_at = (await conn.execute(select(audit_log.c.at))).scalars().all()
        kept_ticks = (
            await conn.execute(select(job_ticks.c.job_id, job_ticks.c.scheduled_at))
        ).all()
        kept_escalations = (await conn.execute(select(escalations.c.id))).scalars().all()
        pages_of = (await conn.execute(select(escalation_pages.c.escalation_id))).scalars().all()
    assert audit_at == [at(10)]
    assert sorted(kept_ticks) == [("digest:often", at(1)), ("digest:yearly", at(200))]
    assert sorted(kept_escalations) == ["new-ended", "old-active"]
    assert sorted(set(pages_of)) == ["new-ended", "old-active"]
    assert await DigestPosts(engine).find("C1", "1.000001") is None
    assert await DigestPosts(engine).find("C1", "2.000002") is not None
    # Pruned already: the next hour's run finds nothing more.
    assert set((await Retention(engine, config, clock=lambda: NOW).prune()).values()) == {0}


async def test_a_large_backlog_is_pruned_in_batches(engine: AsyncEngine) -> None:
    """More rows than one batch (bot/state/retention.py BATCH): all of them go, none kept."""
    from bot.state import retention

    rows = retention.BATCH + 7
    async with engine.begin() as conn:
        await conn.execute(
            insert(audit_log),
            [
                {"at": at(400), "actor": "U1", "surface": "slack", "action": "denied"}
                for _ in range(rows)
            ],
        )
    dropped = await Retention(engine, RetentionConfig(), clock=lambda: NOW).prune()
    assert dropped["audit_log"] == rows
    assert await count(engine, audit_log) == 0


async def test_ticks_still_claimable_are_never_pruned(engine: AsyncEngine) -> None:
    """With a misfire grace longer than `retention.job_ticks`, a tick inside the grace stays:
    gone, its digest could be claimed and posted again."""
    config = RetentionConfig(job_ticks=timedelta(days=1))
    for days in (3, 2):
        assert await TickClaims(engine, "r1", clock=lambda d=days: at(d)).claim("j", at(days))
    assert await TickClaims(engine, "r1", clock=lambda: at(0)).claim("j", at(0))
    horizon = timedelta(days=2, hours=12)
    await Retention(engine, config, tick_horizon=horizon, clock=lambda: NOW).prune()
    async with engine.connect() as conn:
        kept = (await conn.execute(select(job_ticks.c.scheduled_at))).scalars().all()
    assert sorted(kept) == [at(2), at(0)]


def test_retention_is_set_in_convbot_yml_and_at_least_a_day() -> None:
    config = OpsConfig.model_validate({"retention": {"audit_log": "730d", "job_ticks": "7d"}})
    assert config.retention.audit_log == timedelta(days=730)
    assert config.retention.job_ticks == timedelta(days=7)
    assert config.retention.escalations == timedelta(days=90)  # the default
    with pytest.raises(ValidationError, match="at least 1d"):
        OpsConfig.model_validate({"retention": {"audit_log": "12h"}})
    with pytest.raises(ValidationError):
        OpsConfig.model_validate({"retention": {"audit_logs": "30d"}})  # a typo is named


async def test_every_replica_prunes_hourly(tmp_path: Path) -> None:
    """The scheduler each replica starts holds the retention job, hourly; run as it runs, it
    prunes the bot's own database (an audit row older than `retention.audit_log: 2d`)."""
    async with running_bot(tmp_path, config={"retention": {"audit_log": "2d"}}) as slack:
        runtime = slack.serving.runtime
        scheduler = start_scheduler(runtime.jobs, runtime.config)
        try:
            job = scheduler.get_job("housekeeping:retention")
            assert job is not None and job.trigger.interval == timedelta(hours=1)
            old = datetime.now(UTC) - timedelta(days=3)
            await AuditLog(runtime.engine, clock=lambda: old).record(
                ANA, "denied", None, None, None
            )
            await AuditLog(runtime.engine).record(ANA, "denied", None, None, None)
            dropped = await job.func()
        finally:
            scheduler.shutdown(wait=False)
        assert dropped["audit_log"] == 1
        assert len(await runtime.audit.history()) == 1
