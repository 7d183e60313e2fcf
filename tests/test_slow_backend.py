"""A slow Infobip: /conv still acks at once, and the answer follows through the response_url.

The emulator answers every request 2 s late (Slack gives an app 3 s to ack; one backend call
plus the drawing's queue and agent lookups would already miss it). The bot must ack before it
touches the backend, then post the card when the backend has answered.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import ResponsePost
from bot.devtools.loopback import serve_in_background
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.slack_harness import CHANNEL, Command, SlackHarness, eventually, running_bot, texts

# The slow tier (tests/conftest.py): an emulator that answers 2 s late, and the bot served.
pytestmark = pytest.mark.slow

BACKEND_LATENCY = 2.0  # seconds, added by the emulator before every answer
ACK_BUDGET = 1.0  # seconds: inside Slack's 3 s, and half of one backend call (a loaded CI
# machine takes a few hundred ms to ack a freshly started bot's first command)
ANSWER_TIMEOUT = 20.0  # a create costs a few sequential backend calls of 2 s each


@pytest.fixture
async def slow_infobip(tmp_path: Path) -> AsyncIterator[str]:
    """The emulator over a seeded embedded store, 2 s per request, on loopback: its base URL."""
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        app = create_emulator_app(store, EMULATOR_KEY, latency=BACKEND_LATENCY)
        async with serve_in_background(app) as base_url:
            yield base_url
    finally:
        await engine.dispose()


@pytest.fixture
async def slack(tmp_path: Path, slow_infobip: str) -> AsyncIterator[SlackHarness]:
    async with running_bot(
        tmp_path, infobip_base_url=slow_infobip, infobip_api_key=EMULATOR_KEY
    ) as harness:
        yield harness


async def timed_command(slack: SlackHarness, text: str) -> tuple[Command, float]:
    """The command, and the seconds from sending it to its HTTP ack."""
    started = time.perf_counter()
    command = await slack.command(text)
    return command, time.perf_counter() - started


async def slow_answer(command: Command) -> ResponsePost:
    """The response_url post, waited for longer than the harness's default."""
    fake = command.harness.fake

    def posted() -> ResponsePost | None:
        return next((p for p in fake.responses if p.token == command.token), None)

    return await eventually(posted, seconds=ANSWER_TIMEOUT)


async def test_the_emulator_answers_late_by_its_latency(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        app = create_emulator_app(await seeded_local(engine), EMULATOR_KEY, latency=0.2)
        async with (
            serve_in_background(app) as base_url,
            httpx.AsyncClient(base_url=base_url) as http,
        ):
            auth = {"Authorization": f"App {EMULATOR_KEY}"}
            for path, headers, status in [
                ("/ccaas/1/queues", auth, 200),
                ("/ccaas/1/queues", {}, 401),  # refusals are late too
            ]:
                started = time.perf_counter()
                response = await http.get(path, headers=headers)
                assert response.status_code == status
                assert time.perf_counter() - started >= 0.2
    finally:
        await engine.dispose()


async def test_create_acks_at_once_and_the_card_follows(slack: SlackHarness) -> None:
    sent = time.time()
    command, ack_seconds = await timed_command(slack, "create Printer on fire priority:high")

    assert command.ack.status_code == 200
    assert ack_seconds < ACK_BUDGET, f"acked in {ack_seconds * 1000:.0f} ms"
    assert not slack.fake.responses  # nothing could be answered yet: the backend takes 2 s

    answer = await slow_answer(command)
    assert answer.time - sent >= BACKEND_LATENCY  # it waited for the backend, after the ack
    assert answer.response_type == "in_channel"
    shown = texts(answer.blocks)
    assert "Printer on fire" in shown and "HIGH" in shown
    [message] = slack.channel_messages(CHANNEL)
    assert "Printer on fire" in texts(message.blocks)


async def test_list_acks_at_once_on_a_slow_backend(slack: SlackHarness) -> None:
    await slow_answer((await timed_command(slack, "create Printer on fire"))[0])

    command, ack_seconds = await timed_command(slack, "list")

    assert command.ack.status_code == 200
    assert ack_seconds < ACK_BUDGET, f"acked in {ack_seconds * 1000:.0f} ms"
    answer = await slow_answer(command)
    assert answer.response_type == "ephemeral"
    assert "Printer on fire" in texts(answer.blocks)
