"""Mirroring customers' messages into Slack threads: delay, Slack's pace, losses, Infobip's cost.

    python -m benchmarks.thread_mirror [--messages 500] [--conversations 50] [--channels 5]
                                       [--seconds 150] [--poll 5]

`--conversations` conversations, spread over `--channels` channels, each with its thread open
(the card's Thread, as `SlackThreads.open`). Over `--seconds`, `--messages` customer messages
arrive at random moments in random conversations (seeded), written into the emulator's store as
Infobip threads a customer's message in. The bot's thread mirror runs as in production: its
scheduler job every `--poll` seconds starts a worker for each channel that has none, and the
workers poll through the Infobip client (every request counted) and post into a strict fake
Slack (every post recorded with its time).

It prints the delay from a message's arrival to its Slack post (p50 / p99 / max), the most posts
any channel took in one second (Slack allows about one: "1 message per second to a specific
channel", docs.slack.dev/apis/web-api/rate-limits), the messages lost and posted twice, and the
Infobip requests the mirror cost per minute per open thread.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from benchmarks import figures
from benchmarks._serve import EMULATOR_KEY, SEED, TOKEN, USERS, bot_settings
from benchmarks.list_requests import CountingTransport
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.bootstrap import build_runtime
from bot.config import OpsConfig
from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import FakeSlack, serve_fake_slack
from bot.devtools.loopback import serve_in_background
from bot.messages import MessageCreate
from bot.models import Actor, Channel, ConversationCreate
from bot.slack.client import slack_client
from bot.slack.thread_posting import EVENT_TYPE
from bot.state.db import create_engine, migrate

TARGET_P99_S = 10.0  # issue 18: within 10 s
ACTOR = Actor(id="UBENCH0000", surface="slack", agent_id="agent-0")


def channels(count: int) -> list[str]:
    return [f"CMIRROR{n:03d}" for n in range(count)]


def workspace(channel_ids: list[str]) -> FakeSlack:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    for n, user in enumerate(USERS):
        fake.add_user(user, f"bench{n}", f"agent{n}@example.com")
    for channel in channel_ids:
        fake.add_channel(channel, channel.lower())
    return fake


def inbound(n: int, text: str) -> MessageCreate:
    return MessageCreate.model_validate(
        {
            "from": f"+38591{n:07d}",
            "to": "+38515550100",
            "channel": "SMS",
            "contentType": "TEXT",
            "content": {"text": text},
        }
    )


async def measure(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    channel_ids = channels(args.channels)
    fake = workspace(channel_ids)
    store_engine = create_engine(f"sqlite+aiosqlite:///{folder / 'store.db'}")
    await migrate(store_engine)
    store = LocalBackend(store_engine)
    await store.seed(SEED)
    state = create_engine(f"sqlite+aiosqlite:///{folder / 'state.db'}")
    counter = CountingTransport()
    async with (
        serve_fake_slack(fake) as slack_url,
        serve_in_background(create_emulator_app(store, EMULATOR_KEY)) as infobip_url,
    ):
        settings = bot_settings(folder, slack_url)
        # The poll interval the run asks for; everything else as the bot's defaults.
        config = OpsConfig.model_validate(
            {"agents": USERS, "threads": {"poll_interval": f"{args.poll:g}s"}}
        )
        (folder / "convbot.yml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
        infobip = InfobipBackend(infobip_url, EMULATOR_KEY, transport=counter)
        client = slack_client(settings)
        runtime = await build_runtime(
            settings, config, client=client, engine=state, backend=infobip, for_slack=True
        )
        try:
            mirror = runtime.jobs.threads  # the scheduler's job: it starts channel workers
            assert mirror is not None
            conversations = await open_threads(runtime, fake, channel_ids, args.conversations)
            arrivals = await run(mirror, store, conversations, args, counter, fake)
        finally:
            await runtime.aclose()
            await infobip.aclose()
    await store_engine.dispose()
    await state.dispose()
    return report(fake, *arrivals, args)


async def open_threads(
    runtime: Any, fake: FakeSlack, channel_ids: list[str], count: int
) -> list[tuple[str, str]]:
    """`count` conversations, each with its thread open under a card in its channel."""
    opened: list[tuple[str, str]] = []
    for n in range(count):
        channel = channel_ids[n % len(channel_ids)]
        conversation = await runtime.backend.create(
            ConversationCreate(topic=f"Mirrored {n}", channel=Channel.SMS)
        )
        card = fake.store_message(channel, text=f"card {n}")  # the bot's own card
        await runtime.slack.threads.open(ACTOR, conversation, channel, card.ts)
        opened.append((conversation.id, channel))
    return opened


async def run(
    mirror: Any,
    store: LocalBackend,
    conversations: list[tuple[str, str]],
    args: argparse.Namespace,
    counter: CountingTransport,
    fake: FakeSlack,
) -> tuple[dict[str, tuple[float, str]], float]:
    """Messages arrive while the mirror runs: Infobip message id → (arrival, channel), and
    the Infobip requests per open thread per minute meanwhile."""
    picker = random.Random(18)
    moments = sorted(picker.uniform(0, args.seconds) for _ in range(args.messages))
    arrivals: dict[str, tuple[float, str]] = {}
    stop = asyncio.Event()

    async def scheduler() -> None:
        # As APScheduler's interval job: every poll interval the mirror's job starts a worker
        # for each channel that has none (the workers then keep their channels' pace).
        start = time.monotonic()
        while not stop.is_set():
            await mirror()
            elapsed = time.monotonic() - start
            await asyncio.sleep(args.poll - elapsed % args.poll)

    counter.requests = 0
    started = time.time()
    passes = asyncio.create_task(scheduler())
    for n, moment in enumerate(moments):
        await asyncio.sleep(max(0.0, started + moment - time.time()))
        conversation_id, channel = conversations[picker.randrange(len(conversations))]
        written = await store.receive_message(conversation_id, inbound(n, f"message {n}"))
        arrivals[written.id] = (time.time(), channel)
    # Until every message is posted, or long past what any could take (a second each).
    for _ in range(2 * (args.messages + 60)):
        if len({m for m, _, _ in posts(fake)}) >= len(arrivals):
            break
        await asyncio.sleep(0.5)
    stop.set()
    await passes
    minutes = (time.time() - started) / 60
    return arrivals, counter.requests / len(conversations) / minutes


def posts(fake: FakeSlack) -> list[tuple[str, float, str]]:
    """(Infobip message id, time, channel) of every thread post the mirror made."""
    found: list[tuple[str, float, str]] = []
    for call in fake.calls_to("chat.postMessage", faulted=False):
        metadata = call.args.get("metadata")
        if not call.ok or not isinstance(metadata, dict):
            continue
        if metadata.get("event_type") != EVENT_TYPE:
            continue
        # A post holds a thread's waiting messages (up to LIVE_BATCH): each is posted then.
        for message_id in (metadata.get("event_payload") or {}).get("message_ids") or []:
            found.append((str(message_id), call.time, str(call.args.get("channel"))))
    return found


def report(
    fake: FakeSlack,
    arrivals: dict[str, tuple[float, str]],
    cost: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    made = posts(fake)
    counts = Counter(message_id for message_id, _, _ in made)
    first: dict[str, float] = {}
    by_channel: dict[str, set[float]] = defaultdict(set)  # the posts (a post holds several)
    for message_id, moment, channel in made:
        first.setdefault(message_id, moment)
        by_channel[channel].add(moment)
    delays = sorted(first[m] - arrived for m, (arrived, _) in arrivals.items() if m in first)
    busiest = max((most_in_a_second(sorted(times)) for times in by_channel.values()), default=0)
    post_count = sum(len(times) for times in by_channel.values())
    return {
        "messages": len(arrivals),
        "conversations": args.conversations,
        "channels": args.channels,
        "seconds": args.seconds,
        "poll": args.poll,
        "delay_p50": statistics.median(delays) if delays else None,
        "delay_p99": delays[max(0, int(len(delays) * 0.99) - 1)] if delays else None,
        "delay_max": delays[-1] if delays else None,
        "most_posts_in_a_second": busiest,
        "posts": post_count,
        "lost": sum(1 for m in arrivals if m not in counts),
        "duplicated": sum(1 for n in counts.values() if n > 1),
        "requests_per_thread_minute": cost,
    }


def most_in_a_second(times: list[float]) -> int:
    """The most posts inside any window of one second (a window holding posts one second
    apart exactly counts them both: Slack's "one per second" allows that)."""
    most = 0
    for n, start in enumerate(times):
        most = max(most, bisect.bisect_left(times, start + 1.0) - n)
    return most


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        found = await measure(Path(folder), args)
    print(
        f"{found['messages']} customer messages over {found['seconds']:g} s into"
        f" {found['conversations']} open threads in {found['channels']} channels,"
        f" mirror every {found['poll']:g} s"
    )
    print(
        f"  delay arrival -> Slack post: p50 {found['delay_p50']:.2f} s, p99"
        f" {found['delay_p99']:.2f} s, max {found['delay_max']:.2f} s (target p99 <"
        f" {TARGET_P99_S:g} s)"
    )
    print(
        f"  Slack posts: {found['posts']} (a thread's waiting messages share one); most in one"
        f" channel in one second: {found['most_posts_in_a_second']} (<= 1)"
    )
    print(f"  lost: {found['lost']}, posted twice: {found['duplicated']} (0 and 0)")
    print(
        "  Infobip requests per open thread per minute:"
        f" {found['requests_per_thread_minute']:.1f} (one a poll: {60 / found['poll']:.0f}; and"
        " the close check, one a minute per channel)"
    )
    figures.save("thread_mirror", found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--poll", type=float, default=5.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
