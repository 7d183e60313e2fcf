"""Three `convbot serve` processes on one PostgreSQL schema for 20 digest ticks, paging as they go:
every tick claimed by one of them and posted once, every page sent once, none missing.

(This replaces two in-process tests: tests/test_digest_schedule.py's
`test_three_replicas_post_each_tick_once`, five ticks, and tests/test_escalation_replicas.py's
`test_three_replicas_send_every_page_once`, whose assertions on pages are kept here whole.)

Each process calls Slack with a token of its own, so the fake Slack knows who sent what; the
test reads the shared database with an engine of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import time
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.backends.local import LocalBackend
from bot.devtools.fakeslack import SlackCall, serve_fake_slack
from bot.state.audit import AuditLog
from bot.state.db import create_engine, migrate
from bot.state.escalations import EscalationStore
from bot.state.tables import job_ticks
from bot.state.ticks import TickRecord
from tests.reliability.processes import serve_replicas
from tests.seed import SEED
from tests.slack_harness import (
    BEN,
    CLEO,
    DAVE,
    SlackHarness,
    eventually,
    fake_workspace,
)
from tests.test_escalation_replicas import PAGES_CHANNEL, dm, oncall, posts_to

pytestmark = pytest.mark.postgres

DIGESTS_CHANNEL = "CDIGEST001"
TICKS = 20
INCIDENTS = 9  # escalated one every 1.5 s, while the ticks run
# Step 2 pages a schedule nobody is on call for: recorded and skipped, and step 3 follows at
# once (its own 1 h wait would otherwise keep step 3 from ever coming during the test).
REPLICATED = oncall(
    {"notify": ["schedule:primary"], "wait": "1s"},
    {"notify": ["schedule:nobody"], "wait": "1h"},
    {"notify": [f"user:{CLEO}"], "wait": "1s"},
    {"notify": [f"user:{DAVE}", f"channel:{PAGES_CHANNEL}"], "wait": "1h"},
)
CONFIG = {
    **REPLICATED,
    "digests": [
        {"name": "tick", "channel": DIGESTS_CHANNEL, "every": "1s", "skip_if_empty": False}
    ],
    "scheduler": {**REPLICATED["scheduler"], "misfire_grace": "10s"},
}
# (step index, target) of every page each escalation must send, each exactly once.
EXPECTED_PAGES = {
    (0, f"user:{BEN}"),
    (2, f"user:{CLEO}"),
    (3, f"user:{DAVE}"),
    (3, f"channel:{PAGES_CHANNEL}"),
}
PAGED_CHANNELS = {dm(BEN): 1, dm(CLEO): 3, dm(DAVE): 4, PAGES_CHANNEL: 4}  # → the step


def pid_of(record: TickRecord) -> int:
    return int(record.claimed_by.split(":")[1])  # host:pid:nonce (bot/jobs/scheduler.py)


async def test_three_replicas_post_each_of_20_ticks_once_and_send_every_page_once(
    tmp_path: Path, postgres_url: str
) -> None:
    fake = fake_workspace()
    fake.add_channel(PAGES_CHANNEL, "pages")
    fake.add_channel(DIGESTS_CHANNEL, "digests")
    tokens = [f"xoxb-replica-{n}" for n in range(3)]  # which replica made a call
    engine = create_engine(postgres_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await stack.enter_async_context(serve_fake_slack(fake))
        processes: dict[int, str] = {}  # pid → its token
        running: list[subprocess.Popen[bytes]] = []
        bots: list[SlackHarness] = []
        started = await serve_replicas(stack, tmp_path, fake, postgres_url, tokens, CONFIG)
        for (process, bot), token in zip(started, tokens, strict=True):
            processes[process.pid] = token
            running.append(process)
            bots.append(bot)
        # The window under test: TICKS whole seconds, starting once all three run.
        first_tick = math.ceil(time.time()) + 1
        window = [datetime.fromtimestamp(first_tick + n, UTC) for n in range(TICKS)]

        topics: dict[str, str] = {}  # topic → conversation id
        for n in range(INCIDENTS):
            await asyncio.sleep(max(0.0, first_tick + 1.5 * n - time.time()))
            bot = bots[n % 3]  # each replica escalates some
            topic = f"Incident {n} on fire"
            card = await bot.create(f"{topic} priority:high")
            topics[topic] = card.id
            notice = await bot.escalate(card.id, seconds=15)  # three busy processes, 2 cores
            assert "escalated" in notice.text, notice.text

        async def all_on_the_last_step() -> bool:
            records = await EscalationStore(engine).active()
            return len(records) == len(topics) and all(r.step == 4 for r in records)

        await eventually(all_on_the_last_step, seconds=30)
        await asyncio.sleep(max(0.0, first_tick + TICKS - time.time()))

        async def window_done() -> bool:
            async with engine.connect() as conn:
                done = await conn.execute(
                    select(job_ticks.c.scheduled_at).where(
                        job_ticks.c.scheduled_at.in_(window), job_ticks.c.finished_at.is_not(None)
                    )
                )
                return len(done.all()) == len(window)

        # The window's ticks are done (waited for: three processes share two cores); more
        # sweeps send nothing. One never done is named by the assertions below.
        with contextlib.suppress(TimeoutError):
            await eventually(window_done, seconds=15)
        await asyncio.sleep((0.5 - time.time() % 1) % 1)  # mid-second: between two ticks
        for process in running:
            process.kill()  # all at once (SIGKILL): what each had done is all there is
        for process in running:
            await asyncio.to_thread(process.wait, 10)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(job_ticks))).mappings()
            ticks = [TickRecord.model_validate(dict(row)) for row in rows]
        records = await EscalationStore(engine).active()
        pages = {r.id: await EscalationStore(engine).pages(r.id) for r in records}
        audit = AuditLog(engine)
        audits = {
            topic: [e.action for e in await audit.history(cid)] for topic, cid in topics.items()
        }

    # Digests. Every second of the window was claimed once and posted without error...
    by_time = {t.scheduled_at: t for t in ticks}
    assert len(by_time) == len(ticks)  # the key is unique; shown for the reader
    missing = [t.isoformat() for t in window if t not in by_time]
    assert missing == [], f"ticks no replica ran: {missing}"
    for moment in window:
        tick = by_time[moment]
        assert tick.finished_at is not None and tick.error is None, tick
        assert tick.posting_at is not None and pid_of(tick) in processes, tick
    # ... and each replica posted exactly the ticks it claimed: one post per tick, none by a
    # replica that lost the claim. (A tick cut short by the kill may have reached Slack or not.)
    digest_posts = [
        c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == DIGESTS_CHANNEL
    ]
    assert all(c.ok for c in digest_posts)
    posted = Counter(c.token for c in digest_posts)
    for pid, token in processes.items():
        mine = [t for t in ticks if pid_of(t) == pid and t.posting_at is not None]
        done = sum(1 for t in mine if t.finished_at is not None)
        assert done <= posted[token] <= len(mine), (token, posted[token], done, len(mine))
    assert len(fake.messages_in(DIGESTS_CHANNEL)) == len(digest_posts)
    won = Counter(processes[pid_of(by_time[moment])] for moment in window)
    print(f"window ticks claimed by replica: {dict(won)}; digest posts in all: {len(digest_posts)}")

    # Pages, on Slack's side: one message per (conversation, step) in each paged channel.
    posts: dict[str, list[SlackCall]] = {ch: posts_to(fake, ch) for ch in PAGED_CHANNELS}
    for channel, step in PAGED_CHANNELS.items():
        texts = Counter(str(call.args.get("text")) for call in posts[channel])
        expected = {f"Paged: {topic} needs someone (step {step} of 4)" for topic in topics}
        assert set(texts) == expected, (channel, texts)
        assert set(texts.values()) == {1}, (channel, texts)  # none missing, none twice
    # The database's side: exactly the pages Slack got, each (escalation, step, target) once.
    assert len(pages) == len(topics)
    for delivered in pages.values():
        steps = Counter((p.step, p.target) for p in delivered)
        assert set(steps) == EXPECTED_PAGES and set(steps.values()) == {1}, steps
        assert {p.round for p in delivered} == {0}
    recorded = {(p.channel, p.ts) for delivered in pages.values() for p in delivered}
    sent = {(ch, m.ts) for ch in PAGED_CHANNELS for m in fake.messages_in(ch)}
    assert recorded == sent
    # The empty step was recorded once per escalation, by whichever replica ran it.
    for topic, actions in audits.items():
        assert actions.count("page-skipped") == 1, (topic, actions)
        assert actions.count("page") == 3, (topic, actions)
    senders = Counter(call.token for channel in PAGED_CHANNELS for call in posts[channel])
    print(f"pages sent by replica: {dict(senders)} ({sum(senders.values())} in all)")
    assert sum(senders.values()) == 4 * len(topics)


async def test_replicas_starting_together_seed_the_embedded_store_in_turn(
    postgres_url: str,
) -> None:
    """Three replicas start at once on a fresh database: each seeds the embedded store from
    convbot.yml, and none fails on an agent or queue another one inserted meanwhile."""
    engines = [create_engine(postgres_url) for _ in range(3)]
    try:
        await migrate(engines[0])
        for _ in range(3):  # the first round inserts, the next ones update
            await asyncio.gather(*(LocalBackend(e).seed(SEED) for e in engines))
        agents = await LocalBackend(engines[1]).list_agents()
        queues = await LocalBackend(engines[2]).list_queues()
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(a.id for a in agents) == sorted(a.id for a in SEED.agents)
    assert sorted(q.id for q in queues) == sorted(q.id for q in SEED.queues)
