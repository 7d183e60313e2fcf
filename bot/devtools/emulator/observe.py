"""Watching what the emulator answers, as a client would receive it.

The test suite registers an observer here (tests/conftest.py) that holds every answer of every
emulator it serves to the contract, closed to the properties each schema declares; nothing is
registered in production, and then the emulator's answers pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Exchange:
    """One request (what identifies the operation) and the whole answer the emulator sent."""

    method: str
    path: str  # as sent, percent-encoded, without the query
    query: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


Observer = Callable[[Exchange], None]
# Called with every exchange, in the order registered; an observer must not raise.
_OBSERVERS: list[Observer] = []


@contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Show `observer` every exchange of every emulator app while the block runs."""
    _OBSERVERS.append(observer)
    try:
        yield
    finally:
        _OBSERVERS.remove(observer)


class Observed:
    """ASGI middleware: hands each finished answer to the observers (when there are any)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _OBSERVERS:
            await self._app(scope, receive, send)
            return
        start: dict[str, object] = {}
        chunks: list[bytes] = []

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    _tell(_exchange(scope, start, b"".join(chunks)))
            await send(message)

        await self._app(scope, receive, watched)


def _exchange(scope: Scope, start: dict[str, object], body: bytes) -> Exchange:
    raw = scope.get("raw_path") or scope["path"].encode()
    headers = cast(Iterable[tuple[bytes, bytes]], start.get("headers") or [])
    status = start.get("status")
    return Exchange(
        method=scope["method"],
        # Some servers keep the query in raw_path; the query string has it either way.
        path=raw.split(b"?", 1)[0].decode("latin-1"),
        query=scope.get("query_string", b"").decode("latin-1"),
        status=status if isinstance(status, int) else 0,
        headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
        body=body,
    )


def _tell(exchange: Exchange) -> None:
    for observer in list(_OBSERVERS):
        observer(exchange)
