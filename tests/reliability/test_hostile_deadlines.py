"""A stalled Infobip: every command is answered within its deadline, and help is not held up.

The emulator here answers nothing for a minute (every request hangs, as behind a dead load
balancer). Before commands had a deadline, one `/conv show` answered after 41 s and thirty at once
after two minutes: each retry waited for one of the client's connection slots again. Now each
command, press and form runs under one deadline (`bot.deadlines`, shortened here to keep the
test short); when it passes the person is told in one sentence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import deadlines
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.models import ConversationCreate
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.slack_harness import SlackHarness, eventually, running_bot, texts

DEADLINE = 2.0  # seconds a command may take here (15 s in production)
STALL = 60.0  # the emulator's answer time: far past any deadline
COMMANDS = 30


@pytest.fixture
async def stalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, str]]:
    """A stalled emulator over a store holding one conversation: (base URL, conversation id)."""
    monkeypatch.setattr(deadlines, "COMMAND_SECONDS", DEADLINE)
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        created = await store.create(ConversationCreate(topic="Printer on fire"))
        app = create_emulator_app(store, EMULATOR_KEY, latency=STALL)
        async with serve_in_background(app) as base_url:
            yield base_url, created.id
    finally:
        await engine.dispose()


@pytest.fixture
async def slack(tmp_path: Path, stalled: tuple[str, str]) -> AsyncIterator[SlackHarness]:
    (tmp_path / "bot").mkdir()
    async with running_bot(
        tmp_path / "bot", infobip_base_url=stalled[0], infobip_api_key=EMULATOR_KEY
    ) as harness:
        yield harness


async def answered_within(slack: SlackHarness, text: str) -> tuple[float, str]:
    """Send `/conv <text>`; the seconds until its answer arrived, and the answer's text."""
    started = time.monotonic()
    command = await slack.command(text)
    answer = await eventually(command.answers, seconds=DEADLINE + 10)
    return time.monotonic() - started, answer[0].text + "\n" + texts(answer[0].blocks)


async def test_commands_on_a_stalled_infobip_are_answered_within_their_deadline(
    slack: SlackHarness, stalled: tuple[str, str]
) -> None:
    conversation_id = stalled[1]
    texts = [f"show {conversation_id}", "list", f"take {conversation_id}", "create New one"]
    waits = await asyncio.gather(
        *(answered_within(slack, texts[n % len(texts)]) for n in range(COMMANDS))
    )
    seconds = sorted(took for took, _ in waits)
    # p100, not just p99; the margin is for 30 commands queued on a loaded machine: what this
    # guards against is waiting on the stall (STALL), not a second's scheduling.
    assert seconds[-1] <= DEADLINE + 3.0, seconds
    for _, said in waits:
        assert f"within the {DEADLINE:g} s convbot gives a command" in said or (
            "may" in said  # a create that may have been carried out says so
        ), said


async def test_help_is_not_held_up_by_a_stalled_infobip(
    slack: SlackHarness, stalled: tuple[str, str]
) -> None:
    busy = [asyncio.create_task(answered_within(slack, f"show {stalled[1]}")) for _ in range(20)]
    await asyncio.sleep(0.2)  # the shows are waiting on Infobip now
    took, said = await answered_within(slack, "help")
    assert took < DEADLINE / 2, took  # a help held up by the shows would wait their deadline
    assert "Work on conversations" in said
    await asyncio.gather(*busy)
