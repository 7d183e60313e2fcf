"""A bot process killed (-9) in the middle of a digest, then replaced: nothing lost, nothing twice.

What "nothing lost or repeated" can mean for a digest: a tick is claimed in the state database,
built, then posted with chat.postMessage, which has no idempotency key (and the bot may not read
channel history). So:

- killed before it asked Slack (here: while the backend is slow to answer the digest's query),
  the tick is taken over one `scheduler.tick_lease` after the claim, by a replica still running
  or by the restarted bot, and posted exactly once;
- killed after it asked Slack (here: Slack has the post, its answer is late), nobody can know
  whether the post got through, so the tick is not posted again: it is recorded as failed
  ("… not posted again, since Slack may already show it"), visible in /readyz. At most once;
  the post Slack has is the only one.

(bot/state/ticks.py has the reasoning; tests/test_ticks.py the claim rules on both databases.)
A bot killed while an escalation step waits is in tests/test_escalation_replicas.py
(`test_a_bot_killed_while_a_step_waits_is_replaced_and_the_step_paged_once`, SQLite and
PostgreSQL): the step is paged once by the replacement.

Each digest here is hourly with an hour's misfire grace, so a bot starting up catches up on the
current hour's tick at once (the tick under test) and no other tick falls due during a test.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import FakeSlack, SlackCall, serve_fake_slack
from bot.devtools.loopback import serve_in_background
from bot.state.db import create_engine
from bot.state.tables import job_ticks
from bot.state.ticks import ABANDONED, TickRecord
from tests.conftest import EMULATOR_KEY, POSTGRES_URL, fresh_postgres_schema, seeded_local
from tests.conftest import sqlite_engine as migrated_sqlite
from tests.reliability.processes import convbot_serve
from tests.slack_harness import CHANNEL, eventually, fake_workspace, write_config

JOB = "digest:hourly"
LEASE = 3  # seconds: scheduler.tick_lease in these tests (a minute by default)
HOURLY = {
    "digests": [{"name": "hourly", "channel": CHANNEL, "every": "1h", "skip_if_empty": False}],
    "scheduler": {"misfire_grace": "1h", "tick_lease": f"{LEASE}s"},
}

# A digest of its own for a bot's start-up to post into another channel: see `caught_up`.
WITNESS = "CWITNESS01"
WITNESSED = {
    **HOURLY,
    "digests": [
        *HOURLY["digests"],
        {"name": "witness", "channel": WITNESS, "every": "1h", "skip_if_empty": False},
    ],
}


def digest_posts(fake: FakeSlack) -> list[SlackCall]:
    """chat.postMessage calls into the digest channel that reached Slack's method."""
    return [
        call
        for call in fake.calls_to("chat.postMessage", faulted=False)
        if call.args.get("channel") == CHANNEL
    ]


async def the_tick(engine: AsyncEngine) -> TickRecord | None:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(job_ticks).where(job_ticks.c.job_id == JOB))).mappings()
        found = [TickRecord.model_validate(dict(row)) for row in rows]
    assert len(found) <= 1, found  # one hourly tick during a test, never another
    return found[0] if found else None


async def caught_up(fake: FakeSlack) -> None:
    """Wait until a bot started with WITNESSED has caught up on the hourly digest. Its start-up
    looks at each digest in turn, in the config's order (DigestJobs.catch_up), and the witness,
    listed after the hourly one, is always posted: once it is, the hourly one has been looked
    at, and a second post of its tick would already be there."""
    await eventually(lambda: fake.messages_in(WITNESS), seconds=20)


def claimant_pid(record: TickRecord) -> int:
    """The process id in the claimant's name (host:pid:nonce, bot/jobs/scheduler.py)."""
    return int(record.claimed_by.split(":")[1])


async def away_from_the_hour() -> datetime:
    """The hour's tick under test (waiting first if the next hour would begin during the test:
    its tick would then be the one due)."""
    left = 3600 - time.time() % 3600
    if left < 60:
        await asyncio.sleep(left + 0.5)
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A state database for the bots to share (a SQLite file, or a fresh PostgreSQL schema),
    and an engine of the test's own on it."""
    async with AsyncExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path}/state.db"
        else:
            schema = await stack.enter_async_context(fresh_postgres_schema())
            url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        yield url, engine


