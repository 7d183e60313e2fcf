"""Building a digest on every backend: right totals, right order, flat cost."""

from __future__ import annotations

import asyncio

from bot.digests.service import DigestService
from bot.models import Actor, ConversationCreate, ConversationFilter, Priority, Status
from tests.conftest import Stack

ALICE = Actor(id="UALICE001", surface="slack", agent_id="agent-ana")
DEFAULT = ConversationFilter(
    statuses=[Status.OPEN, Status.WAITING], priorities=[Priority.URGENT, Priority.HIGH]
)


async def make(stack: Stack, topic: str, priority: str, **fields: object) -> str:
    data = ConversationCreate.model_validate({"topic": topic, "priority": priority, **fields})
    return (await stack.service.create(ALICE, data)).conversation.id


async def test_urgent_first_oldest_first_with_totals(stack: Stack) -> None:
    for topic, priority in [("h1", "HIGH"), ("u1", "URGENT"), ("n1", "NORMAL"), ("h2", "HIGH"),
                            ("u2", "URGENT"), ("h3", "HIGH")]:  # fmt: skip
        await make(stack, topic, priority, queueId="q-billing" if topic != "h3" else None)
        await asyncio.sleep(0.002)
    digest = await DigestService(stack.service).build("support", DEFAULT, max_items=4)
    assert [i.conversation.topic for i in digest.items] == ["u1", "u2", "h1", "h2"]
    assert digest.totals == {Priority.URGENT: 2, Priority.HIGH: 3}
    assert (digest.total, digest.hidden) == (5, 1)
    assert digest.queue_counts == {"q-billing": 4}
    assert digest.more_command == (
        "/conv list status:open,waiting priority:urgent,high sort:created:asc"
    )


async def test_closed_and_other_priorities_are_left_out(stack: Stack) -> None:
    closed = await make(stack, "done", "URGENT")
    await stack.service.close(ALICE, closed)
    await make(stack, "low", "LOW")
    digest = await DigestService(stack.service).build("support", DEFAULT, max_items=15)
    assert digest.items == [] and digest.total == 0
