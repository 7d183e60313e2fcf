"""Card claims: the first press on a version wins; a dead press's claim lapses; old rows go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.claims import KEEP, LEASE, CardClaims

VERSION = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = VERSION

    def __call__(self) -> datetime:
        return self.now


async def test_one_press_per_version_and_release_frees_it(engine: AsyncEngine) -> None:
    claims = CardClaims(engine)
    assert await claims.claim("c1", VERSION, "take", "U1")
    assert not await claims.claim("c1", VERSION, "close", "U2")
    assert await claims.claim("c1", VERSION + timedelta(seconds=1), "close", "U2")
    await claims.release("c1", VERSION)
    assert await claims.claim("c1", VERSION, "route", "U3")


async def test_a_claim_left_by_a_dead_press_lapses_after_its_lease(engine: AsyncEngine) -> None:
    clock = Clock()
    claims = CardClaims(engine, clock=clock)
    assert await claims.claim("c1", VERSION, "take", "U1")
    clock.now += LEASE / 2
    assert not await claims.claim("c1", VERSION, "take", "U2")
    clock.now += LEASE
    assert await claims.claim("c1", VERSION, "take", "U2")


async def test_old_claims_are_forgotten(engine: AsyncEngine) -> None:
    clock = Clock()
    claims = CardClaims(engine, clock=clock)
    assert await claims.claim("old", VERSION, "take", "U1")
    clock.now += KEEP + timedelta(minutes=1)
    assert await claims.claim("new", VERSION, "take", "U1")
    assert await claims.forget_old() == 1
