"""End-to-end throughput of `/conv create`, and convbot's memory over many commands.

    python -m benchmarks.throughput [--count 10000] [--concurrency 64] [--backend-latency 0.05]

Two server processes (`benchmarks._serve`, as in ack_latency --split): the fake Slack and the
Infobip emulator (each request slowed by --backend-latency) in one, convbot's real HTTP app in
the other, so convbot's memory is its own. This process sends signed `/conv create …` commands,
--concurrency at a time (closed loop: a new one as soon as one is answered), and counts a
create as completed when convbot has posted its answer to the response_url.

- throughput: completed creates per second over the whole run (first send to last answer),
  beside a baseline measured in the same run: creates per second straight into the emulator
  with one pooled client at the same concurrency (what the backend alone allows), and the CPU
  time convbot's process spent per create (steadier than the rate on a busy machine);
- memory: convbot's resident set (VmRSS) after the first half of the commands and after all of
  them, and its peak (VmHWM): growth over the second half is what a leak would show.
Targets on the 2-core machine: >= 200 creates/s; peak RSS < 150 MB; no growth over the second
half beyond noise (5 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks import figures as shared_figures
from benchmarks._serve import EMULATOR_KEY as KEY
from benchmarks.ack_latency import Load, Server, convbot_server, responses, session

TARGET_RATE = 200.0
TARGET_PEAK_MB = 150.0
TARGET_GROWTH = 0.05
DRAIN_TIMEOUT = 300.0


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc (Linux)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def closed_loop(load: Load, count: int, concurrency: int, answered_before: int) -> None:
    """Send `count` commands, never more than `concurrency` of them unanswered: so many people
    each waiting for their answer before typing the next. (A loop closed on the ack let the
    acks run ahead of the work: a growing backlog of acknowledged commands read as a leak and
    made each create dearer.) `answered_before`: the fake Slack's count of answers so far."""
    await load.prepare(count)
    sent = 0
    while sent < count:
        unanswered = sent - (await responses(load.http, load.target) - answered_before)
        batch = min(concurrency - unanswered, count - sent)
        if batch > 0:
            await asyncio.gather(*(load.send() for _ in range(batch)))
            sent += batch
        else:
            await asyncio.sleep(0.02)


async def answered(http: aiohttp.ClientSession, target: Server, expected: int) -> float:
    """Wait until convbot has answered `expected` commands in all; when it did (monotonic)."""
    async with asyncio.timeout(DRAIN_TIMEOUT):
        while True:
            if await responses(http, target) >= expected:
                break
            await asyncio.sleep(0.05)
    return time.monotonic()


async def baseline(emulator: str, count: int, concurrency: int) -> float:
    """Creates per second straight into the emulator, one pooled client, same concurrency."""
    headers = {"Authorization": f"App {KEY}"}
    async with session(concurrency, 30.0) as http:
        remaining = count

        async def sender() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                body = {"topic": f"Baseline {remaining}", "priority": "HIGH"}
                url = f"{emulator}/ccaas/1/conversations"
                async with http.post(url, json=body, headers=headers) as answer:
                    answer.raise_for_status()
                    await answer.read()

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return count / (time.monotonic() - started)


async def measure(convbot: Server, count: int, concurrency: int) -> dict[str, float]:
    async with session(concurrency, 30.0) as http:
        load = Load(http, convbot)
        await load.warm(20)
        done = await responses(http, convbot)
        await answered(http, convbot, done)
        pid = convbot.process.pid
        start_rss, _ = memory_mb(pid)
        start_cpu = cpu_seconds(pid)
        half = count // 2
        started = time.monotonic()
        await closed_loop(load, half, concurrency, done)
        await answered(http, convbot, done + half)
        half_rss, _ = memory_mb(pid)
        await closed_loop(load, count - half, concurrency, done + half)
        finished = await answered(http, convbot, done + count)
        end_rss, peak = memory_mb(pid)
        cpu = cpu_seconds(pid) - start_cpu
        emulator = str(convbot.ready.get("emulator") or "")
    rate = count / (finished - started)
    base = await baseline(emulator, min(count, 2000), concurrency) if emulator else float("nan")
    return {
        "rate": rate,
        "baseline": base,
        "cpu_ms": cpu * 1000 / count,
        "start_rss": start_rss,
        "half_rss": half_rss,
        "end_rss": end_rss,
        "peak": peak,
        "growth": (end_rss - half_rss) / half_rss,
    }


def report(figures: dict[str, float], args: argparse.Namespace) -> None:
    growth = figures["growth"]
    print(
        f"\n/conv create end to end: {args.count} commands, {args.concurrency} at a time, "
        f"emulator at {args.backend_latency * 1000:.0f} ms per request "
        f"({platform.python_version()}, {platform.machine()})"
    )
    print(f"{'':28}{'value':>12}{'target':>14}")
    rate, base = figures["rate"], figures["baseline"]
    print(
        f"{'completed creates/s':28}{rate:>12.0f}{f'>= {TARGET_RATE:.0f}':>14}"
        f"   {'met' if rate >= TARGET_RATE else 'MISSED'}"
    )
    print(
        f"{'emulator alone, creates/s':28}{base:>12.0f}{'':>14}   ratio {rate / base:.2f}"
        " (convbot / backend alone)"
    )
    print(f"{'convbot CPU per create, ms':28}{figures['cpu_ms']:>12.1f}")
    print(f"{'RSS before the load, MB':28}{figures['start_rss']:>12.1f}")
    print(f"{'RSS after half, MB':28}{figures['half_rss']:>12.1f}")
    print(f"{'RSS after all, MB':28}{figures['end_rss']:>12.1f}")
    peak = figures["peak"]
    print(
        f"{'peak RSS, MB':28}{peak:>12.1f}{f'< {TARGET_PEAK_MB:.0f}':>14}"
        f"   {'met' if peak < TARGET_PEAK_MB else 'MISSED'}"
    )
    print(
        f"{'growth over the 2nd half':28}{growth * 100:>11.1f}%{f'< {TARGET_GROWTH:.0%}':>14}"
        f"   {'met' if growth < TARGET_GROWTH else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--backend-latency", type=float, default=0.05)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as scratch,
        convbot_server(Path(scratch), args.backend_latency, split=True) as convbot,
    ):
        figures = asyncio.run(measure(convbot, args.count, args.concurrency))
    report(figures, args)
    shared_figures.save(
        "throughput", figures | {"count": args.count, "concurrency": args.concurrency}
    )


if __name__ == "__main__":
    main()
