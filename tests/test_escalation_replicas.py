"""Escalations across replicas and restarts: every page sent once, none lost, none after an
acknowledgement.

A real `convbot serve` process is killed (-9) while a step waits and a new bot takes over;
sweeps and acknowledgements race over a pager that is slow to send. (Three replicas on one
PostgreSQL schema paging while digests tick: tests/reliability/test_replicas.py.)
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import OpsConfig
from bot.devtools.fakeslack import FakeSlack, SlackCall, serve_fake_slack
from bot.models import Actor, Conversation, ConversationCreate
from bot.oncall.config import OncallConfig
from bot.oncall.values import WEEKDAYS
from bot.service.paging import Page
from bot.state.db import create_engine
from bot.state.escalations import EscalationRecord, EscalationStatus, EscalationStore, PageRecord
from tests.conftest import (
    POSTGRES_URL,
    fresh_postgres_schema,
    runtime_over,
    seeded_local,
    sqlite_engine,
)
from tests.quiescence import quiescent
from tests.reliability.processes import convbot_serve
from tests.slack_harness import (
    ANA,
    BEN,
    CLEO,
    eventually,
    fake_workspace,
    running_bot,
    write_config,
)

# The slow tier (tests/conftest.py): bot replicas killed and replaced on a shared database.
pytestmark = pytest.mark.slow

Json = dict[str, Any]
PAGES_CHANNEL = "CPAGES0001"  # a channel the last step pages, besides a person


def dm(user: str) -> str:
    """The fake's DM channel with `user` (as `conversations.open` answers it)."""
    return "D" + user[1:]


def nobody_on_call_schedule() -> Json:
    """A schedule on call only on a day three days from now: nobody while the test runs."""
    day = WEEKDAYS[(datetime.now(UTC) + timedelta(days=3)).weekday()]
    return {
        "name": "nobody",
        "rotation": {"users": [ANA], "shift": "7d", "start": "2024-01-01T09:00"},
        "restrict": [{"days": [day], "from": "00:00", "to": "24:00"}],
    }


def oncall(*steps: Json) -> Json:
    return {
        "scheduler": {"escalation_sweep": "1s"},
        "oncall": {
            "schedules": [
                {
                    "name": "primary",
                    "rotation": {"users": [BEN], "shift": "7d", "start": "2024-01-01T09:00"},
                },
                nobody_on_call_schedule(),
            ],
            "policies": [{"name": "default", "steps": list(steps), "repeat": 0}],
        },
    }


def posts_to(fake: FakeSlack, channel: str) -> list[SlackCall]:
    return [
        call
        for call in fake.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == channel
    ]


async def escalation_of(engine: AsyncEngine, conversation_id: str) -> EscalationRecord:
    records = await EscalationStore(engine).active()
    [record] = [r for r in records if r.conversation_id == conversation_id]
    return record


# --- 1. three replicas on one PostgreSQL schema ---------------------------------------------------

# Three `convbot serve` processes paging while digests tick: tests/reliability/test_replicas.py.


# --- 2. a restart while a step waits -------------------------------------------------------------

# Step 1's wait holds a subprocess's create and escalate, its kill and (before-due) a whole
# bot's start-up on a loaded machine: 8 s, not the 3 s that once sufficed on an idle one.
RESTARTED = oncall(
    {"notify": ["schedule:primary"], "wait": "8s"},
    {"notify": [f"user:{CLEO}"], "wait": "1h"},
)


