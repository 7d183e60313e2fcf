"""Backend requests and time per digest as the backlog grows, embedded and through the emulator.

    python -m benchmarks.digest_cost [--backlogs 100 10000 1000000]

A digest asks, per priority value, for one page of its oldest matches and takes that priority's
total from the pagination: its cost must stay flat from 100 to 1,000,000 matching conversations.
"Requests" are backend calls on the embedded store and HTTP requests through the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import figures
from benchmarks.list_requests import KEY, CountingTransport
from benchmarks.local_list import build
from bot.backends.base import ConversationBackend
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.bootstrap import build_runtime
from bot.config import OpsConfig
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.digests.service import DigestService
from bot.metrics import Metrics, metered
from bot.models import ConversationFilter, Priority, Status
from bot.settings import Settings
from bot.state.db import create_engine, migrate

QUERY = ConversationFilter(
    statuses=[Status.OPEN, Status.WAITING], priorities=[Priority.URGENT, Priority.HIGH]
)
RUNS = 20


async def time_digests(backend: ConversationBackend, state_url: str) -> tuple[float, int]:
    state = create_engine(state_url)
    runtime = await build_runtime(
        Settings(_env_file=None), OpsConfig(), engine=state, backend=backend
    )
    digests = DigestService(runtime.conversations)
    await digests.build("bench", QUERY, max_items=15)  # warm caches and connections
    timings = []
    total = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        digest = await digests.build("bench", QUERY, max_items=15)
        timings.append((time.perf_counter() - started) * 1000)
        total = digest.total
    await state.dispose()
    return statistics.median(timings), total


async def measure(folder: Path, backlog: int) -> list[tuple[str, int, float, int]]:
    store_path = folder / f"store-{backlog}.db"
    engine = create_engine(f"sqlite+aiosqlite:///{store_path}")
    await migrate(engine)
    build(store_path, backlog)
    rows = []
    metrics = Metrics()
    embedded = metered(LocalBackend(engine), metrics)
    ms, total = await time_digests(embedded, f"sqlite+aiosqlite:///{folder}/state-a.db")
    labels = {"backend": "local", "method": "list", "outcome": "ok"}
    calls = metrics.registry.get_sample_value("convbot_backend_calls_total", labels) or 0
    rows.append(("embedded", int(calls) // (RUNS + 1), ms, total))
    async with serve_in_background(create_emulator_app(LocalBackend(engine), KEY)) as url:
        counter = CountingTransport()
        infobip = InfobipBackend(url, KEY, transport=counter)
        ms, total = await time_digests(infobip, f"sqlite+aiosqlite:///{folder}/state-b.db")
        rows.append(("Infobip via emulator", counter.requests // (RUNS + 1), ms, total))
        await infobip.aclose()
    await engine.dispose()
    return rows


async def run(backlogs: list[int]) -> None:
    print("Cost of one digest (OPEN+WAITING x URGENT+HIGH, 15 items), median of 20")
    print(f"{'backlog':>10}  {'backend':<22} {'requests':>8} {'ms':>8} {'matching':>9}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for backlog in backlogs:
            for backend, requests, ms, total in await measure(Path(folder), backlog):
                print(f"{backlog:>10,}  {backend:<22} {requests:>8} {ms:>8.1f} {total:>9,}")
                rows.append(
                    {"backlog": backlog, "backend": backend, "requests": requests, "ms": ms}
                )
    figures.save("digest_cost", {"rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlogs", type=int, nargs="+", default=[100, 10_000, 1_000_000])
    asyncio.run(run(parser.parse_args().backlogs))


if __name__ == "__main__":
    main()
