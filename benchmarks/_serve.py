"""The servers of `benchmarks.ack_latency`, each kind in a process of its own.

    python -m benchmarks._serve convbot --workdir DIR [--backend-latency 0.3]
    python -m benchmarks._serve bare --workdir DIR
    python -m benchmarks._serve environment --workdir DIR [--backend-latency 0.3]
    python -m benchmarks._serve convbot --workdir DIR --slack URL --emulator URL --control URL
    python -m benchmarks._serve environment --workdir DIR --timeout-rate 0.5 [--stall 60]
    python -m benchmarks._serve convbot --workdir DIR ... --deadline 5

`convbot`: a fake Slack, the Infobip emulator (slowed by --backend-latency, over a seeded
embedded store) and convbot's real HTTP app (`create_http_app`) pointed at both.
`bare`: a fake Slack (only for Bolt's one auth.test) and a Bolt `AsyncApp` whose `/conv` only
acks, behind the same `AsyncSlackRequestHandler` Starlette route.
`environment`: only the fake Slack and the emulator, for a convbot started with their URLs (to
see what sharing a process with them costs convbot).

The emulator's store holds the seed's agents and queues and one conversation (its id is
`conversation` in the ready line). --timeout-rate makes that share of its requests stall for
--stall seconds (a "timeout" fault of `bot.devtools.faults`, cut short when the client hangs up);
1 stalls
every request. --deadline gives convbot's commands that deadline instead of the production one
(`bot.deadlines.COMMAND_SECONDS`), as tests/reliability/test_hostile_deadlines.py does.

Every server is uvicorn on 127.0.0.1 through `serve_in_background`, so both apps get the same
server settings. When all serve, one JSON line goes to stdout with their URLs and a control URL
(`GET /stats`: how many response_url posts the fake Slack received; `POST /issue`: fresh
response_urls); the process serves until its stdin closes, then shuts down.

With CONVBOT_BENCH_SLOW_CALLBACK_MS set, every callback or task step that holds the event loop
longer than that is written to stderr at shutdown, with its wall and CPU time (a CPU time far
below the wall time means the loop waited for the GIL or a core, not for its own work).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import deadlines
from bot.backends.local import LocalBackend
from bot.config import LocalSeed
from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import FakeSlack, ResponsePost, serve_fake_slack
from bot.devtools.faults import FaultPlan
from bot.devtools.loopback import serve_in_background
from bot.models import ConversationCreate
from bot.server import create_http_app
from bot.settings import Settings
from bot.slack.client import slack_client
from bot.state.db import create_engine, migrate

SECRET = "benchmark-signing-secret"
TOKEN = "xoxb-benchmark-token"
EMULATOR_KEY = "benchmark-emulator-key"
CHANNEL = "CBENCH0001"
# The people who send the commands, each linked to an agent in convbot.yml.
USERS = {f"UBENCH{n:04d}": f"agent-{n}" for n in range(4)}
SEED = LocalSeed.model_validate(
    {
        "agents": [
            {"id": agent, "name": f"Agent {n}", "email": f"agent{n}@example.com"}
            for n, agent in enumerate(USERS.values())
        ],
        "queues": [
            {"id": "q-general", "name": "General", "agents": list(USERS.values())},
            {"id": "q-billing", "name": "Billing", "agents": list(USERS.values())[:2]},
        ],
        "routing": [
            {"name": "Money", "queue": "q-billing", "match": {"keywords": ["invoice"]}},
            {"name": "Rest", "queue": "q-general"},
        ],
    }
)


def fake_workspace() -> FakeSlack:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    for n, user in enumerate(USERS):
        fake.add_user(user, f"bench{n}", f"agent{n}@example.com")
    fake.add_channel(CHANNEL, "bench")
    return fake


def bot_settings(workdir: Path, slack_url: str, **overrides: Any) -> Settings:
    config = workdir / "convbot.yml"
    config.write_text(yaml.safe_dump({"agents": USERS}), encoding="utf-8")
    values: dict[str, Any] = {
        "slack_bot_token": TOKEN,
        "slack_signing_secret": SECRET,
        "slack_app_token": None,  # HTTP mode, whatever the environment says
        "slack_api_url": f"{slack_url}/api/",
        "database_url": f"sqlite+aiosqlite:///{workdir}/state.db",
        "convbot_config": str(config),
        "infobip_base_url": None,
        "infobip_api_key": None,
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(_env_file=None, **values)


def bare_bolt_app(settings: Settings) -> Starlette:
    """A Bolt app with convbot's signing secret and client whose `/conv` only acks, served as
    convbot serves its own: one Starlette route into `AsyncSlackRequestHandler`."""
    bolt = AsyncApp(
        client=slack_client(settings),
        signing_secret=SECRET,
        process_before_response=False,
    )

    @bolt.command("/conv")
    async def conv(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


def control_app(fake: FakeSlack) -> Starlette:
    """`GET /stats`: the response_url posts received (`GET /count`: only how many);
    `GET /answers`: when each response_url (by token) was first posted to; `GET /replies`: that,
    the text first posted and whether it warns; `POST /issue` with a JSON list of user ids: one
    fresh response_url on #bench for each, in order."""

    async def stats(_request: Request) -> Response:
        cards = sum(1 for post in fake.responses if post.response_type == "in_channel")
        last = fake.responses[-1].text if fake.responses else None
        return JSONResponse({"responses": len(fake.responses), "cards": cards, "last": last})

    async def count(_request: Request) -> Response:
        # What the load generators poll: /stats walks every answer, which at 200 polls/s over
        # thousands of answers cost the environment's process a sixth of its CPU.
        return JSONResponse({"responses": len(fake.responses)})

    async def answers(_request: Request) -> Response:
        return JSONResponse({post.token: post.time for post in fake.responses})

    async def replies(_request: Request) -> Response:
        first: dict[str, dict[str, object]] = {}
        for post in fake.responses:
            if post.token not in first:
                text = post.body.get("text")
                first[post.token] = {"time": post.time, "text": text, "warning": _warns(post)}
        return JSONResponse(first)

    async def issue(request: Request) -> Response:
        users = await request.json()
        return JSONResponse([fake.new_response_url(CHANNEL, str(user)) for user in users])

    return Starlette(
        routes=[
            Route("/stats", stats, methods=["GET"]),
            Route("/count", count, methods=["GET"]),
            Route("/answers", answers, methods=["GET"]),
            Route("/replies", replies, methods=["GET"]),
            Route("/issue", issue, methods=["POST"]),
        ]
    )


