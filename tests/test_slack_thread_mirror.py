"""New messages arrive in open threads by themselves (issue 18 item 3): the mirror's pass is run
directly (as tests run escalation sweeps), through the real bot, the embedded store and the
strict fake Slack. Each message once and in order, across a restart that stopped between a
post and its record, and between two replicas; Slack's pace kept through a 429 burst; a closed
conversation's thread retired with a last line."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from starlette.types import ASGIApp, Receive, Scope, Send

import bot.slack.threads as slack_threads_module
from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import StoredMessage
from bot.devtools.loopback import serve_in_background
from bot.models import ConversationPatch, Status
from bot.slack.blocks.transcript import LIVE_BATCH
from bot.slack.thread_mirror import STATUS_EVERY, WORKER_PREFIX, ThreadMirror
from bot.slack.thread_posting import CLOSED, EVENT_TYPE
from bot.state.tables import slack_threads
from bot.state.threads import ChannelLeases, SlackThread
from bot.timestamps import utcnow
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    CHANNEL,
    Card,
    SlackHarness,
    eventually,
    fake_workspace,
    running_bot,
    texts,
)
from tests.test_slack_threads import customer_writes, inbound, open_thread, replies

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback; posts paced.
pytestmark = pytest.mark.slow


# The scheduler's own pass waits a minute: each test runs the pass itself.
CONFIG = {"threads": {"poll_interval": "60s"}}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with running_bot(tmp_path, config=CONFIG) as harness:
        yield harness


async def mirror(slack: SlackHarness) -> int:
    """One pass of the mirror job, as the scheduler runs it."""
    return await slack.serving.runtime.mirror.run_pass()


def replica(slack: SlackHarness, **options: Any) -> ThreadMirror:
    """Another replica's mirror over the same state database, holding leases of its own."""
    runtime = slack.serving.runtime
    return ThreadMirror(
        runtime.slack.client,
        runtime.conversations,
        runtime.slack.threads,
        ChannelLeases(runtime.engine, "replica-two", timedelta(seconds=30)),
        timedelta(seconds=5),
        **options,
    )


def said(messages: list[StoredMessage]) -> list[str]:
    return [texts(m.blocks) for m in messages]


async def test_new_messages_appear_in_the_thread_in_order_and_once(slack: SlackHarness) -> None:
    card = await slack.create("Live")
    await customer_writes(slack, card.id, "first")
    await open_thread(slack, card)
    assert await mirror(slack) == 0  # nothing new since the transcript

    for text in ("second", "third"):
        await customer_writes(slack, card.id, text)
    await (await slack.command(f"take {card.id}")).answer()
    actor = await slack.serving.runtime.slack.identity.actor(ANA)
    await slack.service.transcripts.reply(actor, card.id, "answered elsewhere")
    assert await mirror(slack) == 3
    assert await mirror(slack) == 0  # each once

    # The thread's three new messages share one post (one turn of Slack's pace), in order.
    live = replies(slack, card.message)[1:]
    assert len(live) == 1
    drawn = texts(live[0].blocks)
    assert drawn.index("second") < drawn.index("third") < drawn.index("answered elsewhere")
    assert f"*Agent* <@{ANA}>" in drawn
    # The post names its Infobip messages in its metadata: how a restart tells it was posted.
    assert live[0].metadata is not None
    assert len(live[0].metadata["event_payload"]["message_ids"]) == 3


