"""Commands on a degraded Infobip are answered within their deadline, and help is not held up.

    python -m benchmarks.degraded [--deadline 15] [--commands 50] [--helps 20]
                                  [--modes stalled timeouts]

Two server processes per mode (`benchmarks._serve`, as in throughput): the fake Slack and the
Infobip emulator in one, convbot's real HTTP app in the other, its commands given --deadline
seconds (by default the production deadline, `bot.deadlines.COMMAND_SECONDS`). The modes:

- stalled: every request to the emulator hangs (60 s, far past any deadline; the stall ends
  when convbot hangs up), as behind a dead load balancer;
- timeouts: half the requests (seeded dice) hang past the Infobip client's 10 s timeout, the
  others are answered after 50 ms.

In each mode this process sends --commands signed `/conv` commands at once (`show <id>`, `list`,
`take <id>`, `create …` in turn, from four people, each with a response_url of the fake Slack)
and, while they run, --helps `/conv help` spread evenly from 0.2 s after them to 0.2 s past
their deadline, when they are being answered (open loop: each at its time, whatever the others
are doing). Each is timed from its send until convbot's first post to its response_url: its
answer, a result or a sentence saying what went wrong. The deadline starts when convbot has
acked, and the answer must still be posted.
Targets: every command answered within its deadline (p99 <= deadline + 1 s, none left
unanswered); `/conv help` unaffected (p99 < 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import figures as shared_figures
from benchmarks._serve import CHANNEL, SECRET, USERS
from benchmarks.ack_latency import Server, fetch_json, responses, server, session
from bot.deadlines import COMMAND_SECONDS
from bot.devtools.fakeslack import SlackSigner, slash_command

TARGET_MARGIN_S = 1.0  # p99 answered <= deadline + this
TARGET_HELP_P99_MS = 100.0
BACKEND_LATENCY = 0.05  # seconds, for the requests that are answered
STALL = 60.0  # seconds a stalled request hangs: far past any deadline
MODES = {
    # name: (the emulator's share of stalled requests, a title)
    "stalled": (1.0, "Infobip stalled"),
    "timeouts": (0.5, "Infobip 50 % timeouts"),
}
WARMUP = 5  # helps, one at a time, before the load
DRAIN_AFTER_DEADLINE = 60.0  # seconds to wait for answers past the deadline
USER_IDS = list(USERS)


@dataclass
class Mode:
    name: str
    title: str
    answered_s: list[float]  # each command, send to its first response_url post
    unanswered: int
    help_ms: list[float]
    help_unanswered: int
    results: int  # commands answered with what they asked for
    failures: int  # commands answered with a sentence saying what went wrong
    refused: int  # sends not acked with 200

    def figures(self) -> dict[str, Any]:
        return {
            "mode": self.name,
            "title": self.title,
            "answered_s": [percentile(self.answered_s, 50), percentile(self.answered_s, 99)],
            "max_s": max(self.answered_s, default=math.nan),
            "unanswered": self.unanswered,
            "help_ms": [percentile(self.help_ms, 50), percentile(self.help_ms, 99)],
            "help_unanswered": self.help_unanswered,
            "results": self.results,
            "failures": self.failures,
            "refused": self.refused,
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest rank; nan without a value."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def commands_met(found: dict[str, Any], deadline: float) -> bool:
    return found["unanswered"] == 0 and found["answered_s"][1] <= deadline + TARGET_MARGIN_S


def help_met(found: dict[str, Any]) -> bool:
    return found["help_unanswered"] == 0 and found["help_ms"][1] < TARGET_HELP_P99_MS


# --- the servers -----------------------------------------------------------------------------


@contextmanager
def degraded_convbot(workdir: Path, stalled_share: float, deadline: float) -> Iterator[Server]:
    """convbot with `deadline` per command, against an emulator (in another process, with the
    fake Slack) that stalls `stalled_share` of its requests; the Server's `ready` holds the
    emulator's one conversation id."""
    faults = ["--timeout-rate", str(stalled_share), "--stall", str(STALL)]
    with server("environment", workdir, BACKEND_LATENCY, *faults) as other:
        urls = ["--slack", other.slack, "--control", other.control]
        urls += ["--emulator", other.ready["emulator"], "--deadline", str(deadline)]
        with server("convbot", workdir, BACKEND_LATENCY, *urls) as convbot:
            convbot.ready["conversation"] = other.ready["conversation"]
            yield convbot


