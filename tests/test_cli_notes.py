"""`convbot conv note` and `reply` as a person runs them (issue 18): a real process, a real SQLite
file. The shell's user is linked to an agent in convbot.yml (`cli:<os user>`), or told how to be."""

from __future__ import annotations

import asyncio
import getpass
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.backends.local import LocalBackend
from bot.messages import MessageCreate, TextContent
from bot.models import Channel
from tests.test_cli import Cli, run_in
from tests.test_messages import CUSTOMER, OUR_NUMBER

# The slow tier (tests/conftest.py): `python -m bot` as a subprocess.
pytestmark = pytest.mark.slow


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def test_a_note_prints_that_it_was_saved_and_an_unlinked_user_is_told_how_to_link(
    tmp_path: Path, cli: Cli
) -> None:
    created = cli("conv", "--json", "create", "Parcel lost")
    assert created.returncode == 0, created.stderr
    cid = json.loads(created.stdout)["id"]

    unlinked = cli("conv", "note", cid, "Called", "them")
    assert unlinked.returncode == 1
    assert "not linked to an agent" in unlinked.stderr
    assert f"add cli:{getpass.getuser()}: <agent id> under agents:" in unlinked.stderr

    (tmp_path / "convbot.yml").write_text(
        "local:\n"
        "  agents: [{id: agent-ana, name: Ana Horvat}]\n"
        f"agents:\n  'cli:{getpass.getuser()}': agent-ana\n"
    )
    saved = cli("conv", "note", cid, "Called them: courier:DHL, back at 5")
    assert saved.returncode == 0, saved.stderr
    assert f"Note saved on conversation {cid}" in saved.stdout
    assert "Traceback" not in saved.stderr

    closed = cli("conv", "close", cid)
    assert closed.returncode == 0, closed.stderr
    late = cli("conv", "note", cid, "Too late")
    assert late.returncode == 1 and "is closed" in late.stderr


def test_a_reply_is_sent_to_the_customer_and_says_where_it_went(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "convbot.yml").write_text(
        "local:\n"
        "  agents: [{id: agent-ana, name: Ana Horvat}]\n"
        f"agents:\n  'cli:{getpass.getuser()}': agent-ana\n"
    )
    created = cli("conv", "--json", "create", "Parcel lost")
    assert created.returncode == 0, created.stderr
    cid = json.loads(created.stdout)["id"]
    silent = cli("conv", "reply", cid, "Hello?")
    assert silent.returncode == 1 and "has not written" in silent.stderr
    asyncio.run(_customer_writes(tmp_path / "convbot.db", cid, "Where is it?"))

    bare = cli("conv", "reply", cid)
    assert bare.returncode == 1 and f"reply {cid} <text …>" in bare.stderr
    sent = cli("conv", "reply", cid, "It left the depot today.")
    assert sent.returncode == 0, sent.stderr
    assert f"Sent to the customer ({CUSTOMER}) on SMS; Infobip accepted it" in sent.stdout
    as_json = cli("conv", "--json", "reply", cid, "And arrives tomorrow.")
    assert "Infobip accepted it" in json.loads(as_json.stdout)["text"]

    asyncio.run(_customer_writes(tmp_path / "convbot.db", cid, "Thanks\x1b[2J\nbye"))
    transcript = cli("conv", "messages", cid)
    assert transcript.returncode == 0, transcript.stderr
    lines = transcript.stdout.splitlines()
    assert lines[0] == f"Conversation {cid}: the latest 4 of 4 messages, oldest first."
    assert lines[1].endswith(f"Customer ({CUSTOMER}): Where is it?")
    assert lines[2].endswith("Agent: It left the depot today.")  # unassigned: no agent named
    assert "\x1b" not in transcript.stdout and lines[4].endswith("Thanks\ufffd[2J")
    assert lines[5].strip() == "bye"  # a second line, indented under the first
    listed = json.loads(cli("conv", "--json", "messages", cid, "limit:2").stdout)
    assert [m["direction"] for m in listed["messages"]] == ["OUTBOUND", "INBOUND"]
    assert listed["pagination"]["totalItems"] == 4 and listed["notes"] == []


async def _customer_writes(database: Path, conversation_id: str, text: str) -> None:
    """The customer writes into the embedded store the CLI uses (a real SQLite file). Not
    validated as what convbot sends is: a customer's text arrives as they wrote it, control
    characters and all."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    try:
        message = MessageCreate.model_construct(
            from_=CUSTOMER,
            to=OUR_NUMBER,
            channel=Channel.SMS,
            contentType="TEXT",
            content=TextContent(text=text),
        )
        await LocalBackend(engine).receive_message(conversation_id, message)
    finally:
        await engine.dispose()
