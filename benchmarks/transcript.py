"""What the first screen of a long conversation's transcript costs: requests and time.

    python -m benchmarks.transcript [--messages 1000] [--shown 20] [--rounds 20]

A conversation holds `--messages` messages (customer and agent, alternating). The first screen
is its latest `--shown`, newest last: `Transcripts.messages` asks for them newest first in one
request. The baseline, measured in the same run, is reading the transcript from its start as a
list would (oldest first, pages of 50) until the last page, which the latest are on. Both are
measured on the embedded store and through the Infobip client against the emulator (loopback
HTTP, every request counted).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks import figures
from benchmarks.list_requests import KEY, CountingTransport
from bot.backends.base import ConversationBackend
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.bootstrap import build_runtime
from bot.config import OpsConfig
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.messages import ListOrder, Message, MessageCreate, MessageFilter
from bot.models import Actor, Channel, ConversationCreate
from bot.settings import Settings
from bot.state.db import create_engine, migrate

ACTOR = Actor(id="cli:benchmark", surface="cli")
BASELINE_PAGE = 50  # the service's own page maximum (TRANSCRIPT_MAX)
CUSTOMER, OURS = "+385911234567", "+385998887766"


async def seed(store: LocalBackend, count: int) -> str:
    conversation = await store.create(
        ConversationCreate(topic="A long conversation", channel=Channel.SMS)
    )
    for n in range(count):
        inbound = n % 2 == 0
        body = {
            "from": CUSTOMER if inbound else OURS,
            "to": OURS if inbound else CUSTOMER,
            "channel": "SMS",
            "contentType": "TEXT",
            "content": {"text": f"message {n}"},
        }
        message = MessageCreate.model_validate(body)
        if inbound:
            await store.receive_message(conversation.id, message)
        else:
            await store.send_message(conversation.id, message, None)
    return conversation.id


async def from_the_start(backend: ConversationBackend, conversation_id: str) -> list[Message]:
    """The baseline: every page, oldest first, to reach the latest messages."""
    order = ListOrder(field="createdAt", direction="asc")
    read: list[Message] = []
    page = 0
    while True:
        query = MessageFilter(orderBy=order, limit=BASELINE_PAGE, page=page)
        found = await backend.list_messages(conversation_id, query)
        read.extend(found.items)
        if len(read) >= found.totalItems or not found.items:
            return read
        page += 1


async def timed(
    rounds: int, work: Callable[[], Awaitable[Any]], counter: CountingTransport | None
) -> tuple[float, float, int | None]:
    """(p50 ms, p95 ms, HTTP requests per call: None on the embedded store) over `rounds`
    calls after one warm-up."""
    await work()
    times: list[float] = []
    requests: int | None = None
    for _ in range(rounds):
        if counter is not None:
            counter.requests = 0
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
        requests = counter.requests if counter is not None else None
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], requests


async def measure(folder: Path, count: int, shown: int, rounds: int) -> dict[str, Any]:
    store_engine = create_engine(f"sqlite+aiosqlite:///{folder / 'store.db'}")
    await migrate(store_engine)
    store = LocalBackend(store_engine)
    conversation_id = await seed(store, count)
    state = create_engine(f"sqlite+aiosqlite:///{folder / 'state.db'}")
    results: dict[str, Any] = {"messages": count, "shown": shown}
    async with serve_in_background(create_emulator_app(store, KEY)) as url:
        counter = CountingTransport()
        infobip = InfobipBackend(url, KEY, transport=counter)
        backends: list[tuple[str, ConversationBackend, CountingTransport | None]] = [
            ("embedded", store, None),
            ("via emulator", infobip, counter),
        ]
        for name, backend, counting in backends:
            runtime = await build_runtime(
                Settings(_env_file=None), OpsConfig(), engine=state, backend=backend
            )
            transcripts = runtime.conversations.transcripts
            screen = await transcripts.messages(ACTOR, conversation_id, shown)
            assert [m.text for m in screen.items][-1] == f"message {count - 1}"

            async def first_screen(t: Any = transcripts) -> object:
                return await t.messages(ACTOR, conversation_id, shown)

            async def baseline(b: ConversationBackend = backend) -> object:
                return await from_the_start(b, conversation_id)

            results[name] = {
                "first_screen": await timed(rounds, first_screen, counting),
                "from_the_start": await timed(max(3, rounds // 4), baseline, counting),
            }
            await runtime.aclose()
        await infobip.aclose()
    await store_engine.dispose()
    await state.dispose()
    return results


async def run(count: int, shown: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        found = await measure(Path(folder), count, shown, rounds)
    print(f"The latest {shown} of a {count:,}-message conversation (p50 / p95 ms, requests)")
    print(f"{'backend':<14} {'first screen':>28} {'from the start (baseline)':>32} {'ratio':>7}")
    for name in ("embedded", "via emulator"):
        (f50, f95, freq) = found[name]["first_screen"]
        (b50, b95, breq) = found[name]["from_the_start"]
        first = f"{f50:.1f} / {f95:.1f} ms, {_requests(freq)}"
        base = f"{b50:.1f} / {b95:.1f} ms, {_requests(breq)}"
        print(f"{name:<14} {first:>28} {base:>32} {b50 / f50:>6.1f}x")
    figures.save("transcript", found)


def _requests(count: int | None) -> str:
    return "no HTTP" if count is None else f"{count} req"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--shown", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.shown, args.rounds))


if __name__ == "__main__":
    main()
