"""Time from a signed `/conv create …` to its HTTP ack: convbot against a bare Bolt app.

    python -m benchmarks.ack_latency [--rates 10 50 200] [--count 200] [--backend-latency 0.3]
                                     [--split]

Two server processes (`benchmarks._serve`): convbot's real HTTP app with a fake Slack and the
Infobip emulator slowed to --backend-latency per request; and a bare Bolt app whose `/conv` only
acks, on the same server stack (Bolt's Starlette handler, uvicorn, the same settings). This
process is the load generator: for each rate it sends --count commands into each app at fixed
times (open loop: each send starts at its time, whether earlier ones were answered or not)
through one shared aiohttp session, and times each until its HTTP response. Between runs it waits
until convbot has posted every answer, so one run's background work does not bleed into the
next; it also reports how long after its command each card came. The generator's own garbage
collector is paused during each run (a full collection in this process stalled its reads by
~60 ms, which showed up as server latency). Everything stays on 127.0.0.1.

convbot runs as `convbot serve` runs it, its start-up heap frozen out of the garbage
collector's view (without that, a full collection over everything start-up built held the event
loop for 55-105 ms and put convbot's p99 at 200/s at 69-106 ms, 5x the bare app's).
Experiments: --split serves the fake Slack and the emulator in a third process;
CONVBOT_BENCH_SLOW_CALLBACK_MS=8 makes each server report, when it stops, the
event-loop callbacks and garbage collections slower than that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import figures
from benchmarks._serve import CHANNEL, SECRET, USERS
from bot.devtools.fakeslack import SlackSigner, slash_command

TARGET_P99_MS = 100.0  # at TARGET_RATE
TARGET_RATE = 50
TARGET_RATIO = 1.5  # convbot p99 / bare Bolt p99
WARMUP = 10  # commands per app before each run, sent one at a time
DRAIN_TIMEOUT = 120.0  # seconds to wait for convbot's answers after a run
START_TIMEOUT = 60.0
USER_IDS = list(USERS)
TEXTS = [
    "create Printer on fire priority:high",
    "create Refund for invoice 4411 priority:urgent",
    "create Cannot log in",
    "create Password reset loops priority:low",
]


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[str]
    url: str
    control: str
    slack: str
    ready: dict[str, Any]


@dataclass
class Run:
    rate: int
    app: str
    latencies_ms: list[float]
    errors: int
    max_lag_ms: float  # how late the generator started its latest send
    tokens: dict[str, float]  # response_url token → when its command was sent (Unix time)
    answers_s: list[float] = field(default_factory=list)  # command → its response_url post

    @property
    def n(self) -> int:
        return len(self.latencies_ms) + self.errors

    def percentile(self, p: float) -> float:
        """Nearest rank; nan without a single success."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the servers -----------------------------------------------------------------------------