# --- the load --------------------------------------------------------------------------------


class Sender:
    """Signed `/conv` commands into convbot, each with a fresh response_url of the fake Slack."""

    def __init__(self, http: aiohttp.ClientSession, target: Server) -> None:
        self.http = http
        self.target = target
        self.signer = SlackSigner(SECRET)
        self.count = 0
        self.sent_at: dict[str, float] = {}  # response_url token -> when sent (Unix time)
        self.refused = 0

    async def issue(self, count: int) -> list[tuple[str, str]]:
        """`count` (user, response_url) pairs, the users in turn."""
        users = [USER_IDS[(self.count + n) % len(USER_IDS)] for n in range(count)]
        self.count += count
        urls = await fetch_json(self.http, f"{self.target.control}/issue", users)
        return list(zip(users, urls, strict=True))

    async def send(self, text: str, user: str, url: str) -> str:
        """Send `/conv text`; the response_url's token (its answer is looked up by it)."""
        token = url.rsplit("/", 1)[-1]
        body = slash_command(
            text,
            user_id=user,
            channel_id=CHANNEL,
            response_url=url,
            trigger_id=f"{token}.{int(time.time())}.bench",
        )
        headers = self.signer.headers_for(body)  # signed now: Bolt refuses stale timestamps
        self.sent_at[token] = time.time()
        try:
            async with self.http.post(
                f"{self.target.url}/slack/events", data=body, headers=headers
            ) as response:
                await response.read()
                if response.status != 200:
                    self.refused += 1
        except (aiohttp.ClientError, TimeoutError):
            self.refused += 1
        return token


async def answered(http: aiohttp.ClientSession, target: Server, expected: int, wait: float) -> None:
    """Wait until the fake Slack has `expected` answers in all, or `wait` seconds have passed."""
    try:
        async with asyncio.timeout(wait):
            while True:
                if await responses(http, target) >= expected:
                    break
                await asyncio.sleep(0.1)
    except TimeoutError:
        pass


