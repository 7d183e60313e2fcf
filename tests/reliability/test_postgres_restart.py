"""PostgreSQL restarted under a running bot: it says it is not ready, answers people with a
sentence meanwhile, and recovers by itself when the server is back (no restart of the bot).

The server is a private cluster of the test's own (tests/reliability/private_postgres.py): the
machine's shared server is never touched. The bot keeps everything there (the embedded backend
and its own state), so both /readyz checks fail while it is down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.server import READY_CACHE_SECONDS, READY_TIMEOUT
from tests.reliability.private_postgres import PrivateCluster, private_cluster
from tests.slack_harness import CHANNEL, SlackHarness, eventually, running_bot

pytestmark = pytest.mark.postgres

DIGESTS = {
    "digests": [{"name": "pulse", "channel": CHANNEL, "every": "1s", "skip_if_empty": False}],
    "scheduler": {"misfire_grace": "5s"},
}


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    with private_cluster() as cluster:
        yield cluster


async def readyz(slack: SlackHarness) -> httpx.Response:
    return await slack.http.get(f"{slack.bot_url}/readyz", timeout=15)


def digest_posts(slack: SlackHarness) -> int:
    return sum(
        1
        for call in slack.fake.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == CHANNEL
    )


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restarted_under_the_bot(
    tmp_path: Path, private_postgres: PrivateCluster, mode: str
) -> None:
    """Stopped (`fast`: connections closed; `immediate`: as in a crash, with recovery at start)
    while the bot runs; started again a few seconds later."""
    async with running_bot(tmp_path, config=DIGESTS, database_url=private_postgres.url) as slack:
        ready = await readyz(slack)
        assert ready.status_code == 200, ready.text
        assert (ready.json()["database"], ready.json()["backend"]) == ("ok", "ok")
        before = await slack.create("Before the restart priority:high")
        await eventually(lambda: digest_posts(slack) >= 1, seconds=10)

        await private_postgres.stop_async(mode)
        stopped = time.monotonic()
        while True:  # the answer before the stop stands for READY_CACHE_SECONDS at most
            asked = time.monotonic()
            down = await readyz(slack)
            assert time.monotonic() - asked < READY_TIMEOUT + 1  # not hung on the dead server
            if down.status_code != 200:
                break
            assert time.monotonic() - stopped < READY_CACHE_SECONDS + READY_TIMEOUT + 1
            await asyncio.sleep(0.1)
        assert down.status_code == 503, down.text
        assert down.json()["database"].startswith("The state database at postgresql+psycopg://")
        assert "is not answering (OperationalError); check DATABASE_URL" in down.json()["database"]
        assert "is not answering" in down.json()["backend"]  # the embedded store is there too
        # People get a sentence, at once, not an error page or a traceback.
        for text in ("create While the database is down", "list", f"show {before.id}"):
            sent = await slack.command(text)
            assert sent.ack.status_code == 200, (text, sent.ack.status_code, sent.ack.text)
            answer = await sent.answer()
            assert answer.response_type == "ephemeral", (text, answer.body)
            assert answer.text.startswith("The embedded store at postgresql+psycopg://"), answer
            assert answer.text.endswith(
                "is not answering (OperationalError); check DATABASE_URL and try again."
            )
            assert "Traceback" not in str(answer.body)
        await asyncio.sleep(1.5)  # a digest tick or two fall due while it is down
        posts_while_down = digest_posts(slack)

        await private_postgres.start_async()  # returns once it accepts connections
        restarted = time.monotonic()
        after = await slack.create("After the restart priority:high")  # the first try works
        while (await readyz(slack)).status_code != 200:  # by itself: the bot is not touched
            assert time.monotonic() - restarted < 10 + READY_CACHE_SECONDS, (
                await readyz(slack)
            ).text
            await asyncio.sleep(0.1)
        recovered = time.monotonic() - restarted
        shown = await (await slack.command(f"show {before.id}")).answer()
        listed = await (await slack.command("list")).answer()
        await eventually(lambda: digest_posts(slack) >= posts_while_down + 2, seconds=10)
    assert before.id in str(shown.body) and "Before the restart" in str(shown.body)
    assert after.id in str(listed.body) and before.id in str(listed.body)
    assert "While the database is down" not in str(listed.body)  # nothing half-made
    print(f"/readyz 200 again {recovered:.2f} s after the server was back ({mode})")
