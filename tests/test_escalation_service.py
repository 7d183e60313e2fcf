"""EscalationService over the real state database (SQLite and PostgreSQL), with a clock the
test moves: steps in order, waits honoured, no page after an acknowledgement or a close, empty
steps recorded and skipped, repeats, one active escalation per conversation.

The pager here records what it was asked to send: the Slack side has its own end-to-end tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backends.local import LocalBackend
from bot.config import OpsConfig
from bot.errors import BackendUnavailable, InvalidInput
from bot.models import Actor, Conversation, ConversationCreate, Priority
from bot.oncall.config import OncallConfig
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService
from bot.service.paging import Page, Recipient
from bot.state.audit import AuditLog
from bot.state.escalations import EscalationRecord, EscalationStatus, EscalationStore, PageRecord
from tests.conftest import runtime_over, seeded_local
from tests.seed import SEED

ANA = Actor(id="UANA00001", surface="slack", agent_id="agent-ana")
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
ONCALL: dict[str, Any] = {
    "schedules": [
        {
            "name": "primary",
            "timezone": "Europe/London",
            "rotation": {"users": ["U02", "U01"], "shift": "7d", "start": "2026-11-02T09:00"},
        },
        {
            "name": "weekends",
            "rotation": {"users": ["U05"], "shift": "1d", "start": "2026-11-01T00:00"},
            "restrict": [{"days": ["SAT", "SUN"], "from": "00:00", "to": "24:00"}],
        },
    ],
    "policies": [
        {
            "name": "default",
            "steps": [
                {"notify": ["schedule:primary"], "wait": "5m"},
                {"notify": ["schedule:weekends"], "wait": "5m"},  # nobody on a Wednesday
                {"notify": ["user:U09", "channel:C0INCIDENT"], "wait": "10m"},
            ],
            "repeat": 1,
        },
        {"name": "quick", "steps": [{"notify": ["user:U07"], "wait": "1m"}]},
    ],
}


@dataclass
class RecordingPager:
    sent: list[Page] = field(default_factory=list)
    settled: list[tuple[EscalationRecord, list[PageRecord]]] = field(default_factory=list)

    async def send(self, page: Page) -> tuple[str, str]:
        self.sent.append(page)
        channel = page.recipient.id if page.recipient.kind == "channel" else "D" + page.recipient.id
        return channel, f"{len(self.sent)}.000100"

    async def settle(
        self, escalation: EscalationRecord, pages: list[PageRecord], conversation: Conversation
    ) -> None:
        self.settled.append((escalation, pages))

    def to(self) -> list[str]:
        return [page.recipient.id for page in self.sent]


@dataclass
class World:
    service: EscalationService
    conversations: ConversationService
    pager: RecordingPager
    audit: AuditLog
    now: list[datetime]

    def advance(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    async def create(self, priority: str = "NORMAL") -> str:
        data = ConversationCreate(topic="Printer on fire", priority=Priority(priority))
        return (await self.conversations.create(ANA, data)).conversation.id


async def world_on(
    engine: AsyncEngine, backend: Any, now: list[datetime] | None = None, **config: Any
) -> World:
    now = now if now is not None else [START]
    pager = RecordingPager()
    oncall = OncallConfig.model_validate(config or ONCALL)
    runtime = await runtime_over(
        engine, backend, OpsConfig(oncall=oncall), pager=pager, clock=lambda: now[0]
    )
    return World(runtime.escalations, runtime.conversations, pager, runtime.audit, now)


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    return await world_on(engine, await seeded_local(engine))


async def test_escalating_pages_the_first_step_at_once_and_raises_the_conversation(
    world: World,
) -> None:
    conversation_id = await world.create("NORMAL")

    started = await world.service.escalate(ANA, conversation_id, reason="customer waiting")

    assert world.pager.to() == ["U01"]  # on call for primary this week
    assert started.paged == [Recipient(kind="user", id="U01", target="user:U01")]
    assert started.escalation.step == 1 and started.escalation.next_at == START + timedelta(
        minutes=5
    )
    after = await world.conversations.get(conversation_id)
    assert after.priority is Priority.URGENT and "escalated" in (after.tags or [])
    actions = [e.action for e in await world.audit.history(conversation_id)]
    assert actions[-2:] == ["escalate", "page"] and "update" in actions and "tag" in actions


async def test_steps_wait_skip_nobody_repeat_then_stop(world: World) -> None:
    conversation_id = await world.create()
    await world.service.escalate(ANA, conversation_id)
    assert world.pager.to() == ["U01"]

    world.advance(minutes=4, seconds=59)
    assert await world.service.sweep() == 0  # not yet due
    world.advance(seconds=1)
    assert await world.service.sweep() == 1
    # Step 2 (weekends) has nobody on a Wednesday: recorded, and step 3 is paged at once.
    assert world.pager.to() == ["U01", "U09", "C0INCIDENT"]
    skipped = [e for e in await world.audit.history(conversation_id) if e.action == "page-skipped"]
    assert len(skipped) == 1 and skipped[0].after is not None and skipped[0].after["step"] == 2

    world.advance(minutes=10)
    await world.service.sweep()  # repeat 1: the steps once more
    assert world.pager.to()[-1] == "U01" and world.pager.sent[-1].round == 1
    world.advance(minutes=5)
    await world.service.sweep()
    world.advance(minutes=10)
    await world.service.sweep()  # the last step's wait is over: nobody acknowledged
    assert world.pager.to() == ["U01", "U09", "C0INCIDENT", "U01", "U09", "C0INCIDENT"]
    [active] = [e for e in await world.service.active()] or [None]
    assert active is None
    world.advance(hours=5)
    assert await world.service.sweep() == 0
    assert len(world.pager.sent) == 6


async def test_acknowledge_stops_the_chain_and_redraws_every_page(world: World) -> None:
    conversation_id = await world.create()
    started = await world.service.escalate(ANA, conversation_id)
    world.advance(minutes=5)
    await world.service.sweep()
    world.advance(minutes=4)

    acked = await world.service.acknowledge(Actor(id="U09", surface="slack"), started.escalation.id)

    assert acked.first and acked.after == timedelta(minutes=9)
    assert acked.escalation.status is EscalationStatus.ACKNOWLEDGED
    [(record, pages)] = world.pager.settled
    assert record.ended_by == "U09" and len(pages) == 3
    world.advance(hours=1)
    assert await world.service.sweep() == 0
    assert len(world.pager.sent) == 3
    again = await world.service.acknowledge(Actor(id="U01", surface="slack"), started.escalation.id)
    assert not again.first and again.escalation.ended_by == "U09"
    assert len(world.pager.settled) == 1


async def test_closing_resolves_at_once_and_no_page_follows(world: World) -> None:
    conversation_id = await world.create()
    await world.service.escalate(ANA, conversation_id)
    world.advance(minutes=3)
    await world.conversations.close(ANA, conversation_id)

    [(record, pages)] = world.pager.settled
    assert record.status is EscalationStatus.RESOLVED and record.ended_by == ANA.id
    assert len(pages) == 1
    world.advance(minutes=5)
    assert await world.service.sweep() == 0
    assert world.pager.to() == ["U01"]


async def test_a_close_the_bot_did_not_see_is_found_by_the_sweep(
    engine: AsyncEngine,
) -> None:
    backend = await seeded_local(engine)
    world = await world_on(engine, backend)
    conversation_id = await world.create()
    await world.service.escalate(ANA, conversation_id)
    # Closed elsewhere (another tool, Infobip's own UI): no hook ran.
    await ConversationService(backend, AuditLog(engine)).close(ANA, conversation_id)
    world.advance(minutes=5)

    assert await world.service.sweep() == 1
    assert world.pager.to() == ["U01"]
    assert world.pager.settled[0][0].status is EscalationStatus.RESOLVED
    with pytest.raises(InvalidInput, match="closed"):
        await world.service.escalate(ANA, conversation_id)


async def test_one_active_escalation_per_conversation(world: World) -> None:
    conversation_id = await world.create()
    first = await world.service.escalate(ANA, conversation_id)

    second = await world.service.escalate(ANA, conversation_id, policy="quick")

    assert second.already and second.escalation.id == first.escalation.id
    assert [p.id for p in second.paged] == ["U01"]
    assert world.pager.to() == ["U01"]


async def test_concurrent_escalations_of_one_conversation_start_one(world: World) -> None:
    conversation_id = await world.create()
    results = await asyncio.gather(
        *(world.service.escalate(ANA, conversation_id) for _ in range(5))
    )
    assert sum(not r.already for r in results) == 1
    assert world.pager.to() == ["U01"]


async def test_unknown_policy_and_no_policies_are_readable(engine: AsyncEngine) -> None:
    backend = await seeded_local(engine)
    world = await world_on(engine, backend)
    conversation_id = await world.create()
    with pytest.raises(InvalidInput, match="No escalation policy named 'nightly'"):
        await world.service.escalate(ANA, conversation_id, policy="nightly")
    bare = await world_on(engine, backend, schedules=[], policies=[])
    with pytest.raises(InvalidInput, match="not configured"):
        await bare.service.escalate(ANA, conversation_id)


RULES: dict[str, Any] = {
    **ONCALL,
    "auto_escalate": [
        {"when": {"priority": ["URGENT"], "unassigned_for": "15m"}, "policy": "quick"},
    ],
}


async def clocked_world(engine: AsyncEngine) -> World:
    """Conversations and escalations on one clock, so `unassigned_for` can be waited out."""
    now = [START]
    backend = LocalBackend(engine, clock=lambda: now[0])
    await backend.seed(SEED)
    return await world_on(engine, backend, now, **RULES)


async def test_a_rule_escalates_once_until_acknowledged_then_again_after_its_wait(
    engine: AsyncEngine,
) -> None:
    world = await clocked_world(engine)
    urgent = await world.create("URGENT")
    await world.create("HIGH")  # not matched by the rule
    world.advance(minutes=14)
    assert await world.service.auto_escalate() == 0  # not unassigned for 15 min yet

    world.advance(minutes=2)
    assert await world.service.auto_escalate() == 1
    assert world.pager.to() == ["U07"]
    [active] = await world.service.active()
    assert (active.rule or "").startswith("quick/") and active.reason is not None
    assert "unassigned for 15 min" in active.reason

    world.advance(minutes=30)
    assert await world.service.auto_escalate() == 0  # still active: not escalated twice
    acked = await world.service.acknowledge(Actor(id="U07", surface="slack"), active.id)
    world.advance(minutes=10)
    assert await world.service.auto_escalate() == 0  # the clock restarted at the ack
    world.advance(minutes=6)
    assert await world.service.auto_escalate() == 1
    assert acked.first and world.pager.to() == ["U07", "U07"]
    entries = [e.action for e in await world.audit.history(urgent)]
    assert entries.count("escalate") == 2


async def test_a_rule_leaves_assigned_and_closed_conversations_alone(engine: AsyncEngine) -> None:
    world = await clocked_world(engine)
    taken = await world.create("URGENT")
    await world.conversations.assign(ANA, taken, "agent-ana")
    closed = await world.create("URGENT")
    await world.conversations.close(ANA, closed)
    world.advance(minutes=20)
    assert await world.service.auto_escalate() == 0
    assert world.pager.sent == []


async def test_an_unreachable_backend_delays_a_step_without_blocking_the_others(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = await seeded_local(engine)
    world = await world_on(engine, backend)
    stuck, fine = await world.create(), await world.create()
    await world.service.escalate(ANA, stuck)
    world.advance(seconds=1)
    await world.service.escalate(ANA, fine)
    get = backend.get
    unreachable = {stuck}

    async def flaky_get(conversation_id: str) -> Conversation:
        if conversation_id in unreachable:
            raise BackendUnavailable("Infobip is not answering")
        return await get(conversation_id)

    monkeypatch.setattr(backend, "get", flaky_get)
    world.advance(minutes=5)

    assert await world.service.sweep() == 2
    assert world.pager.to() == ["U01", "U01", "U09", "C0INCIDENT"]  # `fine` went on
    delayed = [e for e in await world.audit.history(stuck) if e.action == "page-delayed"]
    assert len(delayed) == 1
    unreachable.clear()
    world.advance(seconds=30)
    await world.service.sweep()
    assert world.pager.to()[-2:] == ["U09", "C0INCIDENT"] and len(world.pager.sent) == 6


async def claim_next_step(world: World, store: EscalationStore) -> list[PageRecord]:
    """Run the due step's claim as the sweep does, then 'die' before delivering its pages."""
    async with store.next_due(world.now[0]) as held:
        assert held is not None
        await world.service._steps.run_step(held, world.now[0])
        return list(held.claimed)