async def helps_during(sender: Sender, pairs: list[tuple[str, str]], span: float) -> list[str]:
    """`/conv help` for each pair, the first at once and the last `span` seconds later."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    step = span / max(1, len(pairs) - 1)
    tasks = []
    for n, (user, url) in enumerate(pairs):
        delay = start + n * step - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(sender.send("help", user, url)))
    return list(await asyncio.gather(*tasks))


async def measure(name: str, convbot: Server, commands: int, helps: int, deadline: float) -> Mode:
    conversation = convbot.ready["conversation"]
    texts = [
        f"show {conversation}",
        "list",
        f"take {conversation}",
        "create Printer on fire priority:high",
    ]
    async with session(commands + helps + 8, 30.0) as http:
        sender = Sender(http, convbot)
        for user, url in await sender.issue(WARMUP):  # Bolt's auth.test, the first imports
            await sender.send("help", user, url)
        await answered(http, convbot, WARMUP, 30.0)
        before = await responses(http, convbot)
        command_pairs = await sender.issue(commands)
        help_pairs = await sender.issue(helps)
        gc.collect()
        gc.disable()  # this process's collections would read as convbot's latency
        try:
            sends = [
                asyncio.create_task(sender.send(texts[n % len(texts)], user, url))
                for n, (user, url) in enumerate(command_pairs)
            ]
            await asyncio.sleep(0.2)  # the commands are waiting on Infobip now
            help_tokens = await helps_during(sender, help_pairs, deadline)
            command_tokens = await asyncio.gather(*sends)
        finally:
            gc.enable()
        await answered(http, convbot, before + commands + helps, deadline + DRAIN_AFTER_DEADLINE)
        replies: dict[str, dict[str, Any]] = await fetch_json(http, f"{convbot.control}/replies")
    answered_s = [
        replies[token]["time"] - sender.sent_at[token]
        for token in command_tokens
        if token in replies
    ]
    help_ms = [
        (replies[token]["time"] - sender.sent_at[token]) * 1000
        for token in help_tokens
        if token in replies
    ]
    failures = sum(1 for token in command_tokens if replies.get(token, {}).get("warning"))
    return Mode(
        name=name,
        title=MODES[name][1],
        answered_s=answered_s,
        unanswered=commands - len(answered_s),
        help_ms=help_ms,
        help_unanswered=helps - len(help_ms),
        results=len(answered_s) - failures,
        failures=failures,
        refused=sender.refused,
    )


# --- the report ------------------------------------------------------------------------------


def report(modes: list[Mode], args: argparse.Namespace) -> None:
    deadline = args.deadline
    print(
        f"\nDegraded Infobip: {args.commands} commands at once (show, list, take, create) and "
        f"{args.helps} `/conv help` during them, deadline {deadline:g} s per command;\n"
        f"stalled requests hang {STALL:g} s, the others are answered in "
        f"{BACKEND_LATENCY * 1000:g} ms; times from the send to the answer on the response_url"
    )
    print(
        f"{'mode':<28}{'answered p50 / p99 / max s':>28}{'target':>10}{'':8}"
        f"{'help p50 / p99 ms':>20}{'target':>9}"
    )
    for mode in modes:
        found = mode.figures()
        (c50, c99), (h50, h99) = found["answered_s"], found["help_ms"]
        commands = f"{c50:.2f} / {c99:.2f} / {found['max_s']:.2f}"
        helps = f"{h50:.1f} / {h99:.1f}"
        print(
            f"{mode.title:<28}{commands:>28}{f'<= {deadline + TARGET_MARGIN_S:g}':>10}"
            f"  {_verdict(commands_met(found, deadline)):<6}"
            f"{helps:>20}{f'< {TARGET_HELP_P99_MS:g}':>9}  {_verdict(help_met(found))}"
        )
    for mode in modes:
        print(
            f"{mode.title}: {mode.results} commands answered with their result, "
            f"{mode.failures} with a sentence on what went wrong, {mode.unanswered} unanswered; "
            f"{mode.help_unanswered} helps unanswered; {mode.refused} sends not acked"
        )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--deadline",
        type=float,
        default=COMMAND_SECONDS,
        help=f"seconds per command (default: production's {COMMAND_SECONDS:g})",
    )
    parser.add_argument("--commands", type=int, default=50, help="commands sent at once")
    parser.add_argument("--helps", type=int, default=20, help="helps sent during them")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = parser.parse_args()
    if not 0 < args.deadline < math.inf:
        parser.error("--deadline must be a positive number of seconds")
    if args.commands <= 0 or args.helps <= 0:
        parser.error("--commands and --helps must be positive")
    modes = []
    for name in args.modes:
        with (
            tempfile.TemporaryDirectory(prefix="convbot-degraded-") as scratch,
            degraded_convbot(Path(scratch), MODES[name][0], args.deadline) as convbot,
        ):
            mode = asyncio.run(measure(name, convbot, args.commands, args.helps, args.deadline))
        print(
            f"  {name} done: commands p99 {percentile(mode.answered_s, 99):.2f} s, "
            f"help p99 {percentile(mode.help_ms, 99):.1f} ms",
            file=sys.stderr,
            flush=True,
        )
        modes.append(mode)
    report(modes, args)
    shared_figures.save(
        "degraded",
        {
            "deadline": args.deadline,
            "commands": args.commands,
            "helps": args.helps,
            "modes": [mode.figures() for mode in modes],
        },
    )


if __name__ == "__main__":
    main()
