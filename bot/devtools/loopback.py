"""Serve an ASGI app with uvicorn inside the running event loop, on a free loopback port.

Tests, benchmarks and local demos use it to talk to the emulator over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

STOP_GRACE = 2  # seconds a loopback server's stop waits for requests still running


def serve_in_background(
    app: ASGIApp, host: str = "127.0.0.1", *, lifespan: Literal["on", "off"] = "off"
) -> AbstractAsyncContextManager[str]:
    """Yield the base URL (`http://127.0.0.1:PORT`) while the app serves; stop it afterwards."""
    return serve_built(lambda _base_url: app, host, lifespan=lifespan)


@asynccontextmanager
async def serve_built(
    build: Callable[[str], ASGIApp],
    host: str = "127.0.0.1",
    *,
    lifespan: Literal["on", "off"] = "off",
    start_timeout: float = 10.0,
) -> AsyncIterator[str]:
    """Serve the app `build(base_url)` returns, for an app that must know its own URL;
    `start_timeout`: seconds its lifespan may take to start."""
    # proto must say TCP: asyncio only sets TCP_NODELAY on sockets that do, and without it every
    # response waits ~40 ms for a delayed ACK (Nagle) on loopback.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    app = build(f"http://{host}:{port}")
    # A request still running at the stop (a stalled emulator's minute-long answer) is cut
    # after STOP_GRACE, not waited for: nobody is left to read its answer.
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan=lifespan,
        access_log=False,
        timeout_graceful_shutdown=STOP_GRACE,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(start_timeout):
            while not server.started:
                if task.done():
                    task.result()  # surface why it did not start
                await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