@contextmanager
def server(
    kind: str, workdir: Path, backend_latency: float, *extra: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`python -m benchmarks._serve KIND` until its ready line; closed and reaped afterwards."""
    command = [sys.executable, "-m", "benchmarks._serve", kind, "--workdir", str(workdir / kind)]
    command += ["--backend-latency", str(backend_latency), *extra]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        ready = json.loads(_read_line(process, START_TIMEOUT))
        yield Server(kind, process, ready.get("url", ""), ready["control"], ready["slack"], ready)
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the server's signal to shut down
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def convbot_server(workdir: Path, backend_latency: float, split: bool) -> Iterator[Server]:
    """convbot with the fake Slack and the emulator in its process, or (split) in another."""
    if not split:
        with server("convbot", workdir, backend_latency) as convbot:
            yield convbot
        return
    with server("environment", workdir, backend_latency) as other:
        urls = ["--slack", other.slack, "--control", other.control]
        urls += ["--emulator", other.ready["emulator"]]
        with server("convbot", workdir, backend_latency, *urls) as convbot:
            yield convbot


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The server's ready line, or why it never came."""
    result: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        result.append(process.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0].strip():
        process.kill()
        raise RuntimeError(f"benchmarks._serve did not start (exit code {process.poll()})")
    return result[0]


# --- the load --------------------------------------------------------------------------------


class Load:
    """Signed slash commands into one app, each with a response_url its fake Slack issued."""

    def __init__(self, http: aiohttp.ClientSession, target: Server) -> None:
        self.http = http
        self.target = target
        self.signer = SlackSigner(SECRET)
        self.sent = 0
        self._bodies: deque[tuple[str, str]] = deque()  # (body, its response_url token)
        self.sent_at: dict[str, float] = {}

    async def prepare(self, count: int) -> None:
        """Build (and sign nothing yet) the next `count` bodies, response_urls issued."""
        first = self.sent + len(self._bodies)
        users = [USER_IDS[n % len(USER_IDS)] for n in range(first, first + count)]
        issued = await fetch_json(self.http, f"{self.target.control}/issue", users)
        for offset, (user, url) in enumerate(zip(users, issued, strict=True)):
            n = first + offset
            body = slash_command(
                TEXTS[n % len(TEXTS)],
                user_id=user,
                channel_id=CHANNEL,
                response_url=url,
                trigger_id=f"{n}.{int(time.time())}.bench",
            )
            self._bodies.append((body, url.rsplit("/", 1)[-1]))

    async def send(self) -> float | None:
        """Milliseconds to the ack, or None for an error (not 200, or no answer)."""
        body, token = self._bodies.popleft()
        self.sent += 1
        self.sent_at[token] = time.time()
        started = time.perf_counter()
        headers = self.signer.headers_for(body)  # signed now: Bolt refuses stale timestamps
        try:
            async with self.http.post(
                f"{self.target.url}/slack/events", data=body, headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            return None
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed if status == 200 else None

    async def warm(self, count: int) -> None:
        await self.prepare(count)
        for _ in range(count):
            await self.send()

    async def run(self, rate: int, count: int) -> Run:
        """`count` sends, the i-th started at start + i/rate, none waiting for another."""
        await self.prepare(count)
        tokens = [token for _, token in self._bodies]
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        tasks = []
        max_lag = 0.0
        for i in range(count):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            max_lag = max(max_lag, loop.time() - due)
            tasks.append(asyncio.create_task(self.send()))
        results = await asyncio.gather(*tasks)
        latencies = [r for r in results if r is not None]
        sent_at = {token: self.sent_at[token] for token in tokens}
        return Run(rate, "", latencies, len(results) - len(latencies), max_lag * 1000, sent_at)


def session(connections: int, timeout: float) -> aiohttp.ClientSession:
    """The load generator's HTTP client. aiohttp, not httpx: at 64 requests in flight httpx's
    connection pool cost this process 6.7 ms of CPU per request (1.5 ms at 16; aiohttp 0.8 ms
    at 64), and on two cores that CPU is taken from the servers being measured."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout),
    )


async def fetch_json(http: aiohttp.ClientSession, url: str, body: Any = None) -> Any:
    """GET `url` (POST `body` as JSON when given) and return the JSON answer."""
    request = http.get(url) if body is None else http.post(url, json=body)
    async with request as answer:
        answer.raise_for_status()
        return await answer.json()


async def stats(http: aiohttp.ClientSession, target: Server) -> dict[str, Any]:
    found: dict[str, Any] = await fetch_json(http, f"{target.control}/stats")
    return found


async def responses(http: aiohttp.ClientSession, target: Server) -> int:
    found: dict[str, Any] = await fetch_json(http, f"{target.control}/count")
    return int(found["responses"])


async def drain(http: aiohttp.ClientSession, target: Server, expected: int) -> bool:
    """Wait until convbot has posted `expected` answers in all (its work after the acks)."""
    async with asyncio.timeout(DRAIN_TIMEOUT):
        while True:
            if await responses(http, target) >= expected:
                break
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)  # the last audit writes and logs
    return True


async def measure(
    rates: list[int], count: int, convbot: Server, bare: Server, connections: int
) -> tuple[list[tuple[Run, Run]], str]:
    """The runs, (convbot, bare) per rate, and a line on what convbot answered."""
    results = []
    async with session(connections, 10.0) as http:
        loads = {"bare Bolt": Load(http, bare), "convbot": Load(http, convbot)}
        for rate in rates:
            pair = []
            for name, load in loads.items():
                await load.warm(WARMUP)
                if load.target is convbot:
                    await _drained(http, load)
                with _no_gc_pauses():
                    run = await load.run(rate, count)
                run.app = name
                if load.target is convbot:
                    await _drained(http, load)
                    posted = await fetch_json(http, f"{convbot.control}/answers")
                    run.answers_s = sorted(
                        posted[token] - sent
                        for token, sent in run.tokens.items()
                        if token in posted
                    )
                pair.append(run)
            bare_run, convbot_run = pair
            results.append((convbot_run, bare_run))
            print(
                f"  {rate:>4}/s done: convbot p99 {convbot_run.percentile(99):.1f} ms, "
                f"bare p99 {bare_run.percentile(99):.1f} ms",
                file=sys.stderr,
                flush=True,
            )
        answered = await stats(http, convbot)
        sent = loads["convbot"].sent
    return results, (
        f"convbot answered {answered['responses']} of its {sent} commands (warm-ups included) "
        f"through the response_url, {answered['cards']} with a card in channel "
        f"(the last: {answered['last']!r})"
    )


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Keep the load generator's own garbage collector out of the figures during a run."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _drained(http: aiohttp.ClientSession, load: Load) -> None:
    try:
        await drain(http, load.target, load.sent)
    except TimeoutError:
        print(
            f"  (convbot had not answered all {load.sent} commands after {DRAIN_TIMEOUT:g} s)",
            file=sys.stderr,
        )


# --- the report ------------------------------------------------------------------------------


def report(results: list[tuple[Run, Run]], answered: str, args: argparse.Namespace) -> None:
    count, backend_latency = args.count, args.backend_latency
    print(
        f"\nAck latency of `/conv create …` (signed HTTP into /slack/events until its response), "
        f"{count} commands per rate and app, open loop"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}; "
        f"Infobip emulator at {backend_latency * 1000:g} ms per request"
    )
    layout = "a process of their own" if args.split else "convbot's process"
    print(f"fake Slack and emulator in {layout}")
    print(
        f"{'rate/s':>6}  {'app':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'p99 ratio':>10}  target"
    )
    for convbot, bare in results:
        ratio = convbot.percentile(99) / bare.percentile(99)
        for run in (convbot, bare):
            target = ""
            ratio_text = ""
            if run is convbot:
                ratio_text = f"{ratio:.2f}"
                verdicts = [f"ratio < {TARGET_RATIO:g}: {_verdict(ratio < TARGET_RATIO)}"]
                if run.rate == TARGET_RATE:
                    met = run.percentile(99) < TARGET_P99_MS
                    verdicts.insert(0, f"p99 < {TARGET_P99_MS:g} ms: {_verdict(met)}")
                target = "; ".join(verdicts)
            print(
                f"{run.rate:>6}  {run.app:<10} {run.n:>5} {run.percentile(50):>8.1f} "
                f"{run.percentile(99):>8.1f} {run.errors:>6} {ratio_text:>10}  {target}"
            )
    lag = max(run.max_lag_ms for pair in results for run in pair)
    print(f"(the load generator started its sends at most {lag:.1f} ms late)")
    print(f"After the ack: {answered}. Each card came, after its command:")
    for convbot, _bare in results:
        if convbot.answers_s:
            waits = convbot.answers_s
            print(
                f"{convbot.rate:>6}/s  p50 {statistics.median(waits):.2f} s, "
                f"max {max(waits):.2f} s ({len(waits)} of {convbot.n})"
            )


def _verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--count", type=int, default=200, help="commands per rate and app")
    parser.add_argument("--backend-latency", type=float, default=0.3, help="seconds per request")
    parser.add_argument("--connections", type=int, default=256, help="client connection pool")
    parser.add_argument(
        "--split",
        action="store_true",
        help="serve the fake Slack and the emulator in a process apart from convbot's",
    )
    args = parser.parse_args()
    if min(args.rates) <= 0 or args.count <= 0:
        parser.error("rates and count must be positive")
    with (
        tempfile.TemporaryDirectory(prefix="convbot-ack-") as folder,
        convbot_server(Path(folder), args.backend_latency, args.split) as convbot,
        server("bare", Path(folder), args.backend_latency) as bare,
    ):
        results, answered = asyncio.run(
            measure(args.rates, args.count, convbot, bare, args.connections)
        )
    report(results, answered, args)
    figures.save(
        "ack_latency",
        {
            "backend_ms": args.backend_latency * 1000,
            "rates": [
                {
                    "rate": convbot.rate,
                    "convbot": [convbot.percentile(50), convbot.percentile(99)],
                    "bare": [bare.percentile(50), bare.percentile(99)],
                    "errors": convbot.errors + bare.errors,
                }
                for convbot, bare in results
            ],
        },
    )


if __name__ == "__main__":
    main()
