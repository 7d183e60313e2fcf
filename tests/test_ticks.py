"""Tick claims: one winner per (job, scheduled time), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.ticks import TickClaims

TICK = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


async def test_one_replica_of_three_claims_each_tick(engine: AsyncEngine) -> None:
    replicas = [TickClaims(engine, f"replica-{n}") for n in range(3)]
    for minute in range(5):
        tick = TICK.replace(minute=minute)
        won = await asyncio.gather(*(r.claim("digest:support", tick) for r in replicas))
        assert sorted(won) == [False, False, True]
    assert await replicas[0].count("digest:support") == 5


async def test_a_tick_records_its_outcome(engine: AsyncEngine) -> None:
    claims = TickClaims(engine, "replica-a")
    assert await claims.claim("digest:x", TICK)
    await claims.finish("digest:x", TICK, error="channel_not_found")
    last = await claims.last("digest:x")
    assert last is not None
    assert (last.scheduled_at, last.claimed_by, last.error) == (
        TICK,
        "replica-a",
        "channel_not_found",
    )
    assert last.finished_at is not None
    assert not await claims.claim("digest:x", TICK)  # a restart does not redo a done tick
