"""The behaviour suite: what the service and a backend do together, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import ConversationClosed, InvalidInput, NotFound
from bot.models import (
    Actor,
    Channel,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    OrderBy,
    Priority,
    Status,
)
from tests.conftest import Stack

ALICE = Actor(id="U_ALICE", surface="slack", agent_id="agent-ana")


async def make(stack: Stack, topic: str, **fields: object) -> str:
    change = await stack.service.create(
        ALICE, ConversationCreate.model_validate({"topic": topic, **fields})
    )
    return change.conversation.id


def reported(stack: Stack, channel: Channel) -> Channel | None:
    """The channel a conversation reads back with: Infobip's conversations carry none (the
    contract's ConversationApiModel), so through its API it is not reported (None)."""
    return None if stack.kind == "infobip-emulator" else channel


async def test_create_applies_the_defaults(stack: Stack) -> None:
    change = await stack.service.create(ALICE, ConversationCreate(topic="Printer on fire"))
    created = change.conversation
    assert (created.status, created.priority, created.channel) == (
        Status.OPEN,
        Priority.NORMAL,
        reported(stack, Channel.NO_CHANNEL),
    )
    assert created.agentId is None and created.queueId is None
    fetched = await stack.service.get(created.id)
    assert fetched.topic == "Printer on fire"
    assert fetched.createdAt == created.createdAt
    assert fetched.tags == []


async def test_create_with_fields_and_tags_creates_missing_tags(stack: Stack) -> None:
    conversation_id = await make(
        stack,
        "Invoice wrong",
        summary="Charged twice",
        priority="HIGH",
        channel="EMAIL",
        queueId="q-billing",
        tags=["billing", "vip"],
    )
    fetched = await stack.service.get(conversation_id)
    assert fetched.priority is Priority.HIGH
    assert fetched.channel is reported(stack, Channel.EMAIL)
    assert fetched.queueId == "q-billing"
    assert fetched.summary == "Charged twice"
    assert sorted(fetched.tags or []) == ["billing", "vip"]
    assert {"billing", "vip"} <= {t.name for t in await stack.backend.list_tags()}


async def test_unknown_id_is_not_found_everywhere(stack: Stack) -> None:
    for call in (
        stack.service.get("no-such-id"),
        stack.service.update(ALICE, "no-such-id", ConversationPatch(priority=Priority.LOW)),
        stack.service.assign(ALICE, "no-such-id", "agent-ana"),
        stack.service.route(ALICE, "no-such-id"),
        stack.service.close(ALICE, "no-such-id"),
        stack.service.tag(ALICE, "no-such-id", ["x"]),
    ):
        with pytest.raises(NotFound, match="no-such-id"):
            await call


async def test_a_closed_conversation_cannot_change(stack: Stack) -> None:
    conversation_id = await make(stack, "Done soon", tags=["keep"])
    closed = (await stack.service.close(ALICE, conversation_id)).conversation
    assert closed.status is Status.CLOSED and closed.closedAt is not None
    attempts = (
        stack.service.update(ALICE, conversation_id, ConversationPatch(priority=Priority.LOW)),
        stack.service.assign(ALICE, conversation_id, "agent-ben"),
        stack.service.unassign(ALICE, conversation_id),
        stack.service.route(ALICE, conversation_id),
        stack.service.tag(ALICE, conversation_id, ["more"]),
        stack.service.untag(ALICE, conversation_id, ["keep"]),
    )
    for attempt in attempts:
        with pytest.raises(ConversationClosed, match=conversation_id):
            await attempt
    again = await stack.service.close(ALICE, conversation_id)  # a second press: no error
    assert not again.changed and again.note == "It is already closed."


async def test_the_backend_itself_refuses_changes_to_a_closed_conversation(stack: Stack) -> None:
    conversation_id = await make(stack, "Closed underneath")
    await stack.backend.patch(conversation_id, ConversationPatch(status=Status.CLOSED))
    with pytest.raises(ConversationClosed):
        await stack.backend.patch(conversation_id, ConversationPatch(priority=Priority.LOW))
    with pytest.raises(ConversationClosed):
        await stack.backend.assign(conversation_id, "agent-ana")
    with pytest.raises(ConversationClosed):
        await stack.backend.route(conversation_id)


async def test_update_patches_only_what_is_given(stack: Stack) -> None:
    conversation_id = await make(stack, "Keep me", summary="Original", priority="HIGH")
    updated = (
        await stack.service.update(ALICE, conversation_id, ConversationPatch(status=Status.WAITING))
    ).conversation
    assert updated.status is Status.WAITING
    assert (updated.summary, updated.priority, updated.topic) == (
        "Original",
        Priority.HIGH,
        "Keep me",
    )


