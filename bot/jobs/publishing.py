"""How jobs reach Slack: a port the Slack layer implements (bot/slack/publisher.py).

Jobs decide when a digest or a handoff notice goes out and whether its tick is still theirs;
the publisher draws it, sends it and records it for the presses on it. Drawing and sending are
separate calls because a tick's claim is checked in between (bot/state/ticks.py): nothing is
sent for a tick another replica took over while this one was drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.digests.model import Digest


class PublishFailed(Exception):
    """Slack refused the message or could not be reached, after its client's retries; the
    sentence is what an operator reads as the tick's error."""


@dataclass(frozen=True)
class Drawn:
    """A message as the publisher drew it, handed back to it to send: its notification text
    and its blocks (opaque here)."""

    text: str
    blocks: Sequence[Any]


class DigestPublisher(Protocol):
    async def draw(self, digest: Digest, now: datetime) -> Drawn:
        """A digest as posted in a channel."""
        ...

    async def draw_handoff(
        self, schedule: str, until: datetime | None, digest: Digest, now: datetime
    ) -> Drawn:
        """The DM to whoever comes on call for `schedule` (until the next handoff, if any)."""
        ...

    async def post(self, name: str, channel: str, drawn: Drawn) -> str:
        """Post digest `name` in `channel` (joining a public one first if need be), record it
        for presses; its ts."""
        ...

    async def update(self, name: str, channel: str, ts: str, drawn: Drawn) -> bool:
        """Redraw digest `name`'s message in place, record it; False when that message can no
        longer be edited (deleted, too old), so a new one is to be posted."""
        ...

    async def direct_channel(self, user: str) -> str:
        """The DM channel with `user`, opened if need be."""
        ...

    async def send(self, name: str, channel: str, drawn: Drawn) -> None:
        """Send a drawn digest `name` to a DM channel, record it for presses."""
        ...
