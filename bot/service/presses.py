"""Presses on something drawn from one version of a conversation: a card's or a digest item's
buttons, the edit form. The first press on a version acts, on every replica
(bot/state/claims.py); a later one is told the card was out of date, or that another press got
there first. The permission is decided once, here, before anything is claimed or read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import ConvbotError
from bot.models import Actor, Conversation
from bot.service.conversations import ConversationService
from bot.service.effects import SNOOZE, Applied, ConversationEffect, Effect, Services
from bot.service.escalations import EscalationService, Started
from bot.service.permissions import decided
from bot.state.claims import CardClaims


@dataclass(frozen=True)
class Drawn:
    """The conversation something was drawn for, at the version (`updatedAt`) it showed; no
    version: drawn without one (an old button), so nothing is claimed."""

    id: str
    version: datetime | None = None

    def is_current(self, updated_at: datetime | None) -> bool:
        return self.version == updated_at


@dataclass(frozen=True)
class Pressed:
    """What a press did: the conversation to draw, the service's note, and the change.

    `stale`: what was pressed was out of date, so nothing was applied; `note` then says what
    it asked for is so already ("It is already yours."), or is None and the surface says when
    and by whom the conversation changed."""

    conversation: Conversation
    note: str | None = None
    changed: bool = False
    stale: bool = False
    before: Conversation | None = None
    escalation: Started | None = None  # what an Escalate started, or found running

    @property
    def taken_from(self) -> str | None:
        """The agent a take took the conversation from (None: it was nobody's, or no take)."""
        if not self.changed or self.before is None or self.before.agentId is None:
            return None
        if self.before.agentId == self.conversation.agentId:
            return None
        return self.before.agentId

    def taken_meanwhile(self, actor: Actor) -> bool:
        """Out of date because someone other than `actor` has it now."""
        return self.stale and self.conversation.agentId not in (None, actor.agent_id)


class AnotherPress(ConvbotError):
    """The card's version was already claimed: someone's press on it got there first.

    Told to the presser alone; redrawing the card from here could overwrite the winner's
    redraw with the state from before its change.
    """

    def __init__(self) -> None:
        super().__init__(
            "Already done: another press on this card got there first; the card shows what it did."
        )


@dataclass(frozen=True)
class Snoozed:
    """A digest item's Snooze: the conversation, its snooze's end, and whether the item was out
    of date (then nothing was snoozed, and `until` is whatever snooze it already had)."""

    conversation: Conversation
    until: datetime | None
    stale: bool = False


class Presses:
    def __init__(
        self,
        conversations: ConversationService,
        escalations: EscalationService,
        claims: CardClaims,
    ) -> None:
        self._conversations = conversations
        self._services = Services(conversations, escalations)
        self._claims = claims

    async def press(
        self, actor: Actor, drawn: Drawn, effect: ConversationEffect, choice: str | None = None
    ) -> Pressed:
        """Apply a button's effect once, on the version it was drawn from. `choice`: what a
        select carried."""

        async def apply(current: Conversation) -> Applied:
            return await effect.apply(self._services, actor, current, choice)

        return await self.once(
            actor,
            drawn,
            effect,
            apply,
            already=lambda current: effect.already(actor, current, choice),
        )

    async def once(
        self,
        actor: Actor,
        drawn: Drawn,
        effect: Effect,
        apply: Callable[[Conversation], Awaitable[Applied]],
        *,
        already: Callable[[Conversation], str | None] = lambda current: None,
    ) -> Pressed:
        """Claim the version before reading anything, so that of two presses on one version
        exactly one acts and the other is told so, however their requests interleave."""
        # Decided before anything is read or claimed: a refusal costs no backend call.
        await self._conversations.authorize(actor, effect.permission, drawn.id)
        with decided(actor, effect.permission):
            return await self._once(actor, drawn, effect.name, apply, already)

    async def _once(
        self,
        actor: Actor,
        drawn: Drawn,
        name: str,
        apply: Callable[[Conversation], Awaitable[Applied]],
        already: Callable[[Conversation], str | None],
    ) -> Pressed:
        version = drawn.version
        if version is not None and not await self._claims.claim(drawn.id, version, name, actor.id):
            current = await self._conversations.get(drawn.id)
            if not drawn.is_current(current.updatedAt):  # the winner is done: this is stale
                return Pressed(conversation=current, note=already(current), stale=True)
            raise AnotherPress()
        try:
            async with self._holding(drawn):
                current = await self._conversations.get(drawn.id)
                if not drawn.is_current(current.updatedAt):
                    pressed = Pressed(conversation=current, note=already(current), stale=True)
                else:
                    applied = await apply(current)
                    change = applied.change
                    pressed = Pressed(
                        conversation=change.conversation,
                        note=change.note,
                        changed=change.changed,
                        before=change.before,
                        escalation=applied.escalation,
                    )
        except BaseException:
            await self._release(drawn)
            raise
        if not pressed.changed:
            # Nothing moved, so whoever presses this version next must be free to act.
            await self._release(drawn)
        return pressed

    async def snooze(self, actor: Actor, drawn: Drawn, duration: timedelta) -> Snoozed:
        """Leave the conversation out of digests for `duration`, unless the item pressed is
        out of date. Nothing is claimed: a snooze leaves the version as it is."""
        await self._conversations.authorize(actor, SNOOZE.permission, drawn.id)
        current = await self._conversations.get(drawn.id)
        if not drawn.is_current(current.updatedAt):
            until = (await self._conversations.snoozed([drawn.id])).get(drawn.id)
            return Snoozed(conversation=current, until=until, stale=True)
        conversation, until = await self._conversations.snooze(actor, drawn.id, duration)
        return Snoozed(conversation=conversation, until=until)

    def _holding(self, drawn: Drawn) -> AbstractAsyncContextManager[None]:
        """The claim on the version, renewed while the press runs."""
        if drawn.version is None:
            return nullcontext()
        return self._claims.holding(drawn.id, drawn.version)

    async def _release(self, drawn: Drawn) -> None:
        if drawn.version is not None:
            await self._claims.release(drawn.id, drawn.version)
