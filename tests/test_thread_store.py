"""The threads table (bot/state/threads.py) on SQLite and PostgreSQL: one thread per
(conversation, channel) whoever opens it, the mirror's cursor, channel leases between replicas,
and retired threads dropped by retention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import RetentionConfig
from bot.state.db import migrate
from bot.state.retention import Retention
from bot.state.tables import thread_channel_leases
from bot.state.threads import ChannelLeases, ThreadStore
from tests.conftest import postgres_engine

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def test_two_openings_at_once_make_one_thread(engine: AsyncEngine) -> None:
    store = ThreadStore(engine)
    first, second = await asyncio.gather(
        store.open("c-1", "C0SUPPORT1", "100.000001", "UANA00001"),
        store.open("c-1", "C0SUPPORT1", "200.000002", "UBEN00002"),
    )
    assert sorted([first[1], second[1]]) == [False, True]
    assert first[0] == second[0]
    other, opened = await store.open("c-1", "C0OTHER001", "300.000003", "UANA00001")
    assert opened and other.root_ts == "300.000003"


async def test_the_cursor_moves_and_a_back_off_ends_with_a_success(engine: AsyncEngine) -> None:
    clock = Clock()
    store = ThreadStore(engine, clock=clock)
    await store.open("c-1", "C0SUPPORT1", "1.1", "UANA00001")
    await store.back_off("c-1", "C0SUPPORT1", 2, NOW + timedelta(seconds=10))
    assert await store.open_in("C0SUPPORT1", 10) == []
    clock.now = NOW + timedelta(seconds=10)
    [due] = await store.open_in("C0SUPPORT1", 10)
    assert due.failures == 2
    await store.advance("c-1", "C0SUPPORT1", NOW, ["m-1", "m-2"])
    found = await store.find("c-1", "C0SUPPORT1")
    assert found is not None
    assert (found.cursor_at, found.cursor_ids, found.failures) == (NOW, ("m-1", "m-2"), 0)
    await store.set_permalink("c-1", "C0SUPPORT1", "https://x.slack.com/archives/C0SUPPORT1/p11")
    assert await store.links("C0SUPPORT1", ["c-1", "c-2"]) == {
        "c-1": "https://x.slack.com/archives/C0SUPPORT1/p11"
    }
    assert await store.open_channels(10) == ["C0SUPPORT1"]
    await store.retire("c-1", "C0SUPPORT1")
    assert await store.open_channels(10) == []


async def test_a_cursor_moves_only_from_the_version_it_read(engine: AsyncEngine) -> None:
    store = ThreadStore(engine)
    opened, _ = await store.open("c-1", "C0SUPPORT1", "1.1", "UANA00001", cursor_at=NOW)
    assert opened.cursor_version == 0
    later = NOW + timedelta(minutes=1)
    # Another writer (the mirror past a slow opening's hold) moved it first...
    assert await store.advance("c-1", "C0SUPPORT1", later, ["m-9"], was=0)
    # ... so the late write from the same version changes nothing.
    assert not await store.advance("c-1", "C0SUPPORT1", NOW, ["m-1"], was=0)
    found = await store.find("c-1", "C0SUPPORT1")
    assert found is not None
    assert (found.cursor_at, found.cursor_ids, found.cursor_version) == (later, ("m-9",), 1)


async def test_a_channel_is_mirrored_by_one_replica_until_its_lease_runs_out(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    one = ChannelLeases(engine, "one", timedelta(seconds=30), clock=clock)
    two = ChannelLeases(engine, "two", timedelta(seconds=30), clock=clock)
    assert await one.hold("C0SUPPORT1")
    assert not await two.hold("C0SUPPORT1")
    assert await one.hold("C0SUPPORT1")  # renewed
    clock.now = NOW + timedelta(seconds=31)
    assert await two.hold("C0SUPPORT1")
    assert not await one.hold("C0SUPPORT1")
    await two.release("C0SUPPORT1")
    assert await one.hold("C0SUPPORT1")


@pytest.fixture
async def postgres() -> AsyncIterator[AsyncEngine]:
    """PostgreSQL alone: SQLite is one machine, whose replicas share a clock."""
    async for engine in postgres_engine():
        await migrate(engine)
        yield engine


@pytest.mark.postgres
async def test_on_postgresql_a_lease_is_timed_by_the_databases_clock(
    postgres: AsyncEngine,
) -> None:
    engine = postgres
    sent: list[tuple[str, object]] = []

    def record(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if "thread_channel_leases" in statement:
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        one = ChannelLeases(engine, "one", timedelta(seconds=30))
        two = ChannelLeases(engine, "two", timedelta(seconds=30))
        assert await one.hold("C0SUPPORT1")
        assert not await two.hold("C0SUPPORT1")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    # No replica's clock reaches the database: every lease statement reads now() there, and
    # none carries a moment of its own (a replica whose clock runs ahead would end a lease
    # early, one behind would keep it too long).
    writes = [(s, p) for s, p in sent if not s.lstrip().upper().startswith("DELETE")]
    assert writes and all("now()" in s for s, _ in writes), writes
    values = [v for _, p in writes for v in (p.values() if isinstance(p, dict) else p or ())]
    assert not any(isinstance(v, datetime) for v in values), values
    async with engine.connect() as conn:
        until, now = (
            await conn.execute(
                select(thread_channel_leases.c.until, func.now()).where(
                    thread_channel_leases.c.channel_id == "C0SUPPORT1"
                )
            )
        ).one()
    assert timedelta(seconds=29) < until - now <= timedelta(seconds=30)
    # A lease that ran out by the database's clock is taken over.
    short = ChannelLeases(engine, "three", timedelta(milliseconds=1))
    assert await short.hold("C0OTHER001")
    await asyncio.sleep(0.01)
    assert await two.hold("C0OTHER001")


async def test_retired_threads_are_dropped_after_their_retention(engine: AsyncEngine) -> None:
    clock = Clock()
    store = ThreadStore(engine, clock=clock)
    for conversation in ("c-old", "c-new", "c-open"):
        await store.open(conversation, "C0SUPPORT1", "1.1", "UANA00001")
    clock.now = NOW - timedelta(days=31)
    await store.retire("c-old", "C0SUPPORT1")
    clock.now = NOW - timedelta(days=1)
    await store.retire("c-new", "C0SUPPORT1")
    dropped = await Retention(engine, RetentionConfig(), clock=lambda: NOW).prune()
    assert dropped["slack_threads"] == 1
    assert await store.find("c-old", "C0SUPPORT1") is None
    assert await store.find("c-new", "C0SUPPORT1") is not None
    assert await store.find("c-open", "C0SUPPORT1") is not None