@asynccontextmanager
async def shared_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/state.db"
    else:
        async with fresh_postgres_schema() as schema:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.mark.parametrize(
    ("kind", "restart"),
    [
        ("sqlite", "after-due"),
        pytest.param("postgres", "after-due", marks=pytest.mark.postgres),
        ("sqlite", "before-due"),
    ],
)
async def test_a_bot_killed_while_a_step_waits_is_replaced_and_the_step_paged_once(
    tmp_path: Path, kind: str, restart: str
) -> None:
    """Killed (-9) during step 1's wait; a new bot on the same database started after step 2
    fell due pages it once (caught up), and one started before pages it once, when due."""
    fake = fake_workspace()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_config(tmp_path / "a" / "convbot.yml", RESTARTED)
    async with shared_database(kind, tmp_path) as url, AsyncExitStack() as stack:
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        async with (
            serve_fake_slack(fake),
            convbot_serve(tmp_path / "a", fake, url) as (process, first),
        ):
            card = await first.create("Printer on fire priority:urgent")
            notice = await first.escalate(card.id)
            assert f"<@{BEN}>" in notice.text, notice.text
            waiting = await escalation_of(engine, card.id)  # step 1 is sent and committed
            assert waiting.step == 1 and waiting.next_at is not None
            due = waiting.next_at.timestamp()
            assert time.time() < due - 1  # well inside the 8 s wait
            process.kill()  # SIGKILL: no shutdown of any kind
            await asyncio.to_thread(process.wait, 10)
        assert len(posts_to(fake, dm(BEN))) == 1 and posts_to(fake, dm(CLEO)) == []

        if restart == "after-due":
            await asyncio.sleep(due - time.time() + 0.3)  # step 2 falls due while nobody runs
            assert await escalation_of(engine, card.id) == waiting
        async with running_bot(
            tmp_path / "b", config=RESTARTED, fake=fake, database_url=url
        ) as restarted:
            started = time.time()

            async def on_step_two() -> bool:
                return (await escalation_of(engine, card.id)).step == 2

            await eventually(lambda: posts_to(fake, dm(CLEO)), seconds=10)
            await eventually(on_step_two)
            # The bot's next sweeps, run now instead of waited for (every 1 s), and whatever
            # they or the scheduler set off finished (tests/quiescence.py): nothing more.
            escalations = restarted.serving.runtime.escalations
            for _ in range(2):
                await escalations.tick()
            await quiescent()
            actions = await restarted.actions(card.id)
        if restart == "before-due":
            assert started < due - 0.5  # its sweeps ran while step 2 was not yet due
        [page] = posts_to(fake, dm(CLEO))
        assert page.time >= due, (page.time, due)  # not before it was due
        assert "step 2 of 2" in str(page.args.get("text"))
        assert len(posts_to(fake, dm(BEN))) == 1
        [recorded] = [p for p in await EscalationStore(engine).pages(waiting.id) if p.step == 1]
        assert recorded.channel == dm(CLEO)
        assert recorded.sent_at is not None and recorded.sent_at.timestamp() >= due
        assert actions.count("page") == 2


# --- 3. acknowledgements racing the sweep --------------------------------------------------------

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ACKER = Actor(id="UACK00001", surface="slack")
RACE: Json = {
    "policies": [
        {
            "name": "race",
            "steps": [
                {"notify": ["user:U01"], "wait": "1m"},
                {"notify": ["user:U02", "user:U03"], "wait": "1m"},
                {"notify": ["user:U04"], "wait": "1h"},
            ],
            "repeat": 0,
        }
    ]
}

QUICK: Json = {
    "policies": [
        {
            "name": "quick",
            "steps": [
                {"notify": ["user:U01"], "wait": "1m"},
                {"notify": ["user:U02"], "wait": "1h"},
            ],
        }
    ]
}


@dataclass
class SentPage:
    escalation_id: str
    step: int  # 1-based, as in Page
    ts: str
    began: float  # time.monotonic() when send was called
    ended: float


@dataclass
class SlowPager:
    """Takes `delay` to send each page (so a step holds its row that long); `on_send` is called
    as each send begins."""

    delay: float = 0.0
    on_send: Callable[[Page], None] | None = None
    sent: list[SentPage] = field(default_factory=list)
    settled: list[tuple[EscalationRecord, list[PageRecord]]] = field(default_factory=list)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, page: Page) -> tuple[str, str]:
        began = time.monotonic()
        if self.on_send is not None:
            self.on_send(page)
        await asyncio.sleep(self.delay)
        ts = f"{next(self._serial)}.000100"
        self.sent.append(SentPage(page.escalation.id, page.step, ts, began, time.monotonic()))
        return "D" + page.recipient.id[1:], ts

    async def settle(
        self, escalation: EscalationRecord, pages: list[PageRecord], conversation: Conversation
    ) -> None:
        self.settled.append((escalation, pages))


