"""Building a digest on every backend: right totals, right order, flat cost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.digests.service import DigestService
from bot.errors import ConversationClosed
from bot.models import Actor, ConversationCreate, ConversationFilter, Priority, Status
from bot.state.snoozes import SnoozeStore
from bot.timestamps import utcnow
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


async def test_snoozed_items_are_left_out_of_items_and_totals(stack: Stack) -> None:
    first = await make(stack, "u1", "URGENT")
    await asyncio.sleep(0.002)
    await make(stack, "u2", "URGENT")
    await make(stack, "h1", "HIGH")
    conversation, until = await stack.service.snooze(ALICE, first, timedelta(hours=1))
    assert conversation.id == first and until > utcnow()

    digest = await DigestService(stack.service).build("support", DEFAULT, max_items=1)

    assert [i.conversation.topic for i in digest.items] == ["u2"]  # a full page without u1
    assert digest.totals == {Priority.URGENT: 1, Priority.HIGH: 1}
    assert (digest.snoozed, digest.hidden) == (1, 1)
    [entry] = [e for e in await stack.audit.history(first) if e.action == "snooze"]
    assert entry.before == {"snoozedUntil": None} and entry.after is not None


async def test_a_closed_conversation_cannot_be_snoozed(stack: Stack) -> None:
    closed = await make(stack, "done", "URGENT")
    await stack.service.close(ALICE, closed)
    with pytest.raises(ConversationClosed):
        await stack.service.snooze(ALICE, closed, timedelta(hours=1))
    assert await stack.service.snoozed() == {}


async def test_expired_snoozes_are_forgotten(engine: AsyncEngine) -> None:
    now = [utcnow()]
    store = SnoozeStore(engine, clock=lambda: now[0])
    await store.snooze("c-1", now[0] + timedelta(hours=1), "U1")
    await store.snooze("c-2", now[0] + timedelta(hours=4), "U1")
    now[0] += timedelta(hours=2)
    assert await store.active() == {"c-2": now[0] + timedelta(hours=2)}
    assert await store.forget_expired() == 1
    assert await store.snooze("c-2", now[0] + timedelta(hours=1), "U2") is not None
