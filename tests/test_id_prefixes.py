"""A conversation id may be typed as a unique prefix of 8 or more characters, wherever an id goes,
on both backends; a whole id costs what it always did."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.commands.result import CommandResult
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.errors import InvalidInput, NotFound
from bot.models import Actor, ConversationCreate
from bot.service.conversations import ConversationService
from bot.state.audit import AuditLog
from bot.state.known_ids import KnownConversationIds
from bot.state.snoozes import SnoozeStore
from bot.timestamps import utcnow
from tests.conftest import EMULATOR_KEY, runtime_over, sqlite_engine
from tests.contract import ContractCheckingTransport
from tests.seed import SEED
from tests.slack_harness import BEN, eventually, running_bot, texts, write_config
from tests.test_cli import run_in
from tests.test_slack_buttons import backend_settings
from tests.test_slack_escalation import ONCALL

ANA = Actor(id="U_ANA", surface="slack", agent_id="agent-ana")
PRINTER = "1b2c3d4e-0000-4000-8000-000000000001"
REFUND = "8f3a2c4e-1111-4000-8000-000000000002"
LOGIN = "8f3a2c4e-2222-4000-8000-000000000003"
OLDEST = "0a0b0c0d-3333-4000-8000-000000000004"
RECENT_PAGE = 200  # bot/backends/infobip/backend.py RECENT_FOR_PREFIX


@dataclass
class Prefixes:
    """The service over one backend whose store makes the ids a test asks for."""

    kind: str
    service: ConversationService
    audit: AuditLog
    store: LocalBackend  # where the conversations live (the emulator's store on Infobip)
    transport: ContractCheckingTransport | None = None
    next_ids: list[str] = field(default_factory=list)

    async def make(self, topic: str, conversation_id: str) -> str:
        self.next_ids.append(conversation_id)
        created = await self.run(f"create {topic}")
        assert created.conversation is not None and created.conversation.id == conversation_id
        return conversation_id

    async def run(self, text: str) -> CommandResult:
        return await execute(parse(text), self.service, ANA)

    async def shown(self, conversation_id: str) -> str:
        found = (await self.run(f"show {conversation_id}")).conversation
        assert found is not None
        return found.id


@pytest.fixture(params=["embedded", "infobip-emulator"])
async def prefixes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Prefixes]:
    next_ids: list[str] = []

    def new_id() -> str:
        return next_ids.pop(0) if next_ids else str(uuid.uuid4())

    state = await sqlite_engine(tmp_path / "state.db")
    try:
        if request.param == "embedded":
            store = LocalBackend(state, new_id=new_id)
            await store.seed(SEED)
            runtime = await runtime_over(state, store)
            yield Prefixes(
                "embedded", runtime.conversations, runtime.audit, store, next_ids=next_ids
            )
            return
        engine = await sqlite_engine(tmp_path / "emulator.db")
        try:
            store = LocalBackend(engine, new_id=new_id)
            await store.seed(SEED)
            async with serve_in_background(create_emulator_app(store, EMULATOR_KEY)) as url:
                transport = ContractCheckingTransport()
                infobip = InfobipBackend(url, EMULATOR_KEY, transport=transport, max_retries=0)
                runtime = await runtime_over(state, infobip)
                service, audit = runtime.conversations, runtime.audit
                try:
                    yield Prefixes("infobip-emulator", service, audit, store, transport, next_ids)
                finally:
                    await infobip.aclose()
                assert transport.violations == [], transport.violations
        finally:
            await engine.dispose()
    finally:
        await state.dispose()


async def test_every_id_command_takes_a_unique_prefix(prefixes: Prefixes) -> None:
    await prefixes.make("Printer on fire", PRINTER)
    await prefixes.make("Refund twice", REFUND)
    short = PRINTER[:8]
    assert await prefixes.shown(short) == PRINTER
    steps = [
        (f"update {short} priority:high", lambda c: c.priority.value == "HIGH"),
        (f"assign {short} ben", lambda c: c.agentId == "agent-ben"),
        (f"unassign {short}", lambda c: c.agentId is None),
        (f"take {short}", lambda c: c.agentId == "agent-ana"),
        (f"route {short}", lambda c: c.id == PRINTER),
        (f"tag {short} vip", lambda c: "vip" in (c.tags or [])),
        (f"untag {short} vip", lambda c: "vip" not in (c.tags or [])),
        (f"close {short}", lambda c: c.status.value == "CLOSED"),
    ]
    for text, holds in steps:
        result = await prefixes.run(text)
        assert result.conversation is not None and holds(result.conversation), text
        assert result.conversation.id == PRINTER
    # The audit log names the conversation by its whole id, never by what was typed.
    audited = {entry.conversation_id for entry in await prefixes.audit.history()}
    assert audited == {PRINTER, REFUND}


async def test_an_ambiguous_prefix_names_the_candidates_and_how_to_pick(
    prefixes: Prefixes,
) -> None:
    await prefixes.make("Refund twice", REFUND)
    await prefixes.make("Login broken", LOGIN)
    with pytest.raises(InvalidInput) as info:
        await prefixes.run("close 8f3a2c4e")
    message = info.value.message
    assert message.startswith("'8f3a2c4e' starts the ids of several conversations:")
    assert f"`{REFUND}` Refund twice" in message and f"`{LOGIN}` Login broken" in message
    assert message.endswith("Type more of the id to pick one.")
    assert "and more" not in message
    assert await prefixes.shown("8f3a2c4e-2") == LOGIN
    assert (await prefixes.service.get(REFUND)).status.value == "OPEN"  # nothing was closed


async def test_many_candidates_are_a_few_named_and_the_rest_counted_as_more(
    prefixes: Prefixes,
) -> None:
    for n in range(5):
        await prefixes.make(f"Outage {n}", f"8f3a2c4e-{n}000-4000-8000-00000000000{n}")
    with pytest.raises(InvalidInput) as info:
        await prefixes.run("show 8f3a2c4e")
    lines = info.value.message.splitlines()
    assert [line for line in lines if line.startswith("• `")] == [
        f"• `8f3a2c4e-{n}000-4000-8000-00000000000{n}` Outage {n}" for n in range(3)
    ]
    assert "• … and more" in lines


async def test_a_prefix_that_starts_no_id_says_so(prefixes: Prefixes) -> None:
    await prefixes.make("Printer on fire", PRINTER)
    with pytest.raises(NotFound, match="No conversation has the id 'deadbeef', and no id starts"):
        await prefixes.run("show deadbeef")


async def test_fewer_than_eight_characters_ask_for_eight(prefixes: Prefixes) -> None:
    await prefixes.make("Refund twice", REFUND)
    with pytest.raises(NotFound) as info:
        await prefixes.run("tag 8f3a2c vip")
    assert info.value.message == (
        "No conversation has the id '8f3a2c'. Give the whole id, or at least its first 8"
        " characters."
    )


async def test_a_long_prefix_is_quoted_short(prefixes: Prefixes) -> None:
    with pytest.raises(NotFound) as info:
        await prefixes.run(f"close {'f' * 255}")
    assert f"'{'f' * 59}…'" in info.value.message and len(info.value.message) < 300


async def test_a_whole_id_of_any_length_works_as_before(prefixes: Prefixes) -> None:
    await prefixes.make("Short id", "c1")
    await prefixes.make("Refund twice", REFUND)
    assert await prefixes.shown("c1") == "c1"
    # A whole id that is also the start of another stays itself.
    await prefixes.make("Longer", REFUND + "-b")
    assert await prefixes.shown(REFUND) == REFUND


@pytest.mark.parametrize("prefixes", ["infobip-emulator"], indirect=True)
async def test_on_infobip_a_whole_id_costs_no_extra_request(prefixes: Prefixes) -> None:
    await prefixes.make("Printer on fire", PRINTER)
    transport = prefixes.transport
    assert transport is not None
    before = transport.exchanges
    await prefixes.shown(PRINTER)
    whole = transport.exchanges - before
    assert whole == 2  # the conversation and its tags, as ever
    before = transport.exchanges
    await prefixes.shown(PRINTER[:8])
    # Not found as typed (2), one page of recent conversations (1), then found (2).
    assert transport.exchanges - before == whole + 1 + whole


@pytest.mark.parametrize("prefixes", ["infobip-emulator"], indirect=True)
async def test_on_infobip_the_ids_the_bot_knows_reach_past_the_recent_page(
    prefixes: Prefixes,
) -> None:
    """Infobip cannot search ids: a prefix is looked for among the conversations this bot has
    worked on (its own records) and one page of the most recently updated."""
    prefixes.next_ids.append(OLDEST)
    await prefixes.store.create(ConversationCreate(topic="Never seen by the bot"))
    await prefixes.make("Printer on fire", PRINTER)
    for n in range(RECENT_PAGE):
        await prefixes.store.create(ConversationCreate(topic=f"Newer {n}"))
    assert await prefixes.shown(PRINTER[:8]) == PRINTER  # from the audit log
    with pytest.raises(NotFound) as info:
        await prefixes.run(f"show {OLDEST[:8]}")
    assert "no id starts with it among the conversations this bot has worked on and the most" in (
        info.value.message
    )
    assert await prefixes.shown(OLDEST) == OLDEST  # the whole id always works


@pytest.mark.parametrize("prefixes", ["infobip-emulator"], indirect=True)
async def test_on_infobip_candidates_known_only_to_the_bot_are_named_with_their_topics(
    prefixes: Prefixes,
) -> None:
    await prefixes.make("Refund twice", REFUND)
    await prefixes.make("Login broken", LOGIN)
    for n in range(RECENT_PAGE):
        await prefixes.store.create(ConversationCreate(topic=f"Newer {n}"))
    with pytest.raises(InvalidInput) as info:
        await prefixes.run("show 8f3a2c4e")
    message = info.value.message
    assert f"`{REFUND}` Refund twice" in message and f"`{LOGIN}` Login broken" in message


# --- in Slack and the CLI ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["embedded", "infobip-emulator"])
async def test_slack_commands_take_a_prefix(tmp_path: Path, kind: str) -> None:
    async with (
        backend_settings(kind, tmp_path) as overrides,
        running_bot(tmp_path, **overrides) as slack,
    ):
        card = await slack.create("Printer on fire")
        short = card.id[:8]
        shown = await (await slack.command(f"show {short}")).answer()
        assert "Printer on fire" in texts(shown.body["blocks"])
        taken = await (await slack.command(f"take {short}")).answer()
        assert taken.body["response_type"] == "in_channel", taken.text
        assert (await slack.conversation(card.id)).agentId == "agent-ana"
        refused = await (await slack.command("close 8f3a2c")).answer()
        assert "at least its first 8 characters" in texts(refused.body["blocks"])
        missing = await (await slack.command("close deadbeef")).answer()
        assert "No conversation has the id 'deadbeef'" in texts(missing.body["blocks"])


@pytest.mark.slow
async def test_slack_lists_the_candidates_of_an_ambiguous_prefix(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        # A second view of the bot's own embedded store, to choose the ids.
        ids = iter([REFUND, LOGIN])
        store = LocalBackend(slack.serving.runtime.engine, new_id=lambda: next(ids))
        await store.create(ConversationCreate(topic="Refund twice"))
        await store.create(ConversationCreate(topic="Login <broken>"))
        answer = await (await slack.command("route 8f3a2c4e")).answer()
        assert answer.body["response_type"] == "ephemeral"
        shown = texts(answer.body["blocks"])
        assert "'8f3a2c4e' starts the ids of several conversations" in shown
        assert REFUND in shown and "Login &lt;broken&gt;" in shown
        assert "Type more of the id to pick one." in shown
        routed = await (await slack.command("route 8f3a2c4e-2")).answer()
        assert "Routed." in routed.text


@pytest.mark.slow
async def test_slack_escalate_takes_a_prefix(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire")
        announced = await slack.escalate(f"{card.id[:8]} Office is dark")
        assert card.id in texts(announced.blocks) or "Printer on fire" in texts(announced.blocks)
        [page] = await eventually(lambda: slack.dms_to(BEN))
        assert "Printer on fire" in texts(page.blocks)
        assert (await slack.conversation(card.id)).priority.value == "URGENT"


@pytest.mark.slow
def test_the_cli_takes_a_prefix(tmp_path: Path) -> None:
    write_config(tmp_path / "convbot.yml")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args)

    created = cli("conv", "create", "Printer", "on", "fire", "--json")
    assert created.returncode == 0, created.stderr
    cid = json.loads(created.stdout)["id"]
    shown = cli("conv", "show", cid[:8])
    assert shown.returncode == 0, shown.stderr
    assert cid in shown.stdout and "Printer on fire" in shown.stdout
    assigned = cli("conv", "assign", cid[:8], "Ben")
    assert assigned.returncode == 0, assigned.stderr
    assert "Assigned to Ben Kovac." in assigned.stdout
    short = cli("conv", "close", cid[:6])
    assert short.returncode == 1
    assert "at least its first 8 characters" in short.stderr


# --- the lookups themselves, on SQLite and PostgreSQL --------------------------------------------


async def test_the_bot_knows_ids_from_its_records_exactly(
    engine: AsyncEngine,
) -> None:
    audit = AuditLog(engine)
    for cid in ["ab_cd-000001", "abXcd-000002", "AB_CD-000003", "ab_cd-000004", "ab_cd-000001"]:
        await audit.record(ANA, "create", cid, None, None)
    await SnoozeStore(engine).snooze("ab_cd-000009", utcnow() + timedelta(hours=1), "U1")
    # A refusal names the id as typed, looked up by nobody: not a conversation the bot knows.
    await audit.record(ANA, "denied", "ab_cd-0000", None, {"action": "close"})
    known = KnownConversationIds(engine)
    # `_` is no wildcard, case counts, each id once, sorted.
    assert await known.starting_with("ab_cd", 5) == ["ab_cd-000001", "ab_cd-000004", "ab_cd-000009"]
    assert await known.starting_with("ab_cd", 2) == ["ab_cd-000001", "ab_cd-000004"]
    assert await known.starting_with("ab%", 5) == []


async def test_the_embedded_store_searches_every_id_exactly(engine: AsyncEngine) -> None:
    ids = iter(["ab_cd-1", "abXcd-2", "AB_CD-3"])
    store = LocalBackend(engine, new_id=lambda: next(ids))
    for topic in ("One", "Two", "Three"):
        await store.create(ConversationCreate(topic=topic))
    found = await store.with_id_prefix("ab_cd", 4)
    assert [c.id for c in found.conversations] == ["ab_cd-1"] and found.complete
