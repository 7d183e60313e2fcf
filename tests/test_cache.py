"""The Slack layer's TTL cache: one load per key at a time, failures not cached."""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.cache import TtlCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return 7

    assert await asyncio.gather(*(cache.get("k", load) for _ in range(10))) == [7] * 10
    assert loads == 1
    assert await cache.get("k", load) == 7 and loads == 1


async def test_a_failed_load_is_not_cached() -> None:
    cache: TtlCache[str, int] = TtlCache(60)

    async def broken() -> int:
        raise RuntimeError("down")

    async def fine() -> int:
        return 3

    with pytest.raises(RuntimeError):
        await cache.get("k", broken)
    assert await cache.get("k", fine) == 3


async def test_entries_expire() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    values = iter([1, 2])

    async def load() -> int:
        return next(values)

    assert await cache.get("k", load) == 1
    assert await cache.get("k", load) == 2
