"""Tick claims: one winner per (job, scheduled time), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.ticks import ABANDONED, Taken, TickClaims

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


LEASE = timedelta(minutes=1)


def clocked(engine: AsyncEngine, now: list[datetime], *names: str) -> list[TickClaims]:
    return [TickClaims(engine, name, clock=lambda: now[0]) for name in names]


async def test_a_tick_its_claimant_left_unposted_is_taken_over_after_the_lease(
    engine: AsyncEngine,
) -> None:
    """The claimant died (or stalled) before posting: after the lease another replica takes the
    tick; the first, should it wake up, may no longer post it."""
    now = [TICK]
    a, b, c = clocked(engine, now, "replica-a", "replica-b", "replica-c")
    first = (await a.take("digest:x", TICK, LEASE)).claim
    assert first is not None
    now[0] += timedelta(seconds=30)
    held = await b.take("digest:x", TICK, LEASE)
    assert held.claim is None and held.retry_at == TICK + LEASE  # look again when it ends
    now[0] = TICK + LEASE + timedelta(seconds=1)
    taken = await asyncio.gather(*(r.take("digest:x", TICK, LEASE) for r in (b, c)))
    [second] = [t.claim for t in taken if t.claim is not None]  # one of them, not both
    assert not await a.posting(first)  # fenced: the late claimant must not post
    assert await (b if second.claimed_by == "replica-b" else c).posting(second)
    await b.finish("digest:x", TICK)
    last = await a.last("digest:x")
    assert last is not None and last.claimed_by == second.claimed_by and last.error is None
    assert await a.take("digest:x", TICK, LEASE) == Taken()  # done: nothing to look at


async def test_a_tick_whose_post_began_is_never_taken_over(engine: AsyncEngine) -> None:
    """Slack may have the post of a claimant that stopped mid-post: not posted again, recorded
    as abandoned one lease after the post began (a live claimant's own outcome still wins)."""
    now = [TICK]
    a, b = clocked(engine, now, "replica-a", "replica-b")
    claim = (await a.take("digest:x", TICK, LEASE)).claim
    assert claim is not None
    now[0] += timedelta(seconds=5)
    assert await a.posting(claim)
    assert not await a.posting(claim)  # marked once
    now[0] = TICK + LEASE + timedelta(seconds=1)
    held = await b.take("digest:x", TICK, LEASE)
    assert held == Taken(retry_at=TICK + timedelta(seconds=5) + LEASE)
    now[0] += timedelta(seconds=5)
    assert await b.take("digest:x", TICK, LEASE) == Taken()
    last = await b.last("digest:x")
    assert last is not None and last.claimed_by == "replica-a"
    assert last.finished_at is not None and last.error == ABANDONED
    await a.finish("digest:x", TICK)  # it was alive after all, only slow: its outcome stands
    last = await b.last("digest:x")
    assert last is not None and last.error is None
