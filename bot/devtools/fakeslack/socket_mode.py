"""Socket Mode as Slack runs it, over the fake's state: tickets, connections, envelopes, acks.

An app calls `apps.connections.open` with its app-level token (`xapp-…`) and gets a one-use
WebSocket URL. On connecting it receives `hello`; from then on Slack pushes envelopes
(`{"envelope_id", "type", "payload", "accepts_response_payload"}`, events also with
`retry_attempt` and `retry_reason`) and the app acknowledges each with `{"envelope_id"}`, plus a
`payload` when it answers something (a modal's `response_action`, a command's message). A
`disconnect` message (`reason: "refresh_requested"`, …) asks the app to open a new connection.
WebSocket pings are answered by the server's WebSocket layer, as Slack's are.

An ack's payload is recorded, not applied (no message posted, no modal changed): tests read it
from the `SocketAck`, as HTTP-mode tests read the bot's response body.

This module knows no HTTP: `server` serves the WebSocket and hands each connection's `send` and
`close` here. Everything runs on one event loop, so no locking beyond each socket's send order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
SLASH_COMMANDS, INTERACTIVE, EVENTS_API = "slash_commands", "interactive", "events_api"
ENVELOPE_TYPES = (SLASH_COMMANDS, INTERACTIVE, EVENTS_API)
# Interactions Slack lets the app answer in its ack (a modal's response_action, options).
ANSWERABLE_INTERACTIONS = ("view_submission", "block_suggestion")
DEBUG_HOST = "applink-fake-1"
# WebSocket close code 1001, "going away": a server dropping a socket it will serve no more.
GOING_AWAY = 1001


@dataclass(frozen=True)
class SocketEnvelope:
    """One envelope the fake pushed down a Socket Mode connection."""

    envelope_id: str
    type: str
    payload: JsonDict
    accepts_response_payload: bool
    connection: int  # the SocketConnection.id it went down
    sent_at: float  # time.monotonic()

    def as_slack(self) -> JsonDict:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }


@dataclass(frozen=True)
class SocketAck:
    """One acknowledgement the app sent back: `payload` is its answer, None for a bare ack."""

    envelope_id: str
    payload: JsonDict | None
    connection: int
    received_at: float  # time.monotonic()
    envelope: SocketEnvelope | None  # None: the ack names no envelope the fake sent

    @property
    def latency(self) -> float:
        """Seconds from the envelope's send to this ack (Slack allows 3)."""
        if self.envelope is None:
            raise ValueError(f"ack for unknown envelope {self.envelope_id}")
        return self.received_at - self.envelope.sent_at


@dataclass
class SocketConnection:
    """One open Socket Mode WebSocket; `sent` and `received` are its messages, in order."""

    id: int
    ticket: str
    app_token: str
    send_text: Callable[[str], Awaitable[None]] = field(repr=False)
    close_socket: Callable[[int], Awaitable[None]] = field(repr=False)
    opened_at: float = field(default_factory=time.monotonic)  # time.monotonic()
    sent: list[JsonDict] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    open: bool = True
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def send(self, message: JsonDict) -> None:
        async with self._send_lock:
            await self.send_text(json.dumps(message, separators=(",", ":")))
            self.sent.append(message)


