"""Serve an ASGI app with uvicorn inside the running event loop, on a free loopback port.

Tests, benchmarks and local demos use it to talk to the emulator over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serve_in_background(
    app: ASGIApp, host: str = "127.0.0.1", *, lifespan: Literal["on", "off"] = "off"
) -> AsyncIterator[str]:
    """Yield the base URL (`http://127.0.0.1:PORT`) while the app serves; stop it afterwards."""
    # proto must say TCP: asyncio only sets TCP_NODELAY on sockets that do, and without it every
    # response waits ~40 ms for a delayed ACK (Nagle) on loopback.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # surface why it did not start
                await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
