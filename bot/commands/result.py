"""What a command produced, for a surface (Slack blocks, the CLI's text or JSON) to draw."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bot.messages import Message, Note
from bot.models import Agent, Conversation, ConversationFilter, ResultPage
from bot.service.changes import Change


class CommandResult(BaseModel):
    """What a command produced, for a surface to draw."""

    # "text": a sentence or a few lines, drawn as text on every surface (help is text too, kept
    # apart for its metric and its escaping of `<placeholders>`).
    kind: Literal["conversation", "page", "help", "text", "transcript"]
    headline: str
    conversation: Conversation | None = None
    before: Conversation | None = None  # the conversation before a change, when it changed
    page: ResultPage[Conversation] | None = None
    query: ConversationFilter | None = None
    changed: bool = False
    text: str | None = None
    agent: Agent | None = None  # whom `assign` gave it to, for a surface to mention
    # A transcript: whose, its latest messages and notes (newest last).
    conversation_id: str | None = None
    messages: ResultPage[Message] | None = None
    notes: ResultPage[Note] | None = None


def changed(change: Change, headline: str) -> CommandResult:
    """A change as a result: `headline` when it changed, else why not, as a person would say it."""
    if not change.changed:  # a second press or a no-op
        headline = change.note or "It is already so: nothing changed."
    return CommandResult(
        kind="conversation",
        headline=headline,
        conversation=change.conversation,
        changed=change.changed,
        before=change.before,
    )
