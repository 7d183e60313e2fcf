"""`convbot serve` as a process of its own, for tests that kill it (-9) or run several.

(Moved here from tests/test_escalation_replicas.py, which uses it too. tests/test_cli.py has the
synchronous `serving_process` for the CLI's own commands.)
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import cast

import httpx

from bot.devtools.fakeslack import FakeSlack, SlackSigner
from bot.server import Serving
from tests.slack_harness import SECRET, TOKEN, Json, SlackHarness, write_config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def convbot_serve(
    workdir: Path,
    fake: FakeSlack,
    database_url: str,
    *,
    token: str = TOKEN,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[subprocess.Popen[bytes], SlackHarness]]:
    """`python -m bot serve` in its own process against the (served) fake Slack, with a harness
    that signs requests to it; killed at the end if it still runs. `env` adds variables (e.g.
    INFOBIP_BASE_URL); the process's output is in `workdir/serve.log`."""
    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFOBIP_", "SLACK_", "DATABASE_URL", "LOG_", "CONVBOT_CONFIG"))
    }
    environment.update(
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
        CONVBOT_CONFIG=str(workdir / "convbot.yml"),
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="WARNING",
        **(env or {}),
    )
    url = f"http://127.0.0.1:{port}"
    with (workdir / "serve.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
            [sys.executable, "-m", "bot", "serve"],
            cwd=workdir,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                async with asyncio.timeout(30):
                    while True:
                        if process.poll() is not None:
                            output = (workdir / "serve.log").read_text(errors="replace")
                            raise AssertionError(f"convbot serve exited: {output[-2000:]}")
                        try:
                            if (await http.get(f"{url}/healthz")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.05)
                no_serving = cast(Serving, None)  # the process's runtime is out of reach
                yield process, SlackHarness(fake, SlackSigner(SECRET), url, http, no_serving)
        finally:
            if process.poll() is None:
                process.kill()
            await asyncio.to_thread(process.wait, 10)


async def serve_replicas(
    stack: AsyncExitStack,
    workdir: Path,
    fake: FakeSlack,
    database_url: str,
    tokens: Sequence[str],
    config: Json,
) -> list[tuple[subprocess.Popen[bytes], SlackHarness]]:
    """One `convbot serve` per token on one database, each in its own directory under
    `workdir` with `config`, started side by side (three start-ups take as long as one) and
    stopped when `stack` closes. The fake Slack accepts the tokens: its calls say which
    replica made them."""
    assert fake.accepted_tokens is not None
    fake.accepted_tokens.update(tokens)
    for n in range(len(tokens)):
        (workdir / f"r{n}").mkdir()
        write_config(workdir / f"r{n}" / "convbot.yml", config)
    return await asyncio.gather(
        *(
            stack.enter_async_context(
                convbot_serve(workdir / f"r{n}", fake, database_url, token=token)
            )
            for n, token in enumerate(tokens)
        )
    )
