"""A small time-bounded cache for answers that change rarely (user e-mails, group members)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot import deadlines

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        # One load per key at a time: when an entry expires under load, every request in
        # flight waits for the same fetch instead of each sending its own.
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = pending
        # A caller that joins another's load waits no longer than its own deadline allows
        # (bot.deadlines): the load it joined was bounded by the starter's deadline, not its own.
        async with asyncio.timeout(deadlines.remaining()):
            return await asyncio.shield(pending)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            self._loading.pop(key, None)
        if len(self._entries) >= self._max:
            self._entries.clear()  # crude, but bounded: a bot never needs 10k warm entries
        self._entries[key] = (time.monotonic() + self._ttl, value)
        return value
