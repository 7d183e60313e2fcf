"""What a press carries, read once before its listener runs (a Bolt listener middleware): the
table's entry for the button (bot/slack/blocks/buttons.py), the reference it was drawn with,
decoded, and who pressed it. Listeners read it as `press_of(context)`.

The reference is decoded here, but a broken one is raised only when the listener asks for it,
after its ack and inside its `observed`, so a broken button is counted and told as it always
was. The actor is resolved on first use, after the ack, too: learning who someone is may ask
Slack (users.info) and the backend (the agent with their e-mail), which must not hold up the
ack Slack wants within 3 s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt.context.async_context import AsyncBoltContext

from bot.models import Actor
from bot.slack.blocks.buttons import Button
from bot.slack.identity import SlackIdentity

R = TypeVar("R")
_PRESS = "convbot_press"
Middleware = Callable[..., Awaitable[None]]
Listener = Callable[..., Awaitable[None]]  # a Bolt listener: its arguments by name


@dataclass
class Press:
    button: Button
    user: str  # the Slack user who pressed
    action: Mapping[str, Any]  # the payload's first action
    _identity: SlackIdentity
    _reference: object = None
    _broken: Exception | None = None  # why the reference could not be read
    _actor: Actor | None = field(default=None, init=False)

    def reference(self, kind: type[R]) -> R:
        """The decoded reference; what made it unreadable is raised here (InvalidInput for a
        broken button), in the listener, where failures are told."""
        if self._broken is not None:
            raise self._broken
        if not isinstance(self._reference, kind):
            raise TypeError(f"{self.button.id} carries no {kind.__name__}")
        return self._reference

    @property
    def choice(self) -> str | None:
        """The option a select carried (the Priority or Snooze select); None for a button."""
        selected = self.action.get("selected_option") or {}
        value = selected.get("value") if isinstance(selected, dict) else None
        return None if value is None else str(value)

    async def actor(self) -> Actor:
        if self._actor is None:
            self._actor = await self._identity.actor(self.user)
        return self._actor


def read_press(button: Button, identity: SlackIdentity) -> Middleware:
    """The listener middleware that puts `button`'s Press into the Bolt context."""

    async def reading(
        context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> None:
        press = Press(button=button, user="", action={}, _identity=identity)
        try:
            press.action = first_action(body)
            press.user = user_of(body)
            press._reference = button.reference(press.action)
        except Exception as error:  # a forged or damaged payload: told once the press is acked
            press._broken = error
        context[_PRESS] = press
        await next()

    return reading


def press_of(context: AsyncBoltContext) -> Press:
    press = context.get(_PRESS)
    if not isinstance(press, Press):
        raise TypeError("a button listener registered without read_press")
    return press


def first_action(body: Mapping[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    first = actions[0]
    return first if isinstance(first, dict) else {}


def user_of(body: Mapping[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")
