"""Bounds on what one HTTP request may cost the bot before anything reads it: size and time.

Without them one unsigned `POST /slack/events` of 100 MB was read whole and parsed before its
signature was checked (RSS 105 → 363 MB, /healthz stalled ~2 s), and a client that sent a byte
every few seconds held its connection (and its buffers) forever: 1,800 of them stayed open for a
minute and would have stayed longer. uvicorn bounds neither: it has no body limit, no deadline
for headers or a body, and its keep-alive timeout only starts after a response.

Two layers, because neither sees everything:

- `RequestGuard`, an ASGI middleware around the whole app: a body larger than `MAX_BODY_BYTES`
  is answered 413 without being read (by its Content-Length) or as soon as it grows past the
  limit (chunked, or lying about its length), and a body not complete within the read deadline
  is answered 408. Either way the connection is closed. The body it read is handed on, so
  Starlette and Bolt read it from memory and nothing upstream buffers more.
- `deadline_protocol`, uvicorn's HTTP protocol with a read deadline: a request's headers and
  body must arrive within `READ_DEADLINE_SECONDS` of its first byte (or of the connection
  opening), and its headers within `MAX_HEADER_BYTES`; else the connection is closed. The ASGI
  app is only called once the headers are in, so a slow or endless header section is only
  visible here. Only `convbot serve` (and tests of it) run uvicorn with it.

The work a request starts after it was read (Bolt's listeners) is not bounded here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# Slack's requests are small: a slash command is ~0.5 KB, a block action carries the message it
# was pressed on (at most 50 blocks of ≤ 3,000 characters, so ≤ ~200 KB even escaped), a view
# submission its view (≤ 100 blocks) and state. 1 MiB is several times the largest Slack can
# send, and small enough that a few hundred at once cannot exhaust memory.
MAX_BODY_BYTES = 1024 * 1024
# Slack gives up on a request it has no answer to after 3 s, so a request still arriving after 5 s
# is of no use to anyone; Slack's own arrive in milliseconds.
READ_DEADLINE_SECONDS = 5.0
# Slack's headers are under 2 KB; h11 refuses more than 16 KiB by itself (its default).
MAX_HEADER_BYTES = 64 * 1024
# Idle keep-alive connections are closed after this (uvicorn's default, said here on purpose).
KEEP_ALIVE_SECONDS = 5


class RequestGuard:
    """ASGI middleware: the body is read here, within a size limit and a deadline, then replayed."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MAX_BODY_BYTES,
        read_deadline: float = READ_DEADLINE_SECONDS,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.read_deadline = read_deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            log.info("refused a %d-byte body unread (limit %d)", declared, self.max_body)
            await _answer(send, 413)
            return
        body = bytearray()
        try:
            async with asyncio.timeout(self.read_deadline):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # nobody to answer (or the protocol's deadline closed it)
                    body += message.get("body", b"")
                    if len(body) > self.max_body:
                        log.info("cut off a body past %d bytes", self.max_body)
                        await _answer(send, 413)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            log.info("cut off a body not received within %g s", self.read_deadline)
            await _answer(send, 408)
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses it before we are called
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _answer(send: Send, status: int) -> None:
    # `connection: close`: the rest of the body is not worth reading, nor the connection keeping.
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


# --- uvicorn's side: headers (and the whole request) within a deadline -------------------------


class _ReadDeadline:
    """Mixed into a uvicorn HTTP protocol: close a connection whose request is not read in time.

    The clock starts when the connection opens and again at the first byte of each later request
    on it; it stops once the request has been read whole (the app's work is not timed here) and
    is cleared when the response is complete. Between requests uvicorn's keep-alive timeout
    closes an idle connection.
    """

    read_deadline: float = READ_DEADLINE_SECONDS
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None

    def _request_read(self) -> bool:
        raise NotImplementedError

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_deadline, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._request_read() or self.transport.is_closing():
            return
        log.info("closed a connection whose request was not read within %g s", self.read_deadline)
        self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._request_read():
            self._arm()
        super().data_received(data)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class _H11Deadline(_ReadDeadline, H11Protocol):
    def _request_read(self) -> bool:
        # DONE: h11 has the whole request; uvicorn starts the next cycle after the response.
        return bool(self.conn.their_state is h11.DONE)


def deadline_protocol(read_deadline: float = READ_DEADLINE_SECONDS) -> type[Any]:
    """uvicorn's HTTP protocol (httptools when installed, as uvicorn's "auto" picks) with a read
    deadline and, for httptools (h11 has its own 16 KiB), a limit on header bytes."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools not installed: uvicorn's "auto" would pick h11 too
        return type("DeadlineH11Protocol", (_H11Deadline,), {"read_deadline": read_deadline})

    class DeadlineHttpToolsProtocol(_ReadDeadline, HttpToolsProtocol):
        _read = False
        _headers_in = False
        _header_bytes = 0

        def _request_read(self) -> bool:
            return self._read

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # Counted after parsing: a chunk that ends the headers may carry a large body too.
            if self._headers_in or self._read or self.transport.is_closing():
                return
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                log.info("refused a request whose headers passed %d bytes", MAX_HEADER_BYTES)
                self.send_400_response("Request headers too large.")

        def on_message_begin(self) -> None:
            self._read, self._headers_in, self._header_bytes = False, False, 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._headers_in = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._read = True
            super().on_message_complete()

        def on_response_complete(self) -> None:
            self._read = False  # the next request on this connection is timed afresh
            super().on_response_complete()

    DeadlineHttpToolsProtocol.read_deadline = read_deadline
    return DeadlineHttpToolsProtocol


def server_options(read_deadline: float = READ_DEADLINE_SECONDS) -> dict[str, Any]:
    """What `uvicorn.Config` / `uvicorn.run` takes to serve the bot within these bounds."""
    return {
        "http": deadline_protocol(read_deadline),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": 16 * 1024,
    }