@pytest.mark.parametrize("seed", [7])
async def test_an_acknowledgement_racing_a_step_settles_every_page_it_sent(
    engine: AsyncEngine, seed: int
) -> None:
    """Escalations fall due together; the sweep (two replicas on PostgreSQL, one on SQLite)
    sends step 2 slowly while each is acknowledged: some at random moments, every third from
    inside its own step's send (while the sweep holds its row). Every page sent is recorded and
    among those the acknowledgement redrew; nothing is sent after.

    On SQLite every acknowledgement waits while any step is sent (the lock is the database's);
    the store queues them in the process, holding no pooled connection (see the next test)."""
    postgres = engine.dialect.name == "postgresql"
    backend = await seeded_local(engine)
    now = [START]
    pager = SlowPager()
    config = OpsConfig(oncall=OncallConfig.model_validate(RACE))
    runtimes = [
        await runtime_over(engine, backend, config, pager=pager, clock=lambda: now[0])
        for _ in range(2 if postgres else 1)
    ]
    replicas = [runtime.escalations for runtime in runtimes]
    conversations = runtimes[0].conversations
    service = replicas[0]
    store = EscalationStore(engine)
    ids: list[str] = []
    for n in range(20):
        data = ConversationCreate(topic=f"Incident {n}")
        created = (await conversations.create(_agent(), data)).conversation
        ids.append((await service.escalate(_agent(), created.id)).escalation.id)
    assert [p.step for p in pager.sent] == [1] * len(ids)

    now[0] += timedelta(minutes=1)  # step 2 of every escalation is due
    pager.delay = 0.1
    acked: dict[str, float] = {}  # when each acknowledgement returned (monotonic)
    firsts: dict[str, bool] = {}

    async def acknowledge(escalation_id: str, after: float) -> None:
        await asyncio.sleep(after)
        result = await replicas[len(acked) % len(replicas)].acknowledge(ACKER, escalation_id)
        acked[escalation_id] = time.monotonic()
        firsts[escalation_id] = result.first

    mid_send = set(ids[::3])
    in_flight: list[asyncio.Task[None]] = []

    def ack_mid_send(page: Page) -> None:
        if page.escalation.id in mid_send and page.step == 2 and page.recipient.id == "U02":
            in_flight.append(asyncio.create_task(acknowledge(page.escalation.id, 0)))

    pager.on_send = ack_mid_send
    rng = random.Random(seed)
    at_random = [acknowledge(e, rng.uniform(0, 1.5)) for e in ids if e not in mid_send]
    await asyncio.gather(*(r.sweep() for r in replicas), *at_random)
    await asyncio.gather(*in_flight)

    assert sorted(acked) == sorted(ids) and all(firsts.values())
    settled = {record.id: (record, pages) for record, pages in pager.settled}
    step_two_sent = 0
    for escalation_id in ids:
        sent = [p for p in pager.sent if p.escalation_id == escalation_id]
        recorded = await store.pages(escalation_id)
        record, redrawn = settled[escalation_id]
        # Every page sent is recorded, every recorded page was sent, and the acknowledgement
        # redrew exactly those: none slipped out after it.
        assert {p.ts for p in sent} == {p.ts for p in recorded} == {p.ts for p in redrawn}
        assert all(p.began < acked[escalation_id] for p in sent)
        assert record.status is EscalationStatus.ACKNOWLEDGED and record.next_at is None
        assert record.ended_at is not None
        assert all(p.sent_at is not None and p.sent_at <= record.ended_at for p in recorded)
        steps = Counter(p.step for p in recorded)
        assert steps[0] == 1 and steps[1] <= 2 and steps[2] == 0, steps
        if escalation_id in mid_send:  # the page being sent when it came was let out, and redrawn
            assert steps[1] >= 1, (escalation_id, steps)
        step_two_sent += steps[1]
    print(f"step 2 pages sent before the acknowledgements: {step_two_sent} (of {2 * len(ids)})")

    now[0] += timedelta(hours=2)  # every wait is over: an acknowledged chain stays stopped
    for replica in replicas:
        assert await replica.sweep() == 0
    assert len(pager.sent) == len(ids) + step_two_sent and len(pager.settled) == len(ids)
    again = await service.acknowledge(ACKER, ids[0])
    assert not again.first and len(pager.settled) == len(ids)


