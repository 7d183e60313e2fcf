"""Scheduled digests across restarts: a tick missed while the bot was down is posted once.

(Three replicas posting each tick once: tests/reliability/test_replicas.py; a bot killed in the
middle of a tick: tests/reliability/test_restarts.py.)
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.devtools.fakeslack import FakeSlack
from bot.state.tables import job_ticks
from tests.quiescence import quiescent
from tests.slack_harness import CHANNEL, eventually, fake_workspace, running_bot

pytestmark = pytest.mark.postgres


def every(seconds: int) -> dict[str, object]:
    return {
        "digests": [
            {"name": "fast", "channel": CHANNEL, "every": f"{seconds}s", "skip_if_empty": False}
        ]
    }


def digest_posts(fake: FakeSlack) -> list[object]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]


async def ticks_claimed(harness: object) -> list[tuple[object, str]]:
    engine = harness.serving.runtime.engine  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(job_ticks.c.scheduled_at, job_ticks.c.claimed_by).order_by(
                job_ticks.c.scheduled_at
            )
        )
        return [(r.scheduled_at, r.claimed_by) for r in rows]


async def test_a_tick_missed_during_a_restart_is_posted_once(
    tmp_path: Path, postgres_url: str
) -> None:
    fake = fake_workspace()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with running_bot(tmp_path / "a", config=every(5), fake=fake, database_url=postgres_url):
        await asyncio.sleep(0.5)
    # Down until just past the next 5 s boundary: that tick fires while nobody runs.
    await asyncio.sleep(5 - time.time() % 5 + 0.5)
    before = len(digest_posts(fake))
    restarting_at = time.time()
    async with running_bot(
        tmp_path / "b", config=every(5), fake=fake, database_url=postgres_url
    ) as restarted:
        # The catch-up is posted soon after the start, well before the next tick (a loaded
        # machine may take a while to get there: waited for, not slept on).
        await eventually(lambda: len(digest_posts(fake)) > before, seconds=4.0)
        ticks = await ticks_claimed(restarted)
        assert len(digest_posts(fake)) == before + 1
        missed = ticks[-1]
        assert missed[0].timestamp() < restarting_at  # it was scheduled while we were down
        # Once its work is done (the catch-up, any scheduler job under way: tests/quiescence.py),
        # a second post of the missed tick would have shown.
        await quiescent()
        assert len(digest_posts(fake)) == before + 1  # and posted once