async def test_the_scheduler_keeps_each_channel_mirrored_by_its_own_worker(
    tmp_path: Path,
) -> None:
    # As in production: the scheduler's job starts a worker per channel, and the worker polls
    # its threads every interval. Nobody runs a pass by hand here.
    config = {"threads": {"poll_interval": "1s"}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("By itself")
        await open_thread(slack, card)
        for text in ("first by itself", "second by itself"):
            await customer_writes(slack, card.id, text)

            def shown(text: str = text) -> bool:
                return any(text in t for t in said(replies(slack, card.message)))

            await eventually(shown, seconds=8)
        workers = [t for t in asyncio.all_tasks() if t.get_name().startswith(WORKER_PREFIX)]
        assert [t.get_name() for t in workers] == [WORKER_PREFIX + CHANNEL]
    # The bot's stop ended the worker.
    assert all(worker.done() for worker in workers)


async def long_transcript(
    slack: SlackHarness, topic: str, nth: int
) -> tuple[Card, Callable[[dict[str, object]], bool]]:
    """A card whose conversation's transcript takes two posts ("long 0:" … "long 7:"), and a
    fault `match` for the `nth` post in its thread."""
    card = await slack.create(topic)
    for n in range(8):
        await customer_writes(slack, card.id, f"long {n}: " + "x" * 2300)
    in_thread: list[object] = []

    def nth_post(args: dict[str, object]) -> bool:
        if args.get("thread_ts") != card.message.ts:
            return False
        in_thread.append(args)
        return len(in_thread) == nth

    return card, nth_post


async def test_a_transcript_cut_short_by_slack_is_finished_by_the_mirror(
    slack: SlackHarness,
) -> None:
    card, second_post = await long_transcript(slack, "Long transcript", 2)
    slack.fake.fail("chat.postMessage", status=200, error="fatal_error", match=second_post)
    await open_thread(slack, card)  # opened, whatever the second post met
    await quiescent()
    shown = " ".join(said(replies(slack, card.message)))
    assert "long 0:" in shown and "long 7:" not in shown  # the second post did not go
    # The mirror goes on from the first message the transcript did not show: each once.
    assert await mirror(slack) > 0
    shown = " ".join(said(replies(slack, card.message)))
    assert [shown.count(f"long {n}:") for n in range(8)] == [1] * 8


async def test_a_transcript_post_slack_took_without_answering_is_not_posted_again(
    slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_threads_module, "POST_SECONDS", 1.0)  # not the 8 s of production
    card, post = await long_transcript(slack, "Unanswered transcript", 2)
    # Slack takes the post and answers after the bot has stopped waiting: the thread is open.
    slack.fake.fail("chat.postMessage", delay=3, match=post)
    await open_thread(slack, card)
    await quiescent()
    shown = " ".join(said(replies(slack, card.message)))
    assert "long 7:" in shown  # in Slack, though the bot never heard so
    store = slack.serving.runtime.slack.threads.store
    thread = await store.find(card.id, CHANNEL)
    assert thread is not None and thread.posting_id is not None  # its fate is to be read back
    # Not at once: Slack, too slow to answer, may still be making the post (POST_SECONDS).
    assert thread.backoff_until is not None
    await store.back_off(card.id, CHANNEL, 0, utcnow())  # that while has passed
    # The mirror reads the thread back, finds the post, and posts none of it again.
    await mirror(slack)
    shown = " ".join(said(replies(slack, card.message)))
    assert [shown.count(f"long {n}:") for n in range(8)] == [1] * 8
    thread = await store.find(card.id, CHANNEL)
    assert thread is not None and thread.posting_id is None


async def unrecorded(slack: SlackHarness, card: Card, before: SlackThread) -> None:
    """The thread as a stop after Slack took its last post, before the cursor moved, left it:
    the cursor back where it was `before`, that post's last message recorded as posting."""
    posted = replies(slack, card.message)[-1]
    held = posted.metadata["event_payload"]["message_ids"]  # type: ignore[index]
    store = slack.serving.runtime.slack.threads.store
    await store.advance(card.id, CHANNEL, before.cursor_at, before.cursor_ids)
    await store.posting(card.id, CHANNEL, held[-1])


async def test_a_restart_between_a_post_and_its_record_neither_repeats_nor_loses(
    tmp_path: Path,
) -> None:
    fake = fake_workspace()
    async with running_bot(tmp_path, fake=fake, config=CONFIG) as slack:
        card = await slack.create("Restarted")
        await open_thread(slack, card)
        await customer_writes(slack, card.id, "before the stop")
        store = slack.serving.runtime.slack.threads.store
        before = await store.find(card.id, CHANNEL)
        assert before is not None
        assert await mirror(slack) == 1
        # As if the bot stopped after Slack took the post and before the cursor was written.
        await unrecorded(slack, card, before)
        await customer_writes(slack, card.id, "while it was down")

    async with running_bot(tmp_path, fake=fake, config=CONFIG) as slack:
        await mirror(slack)
        drawn = said(replies(slack, card.message))
        assert sum("before the stop" in text for text in drawn) == 1, drawn
        assert sum("while it was down" in text for text in drawn) == 1
        assert drawn.index(next(t for t in drawn if "while it was down" in t)) == len(drawn) - 1


async def test_what_a_restart_found_in_slack_stays_posted_when_the_next_post_fails(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Recovered")
    await open_thread(slack, card)
    store = slack.serving.runtime.slack.threads.store
    before = await store.find(card.id, CHANNEL)
    assert before is not None
    for text in ("first", "second"):
        await customer_writes(slack, card.id, text)
    assert await mirror(slack) == 2
    # As if the bot stopped after Slack took the post and before the cursor was written...
    await unrecorded(slack, card, before)
    # ... and, after the restart, the next post (a newer message) is refused.
    await customer_writes(slack, card.id, "third")
    slack.fake.fail_next("chat.postMessage", status=200, error="fatal_error")
    assert await mirror(slack) == 0
    await store.back_off(card.id, CHANNEL, 1, utcnow())
    assert await mirror(slack) == 1
    shown = " ".join(said(replies(slack, card.message)))
    assert [shown.count(t) for t in ("first", "second", "third")] == [1, 1, 1], shown


async def test_a_post_that_never_reached_slack_is_made_after_a_restart(tmp_path: Path) -> None:
    fake = fake_workspace()
    async with running_bot(tmp_path, fake=fake, config=CONFIG) as slack:
        card = await slack.create("Lost post")
        await open_thread(slack, card)
        message = await customer_writes(slack, card.id, "never posted")
        store = slack.serving.runtime.slack.threads.store
        # Stopped after recording the post and before Slack had it.
        await store.posting(card.id, CHANNEL, message.id)
    async with running_bot(tmp_path, fake=fake, config=CONFIG) as slack:
        assert await mirror(slack) == 1
        assert "never posted" in said(replies(slack, card.message))[-1]


async def test_two_replicas_post_each_message_once(slack: SlackHarness) -> None:
    card = await slack.create("Two replicas")
    await open_thread(slack, card)
    other = replica(slack)
    for n in range(3):
        await customer_writes(slack, card.id, f"message {n}")
    counts = await asyncio.gather(mirror(slack), other.run_pass())
    assert sorted(counts) == [0, 3]  # the channel's lease holder posted, the other did not
    assert await other.run_pass() == 0 and await mirror(slack) == 0
    drawn = " ".join(said(replies(slack, card.message)[1:]))
    assert [drawn.count(f"message {n}") for n in range(3)] == [1, 1, 1], drawn


async def test_a_slack_429_burst_posts_everything_in_order_at_slacks_pace(
    slack: SlackHarness,
) -> None:
    cards = [await slack.create(f"Burst {n}") for n in range(3)]
    for card in cards:
        await open_thread(slack, card)
    # The first thread has more than one post holds; each thread's messages stay in order.
    for n in range(LIVE_BATCH + 2):
        await customer_writes(slack, cards[0].id, f"burst {n}.")
    for card in cards[1:]:
        await customer_writes(slack, card.id, f"one for {card.id}")
    slack.fake.fail("chat.postMessage", times=2, retry_after=1)
    assert await mirror(slack) == LIVE_BATCH + 4
    drawn = " ".join(said(replies(slack, cards[0].message)[1:]))
    places = [drawn.index(f"burst {n}.") for n in range(LIVE_BATCH + 2)]
    assert places == sorted(places), drawn
    for card in cards[1:]:
        assert f"one for {card.id}" in said(replies(slack, card.message))[-1]
    # Never faster than Slack's one message per second in the channel (the fake's clock).
    times = [
        call.time
        for call in slack.fake.calls_to("chat.postMessage", faulted=False)
        if (call.args.get("metadata") or {}).get("event_type") == EVENT_TYPE
    ]
    assert len(times) == 4  # 12 messages in two posts, and one each for the others
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.95, gaps


async def test_a_long_slack_retry_after_makes_the_channel_wait_and_loses_nothing(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Throttled channel")
    await open_thread(slack, card)
    now = [0.0]
    paced = replica(slack, monotonic=lambda: now[0])
    await customer_writes(slack, card.id, "held by Slack")
    # Longer than the client waits out by itself: the post fails and the channel waits.
    slack.fake.fail("chat.postMessage", retry_after=30)
    assert await paced.run_pass() == 0
    asked = len(slack.fake.calls_to("chat.postMessage"))
    now[0] += 20
    assert await paced.run_pass() == 0
    assert len(slack.fake.calls_to("chat.postMessage")) == asked  # Slack is not asked meanwhile
    now[0] += 11
    assert await paced.run_pass() == 1
    assert "held by Slack" in said(replies(slack, card.message))[-1]


async def test_a_closed_conversations_thread_says_so_and_retires(slack: SlackHarness) -> None:
    card = await slack.create("Closing")
    await open_thread(slack, card)
    await customer_writes(slack, card.id, "thanks, bye")
    await (await slack.command(f"close {card.id}")).answer()
    assert await mirror(slack) == 2
    drawn = said(replies(slack, card.message))
    assert "thanks, bye" in drawn[-2] and "Conversation closed" in drawn[-1]
    store = slack.serving.runtime.slack.threads.store
    thread = await store.find(card.id, CHANNEL)
    assert thread is not None and thread.retired
    assert await mirror(slack) == 0


async def test_a_stop_between_the_closing_line_and_the_retire_posts_it_once(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Closing once")
    await open_thread(slack, card)
    await (await slack.command(f"close {card.id}")).answer()
    assert await mirror(slack) == 1
    # As if the bot stopped after Slack took the closing line and before the thread retired.
    async with slack.serving.runtime.engine.begin() as conn:
        await conn.execute(
            update(slack_threads)
            .where(slack_threads.c.conversation_id == card.id)
            .values(retired_at=None, posting_id=CLOSED)
        )
    assert await mirror(slack) == 0
    drawn = said(replies(slack, card.message))
    assert sum("Conversation closed" in text for text in drawn) == 1, drawn
    thread = await slack.serving.runtime.slack.threads.store.find(card.id, CHANNEL)
    assert thread is not None and thread.retired


class InfobipRefusing:
    """The Infobip emulator, answering message lists with `status` (and Infobip's error body)
    while `refusing(path)` says so; `lists` counts the lists asked for, refused or not."""

    def __init__(self, app: ASGIApp, status: int, message_id: str, **headers: str) -> None:
        self.app = app
        self.status = status
        self.body = json.dumps({"requestError": {"serviceException": {"messageId": message_id}}})
        self.headers = [(b"content-type", b"application/json")] + [
            (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
        ]
        self.refusing: Callable[[str], bool] = lambda _path: False
        self.lists = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        listing = (
            scope["type"] == "http" and scope["method"] == "GET" and path.endswith("/messages")
        )
        self.lists += listing
        if listing and self.refusing(path):
            start = {"type": "http.response.start", "status": self.status, "headers": self.headers}
            await send(start)
            await send({"type": "http.response.body", "body": self.body.encode()})
            return
        await self.app(scope, receive, send)


async def test_an_infobip_429_backs_the_thread_off_and_loses_nothing(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        app = create_emulator_app(store, EMULATOR_KEY)
        throttle = InfobipRefusing(app, 429, "TOO_MANY_REQUESTS", retry_after="1")
        async with (
            serve_in_background(throttle) as infobip,
            running_bot(
                tmp_path, config=CONFIG, infobip_base_url=infobip, infobip_api_key=EMULATOR_KEY
            ) as slack,
        ):
            card = await slack.create("Throttled")
            await open_thread(slack, card)
            threads = slack.serving.runtime.slack.threads.store
            throttle.refusing, asked = (lambda _path: True), throttle.lists
            await store.receive_message(card.id, inbound("held back"))

            assert await mirror(slack) == 0
            thread = await threads.find(card.id, CHANNEL)
            assert thread is not None and thread.failures == 1
            assert thread.backoff_until is not None and thread.backoff_until > utcnow()
            asked = throttle.lists - asked
            assert 1 <= asked <= 4  # one list (the client's own retries included), no more

            before = throttle.lists
            assert await mirror(slack) == 0  # backing off: Infobip is not asked at all
            assert throttle.lists == before

            throttle.refusing = lambda _path: False  # Infobip recovers; the back-off ends
            await threads.back_off(card.id, CHANNEL, 1, utcnow())
            assert await mirror(slack) == 1
            assert "held back" in said(replies(slack, card.message))[-1]
            thread = await threads.find(card.id, CHANNEL)
            assert thread is not None and (thread.failures, thread.backoff_until) == (0, None)
    finally:
        await engine.dispose()


async def test_a_thread_infobip_refuses_backs_off_alone_and_the_channel_goes_on(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        refusing = InfobipRefusing(create_emulator_app(store, EMULATOR_KEY), 400, "BAD_REQUEST")
        async with (
            serve_in_background(refusing) as infobip,
            running_bot(
                tmp_path, config=CONFIG, infobip_base_url=infobip, infobip_api_key=EMULATOR_KEY
            ) as slack,
        ):
            bad, good = await slack.create("Refused"), await slack.create("Fine")
            for card in (bad, good):
                await open_thread(slack, card)
                await store.receive_message(card.id, inbound(f"news for {card.id}"))
            refusing.refusing = lambda path: path.endswith(f"/{bad.id}/messages")
            assert await mirror(slack) == 1
            assert f"news for {good.id}" in said(replies(slack, good.message))[-1]
            threads = slack.serving.runtime.slack.threads.store
            backed_off = await threads.find(bad.id, CHANNEL)
            assert backed_off is not None and backed_off.failures == 1
    finally:
        await engine.dispose()


async def test_a_close_made_in_infobip_itself_is_noticed_and_retires_the_thread(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Closed elsewhere")
    await open_thread(slack, card)
    backend = slack.serving.runtime.backend
    await backend.patch(card.id, ConversationPatch(status=Status.CLOSED))  # not through convbot
    # Every STATUS_EVERY poll intervals a channel asks which of its conversations closed (one
    # request for all its threads), and a closed one's thread gets its last poll at once.
    now = [0.0]
    other = replica(slack, monotonic=lambda: now[0])
    assert await other.run_pass() == 0  # the channel's first pass
    now[0] += 5 * STATUS_EVERY - 1
    assert await other.run_pass() == 0
    now[0] += 1
    assert await other.run_pass() == 1
    assert "Conversation closed" in said(replies(slack, card.message))[-1]
    store = slack.serving.runtime.slack.threads.store
    thread = await store.find(card.id, CHANNEL)
    assert thread is not None and thread.retired


async def test_a_channels_threads_are_posted_oldest_news_first(slack: SlackHarness) -> None:
    first, second = await slack.create("First card"), await slack.create("Second card")
    for card in (first, second):
        await open_thread(slack, card)
    # The second card's customer wrote first: their message is posted first, whichever
    # thread the pass comes to first.
    await customer_writes(slack, second.id, "written earlier")
    await customer_writes(slack, first.id, "written later")
    assert await mirror(slack) == 2
    posted = [
        texts(call.args.get("blocks") or [])
        for call in slack.fake.calls_to("chat.postMessage")
        if (call.args.get("metadata") or {}).get("event_type") == EVENT_TYPE
    ]
    assert ["written earlier" in posted[0], "written later" in posted[1]] == [True, True]


async def test_a_post_slack_refuses_backs_off_its_thread_and_the_channel_goes_on(
    slack: SlackHarness,
) -> None:
    refused, fine = await slack.create("Refused"), await slack.create("Fine")
    for card in (refused, fine):
        await open_thread(slack, card)
    await customer_writes(slack, refused.id, "older, refused")
    await customer_writes(slack, fine.id, "newer, posted")
    slack.fake.fail_next("chat.postMessage", status=200, error="is_archived")
    assert await mirror(slack) == 1
    assert "newer, posted" in said(replies(slack, fine.message))[-1]
    threads = slack.serving.runtime.slack.threads.store
    backed_off = await threads.find(refused.id, CHANNEL)
    assert backed_off is not None and backed_off.failures == 1
    assert backed_off.backoff_until is not None and backed_off.backoff_until > utcnow()
    # Once the back-off runs out, the refused message is posted, once.
    await threads.back_off(refused.id, CHANNEL, 1, utcnow())
    assert await mirror(slack) == 1
    assert "older, refused" in said(replies(slack, refused.message))[-1]
