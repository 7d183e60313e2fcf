"""A conversation's messages and notes on every backend (issue 18, item 1): the embedded store,
and the Infobip client talking to the emulator with every exchange checked against the
contract. The customer writes through the store, or through the emulator's inbound endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bot.config import LocalSeed
from bot.errors import ConversationClosed, InvalidInput, NotFound
from bot.messages import (
    AuthorType,
    Direction,
    ListOrder,
    Message,
    MessageCreate,
    MessageFilter,
    NoteCreate,
    NoteFilter,
)
from bot.models import ConversationCreate, ConversationPatch, Status
from tests.conftest import EMULATOR_KEY, Stack
from tests.seed import SEED

CUSTOMER = "385991234567"
OUR_NUMBER = "447492263897"


def reply(text: str) -> MessageCreate:
    return MessageCreate.model_validate(
        {
            "from": OUR_NUMBER,
            "to": CUSTOMER,
            "channel": "SMS",
            "contentType": "TEXT",
            "content": {"text": text},
        }
    )


async def conversation(stack: Stack, **fields: Any) -> str:
    created = await stack.backend.create(ConversationCreate(topic="Where is my parcel", **fields))
    return created.id


async def customer_writes(
    stack: Stack, conversation_id: str, text: str, channel: str = "SMS"
) -> Message:
    """An inbound message: through the emulator's endpoint when Infobip is emulated, else
    straight into the embedded store."""
    body = {"from": CUSTOMER, "to": OUR_NUMBER, "channel": channel, "content": {"text": text}}
    if stack.emulator_url is not None:
        async with httpx.AsyncClient(
            base_url=stack.emulator_url, headers={"Authorization": f"App {EMULATOR_KEY}"}
        ) as client:
            answer = await client.post(
                f"/emulator/conversations/{conversation_id}/inbound", json=body
            )
        assert answer.status_code == 200, answer.text
        return Message.model_validate(answer.json())
    assert stack.store is not None
    return await stack.store.receive_message(
        conversation_id, MessageCreate.model_validate({**body, "contentType": "TEXT"})
    )


async def test_an_inbound_message_and_a_reply_read_back_in_order(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    inbound = await customer_writes(stack, conversation_id, "Where is it?")
    sent = await stack.backend.send_message(conversation_id, reply("On its way."), None)
    assert (sent.direction, sent.from_, sent.to, sent.text) == (
        Direction.OUTBOUND,
        OUR_NUMBER,
        CUSTOMER,
        "On its way.",
    )
    assert sent.conversationId == conversation_id and sent.createdAt is not None
    page = await stack.backend.list_messages(conversation_id, MessageFilter())
    assert page.totalItems == 2
    assert [(m.id, m.direction, m.text) for m in page.items] == [
        (inbound.id, Direction.INBOUND, "Where is it?"),
        (sent.id, Direction.OUTBOUND, "On its way."),
    ]
    first = page.items[0]
    assert (first.from_, first.to, first.channel, first.contentType) == (
        CUSTOMER,
        OUR_NUMBER,
        "SMS",
        "TEXT",
    )
    assert first.authorType is AuthorType.CUSTOMER


async def test_messages_page_filter_by_direction_and_time(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    written = []
    for n in range(5):
        written.append(await customer_writes(stack, conversation_id, f"message {n}"))
        await asyncio.sleep(0.002)  # distinct createdAt
    await stack.backend.send_message(conversation_id, reply("an answer"), None)
    query = MessageFilter(direction=Direction.INBOUND, limit=2)
    pages = [
        await stack.backend.list_messages(conversation_id, query.model_copy(update={"page": p}))
        for p in range(3)
    ]
    assert [p.totalItems for p in pages] == [5, 5, 5]
    assert [m.text for p in pages for m in p.items] == [f"message {n}" for n in range(5)]
    newest = await stack.backend.list_messages(
        conversation_id,
        MessageFilter(orderBy=ListOrder(field="createdAt", direction="desc"), limit=2),
    )
    assert [m.text for m in newest.items] == ["an answer", "message 4"]
    since = await stack.backend.list_messages(
        conversation_id, MessageFilter(createdAfter=written[3].createdAt)
    )
    # createdAfter includes its own instant, as the conversation list's does.
    assert [m.text for m in since.items] == ["message 3", "message 4", "an answer"]
    outbound = await stack.backend.list_messages(
        conversation_id, MessageFilter(direction=Direction.OUTBOUND)
    )
    assert [m.text for m in outbound.items] == ["an answer"]


async def test_a_closed_conversation_takes_no_message(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    await stack.backend.patch(conversation_id, ConversationPatch(status=Status.CLOSED))
    with pytest.raises(ConversationClosed, match=conversation_id):
        await stack.backend.send_message(conversation_id, reply("Too late"), None)
    assert (await stack.backend.list_messages(conversation_id, MessageFilter())).totalItems == 0


async def test_the_sending_agent_is_named_only_when_the_conversation_is_assigned(
    stack: Stack,
) -> None:
    assert stack.store is not None
    await stack.store.seed(
        LocalSeed.model_validate(
            {
                **SEED.model_dump(mode="json"),
                "agents": [
                    *SEED.model_dump(mode="json")["agents"],
                    {"id": "agent-sue", "name": "Sue Visor", "role": "SUPERVISOR"},
                ],
            }
        )
    )
    unassigned = await conversation(stack)
    with pytest.raises(InvalidInput, match="not assigned"):
        await stack.backend.send_message(unassigned, reply("Hi"), "agent-ana")
    assert (await stack.backend.send_message(unassigned, reply("Hi"), None)).authorId is None

    assigned = await conversation(stack, agentId="agent-ana")
    with pytest.raises(InvalidInput, match="x-agent-id"):
        await stack.backend.send_message(assigned, reply("Hi"), None)
    with pytest.raises(InvalidInput, match="only the assignee or a supervisor"):
        await stack.backend.send_message(assigned, reply("Hi"), "agent-ben")
    by_assignee = await stack.backend.send_message(assigned, reply("From Ana"), "agent-ana")
    by_supervisor = await stack.backend.send_message(assigned, reply("From Sue"), "agent-sue")
    assert [(m.authorId, m.authorType) for m in (by_assignee, by_supervisor)] == [
        ("agent-ana", AuthorType.AGENT),
        ("agent-sue", AuthorType.AGENT),
    ]
    listed = await stack.backend.list_messages(assigned, MessageFilter())
    assert [m.text for m in listed.items] == ["From Ana", "From Sue"]


async def test_notes_round_trip_and_page(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    added = []
    for n in range(3):
        added.append(
            await stack.backend.add_note(
                conversation_id, NoteCreate(content=f"note {n}", agentId="agent-ana")
            )
        )
        await asyncio.sleep(0.002)
    assert (added[0].type, added[0].agentId, added[0].conversationId) == (
        "INTERNAL",
        "agent-ana",
        conversation_id,
    )
    first = await stack.backend.list_notes(conversation_id, NoteFilter(limit=2))
    second = await stack.backend.list_notes(conversation_id, NoteFilter(limit=2, page=1))
    assert (first.totalItems, [n.text for n in first.items + second.items]) == (
        3,
        ["note 0", "note 1", "note 2"],
    )
    assert [n.id for n in first.items] == [n.id for n in added[:2]]
    unsigned = await stack.backend.add_note(conversation_id, NoteCreate(content="anonymous"))
    assert unsigned.agentId is None
    with pytest.raises(NotFound, match="agent-nobody"):
        await stack.backend.add_note(
            conversation_id, NoteCreate(content="x", agentId="agent-nobody")
        )
    # Messages and notes are apart: a note is never in the transcript the customer sees.
    assert (await stack.backend.list_messages(conversation_id, MessageFilter())).totalItems == 0


async def test_an_unknown_conversation_has_no_messages_or_notes(stack: Stack) -> None:
    for call in (
        stack.backend.list_messages("no-such-id", MessageFilter()),
        stack.backend.send_message("no-such-id", reply("Hello?"), None),
        stack.backend.list_notes("no-such-id", NoteFilter()),
        stack.backend.add_note("no-such-id", NoteCreate(content="x")),
    ):
        with pytest.raises(NotFound, match="no-such-id"):
            await call


def test_the_contract_limits_hold_before_anything_is_sent() -> None:
    NoteCreate(content="x" * 4000)
    with pytest.raises(ValidationError, match="4000"):
        NoteCreate(content="x" * 4001)
    with pytest.raises(ValidationError, match="empty"):
        NoteCreate(content="   ")
    reply("y" * 4096)
    with pytest.raises(ValidationError, match="4096"):
        reply("y" * 4097)
    with pytest.raises(ValidationError, match="cannot be sent on the NO_CHANNEL"):
        MessageCreate.model_validate(
            {"from": "a", "to": "b", "channel": "NO_CHANNEL", "content": {"text": "hi"}}
        )
    image = MessageCreate.model_validate(
        {
            "from": "a",
            "to": "b",
            "channel": "WHATSAPP",
            "contentType": "IMAGE",
            "content": {"url": "https://example.com/a.png"},
        }
    )
    assert image.wire()["content"] == {"url": "https://example.com/a.png"}


def test_messages_of_other_kinds_are_read_whatever_they_carry() -> None:
    image = Message.model_validate(
        {
            "id": "m1",
            "direction": "INBOUND",
            "channel": "WHATSAPP",
            "contentType": "IMAGE",
            "content": {"url": "https://example.com/p.jpg", "caption": "the parcel"},
        }
    )
    assert (image.links, image.text) == (["https://example.com/p.jpg"], "the parcel")
    odd = Message.model_validate(
        {
            "id": "m2",
            "direction": "OUTBOUND",
            "channel": "SOMETHING_NEW",
            "contentType": "RCS_CARD",
            "content": {"orientation": "HORIZONTAL"},
            "authorType": "X",
        }
    )
    assert (odd.channel, odd.text, odd.links, odd.authorType) == ("UNKNOWN", None, [], None)
    assert odd.content == {"orientation": "HORIZONTAL"}


async def test_one_agent_is_read_by_its_id(stack: Stack) -> None:
    found = await stack.backend.get_agent("agent-ana")
    assert found is not None and (found.id, found.displayName) == ("agent-ana", "Ana Horvat")
    assert await stack.backend.get_agent("agent-nobody") is None
