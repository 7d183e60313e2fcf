"""`convbot emulator`: the Infobip API served over the embedded store, for tests and demos.

With `--faults`, a share of the requests fail (`bot.devtools.faults`): 429/500/503/timeout
answered by
the emulator itself, dropped connections by a TCP proxy that then listens on the port in front
of the emulator (which moves to a free loopback port behind it).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from types import FrameType

import uvicorn

from bot.backends.local import LocalBackend
from bot.config import LocalSeed
from bot.config_file import load_settings_config
from bot.devtools.emulator.app import create_emulator_app
from bot.devtools.faults import FaultDice, FaultPlan, fault_proxy
from bot.errors import ConvbotError
from bot.listening import bind_or_say
from bot.settings import Settings
from bot.state.db import create_engine, migrate


def serve_emulator(
    settings: Settings,
    host: str,
    port: int,
    api_key: str,
    database_url: str,
    latency: float = 0.0,
    faults: FaultPlan | None = None,
) -> int:
    try:
        seed = load_settings_config(settings).local
    except ConvbotError as error:
        print(f"error {error}", file=sys.stderr)
        return error.exit_code
    # Bound before the banner: it tells people where to point convbot, so it must be true.
    sock = bind_or_say("convbot emulator", host, port, "pick another port")
    if sock is None:
        return 2
    port = int(sock.getsockname()[1])  # the one chosen, with --port 0
    notes = []
    if latency > 0:
        notes.append(f"answering {latency * 1000:g} ms late")
    if faults is not None and faults.rate > 0:
        notes.append(faults.describe())
    if faults is not None and faults.needs_proxy:
        notes.append("dropping connections through a proxy")
    slow = f" ({'; '.join(notes)})" if notes else ""
    print(
        f"Infobip emulator on http://{host}:{port}/ccaas/1/{slow} — point convbot at it with\n"
        f"  export INFOBIP_BASE_URL=http://{host}:{port} INFOBIP_API_KEY={api_key}",
        flush=True,
    )
    try:
        asyncio.run(_serve(sock, seed, api_key, database_url, latency, faults))
    except ConvbotError as error:  # the database named by --database-url
        print(f"error {error}", file=sys.stderr)
        return error.exit_code
    finally:
        sock.close()
    return 0


async def _serve(
    sock: socket.socket,
    seed: LocalSeed,
    api_key: str,
    database_url: str,
    latency: float,
    faults: FaultPlan | None = None,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        backend = LocalBackend(engine)
        await backend.seed(seed)
        if faults is None or not faults.needs_proxy:
            app = create_emulator_app(backend, api_key, latency=latency, faults=faults)
            server = _Server(uvicorn.Config(app, log_level="warning"))
            await server.serve(sockets=[sock])
            return
        # Drops: the proxy takes the socket, the emulator a free port on loopback behind it.
        connection_plan, http_plan = faults.split()
        app = create_emulator_app(backend, api_key, latency=latency, faults=http_plan)
        inner = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        inner.bind(("127.0.0.1", 0))
        inner.listen(128)  # connections the proxy makes before uvicorn is up wait, not fail
        inner_port = int(inner.getsockname()[1])
        server = _Server(uvicorn.Config(app, log_level="warning"))
        try:
            async with fault_proxy("127.0.0.1", inner_port, FaultDice(connection_plan), sock=sock):
                await server.serve(sockets=[inner])  # until Ctrl-C or SIGTERM
        finally:
            inner.close()
    finally:
        await engine.dispose()


class _Server(uvicorn.Server):
    """uvicorn, minus raising the stopping signal again once it has stopped: that SIGINT would
    cancel the database's closing after it (a CancelledError traceback) and end in a
    KeyboardInterrupt. Here a stop is the answer to the signal, and the exit is clean."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for open connections
        else:
            self.should_exit = True
