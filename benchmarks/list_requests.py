"""How many HTTP requests a `list` costs through the Infobip client, as the backlog grows.

    python -m benchmarks.list_requests [--backlogs 100 100000]

The emulator serves an embedded store holding the backlog; the Infobip client talks to it over
loopback HTTP through a transport that counts requests. The cost must not grow with the backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import figures
from benchmarks.local_list import build
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.bootstrap import build_runtime
from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.config import OpsConfig
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.models import Actor
from bot.settings import Settings
from bot.state.db import create_engine, migrate

KEY = "benchmark-key"
COMMANDS = [
    "list priority:high,urgent",
    "list priority:high,urgent page:3",
    "list priority:high,urgent sort:priority",
    "list priority:urgent status:open",
]
ACTOR = Actor(id="cli:benchmark", surface="cli")


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def measure(folder: Path, backlog: int) -> list[tuple[str, int, float, int]]:
    store_path = folder / f"emulator-{backlog}.db"
    store_engine = create_engine(f"sqlite+aiosqlite:///{store_path}")
    await migrate(store_engine)
    build(store_path, backlog)
    state = create_engine(f"sqlite+aiosqlite:///{folder / 'state.db'}")
    results = []
    async with serve_in_background(create_emulator_app(LocalBackend(store_engine), KEY)) as url:
        counter = CountingTransport()
        infobip = InfobipBackend(url, KEY, transport=counter)
        settings = Settings(_env_file=None)
        runtime = await build_runtime(settings, OpsConfig(), engine=state, backend=infobip)
        service = runtime.conversations
        for text in COMMANDS:
            await execute(parse(text), service, ACTOR)  # warm connections and caches
            counter.requests = 0
            started = time.perf_counter()
            result = await execute(parse(text), service, ACTOR)
            elapsed = (time.perf_counter() - started) * 1000
            total = result.page.totalItems if result.page else 0
            results.append((text, counter.requests, elapsed, total))
        await infobip.aclose()
    await store_engine.dispose()
    await state.dispose()
    return results


async def run(backlogs: list[int]) -> None:
    print("HTTP requests per `list` through InfobipBackend -> emulator (loopback)")
    print(
        "(list defaults to status OPEN+WAITING: 2 statuses x 2 priorities = 4 single-value queries)"
    )
    print(f"{'backlog':>9}  {'command':<42} {'requests':>8} {'ms':>8} {'matches':>8}")
    most: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backlog in backlogs:
            for text, requests, ms, total in await measure(Path(folder), backlog):
                print(f"{backlog:>9,}  {text:<42} {requests:>8} {ms:>8.1f} {total:>8,}")
                most[backlog] = max(most.get(backlog, 0), requests)
    figures.save("list_requests", {"most_requests": most})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlogs", type=int, nargs="+", default=[100, 100_000])
    asyncio.run(run(parser.parse_args().backlogs))


if __name__ == "__main__":
    main()
