"""`assign` names an agent the way people do: a name or first name, `@ben`, a Slack mention, an
e-mail, an id or `me`; a miss suggests the closest agents, and the answer names them back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.commands.registry import USAGE, help_text
from bot.commands.result import CommandResult
from bot.config import LocalSeed
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.errors import InvalidInput
from bot.models import Actor
from bot.service.conversations import ConversationService
from tests.conftest import EMULATOR_KEY, runtime_over, sqlite_engine
from tests.contract import ContractCheckingTransport
from tests.seed import SEED
from tests.slack_harness import BEN, DAVE, running_bot, texts
from tests.test_slack_buttons import backend_settings

ANA = Actor(id="U_ANA", surface="slack", agent_id="agent-ana")
# The test seed and a second Ben, so that "ben" names two agents.
TWO_BENS = LocalSeed.model_validate(
    {
        **SEED.model_dump(mode="json"),
        "agents": [
            *SEED.model_dump(mode="json")["agents"],
            {"id": "agent-bo", "name": "Ben Ortiz", "email": "bo@example.com"},
        ],
    }
)


@dataclass
class Desk:
    kind: str
    service: ConversationService

    async def run(self, text: str) -> CommandResult:
        return await execute(parse(text), self.service, ANA)

    async def new(self) -> str:
        created = (await self.run("create Printer on fire")).conversation
        assert created is not None
        return created.id

    async def assigned(self, text: str) -> tuple[str | None, str]:
        """(the agent it is with now, the answer's headline)."""
        result = await self.run(text)
        assert result.conversation is not None
        return result.conversation.agentId, result.headline


@pytest.fixture(params=["embedded", "infobip-emulator"])
async def desk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Desk]:
    state = await sqlite_engine(tmp_path / "state.db")
    try:
        if request.param == "embedded":
            store = LocalBackend(state)
            await store.seed(TWO_BENS)
            yield Desk("embedded", (await runtime_over(state, store)).conversations)
            return
        engine = await sqlite_engine(tmp_path / "emulator.db")
        try:
            store = LocalBackend(engine)
            await store.seed(TWO_BENS)
            async with serve_in_background(create_emulator_app(store, EMULATOR_KEY)) as url:
                transport = ContractCheckingTransport()
                infobip = InfobipBackend(url, EMULATOR_KEY, transport=transport, max_retries=0)
                try:
                    yield Desk(
                        "infobip-emulator", (await runtime_over(state, infobip)).conversations
                    )
                finally:
                    await infobip.aclose()
                assert transport.violations == [], transport.violations
        finally:
            await engine.dispose()
    finally:
        await state.dispose()


@pytest.mark.parametrize(
    ("typed", "agent", "named"),
    [
        ("agent-cleo", "agent-cleo", "Cleo Marin"),
        ("ana horvat", "agent-ana", "Ana Horvat"),
        ('"CLEO MARIN"', "agent-cleo", "Cleo Marin"),
        ("Cleo Marin", "agent-cleo", "Cleo Marin"),
        ("cleo", "agent-cleo", "Cleo Marin"),
        ("@ortiz", "agent-bo", "Ben Ortiz"),
        ("BO@example.com", "agent-bo", "Ben Ortiz"),
        ("me", "agent-ana", "you"),
    ],
)
async def test_an_agent_is_named_as_people_name_them(
    desk: Desk, typed: str, agent: str, named: str
) -> None:
    cid = await desk.new()
    assert await desk.assigned(f"assign {cid} {typed}") == (agent, f"Assigned to {named}.")


async def test_a_name_several_agents_share_lists_them(desk: Desk) -> None:
    cid = await desk.new()
    with pytest.raises(InvalidInput) as info:
        await desk.run(f"assign {cid} @Ben")
    assert info.value.message == (
        "'@Ben' could be Ben Kovac (agent-ben) or Ben Ortiz (agent-bo); give the whole name, the"
        " e-mail or the id."
    )
    assert (await desk.service.get(cid)).agentId is None


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("clio", "Cleo Marin (agent-cleo)"),
        ("Anna Horvat", "Ana Horvat (agent-ana)"),
        ("ortis", "Ben Ortiz (agent-bo)"),
    ],
)
async def test_a_miss_suggests_the_closest_agents(desk: Desk, typed: str, suggested: str) -> None:
    cid = await desk.new()
    with pytest.raises(InvalidInput) as info:
        await desk.run(f"assign {cid} {typed}")
    assert info.value.message == f"No agent called '{typed}'. Did you mean {suggested}?"


async def test_a_miss_with_nothing_close_lists_the_agents(desk: Desk) -> None:
    cid = await desk.new()
    with pytest.raises(InvalidInput) as info:
        await desk.run(f"assign {cid} zzyzx")
    message = info.value.message
    assert message.startswith("No agent called 'zzyzx'. Give an agent's name, e-mail or id")
    assert "Ana Horvat (agent-ana)" in message and "Ben Ortiz (agent-bo)" in message


async def test_a_mention_outside_slack_says_where_it_works(desk: Desk) -> None:
    cid = await desk.new()
    with pytest.raises(InvalidInput, match="@ben is a Slack mention, which works in Slack only"):
        await desk.run(f"assign {cid} <@UBEN00002|ben>")


async def test_other_agent_options_take_names_too(desk: Desk) -> None:
    cid = await desk.new()
    await desk.run(f"assign {cid} cleo")
    listed = (await desk.run("list agent:Cleo")).page
    assert listed is not None and [c.id for c in listed.items] == [cid]


def test_the_usage_and_help_of_assign_say_what_it_takes() -> None:
    assert USAGE["assign"] == "assign <id> <name|@name|e-mail|agent-id|me>"
    shown = help_text("assign")
    assert "first name" in shown and "`assign 8f3a2c1d @ben`" in shown


# --- in Slack ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["embedded", "infobip-emulator"])
@pytest.mark.parametrize("typed", [f"<@{BEN}|ben>", f"<@{BEN}>", "@ben", "Ben Kovac"])
async def test_slack_assign_takes_a_mention_and_answers_with_one(
    tmp_path: Path, kind: str, typed: str
) -> None:
    async with (
        backend_settings(kind, tmp_path) as overrides,
        running_bot(tmp_path, **overrides) as slack,
    ):
        card = await slack.create("Printer on fire")
        answer = await (await slack.command(f"assign {card.id[:8]} {typed}")).answer()
        assert answer.body["response_type"] == "in_channel", answer.text
        assert f"Assigned to Ben Kovac (<@{BEN}>)." in texts(answer.body["blocks"])
        assert (await slack.conversation(card.id)).agentId == "agent-ben"


@pytest.mark.slow
async def test_slack_assign_to_someone_unlinked_says_how_to_link_them(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        card = await slack.create("Printer on fire")
        answer = await (await slack.command(f"assign {card.id} <@{DAVE}|dave>")).answer()
        assert answer.body["response_type"] == "ephemeral"
        shown = texts(answer.body["blocks"])
        assert "@dave is not linked to an agent" in shown
        assert f"`{DAVE}: &lt;agent id&gt;` under `agents:`" in shown
        assert (await slack.conversation(card.id)).agentId is None


@pytest.mark.slow
async def test_slack_assign_miss_suggests_and_me_is_you(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        card = await slack.create("Printer on fire")
        miss = await (await slack.command(f"assign {card.id} bem")).answer()
        assert "No agent called 'bem'. Did you mean Ben Kovac (agent-ben)?" in texts(
            miss.body["blocks"]
        )
        mine = await (await slack.command(f"assign {card.id} me")).answer()
        assert "Assigned to you." in texts(mine.body["blocks"])
