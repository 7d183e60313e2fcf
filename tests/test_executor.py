"""Commands run end to end (grammar → executor → service → backend) on every backend."""

from __future__ import annotations

import logging
from typing import cast

import pytest

from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.commands.registry import USAGE
from bot.commands.result import CommandResult
from bot.errors import InvalidInput
from bot.models import Actor, Conversation, ConversationCreate
from bot.service.conversations import ConversationService
from bot.state.audit import AuditLog
from bot.state.db import create_engine
from tests.conftest import Stack

ANA = Actor(id="U_ANA", surface="slack", agent_id="agent-ana")
STRANGER = Actor(id="cli:stranger", surface="cli")


async def run(stack: Stack, text: str, actor: Actor = ANA) -> CommandResult:
    return await execute(parse(text), stack.service, actor)


def conversation(result: CommandResult) -> Conversation:
    assert result.conversation is not None, result
    return result.conversation


def total(result: CommandResult) -> int:
    assert result.page is not None, result
    return result.page.totalItems


async def test_create_list_take_and_close(stack: Stack) -> None:
    created = await run(
        stack, 'create Refund missing summary:"Paid twice" priority:high queue:billing #money'
    )
    conversation = created.conversation
    assert conversation is not None and created.changed
    assert (conversation.queueId, conversation.tags) == ("q-billing", ["money"])
    listed = await run(stack, "list priority:high,urgent queue:Billing")
    assert listed.page is not None and [c.id for c in listed.page.items] == [conversation.id]
    taken = await run(stack, f"take {conversation.id}")
    assert taken.conversation is not None and taken.conversation.agentId == "agent-ana"
    mine = await run(stack, "list agent:me")
    assert mine.page is not None and mine.page.totalItems == 1
    closed = await run(stack, f"close {conversation.id}")
    assert closed.conversation is not None and closed.conversation.status.value == "CLOSED"
    assert total(await run(stack, "list")) == 0


async def test_an_unknown_agent_is_refused_before_anything_is_created(stack: Stack) -> None:
    with pytest.raises(InvalidInput, match="No agent called 'nobody'"):
        await run(stack, "create Printer agent:nobody #brandnew")
    assert "brandnew" not in {tag.name for tag in await stack.backend.list_tags()}
    assert total(await run(stack, "list")) == 0


async def test_agents_are_found_by_name_or_email(stack: Stack) -> None:
    cid = conversation(await run(stack, "create Who")).id
    by_email = await run(stack, f"assign {cid} BEN@example.com")
    assert conversation(by_email).agentId == "agent-ben"


async def test_me_without_a_linked_agent_says_how_to_link(stack: Stack) -> None:
    cid = conversation(await run(stack, "create Mine")).id
    with pytest.raises(InvalidInput, match="add `cli:stranger: <agent id>` under `agents:`"):
        await run(stack, f"take {cid}", STRANGER)


async def test_a_lost_audit_write_does_not_fail_a_change_that_happened(
    stack: Stack, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing-dir/audit.db")
    service = ConversationService(stack.backend, AuditLog(broken))
    with caplog.at_level(logging.ERROR):
        change = await service.create(ANA, ConversationCreate(topic="Still created"))
    assert (await stack.service.get(change.conversation.id)).topic == "Still created"
    assert "audit entry lost: create" in caplog.text
    await broken.dispose()


@pytest.mark.parametrize(
    "text",
    [
        "digest support-high",
        "schedules",
        'escalate 8f3a2c policy:sev1 "Checkout down"',
        "oncall",
        'oncall primary at:"2026-12-25 03:00"',
        "escalations",
    ],
)
async def test_slack_only_commands_are_refused_readably_elsewhere(text: str) -> None:
    # Refused before the service is touched: none is given.
    command = parse(text)
    with pytest.raises(InvalidInput) as info:
        await execute(command, cast(ConversationService, None), STRANGER)
    message = info.value.message
    assert message.startswith(
        f"`{command.kind}` works in Slack: type `/conv {USAGE[command.kind]}` there."
    )
    # Only a digest has a shell command of its own; the others must not point to it.
    assert ("convbot digest <name>" in message) == (command.kind == "digest")
    assert message.endswith(".") and "\n" not in message
