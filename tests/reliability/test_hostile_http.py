"""A hostile day at the HTTP door: huge bodies and slow clients.

Everything here goes over real sockets on loopback into the bot as `tests/slack_harness.py` runs
it (uvicorn, the bot's lifespan, a fake Slack). What each test proves:

- Size: a body over the limit (bot/http_limits.py, MAX_BODY_BYTES) is answered 413 without being
  read when its Content-Length says so (the test sends the headers of a 100 MB body and no body:
  an answer at all proves nothing waited for it), and as soon as a chunked body grows past it
  (the test keeps sending; the 413 arrives while it does). One byte under the limit is read.
- Time: slow clients (headers a byte at a time, a body a byte at a time, a connection that sends
  nothing) are cut off within the read deadline, made short here, while /healthz keeps
  answering at once; a real command still works afterwards. This runs the bot as `convbot
  serve` does (`server_options`), since the header deadline lives in uvicorn's protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.http_limits import MAX_BODY_BYTES
from tests.slack_harness import SlackHarness, running_bot

DEADLINE = 1.0  # seconds; the real one is READ_DEADLINE_SECONDS (5 s)


class Logs(logging.Handler):
    """Everything at WARNING and above, uvicorn's loggers (which do not propagate) included."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        """Each ERROR, and each record that carries a trace: the bot failing on its input."""
        return [
            f"{r.levelname} {r.name}: {r.getMessage()[:300]}"
            for r in self.records
            if r.levelno >= logging.ERROR or r.exc_info
        ]

    def said(self, logger: str) -> list[str]:
        return [r.getMessage() for r in self.records if r.name == logger]


@contextmanager
def watched() -> Iterator[Logs]:
    logs = Logs()
    loggers = [
        logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.error"),
    ]
    for logger in loggers:
        logger.addHandler(logs)
    try:
        yield logs
    finally:
        for logger in loggers:
            logger.removeHandler(logs)


@asynccontextmanager
async def bot(tmp_path: Path, **options: Any) -> AsyncIterator[SlackHarness]:
    async with running_bot(tmp_path, **options) as slack:
        yield slack


def address(slack: SlackHarness) -> tuple[str, int]:
    parts = urlsplit(slack.bot_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


async def status_of(reader: asyncio.StreamReader, seconds: float = 5.0) -> int:
    """The status of the response on `reader`, waiting at most `seconds`."""
    async with asyncio.timeout(seconds):
        line = await reader.readline()
    assert line.startswith(b"HTTP/1.1 "), line
    return int(line.split()[1])


# --- size ----------------------------------------------------------------------------------------


async def test_a_body_declared_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    async with bot(tmp_path) as slack:
        reader, writer = await asyncio.open_connection(*address(slack))
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        )
        await writer.drain()
        try:
            # Not a byte of the 100 MB was sent: an answer means nothing waited to read it.
            assert await status_of(reader) == 413
            async with asyncio.timeout(5):
                await reader.read()  # and the connection is closed, not kept for the rest
        finally:
            writer.close()


async def test_a_chunked_body_growing_past_the_limit_is_cut_off(tmp_path: Path) -> None:
    async with bot(tmp_path) as slack:
        reader, writer = await asyncio.open_connection(*address(slack))
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"[" * 65536
        sent = 0

        async def keep_sending() -> None:
            nonlocal sent
            try:
                while sent < 100 * MAX_BODY_BYTES:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                    sent += len(chunk)
            except ConnectionError:
                pass  # the bot closed the connection: what we are here to see

        sending = asyncio.create_task(keep_sending())
        try:
            # The 413, or a reset: the bot closes with the rest of the body unread, and the
            # reset that sends can overtake its answer. Either way, within seconds.
            with contextlib.suppress(ConnectionResetError):
                assert await status_of(reader, 10) == 413
        finally:
            sending.cancel()
            writer.close()
        # Cut off near the limit, not after the 100 MiB the client meant to send.
        assert sent < 20 * MAX_BODY_BYTES


async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    async with bot(tmp_path) as slack:
        url = f"{slack.bot_url}/slack/events"
        at_limit = await slack.http.post(url, content=b"x" * MAX_BODY_BYTES)
        over = await slack.http.post(url, content=b"x" * (MAX_BODY_BYTES + 1))
    assert at_limit.status_code == 401  # read whole, then refused: nobody signed it
    assert over.status_code == 413


# --- time ----------------------------------------------------------------------------------------


async def _closed_after(reader: asyncio.StreamReader) -> float:
    """Seconds until the bot closes the connection (reading whatever it sends meanwhile)."""
    started = time.monotonic()
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    return time.monotonic() - started


async def _drip(writer: asyncio.StreamWriter, head: bytes, every: float) -> None:
    """Send `head`, then one byte every `every` seconds, for as long as the connection lasts."""
    try:
        writer.write(head)
        await writer.drain()
        while True:
            await asyncio.sleep(every)
            writer.write(b"x")
            await writer.drain()
    except ConnectionError:
        pass


async def test_slow_clients_are_cut_off_while_healthz_stays_fast(tmp_path: Path) -> None:
    headers_drip = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slow: "
    body_drip = (
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    async with bot(tmp_path, read_deadline=DEADLINE) as slack:
        host, port = address(slack)
        connections = [await asyncio.open_connection(host, port) for _ in range(150)]
        drips = []
        for n, (_, writer) in enumerate(connections):
            if n % 3 == 0:
                drips.append(asyncio.create_task(_drip(writer, headers_drip, 0.2)))
            elif n % 3 == 1:
                drips.append(asyncio.create_task(_drip(writer, body_drip, 0.2)))
            # else: a connection that says nothing at all
        closing = [asyncio.create_task(_closed_after(reader)) for reader, _ in connections]
        health = []
        try:
            for _ in range(10):
                started = time.monotonic()
                answer = await slack.http.get(f"{slack.bot_url}/healthz")
                health.append(time.monotonic() - started)
                assert answer.status_code == 200
                await asyncio.sleep(0.1)
            async with asyncio.timeout(DEADLINE + 5):
                lasted = await asyncio.gather(*closing)
        finally:
            for task in [*drips, *closing]:
                task.cancel()
            for _, writer in connections:
                writer.close()
        # Cut off at the deadline (plus a loaded machine's slack), not held open.
        assert max(lasted) < DEADLINE + 2, sorted(lasted)[-5:]
        assert max(health) < 0.5, health
        # And Slack's own requests still get through.
        command = await slack.command("help")
        assert command.ack.status_code == 200
        assert (await command.answer()).text


async def test_a_slow_second_request_on_a_kept_connection_is_cut_off(tmp_path: Path) -> None:
    async with bot(tmp_path, read_deadline=DEADLINE) as slack:
        reader, writer = await asyncio.open_connection(*address(slack))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        await writer.drain()
        assert await status_of(reader) == 200
        dripping = asyncio.create_task(_drip(writer, b"GET /healthz HTTP/1.1\r\nX-Slow: ", 0.2))
        try:
            async with asyncio.timeout(DEADLINE + 5):
                lasted = await _closed_after(reader)
        finally:
            dripping.cancel()
            writer.close()
        assert lasted < DEADLINE + 2