class SlowListing:
    """ASGI middleware: while `open` is clear, conversation listings (the digest's query) wait."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = asyncio.Event()
        self.open.set()
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].endswith("/conversations")
            and not self.open.is_set()
        ):
            self.waiting += 1
            await self.open.wait()
        await self.app(scope, receive, send)


@asynccontextmanager
async def slow_infobip(tmp_path: Path) -> AsyncIterator[tuple[dict[str, str], SlowListing]]:
    """The Infobip emulator on loopback, gated: the environment that points a bot at it."""
    store_engine = await migrated_sqlite(tmp_path / "emulator.db")
    try:
        gate = SlowListing(create_emulator_app(await seeded_local(store_engine), EMULATOR_KEY))
        async with serve_in_background(gate) as base_url:
            yield {"INFOBIP_BASE_URL": base_url, "INFOBIP_API_KEY": EMULATOR_KEY}, gate
            gate.open.set()  # nothing left waiting when the server stops
    finally:
        await store_engine.dispose()


def workdirs(tmp_path: Path, *names: str) -> list[Path]:
    made = []
    for name in names:
        (tmp_path / name).mkdir()
        write_config(tmp_path / name / "convbot.yml", HOURLY)
        made.append(tmp_path / name)
    return made


async def kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()  # SIGKILL: no shutdown of any kind
    await asyncio.to_thread(process.wait, 10)


@pytest.mark.parametrize(
    ("kind", "replaced_by"),
    [
        ("sqlite", "a restart"),
        pytest.param("postgres", "a surviving replica", marks=pytest.mark.postgres),
    ],
)
async def test_killed_before_posting_the_tick_is_taken_over_and_posted_once(
    tmp_path: Path, kind: str, replaced_by: str
) -> None:
    """The claimant is killed while the backend answers its digest query; the tick is posted
    once, by the replica that took it over (a replica already running, which looks again when
    the lease ends, or the restarted bot), and a later restart posts nothing more."""
    fake = fake_workspace()
    fake.add_channel(WITNESS, "witness")
    first_dir, second_dir, third_dir = workdirs(tmp_path, "first", "second", "third")
    tick = await away_from_the_hour()
    async with (
        database(kind, tmp_path) as (url, engine),
        slow_infobip(tmp_path) as (infobip, gate),
        serve_fake_slack(fake),
        AsyncExitStack() as bots,
    ):
        gate.open.clear()
        first, _ = await bots.enter_async_context(convbot_serve(first_dir, fake, url, env=infobip))
        claimed = await eventually(lambda: the_tick(engine), seconds=20)
        assert claimed.scheduled_at == tick and claimant_pid(claimed) == first.pid
        if replaced_by == "a surviving replica":  # it starts, finds the tick held: waits
            second, _ = await bots.enter_async_context(
                convbot_serve(second_dir, fake, url, env=infobip)
            )
        await eventually(lambda: gate.waiting >= 1, seconds=20)  # the build is under way
        await kill(first)
        killed_at = time.time()
        # Claimed, never posting, never finished (or already taken over by a survivor that
        # started after the lease ran out: it waits at the gate, still closed).
        left = await the_tick(engine)
        assert left is not None and left.posting_at is None and left.finished_at is None
        assert digest_posts(fake) == []
        gate.open.set()
        if replaced_by == "a restart":
            second, _ = await bots.enter_async_context(
                convbot_serve(second_dir, fake, url, env=infobip)
            )

        async def finished() -> TickRecord | None:
            record = await the_tick(engine)
            return record if record is not None and record.finished_at is not None else None

        done = await eventually(finished, seconds=LEASE + 15)
        posted = await eventually(lambda: digest_posts(fake), seconds=5)
        # Taken over only when the lease had run out, by the replacement.
        assert done.claimed_at >= claimed.claimed_at + timedelta(seconds=LEASE)
        assert claimant_pid(done) == second.pid and done.error is None
        assert done.posting_at is not None
        assert posted[0].time >= killed_at

        # The killed bot comes back: the tick is done, nothing more is posted.
        write_config(third_dir / "convbot.yml", WITNESSED)
        await bots.enter_async_context(convbot_serve(third_dir, fake, url, env=infobip))
        await caught_up(fake)
        posts = digest_posts(fake)
        final = await the_tick(engine)
    assert len(posts) == 1, [c.args.get("text") for c in posts]
    assert final == done
    assert [m.text for m in fake.messages_in(CHANNEL)] == [posts[0].args.get("text")]


async def test_killed_while_slack_answers_its_post_the_tick_is_not_posted_again(
    tmp_path: Path,
) -> None:
    """Slack has the post, its answer is late, and the bot is killed before reading it: the
    restarted bot does not post the tick again, and records why in the tick (shown in /readyz)."""
    fake = fake_workspace()
    first_dir, second_dir = workdirs(tmp_path, "first", "second")
    tick = await away_from_the_hour()
    # Applied at once, answered 6 s late: the post is in the channel, its ts never reaches the bot.
    fake.fail("chat.postMessage", delay=6, match={"channel": CHANNEL})
    async with (
        database("sqlite", tmp_path) as (url, engine),
        serve_fake_slack(fake),
        AsyncExitStack() as bots,
    ):
        first, _ = await bots.enter_async_context(convbot_serve(first_dir, fake, url))

        async def posting() -> TickRecord | None:
            record = await the_tick(engine)
            return record if record is not None and record.posting_at is not None else None

        marked = await eventually(posting, seconds=20)
        await eventually(lambda: digest_posts(fake), seconds=5)
        await kill(first)
        fake.clear_faults()
        assert marked.scheduled_at == tick and marked.finished_at is None
        assert len(fake.messages_in(CHANNEL)) == 1

        _, second = await bots.enter_async_context(convbot_serve(second_dir, fake, url))

        async def abandoned() -> TickRecord | None:
            record = await the_tick(engine)
            return record if record is not None and record.finished_at is not None else None

        done = await eventually(abandoned, seconds=LEASE + 15)
        await asyncio.sleep(1.0)  # nothing more comes
        ready = await second.http.get(f"{second.bot_url}/readyz")
        posts = digest_posts(fake)
    assert done.error == ABANDONED and done.claimed_by == marked.claimed_by
    assert done.finished_at is not None and marked.posting_at is not None
    assert done.finished_at >= marked.posting_at + timedelta(seconds=LEASE)
    assert len(posts) == 1 and len(fake.messages_in(CHANNEL)) == 1
    assert ready.status_code == 200, ready.text  # a digest's error is detail, not unreadiness
    assert ready.json()["digests"]["hourly"]["last_error"] == ABANDONED