def _warns(post: ResponsePost) -> bool:
    """Whether an answer tells of a failure (convbot's `:warning:` line comes first)."""
    blocks = post.body.get("blocks")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        return False
    text = blocks[0].get("text")
    return isinstance(text, dict) and str(text.get("text", "")).startswith(":warning:")


@asynccontextmanager
async def slow_emulator(
    workdir: Path, latency: float, faults: FaultPlan | None = None
) -> AsyncIterator[tuple[str, str]]:
    """The emulator's base URL and the id of the one conversation its store holds."""
    engine = create_engine(f"sqlite+aiosqlite:///{workdir}/emulator.db")
    try:
        await migrate(engine)
        store = LocalBackend(engine)
        await store.seed(SEED)
        created = await store.create(ConversationCreate(topic="Printer on fire"))
        app = create_emulator_app(store, EMULATOR_KEY, latency=latency, faults=faults)
        async with serve_in_background(app) as url:
            yield url, created.id
    finally:
        await engine.dispose()


def fault_plan(rate: float, stall: float) -> FaultPlan | None:
    """`rate` of the requests stall for `stall` seconds (seeded: the same rolls every run)."""
    if rate <= 0:
        return None
    return FaultPlan(rate=rate, kinds=["timeout"], timeout=stall, seed=15)