def _agent() -> Actor:
    return Actor(id=ANA, surface="slack", agent_id="agent-ana")


@dataclass
class DrawingPager(SlowPager):
    """Sends as SlackPager does: a Slack call (here: until `answered` is set), then a database
    read (SlackPager.send draws the page with `card_context`, which reads the snoozes), all while
    the escalation's row is held."""

    answered: asyncio.Event = field(default_factory=asyncio.Event)
    drawing: Callable[[], Awaitable[object]] | None = None

    async def send(self, page: Page) -> tuple[str, str]:
        sent = await super().send(page)
        await self.answered.wait()
        if self.drawing is not None:
            await self.drawing()
        return sent


async def test_sqlite_acknowledgements_waiting_for_a_step_do_not_starve_it_of_connections(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path / "state.db")  # as the bot opens it: bot.state.db
    try:
        backend = await seeded_local(engine)
        now = [START]
        pager = DrawingPager()
        pager.answered.set()
        config = OpsConfig(oncall=OncallConfig.model_validate(QUICK))
        runtime = await runtime_over(engine, backend, config, pager=pager, clock=lambda: now[0])
        conversations, service = runtime.conversations, runtime.escalations
        ids = []
        for n in range(15):
            created = (
                await conversations.create(_agent(), ConversationCreate(topic=f"Incident {n}"))
            ).conversation
            ids.append((await service.escalate(_agent(), created.id)).escalation.id)
        now[0] += timedelta(minutes=1)
        acks: list[asyncio.Task[object]] = []
        started: list[str] = []

        async def acknowledge(escalation_id: str) -> object:
            started.append(escalation_id)
            return await service.acknowledge(ACKER, escalation_id)

        def burst(page: Page) -> None:
            # While the first step 2 is being sent, the 14 other escalations are acknowledged.
            if not acks:
                others = [e for e in ids if e != page.escalation.id]
                acks.extend(asyncio.create_task(acknowledge(e)) for e in others)

        pager.on_send = burst
        pager.answered.clear()  # the first step 2 waits for Slack until the burst waits too
        pager.drawing = lambda: conversations.snoozed()
        sweep = asyncio.create_task(service.sweep())
        await eventually(lambda: len(started) == 14)

        # Each acknowledgement either finishes or waits for the page's lock, and a waiting one
        # holds no pooled connection: the count falls to the step's own. (A snapshot at a fixed
        # moment would catch acknowledgements still reading on a loaded machine.)
        def checked_out() -> int:
            return int(getattr(engine.pool, "checkedout", lambda: 0)())

        try:
            await eventually(lambda: checked_out() <= 2, seconds=5)
        except TimeoutError:
            raise AssertionError(
                f"{checked_out()} pooled connections held by waiting writers"
            ) from None
        pager.on_send = None
        # From Slack's answer: a step starved of connections would wait SQLite's busy_timeout
        # (10 s) for one to draw its page.
        began = time.monotonic()
        pager.answered.set()  # Slack answers; the page is drawn
        results = await asyncio.gather(*acks, return_exceptions=True)
        took = time.monotonic() - began
        await sweep
        failed = [repr(r)[:120] for r in results if isinstance(r, BaseException)]
        assert failed == [], (
            f"{len(failed)} acknowledgements failed after {took:.1f} s: {failed[0]}"
        )
        assert took < 5, took
    finally:
        await engine.dispose()
