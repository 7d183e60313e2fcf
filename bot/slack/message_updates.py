"""Debounced `chat.update`: at most one edit per second per message; the last state wins.

A burst of presses on one digest would otherwise make a `chat.update` each, and Slack allows
about one per second per channel. Each press changes the blocks this process last drew for the
message (so presses in one burst build on each other rather than on the stale copy Slack sent
with each press); the first edit goes out at once, later ones wait out the interval and are
merged into one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

Blocks = list[dict[str, Any]]
# Given the message's latest blocks: the fallback text and the blocks to show instead.
Redraw = Callable[[Blocks], tuple[str, Blocks]]

INTERVAL = 1.0
# How long the blocks drawn for a message are remembered after its last edit: long enough to
# merge a burst, short enough that a later edit from elsewhere (another replica) is not undone.
REMEMBER = 30.0


@dataclass
class _Message:
    text: str
    blocks: Blocks
    sent_at: float = float("-inf")  # monotonic time of the last chat.update
    flush: asyncio.Task[None] | None = None


class MessageUpdates:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._interval = interval
        self._clock = clock
        self._messages: dict[tuple[str, str], _Message] = {}

    def edit(self, channel: str, ts: str, current: Blocks, redraw: Redraw) -> None:
        """Redraw the message; `current` is its blocks as Slack last showed them to the caller."""
        self._forget_quiet()
        key = (channel, ts)
        message = self._messages.get(key)
        text, blocks = redraw(message.blocks if message is not None else current)
        if message is None:
            message = self._messages[key] = _Message(text, blocks)
        message.text, message.blocks = text, blocks
        if message.flush is None:
            wait = max(0.0, message.sent_at + self._interval - self._clock())
            message.flush = asyncio.get_running_loop().create_task(self._flush(key, wait))

    def forget(self, channel: str, ts: str) -> None:
        """The message was redrawn from scratch elsewhere (a digest tick): drop what is pending."""
        message = self._messages.pop((channel, ts), None)
        if message is not None and message.flush is not None:
            message.flush.cancel()

    async def _flush(self, key: tuple[str, str], wait: float) -> None:
        if wait > 0:
            await asyncio.sleep(wait)
        message = self._messages.get(key)
        if message is None:
            return
        message.flush = None
        message.sent_at = self._clock()
        channel, ts = key
        try:
            await self._client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as error:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, error.response.get("error"))
        except Exception:  # a background edit reports; it never takes the loop down
            log.warning("chat.update of %s/%s failed", channel, ts, exc_info=True)

    def _forget_quiet(self) -> None:
        now = self._clock()
        quiet = [
            key
            for key, message in self._messages.items()
            if message.flush is None and now - message.sent_at > REMEMBER
        ]
        for key in quiet:
            del self._messages[key]