@pytest.mark.slow
async def test_pages_a_dead_process_claimed_are_delivered_once_by_the_next_sweep(
    engine: AsyncEngine, world: World
) -> None:
    store = EscalationStore(engine, clock=lambda: world.now[0])
    conversation_id = await world.create()
    await world.service.escalate(ANA, conversation_id)
    world.advance(minutes=5)
    claimed = await claim_next_step(world, store)
    assert [p.target for p in claimed] == ["user:U09", "channel:C0INCIDENT"]
    assert world.pager.to() == ["U01"]

    world.advance(seconds=30)
    await world.service.sweep()  # inside the lease: the claimant may still be sending
    assert world.pager.to() == ["U01"]
    world.advance(minutes=2)
    await world.service.sweep()
    await world.service.sweep()
    assert world.pager.to() == ["U01", "U09", "C0INCIDENT"]
    assert {p.status.value for p in await store.pages(claimed[0].escalation_id, None)} == {"sent"}


async def test_an_acknowledgement_before_delivery_cancels_the_claimed_pages(
    engine: AsyncEngine, world: World
) -> None:
    store = EscalationStore(engine, clock=lambda: world.now[0])
    conversation_id = await world.create()
    started = await world.service.escalate(ANA, conversation_id)
    world.advance(minutes=5)
    claimed = await claim_next_step(world, store)

    await world.service.acknowledge(Actor(id="U01", surface="slack"), started.escalation.id)
    world.advance(minutes=3)
    await world.service.sweep()

    assert world.pager.to() == ["U01"]  # nothing after the acknowledgement
    pages = await store.pages(claimed[0].escalation_id, None)
    assert [p.status.value for p in pages] == ["sent", "cancelled", "cancelled"]