async def test_a_change_to_the_same_values_is_a_no_op(stack: Stack) -> None:
    conversation_id = await make(stack, "Same", priority="HIGH")
    change = await stack.service.update(
        ALICE, conversation_id, ConversationPatch(priority=Priority.HIGH)
    )
    assert not change.changed
    assert [e.action for e in await stack.audit.history(conversation_id)] == ["create"]


async def test_assign_and_unassign(stack: Stack) -> None:
    conversation_id = await make(stack, "Who takes it")
    assert (
        await stack.service.assign(ALICE, conversation_id, "agent-ben")
    ).conversation.agentId == "agent-ben"
    again = await stack.service.assign(ALICE, conversation_id, "agent-ben")
    assert not again.changed
    assert (await stack.service.unassign(ALICE, conversation_id)).conversation.agentId is None
    with pytest.raises(NotFound, match="agent-nobody"):
        await stack.service.assign(ALICE, conversation_id, "agent-nobody")


async def test_an_agent_is_found_by_email(stack: Stack) -> None:
    """Infobip's agent list carries no e-mails (AgentResponse), so a match by e-mail is its own
    lookup (GET /agents?email=), with the embedded store's rule: whatever the case."""
    listed = await stack.service.directory.agents()
    if stack.kind == "infobip-emulator":
        assert all(agent.email is None for agent in listed)
    found = await stack.service.directory.agent_by_email(" BEN@example.com ")
    assert found is not None and found.id == "agent-ben"
    assert await stack.service.directory.agent_by_email("nobody@example.com") is None
    assert await stack.service.directory.agent_by_email("  ") is None
    assert await stack.service.directory.resolve_agent(ALICE, "Ana@Example.com") == "agent-ana"
    with pytest.raises(InvalidInput, match=r"No agent called 'nobody@example\.com'"):
        await stack.service.directory.resolve_agent(ALICE, "nobody@example.com")


async def test_tag_and_untag(stack: Stack) -> None:
    conversation_id = await make(stack, "Tags")
    tagged = await stack.service.tag(ALICE, conversation_id, ["alpha", "beta.2", "alpha"])
    assert tagged.conversation.tags == ["alpha", "beta.2"]
    assert (await stack.service.get(conversation_id)).tags == ["alpha", "beta.2"]
    assert not (await stack.service.tag(ALICE, conversation_id, ["alpha"])).changed
    untagged = await stack.service.untag(ALICE, conversation_id, ["alpha"])
    assert untagged.conversation.tags == ["beta.2"]
    with pytest.raises(NotFound, match="no tag 'gamma'"):
        await stack.service.untag(ALICE, conversation_id, ["gamma"])
    with pytest.raises(InvalidInput, match="not valid"):
        await stack.service.tag(ALICE, conversation_id, ["bad tag!"])
    assert (await stack.service.get(conversation_id)).tags == ["beta.2"]


async def test_route_applies_the_first_matching_rule_and_load_balances(stack: Stack) -> None:
    busy = await make(stack, "Busy work", queueId="q-billing")
    await stack.service.assign(ALICE, busy, "agent-ana")
    conversation_id = await make(stack, "Refund please", channel="EMAIL")
    await stack.service.assign(ALICE, conversation_id, "agent-ana")
    routed = (await stack.service.route(ALICE, conversation_id)).conversation
    # "Money" comes before "E-mail"; Ana already has one open, Ben has none, Cleo is away.
    assert routed.queueId == "q-billing"
    assert routed.agentId == "agent-ben"
    assert routed.priority is Priority.NORMAL


async def test_route_sets_priority_and_round_robins(stack: Stack) -> None:
    first = await make(stack, "Big customer", tags=["vip"])
    second = await make(stack, "Another big one", tags=["vip"])
    third = await make(stack, "Third big one", tags=["vip"])
    agents = [(await stack.service.route(ALICE, c)).conversation for c in (first, second, third)]
    assert [c.queueId for c in agents] == ["q-vip"] * 3
    assert [c.priority for c in agents] == [Priority.HIGH] * 3
    assert [c.agentId for c in agents] == ["agent-ana", "agent-ben", "agent-ana"]