def watch_slow_callbacks(kind: str, threshold_ms: float) -> Callable[[], None]:
    """Time every event-loop callback; the returned function reports the slow ones, each with
    the stacks a watchdog thread sampled (every 2 ms) while it held the loop."""
    slow: list[tuple[float, float, float, str, list[str]]] = []
    original = asyncio.events.Handle._run
    origin = time.perf_counter()
    main_thread = threading.get_ident()
    running: list[float] = []  # the start of the callback now running, if any
    samples: list[str] = []

    def timed(handle: asyncio.events.Handle) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        samples.clear()
        running[:] = [wall]
        try:
            original(handle)
        finally:
            running.clear()
        wall_ms = (time.perf_counter() - wall) * 1000
        if wall_ms > threshold_ms:
            cpu_ms = (time.thread_time() - cpu) * 1000
            slow.append((wall - origin, wall_ms, cpu_ms, repr(handle)[:300], list(samples)))

    def watchdog() -> None:
        while True:
            time.sleep(0.002)
            began = running[0] if running else None
            if began is not None and (time.perf_counter() - began) * 1000 > threshold_ms / 2:
                frame = sys._current_frames().get(main_thread)
                if frame is not None:
                    stack = traceback.extract_stack(frame)
                    samples.append(
                        " < ".join(
                            f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[::-1][:14]
                        )
                    )

    collections_: list[tuple[float, float, int, int]] = []
    gc_started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[:] = [time.perf_counter()]
        elif gc_started:
            took_ms = (time.perf_counter() - gc_started[0]) * 1000
            if took_ms > threshold_ms / 4:
                collections_.append(
                    (gc_started[0] - origin, took_ms, info["generation"], info["collected"])
                )

    gc.callbacks.append(on_gc)
    asyncio.events.Handle._run = timed  # type: ignore[method-assign, assignment]
    threading.Thread(target=watchdog, daemon=True).start()

    def report() -> None:
        for at, took_ms, generation, collected in collections_:
            line = f"[{kind}] t={at:7.2f}s gc of generation {generation}: {took_ms:.1f} ms"
            print(f"{line}, {collected} objects freed", file=sys.stderr)
        print(f"[{kind}] {len(slow)} callbacks over {threshold_ms:g} ms", file=sys.stderr)
        for at, wall_ms, cpu_ms, what, stacks in slow:
            line = f"[{kind}] t={at:7.2f}s {wall_ms:6.1f} ms (cpu {cpu_ms:5.1f}) {what}"
            print(line, file=sys.stderr)
            for stack, count in collections.Counter(stacks).most_common(6):
                print(f"      {count:3}x {stack}", file=sys.stderr)

    return report


async def serve(args: argparse.Namespace) -> None:
    kind, workdir = args.kind, args.workdir
    ready: dict[str, object] = {"kind": kind, "pid": os.getpid()}
    async with AsyncExitStack() as stack:
        if args.slack is None:  # this process serves the environment too
            fake = fake_workspace()
            ready["slack"] = await stack.enter_async_context(serve_fake_slack(fake))
            ready["control"] = await stack.enter_async_context(
                serve_in_background(control_app(fake))
            )
            if kind != "bare":
                faults = fault_plan(args.timeout_rate, args.stall)
                ready["emulator"], ready["conversation"] = await stack.enter_async_context(
                    slow_emulator(workdir, args.backend_latency, faults)
                )
        else:
            ready |= {"slack": args.slack, "emulator": args.emulator, "control": args.control}
        slack_url = str(ready["slack"])
        if kind == "convbot":
            if args.deadline is not None:
                deadlines.COMMAND_SECONDS = args.deadline
            settings = bot_settings(
                workdir,
                slack_url,
                infobip_base_url=ready["emulator"],
                infobip_api_key=EMULATOR_KEY,
            )
            # As `convbot serve` runs it: the start-up heap frozen out of the collector's view.
            app: Starlette | None = create_http_app(settings, freeze_heap=True)
        elif kind == "bare":
            app = bare_bolt_app(bot_settings(workdir, slack_url))
        else:
            app = None
        if app is not None:
            ready["url"] = await stack.enter_async_context(serve_in_background(app, lifespan="on"))
        print(json.dumps(ready), flush=True)
        await asyncio.to_thread(sys.stdin.read)  # serve until the parent closes our stdin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["convbot", "bare", "environment"])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--backend-latency", type=float, default=0.3)
    parser.add_argument("--slack", help="use this fake Slack (and --emulator, --control)")
    parser.add_argument("--emulator")
    parser.add_argument("--control")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of stalled requests")
    parser.add_argument("--stall", type=float, default=60.0, help="seconds a stalled request hangs")
    parser.add_argument("--deadline", type=float, help="seconds per command (production: 15)")
    args = parser.parse_args()
    if not 0 <= args.timeout_rate <= 1:
        parser.error("--timeout-rate is a share of the requests, from 0 to 1")
    if args.deadline is not None and not 0 < args.deadline < math.inf:
        parser.error("--deadline must be a positive number of seconds")
    args.workdir.mkdir(parents=True, exist_ok=True)
    slow_ms = os.environ.get("CONVBOT_BENCH_SLOW_CALLBACK_MS")
    report = watch_slow_callbacks(args.kind, float(slow_ms)) if slow_ms else None
    try:
        # The event loop `convbot serve` gets from uvicorn (uvloop when it is installed).
        loop_factory = uvicorn.Config(app=None).get_loop_factory()
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(args))
    finally:
        if report is not None:
            report()


if __name__ == "__main__":
    main()