class SocketMode:
    """The fake Slack's Socket Mode side, shared by `apps.connections.open` and the WebSocket."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.connections: list[SocketConnection] = []  # every connection ever opened
        self.envelopes: list[SocketEnvelope] = []
        self.acks: list[SocketAck] = []
        self.refused: list[str] = []  # tickets of connection attempts refused (unknown or used)
        self._tickets: dict[str, str] = {}  # ticket → the app token it was issued to
        self._serial = 0
        self._waiters: set[asyncio.Event] = set()

    # --- connecting ------------------------------------------------------------------------------

    def issue_ticket(self, app_token: str) -> str:
        """A ticket for one connection, as `apps.connections.open` hands out in its URL."""
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = app_token
        return ticket

    def redeem_ticket(self, ticket: str) -> str | None:
        """The app token a ticket was issued to, once; None (recorded) when unknown or used."""
        app_token = self._tickets.pop(ticket, None)
        if app_token is None:
            self.refused.append(ticket)
        return app_token

    async def connected(
        self,
        ticket: str,
        app_token: str,
        send_text: Callable[[str], Awaitable[None]],
        close_socket: Callable[[int], Awaitable[None]],
    ) -> SocketConnection:
        """Register an accepted WebSocket and greet it with Slack's `hello`."""
        self._serial += 1
        connection = SocketConnection(self._serial, ticket, app_token, send_text, close_socket)
        self.connections.append(connection)
        await connection.send(
            {
                "type": "hello",
                "num_connections": len(self.open_connections),
                "debug_info": {
                    "host": DEBUG_HOST,
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._changed()
        return connection

    def disconnected(self, connection: SocketConnection) -> None:
        connection.open = False
        self._changed()

    @property
    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections if c.open]

    # --- what the app sends ----------------------------------------------------------------------

    def received(self, connection: SocketConnection, text: str) -> None:
        """A message from the app: an ack is recorded; anything else is kept and logged."""
        connection.received.append(text)
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            log.warning("Socket Mode message that is no ack: %.200s", text)
            return
        payload = message.get("payload")
        envelope = self.envelope(message["envelope_id"])
        self.acks.append(
            SocketAck(
                message["envelope_id"],
                payload if isinstance(payload, dict) else None,
                connection.id,
                time.monotonic(),
                envelope,
            )
        )
        if envelope is None:
            log.warning("Socket Mode ack for an unknown envelope %s", message["envelope_id"])
        self._changed()

    def envelope(self, envelope_id: str) -> SocketEnvelope | None:
        return next((e for e in self.envelopes if e.envelope_id == envelope_id), None)

    def acks_for(self, envelope_id: str) -> list[SocketAck]:
        return [a for a in self.acks if a.envelope_id == envelope_id]

    # --- what Slack sends ------------------------------------------------------------------------

    async def send_envelope(
        self,
        type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push one envelope down the newest open connection; its envelope_id.

        `payload` is what the HTTP request's body would carry, as a dict (`slash_command_payload`,
        `block_actions_payload`, `view_submission_payload`, `event_callback_payload`).
        `accepts_response_payload` defaults as Slack sets it: true for slash commands, view
        submissions and options requests, false otherwise. Events also carry `retry_attempt`
        and `retry_reason`.
        """
        _check_payload(type, payload)
        connection = self._newest_open()
        if accepts_response_payload is None:
            accepts_response_payload = type == SLASH_COMMANDS or (
                type == INTERACTIVE and payload.get("type") in ANSWERABLE_INTERACTIONS
            )
        envelope = SocketEnvelope(
            str(uuid.uuid4()),
            type,
            payload,
            accepts_response_payload,
            connection.id,
            time.monotonic(),
        )
        message = envelope.as_slack()
        if type == EVENTS_API:
            message |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        self.envelopes.append(envelope)
        await connection.send(message)
        return envelope.envelope_id

    async def request_reconnect(self, reason: str = "refresh_requested") -> None:
        """Send `disconnect` down every open connection, as Slack does before it drops one.

        The app answers by opening a new connection (a new `apps.connections.open`) and closing
        the old one.
        """
        for connection in self.open_connections:
            await connection.send(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": DEBUG_HOST}}
            )

    async def drop_connections(self, code: int = GOING_AWAY) -> None:
        """Close every open connection from Slack's side, without warning."""
        for connection in self.open_connections:
            await connection.close_socket(code)
            self.disconnected(connection)

    # --- waiting ---------------------------------------------------------------------------------

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 3.0,  # noqa: ASYNC109 - Slack's own limit, inline reads best
    ) -> SocketAck:
        """The app's ack of an envelope; TimeoutError when none comes in time (Slack: 3 s)."""
        await self._wait_until(
            lambda: bool(self.acks_for(envelope_id)),
            timeout,
            lambda: f"no ack for envelope {envelope_id} in {timeout}s; acks: {len(self.acks)}",
        )
        return self.acks_for(envelope_id)[0]

    async def wait_for_connections(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the call reads best with the limit inline
    ) -> list[SocketConnection]:
        """Wait until `count` connections are open; they, oldest first."""
        await self._wait_until(
            lambda: len(self.open_connections) >= count,
            timeout,
            lambda: (
                f"waited {timeout}s for {count} Socket Mode connection(s), "
                f"{len(self.open_connections)} open, {len(self.refused)} refused"
            ),
        )
        return self.open_connections

    def clear(self) -> None:
        """Forget the envelopes and acks (open connections stay)."""
        self.envelopes.clear()
        self.acks.clear()

    def _newest_open(self) -> SocketConnection:
        connections = self.open_connections
        if not connections:
            raise RuntimeError(
                "no Socket Mode connection is open: is the app running with its app token, "
                "and did it connect? (wait_for_socket)"
            )
        return connections[-1]

    def _changed(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def _wait_until(
        self, done: Callable[[], bool], seconds: float, why: Callable[[], str]
    ) -> None:
        changed = asyncio.Event()
        self._waiters.add(changed)
        try:
            async with asyncio.timeout(seconds):
                while not done():
                    changed.clear()
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(why()) from None
        finally:
            self._waiters.discard(changed)


def _check_payload(type: str, payload: JsonDict) -> None:
    """Refuse an envelope Slack would never send, so a test's mistake shows where it is made."""
    if type not in ENVELOPE_TYPES:
        raise ValueError(f"unknown envelope type {type!r}; Slack sends {', '.join(ENVELOPE_TYPES)}")
    if not isinstance(payload, dict):
        raise TypeError("an envelope's payload is a dict: use the *_payload builders")
    if type == SLASH_COMMANDS and "command" not in payload:
        raise ValueError("a slash_commands payload has a `command` (slash_command_payload)")
    interaction = payload.get("type") not in (None, "event_callback") and "command" not in payload
    if type == INTERACTIVE and not interaction:
        raise ValueError("an interactive payload is an interaction (block_actions_payload, …)")
    if type == EVENTS_API and payload.get("type") != "event_callback":
        raise ValueError("an events_api payload is an event_callback (event_callback_payload)")
