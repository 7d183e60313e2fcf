"""Shortcuts on `FakeSlack` to its Socket Mode side (`fake.socket_mode`, socket_mode.py): the
WebSocket URL apps.connections.open answers, open connections, envelopes pushed and their acks.

A mixin of `FakeSlack` (recorder.py), which holds the attributes declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from bot.devtools.fakeslack.records import JsonDict
from bot.devtools.fakeslack.socket_mode import SocketAck, SocketMode


class SocketModeShortcuts:
    """`send_envelope` and `wait_for_ack`, and the connections' URL and count."""

    socket_mode: SocketMode
    _served_at: Callable[[], str]  # FakeSlack's: where the fake is served

    def socket_mode_url(self, ticket: str) -> str:
        """The WebSocket URL apps.connections.open answers: `ws://…/socket-mode/<ticket>`."""
        served = urlsplit(self._served_at())
        scheme = "wss" if served.scheme == "https" else "ws"
        return urlunsplit((scheme, served.netloc, f"/socket-mode/{ticket}", "", ""))

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self.socket_mode.open_connections)

    async def wait_for_socket(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the call reads best with the limit inline
    ) -> None:
        """Wait until the app has `count` Socket Mode connections open."""
        await self.socket_mode.wait_for_connections(count, timeout)

    async def send_envelope(
        self,
        type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push an envelope (`slash_commands`, `interactive`, `events_api`) to the app.

        `payload` as the `*_payload` builders make it; the envelope_id, to `wait_for_ack` on.
        """
        return await self.socket_mode.send_envelope(
            type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 3.0,  # noqa: ASYNC109 - Slack's own limit, inline reads best
    ) -> SocketAck:
        """The app's ack of the envelope (TimeoutError after `timeout`, Slack's 3 s by default)."""
        return await self.socket_mode.wait_for_ack(envelope_id, timeout)
