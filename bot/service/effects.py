"""What each button applies, and the permission the service checks for it, whatever draws it.

A card and a digest item draw the same Take: one effect, applied through `Presses`
(bot/service/presses.py), so its permission and its "already" sentence are written once. The
Slack layer's table of buttons (bot/slack/blocks/buttons.py) names one effect per button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Action
from bot.errors import InvalidInput
from bot.models import Actor, Conversation, ConversationPatch, Priority
from bot.service.changes import Change
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService, Started


@dataclass(frozen=True)
class Effect:
    """A press's use case by name (also its claim's and its metric's name) and the permission
    (convbot.yml `permissions:`) the service checks before anything else."""

    name: str
    permission: Action


@dataclass(frozen=True)
class Services:
    conversations: ConversationService
    escalations: EscalationService


@dataclass(frozen=True)
class Applied:
    """What an effect did: the change, and the escalation an Escalate started (or found)."""

    change: Change
    escalation: Started | None = None


# `choice`: what a select carried (the Priority select's option), None for a button.
Apply = Callable[[Services, Actor, Conversation, str | None], Awaitable[Applied]]
Already = Callable[[Actor, Conversation, str | None], str | None]


def _never(actor: Actor, current: Conversation, choice: str | None) -> str | None:
    return None


@dataclass(frozen=True)
class ConversationEffect(Effect):
    """An effect on one version of a conversation, applied once per version (`Presses.press`).
    `already`: what a press on an out-of-date card says when what it asks for is so already;
    `done`: the word a card pressed to it says was done ("Taken" by @ana just now)."""

    apply: Apply
    already: Already = _never
    done: str = "Changed"


async def _take(services: Services, actor: Actor, current: Conversation, _: str | None) -> Applied:
    conversations = services.conversations
    agent_id = await conversations.directory.resolve_agent(actor, "me")
    return Applied(await conversations.assign(actor, current.id, agent_id))


def _already_yours(actor: Actor, current: Conversation, _: str | None) -> str | None:
    if current.agentId is not None and current.agentId == actor.agent_id:
        return "It is already yours."
    return None


async def _route(services: Services, actor: Actor, current: Conversation, _: str | None) -> Applied:
    return Applied(await services.conversations.route(actor, current.id))


async def _close(services: Services, actor: Actor, current: Conversation, _: str | None) -> Applied:
    return Applied(await services.conversations.close(actor, current.id))


def _already_closed(actor: Actor, current: Conversation, _: str | None) -> str | None:
    return "It is already closed." if current.is_closed else None


async def _escalate(
    services: Services, actor: Actor, current: Conversation, _: str | None
) -> Applied:
    started = await services.escalations.escalate(actor, current.id)
    now = await services.conversations.get(current.id)
    return Applied(Change(conversation=now, changed=not started.already), escalation=started)


def wanted_priority(choice: str | None) -> Priority | None:
    """The priority a Priority select's option asks for; None for anything else."""
    try:
        return Priority(str(choice or "").upper())
    except ValueError:
        return None


async def _set_priority(
    services: Services, actor: Actor, current: Conversation, choice: str | None
) -> Applied:
    wanted = wanted_priority(choice)
    if wanted is None:
        raise InvalidInput("Pick one of URGENT, HIGH, NORMAL, LOW.")
    patch = ConversationPatch(priority=wanted)
    return Applied(await services.conversations.update(actor, current.id, patch))


def _already_priority(actor: Actor, current: Conversation, choice: str | None) -> str | None:
    wanted = wanted_priority(choice)
    if wanted is not None and current.priority is wanted:
        return f"It is already {wanted.value}."
    return None


TAKE = ConversationEffect("take", "assign", _take, _already_yours, "Taken")
ROUTE = ConversationEffect("route", "route", _route, done="Routed")
CLOSE = ConversationEffect("close", "close", _close, _already_closed, "Closed")
ESCALATE = ConversationEffect("escalate", "escalate", _escalate, done="Escalated")
PRIORITY = ConversationEffect(
    "priority", "update", _set_priority, _already_priority, "Priority changed"
)
# The create form: asked before the form closes, so a refusal shows in it.
CREATE = Effect("create", "create")
# The edit form: a change of one version, like a card's press (bot/slack/listeners/views.py).
EDIT = Effect("edit", "update")
# Applied by `Presses.snooze`: snoozing leaves the conversation as it is, so it claims nothing.
SNOOZE = Effect("snooze", "update")
# Applied by bot/service/page_answers.py, on an escalation rather than a conversation.
ACKNOWLEDGE = Effect("acknowledge", "acknowledge")
TAKE_PAGE = Effect("take", "acknowledge")
