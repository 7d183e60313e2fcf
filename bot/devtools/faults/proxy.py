"""Faults injected at the connection layer: a TCP proxy on loopback that drops connections.

    async with fault_proxy("127.0.0.1", emulator_port, dice) as (host, port):
        ...  # point the client at http://{host}:{port}

Bytes pass both ways unchanged, except when the dice say:

- "drop-before": the client's connection is closed as soon as the first bytes of a request
  arrive, and those bytes are not forwarded: the request never reaches the server.
- "drop-after": the request is forwarded; when the server's answer begins (so the server has
  handled the request), the client's connection is closed and the answer is not passed on. The
  change happened, the client cannot know it: the classic ambiguous failure.

Other kinds pass without a fault (`bot.devtools.faults.asgi` injects those). When either side
closes, the proxy closes the other side too.

Granularity: one roll per request/response exchange. The proxy does not parse HTTP; it counts
an exchange as beginning with the first bytes the client sends on a new connection or after the
server has begun answering the previous request. That is exact for HTTP/1.1 clients that do not
pipeline — httpx (h11) and every common client send a request only once the previous answer has
been read, keep-alive connections included. A pipelining client, or a server that answers
before the whole request body has arrived, would have its exchanges miscounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.devtools.faults.plan import CONNECTION_KINDS, FaultDice

log = logging.getLogger(__name__)

CHUNK = 65536
CLOSE_WAIT = 2.0  # seconds a closing connection may take to flush what is left


@asynccontextmanager
async def fault_proxy(
    target_host: str,
    target_port: int,
    dice: FaultDice,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sock: socket.socket | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """Listen on `host:port` (a free port when 0), or on `sock` already bound, and forward each
    connection to `target_host:target_port`, dropping connections as `dice` decide. Yields
    (host, port)."""
    links: set[asyncio.Task[None]] = set()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        links.add(task)
        try:
            await _Link(reader, writer, dice).run(target_host, target_port)
        except asyncio.CancelledError:
            # Only the proxy's closing cancels a link, and the link has closed its connections
            # by now. End quietly: on Python 3.11, asyncio logs a cancelled client task as an
            # error ("Exception in callback ... CancelledError").
            pass
        finally:
            links.discard(task)

    if sock is not None:
        server = await asyncio.start_server(accepted, sock=sock)
    else:
        server = await asyncio.start_server(accepted, host, port)
    bound = server.sockets[0].getsockname()
    try:
        yield str(bound[0]), int(bound[1])
    finally:
        server.close()
        for task in list(links):
            task.cancel()
        await asyncio.gather(*links, return_exceptions=True)
        await server.wait_closed()


class _Link:
    """One client connection and its own connection to the server."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dice: FaultDice
    ) -> None:
        self._client_in = reader
        self._client_out = writer
        self._dice = dice
        self._answering = True  # the server has begun answering: the next bytes are a request
        self._drop_after = False  # the current exchange ends in a drop once the answer begins
        self._dropped = False

    async def run(self, target_host: str, target_port: int) -> None:
        _no_delay(self._client_out)
        try:
            server_in, server_out = await asyncio.open_connection(target_host, target_port)
        except OSError as error:
            log.warning("fault proxy: cannot reach %s:%d (%s)", target_host, target_port, error)
            await _close(self._client_out)
            return
        _no_delay(server_out)
        pumps = [
            asyncio.create_task(self._requests(server_out)),
            asyncio.create_task(self._answers(server_in)),
        ]
        try:
            # Whichever way ends first (a close, an error, a drop) ends the link.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            # A drop cuts the client off at once, whatever is still buffered for it.
            await _close(self._client_out, abort=self._dropped)
            await _close(server_out, abort=self._dropped)

    async def _requests(self, server_out: asyncio.StreamWriter) -> None:
        while data := await self._client_in.read(CHUNK):
            if self._answering:  # a new exchange begins
                self._answering = False
                kind = self._dice.roll(CONNECTION_KINDS)
                if kind == "drop-before":
                    self._dropped = True
                    self._dice.record(kind)
                    log.debug("fault drop-before: %d request bytes not forwarded", len(data))
                    return
                self._drop_after = kind == "drop-after"
            server_out.write(data)
            await server_out.drain()

    async def _answers(self, server_in: asyncio.StreamReader) -> None:
        while data := await server_in.read(CHUNK):
            if not self._answering:  # the answer to the current request begins
                self._answering = True
                if self._drop_after:
                    self._dropped = True
                    self._dice.record("drop-after")
                    log.debug("fault drop-after: the answer is not passed on")
                    return
            self._client_out.write(data)
            await self._client_out.drain()


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """Small writes go out at once (no Nagle delay waiting for an ACK on loopback)."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _close(writer: asyncio.StreamWriter, *, abort: bool = False) -> None:
    if abort:
        writer.transport.abort()
    else:
        writer.close()  # after what is buffered has been sent
    try:
        async with asyncio.timeout(CLOSE_WAIT):
            await writer.wait_closed()
    except TimeoutError:  # the peer reads nothing: stop waiting for it
        writer.transport.abort()
    except OSError:  # it was reset: closed all the same
        pass