async def test_a_step_nobody_could_be_reached_in_moves_on_at_once(world: World) -> None:
    sent_to = world.pager.send

    async def refused_for_u01(page: Page) -> tuple[str, str]:
        if page.recipient.id == "U01":
            raise RuntimeError("Slack said user_not_found")
        return await sent_to(page)

    world.pager.send = refused_for_u01  # type: ignore[method-assign]
    conversation_id = await world.create()
    started = await world.service.escalate(ANA, conversation_id)

    assert started.paged == [] and [p.id for p in started.failed] == ["U01"]
    assert started.escalation.next_at == START  # not the step's 5 minutes
    await world.service.sweep()  # step 2 has nobody; step 3 is paged
    assert world.pager.to() == ["U09", "C0INCIDENT"]


@pytest.mark.slow
async def test_a_left_page_whose_conversation_is_gone_is_cancelled_not_retried(
    engine: AsyncEngine, world: World
) -> None:
    store = EscalationStore(engine, clock=lambda: world.now[0])
    conversation_id = await world.create()
    await world.service.escalate(ANA, conversation_id)
    world.advance(minutes=5)
    claimed = await claim_next_step(world, store)
    await ConversationService(world.conversations.backend, world.audit).close(ANA, conversation_id)
    world.advance(minutes=3)

    await world.service.sweep()

    pages = await store.pages(claimed[0].escalation_id, None)
    assert [p.status.value for p in pages] == ["sent", "cancelled", "cancelled"]
    assert world.pager.to() == ["U01"]


