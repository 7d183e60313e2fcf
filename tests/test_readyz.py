"""`/readyz` with digests configured: each digest's last run, last error and next run.

The bot runs for real against the fake Slack; ticks are recorded in its state database by
another engine, as another replica would, and read back through the endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.state.db import create_engine
from bot.state.ticks import TickClaims
from tests.slack_harness import CHANNEL, running_bot

# The slow tier (tests/conftest.py): the bot served on loopback, probed over HTTP.
pytestmark = pytest.mark.slow

# Once a year: the bot's own scheduler has no tick to run (or catch up on) during the test.
YEARLY = "0 0 1 1 *"
DIGESTS = {
    "digests": [
        {"name": "failing", "channel": CHANNEL, "cron": YEARLY},
        {"name": "fine", "channel": CHANNEL, "cron": YEARLY, "timezone": "Europe/Zagreb"},
        {"name": "never-ran", "channel": CHANNEL, "cron": "0 12 1 7 *"},
    ]
}


async def test_readyz_shows_each_digests_last_run_error_and_next_run(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    last_new_year = datetime(now.year - 1, 1, 1, tzinfo=UTC)  # before any catch-up tick
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        replica = create_engine(f"sqlite+aiosqlite:///{tmp_path}/state.db")
        try:
            ticks = TickClaims(replica, "replica-b")
            assert await ticks.claim("digest:failing", last_new_year)
            await ticks.finish("digest:failing", last_new_year, "Slack said is_archived")
            assert await ticks.claim("digest:fine", last_new_year)
            await ticks.finish("digest:fine", last_new_year)
        finally:
            await replica.dispose()

        ready = await slack.http.get(f"{slack.bot_url}/readyz")

    assert ready.status_code == 200, ready.text  # a digest's error is not unreadiness
    body = ready.json()
    assert (body["database"], body["backend"]) == ("ok", "ok")
    next_new_year = datetime(now.year + 1, 1, 1, tzinfo=UTC).isoformat()
    assert body["digests"]["failing"] == {
        "last_run": last_new_year.isoformat(),
        "last_error": "Slack said is_archived",
        "next_run": next_new_year,
    }
    fine = body["digests"]["fine"]
    assert (fine["last_run"], fine["last_error"]) == (last_new_year.isoformat(), None)
    # Midnight on 1 January in Zagreb (UTC+1 in winter), shown in UTC.
    zagreb = ZoneInfo("Europe/Zagreb")
    new_year_there = datetime(now.astimezone(zagreb).year + 1, 1, 1, tzinfo=zagreb)
    assert fine["next_run"] == new_year_there.astimezone(UTC).isoformat()
    assert fine["next_run"].endswith("T23:00:00+00:00")
    never = body["digests"]["never-ran"]
    assert (never["last_run"], never["last_error"]) == (None, None)
    next_run = datetime.fromisoformat(never["next_run"])
    assert (next_run.month, next_run.day, next_run.hour) == (7, 1, 12)
    assert 0 < (next_run - now).days <= 366


async def test_unreadable_ticks_are_a_database_problem_not_a_crash(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        replica = create_engine(f"sqlite+aiosqlite:///{tmp_path}/state.db")
        try:
            async with replica.begin() as conn:
                await conn.execute(text("DROP TABLE job_ticks"))
        finally:
            await replica.dispose()

        ready = await slack.http.get(f"{slack.bot_url}/readyz")

    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["backend"] == "ok"
    assert body["database"].startswith("digest runs unreadable")
    assert set(body["digests"]) == {"failing", "fine", "never-ran"}
    assert body["digests"]["failing"]["last_run"] is None
    assert body["digests"]["failing"]["next_run"] is not None


async def test_without_digests_readyz_keeps_its_two_keys(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        ready = await slack.http.get(f"{slack.bot_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "backend": "ok"}
