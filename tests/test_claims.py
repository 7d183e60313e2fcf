"""Card claims: the first press on a version wins; a dead press's claim lapses; old rows go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
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


@pytest.mark.slow
async def test_a_press_slower_than_the_lease_keeps_its_claim_while_it_runs(
    engine: AsyncEngine,
) -> None:
    # A press waiting on a stalled Infobip once lost its claim after the lease: a second press
    # on the same card then acted on the old version too.
    # Renewed every third of a lease: 1 s lets a loaded machine stall a renewal for 0.6 s.
    lease = timedelta(seconds=1.0)
    claims = CardClaims(engine, lease=lease)
    assert await claims.claim("c1", VERSION, "route", "U1")
    async with claims.holding("c1", VERSION):
        await asyncio.sleep(lease.total_seconds() * 3)  # three leases into the press
        assert not await claims.claim("c1", VERSION, "route", "U2")
    # A press that is not held (its process died) lapses as before.
    assert await claims.claim("c2", VERSION, "route", "U1")
    await asyncio.sleep(lease.total_seconds() * 1.5)
    assert await claims.claim("c2", VERSION, "route", "U2")