@pytest.mark.slow
async def test_conversations_a_rule_already_handled_do_not_starve_newer_ones(
    engine: AsyncEngine,
) -> None:
    world = await clocked_world(engine)
    old = [await world.create("URGENT") for _ in range(22)]
    world.advance(minutes=16)
    assert await world.service.auto_escalate() == 20  # one batch per sweep
    world.advance(minutes=2)
    await world.service.sweep()  # the quick policy pages once and runs out: exhausted
    newer = await world.create("URGENT")
    world.advance(minutes=16)

    assert await world.service.auto_escalate() == 3  # the 2 left over, and the newer one
    escalated = {p.escalation.conversation_id for p in world.pager.sent}
    assert set(old) | {newer} == escalated
    assert len(world.pager.sent) == 23


async def test_a_slow_page_does_not_hold_up_other_writes(world: World) -> None:
    """On SQLite the lock is the whole database: a page being sent must not hold it."""
    conversation_id = await world.create()
    slack_answers = asyncio.Event()
    sending = asyncio.Event()
    send = world.pager.send

    async def slow_send(page: Page) -> tuple[str, str]:
        sending.set()
        await slack_answers.wait()  # Slack is slow to answer
        return await send(page)

    world.pager.send = slow_send  # type: ignore[method-assign]
    escalating = asyncio.create_task(world.service.escalate(ANA, conversation_id))
    await asyncio.wait_for(sending.wait(), 5)

    # Meanwhile the bot goes on writing (a held write lock would cost busy_timeout, 10 s; a
    # loaded machine a second or two).
    async with asyncio.timeout(5):
        other = await world.create()
        await world.conversations.assign(ANA, other, "agent-ana")

    slack_answers.set()
    started = await escalating
    assert [p.id for p in started.paged] == ["U01"]


async def test_a_page_on_its_way_counts_as_paging_not_as_nobody_on_call(world: World) -> None:
    # Another replica's sweep claimed the first step and is still delivering its page when a
    # second /conv escalate asks what is happening.
    conversation_id = await world.create()
    delivering, release = asyncio.Event(), asyncio.Event()
    sent_to = world.pager.send

    async def slow(page: Page) -> tuple[str, str]:
        delivering.set()
        await release.wait()
        return await sent_to(page)

    world.pager.send = slow  # type: ignore[method-assign]
    first = asyncio.create_task(world.service.escalate(ANA, conversation_id))
    await asyncio.wait_for(delivering.wait(), 5)

    again = await world.service.escalate(ANA, conversation_id)

    release.set()
    await first
    assert again.already and [p.id for p in again.paged] == ["U01"]
    assert (again.step, again.steps) == (1, 3) and again.failed == []