async def test_route_without_a_matching_rule_only_clears_the_agent(stack: Stack) -> None:
    conversation_id = await make(stack, "Nothing special", queueId="q-general", agentId="agent-ana")
    routed = (await stack.service.route(ALICE, conversation_id)).conversation
    assert routed.agentId is None and routed.queueId == "q-general"


async def test_list_merges_priorities_in_order_with_the_right_total(stack: Stack) -> None:
    ids = {}
    for n, priority in enumerate(["LOW", "HIGH", "URGENT", "NORMAL", "HIGH", "URGENT", "HIGH"]):
        ids[n] = await make(stack, f"Item {n}", priority=priority)
        await asyncio.sleep(0.002)  # distinct createdAt, so the order is defined
    query = ConversationFilter(
        priorities=[Priority.HIGH, Priority.URGENT],
        orderBy=OrderBy(field="createdAt", direction="asc"),
        limit=2,
    )
    pages = [await stack.service.find(query.model_copy(update={"page": p})) for p in range(3)]
    assert [p.totalItems for p in pages] == [5, 5, 5]
    seen = [c.topic for p in pages for c in p.items]
    assert seen == ["Item 1", "Item 2", "Item 4", "Item 5", "Item 6"]
    by_priority = await stack.service.find(
        query.model_copy(
            update={"orderBy": OrderBy(field="priority", direction="desc"), "limit": 10}
        )
    )
    assert [c.priority for c in by_priority.items] == [Priority.URGENT] * 2 + [Priority.HIGH] * 3


async def test_list_filters_by_status_queue_agent_and_tag(stack: Stack) -> None:
    a = await make(stack, "A", queueId="q-billing", tags=["red"])
    b = await make(stack, "B", queueId="q-vip", agentId="agent-ben")
    c = await make(stack, "C", status="WAITING")
    await stack.service.close(ALICE, c)

    async def ids(**criteria: object) -> set[str]:
        page = await stack.service.find(
            ConversationFilter.model_validate({"limit": 50, **criteria})
        )
        return {item.id for item in page.items}

    assert await ids(queueIds=["q-billing"]) == {a}
    assert await ids(agentId="agent-ben") == {b}
    assert await ids(tags=["red"]) == {a}
    assert await ids(statuses=["CLOSED"]) == {c}
    assert await ids(statuses=["OPEN", "WAITING"]) == {a, b}
    assert await ids(unassigned=True, statuses=["OPEN"]) == {a}
    # Which of these are closed: one request (the thread mirror's check).
    assert await ids(conversationIds=[a, c], statuses=["CLOSED"]) == {c}
    assert await ids(conversationIds=[a, b]) == {a, b}


async def test_every_change_is_audited_with_actor_and_values(stack: Stack) -> None:
    conversation_id = await make(stack, "Audit me")
    await stack.service.update(ALICE, conversation_id, ConversationPatch(priority=Priority.URGENT))
    await stack.service.tag(ALICE, conversation_id, ["x1"])
    await stack.service.close(ALICE, conversation_id)
    history = await stack.audit.history(conversation_id)
    assert [e.action for e in history] == ["create", "update", "tag", "close"]
    assert all(e.actor == "U_ALICE" and e.surface == "slack" for e in history)
    update = history[1]
    assert (update.before, update.after) == ({"priority": "NORMAL"}, {"priority": "URGENT"})
    assert history[3].after == {"status": "CLOSED"}


async def test_a_failed_change_is_not_audited(stack: Stack) -> None:
    conversation_id = await make(stack, "Closed")
    await stack.service.close(ALICE, conversation_id)
    with pytest.raises(ConversationClosed):
        await stack.service.update(ALICE, conversation_id, ConversationPatch(priority=Priority.LOW))
    assert [e.action for e in await stack.audit.history(conversation_id)] == ["create", "close"]


async def test_concurrent_routes_round_robin_one_step_each(stack: Stack) -> None:
    ids = [await make(stack, f"VIP {n}", tags=["vip"]) for n in range(6)]
    routed = await asyncio.gather(*(stack.service.route(ALICE, c) for c in ids))
    agents = [change.conversation.agentId for change in routed]
    assert sorted(agents, key=str) == ["agent-ana"] * 3 + ["agent-ben"] * 3


async def test_concurrent_tagging_of_one_conversation_succeeds(stack: Stack) -> None:
    conversation_id = await make(stack, "Tag storm")
    await asyncio.gather(*(stack.backend.create_tag("storm") for _ in range(4)))
    await asyncio.gather(*(stack.backend.add_tag(conversation_id, "storm") for _ in range(4)))
    assert (await stack.service.get(conversation_id)).tags == ["storm"]
