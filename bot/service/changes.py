"""A change to a conversation, compared: what a command answers (`Change`), the fields compared
and audited (`snapshot`), whether a route happened (`routed`), and how a change that changed
nothing reads (`already_said`). The rules that make changes are ConversationService's
(conversations.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bot.models import Conversation
from bot.state.audit import changed_fields

# What routing may change: the queue and priority of the rule that matched, and the agent.
ROUTED_FIELDS = frozenset({"queueId", "agentId", "priority"})


class Change(BaseModel):
    """The conversation after a command, and whether anything actually changed."""

    conversation: Conversation
    changed: bool = True
    note: str | None = None  # when nothing changed: why, in a person's words
    before: Conversation | None = None  # as it was, for saying what changed ("taken from …")


# How a no-op change reads, field by field ("It is already URGENT.").
_ALREADY_FIELD = {
    "topic": "that topic",
    "summary": "that summary",
    "queueId": "that queue",
    "channel": "that channel",
}


def already_said(wanted: dict[str, Any]) -> str:
    """Why a change changed nothing, as a person says it: "It is already URGENT."."""
    states = [
        str(wanted[field]).lower() if field == "status" else str(wanted[field])
        for field in ("priority", "status")
        if wanted.get(field) is not None
    ]
    has = [_ALREADY_FIELD[field] for field in _ALREADY_FIELD if field in wanted]
    parts = []
    if states:
        parts.append("is already " + " and ".join(states))
    if has:
        has_text = ", ".join(has[:-1]) + (" and " if len(has) > 1 else "") + has[-1]
        parts.append(("has " if states else "already has ") + has_text)
    return "It " + (", and ".join(parts) or "already is so") + "."


def routed(before: Conversation, now: Conversation) -> bool:
    """Whether `now` is `before` routed: changed since (routing always touches it), in what
    routing changes only."""
    if now.updatedAt is None or now.updatedAt == before.updatedAt:
        return False
    _, new = changed_fields(snapshot(before), snapshot(now))
    return set(new) <= ROUTED_FIELDS


def snapshot(conversation: Conversation) -> dict[str, Any]:
    return conversation.model_dump(
        mode="json",
        include={"topic", "summary", "status", "priority", "queueId", "agentId", "channel", "tags"},
    )
