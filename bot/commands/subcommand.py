"""What one registry entry holds: everything about a subcommand but the service rules it calls.

An entry is generic in its command model, so the type checker sees that its grammar returns that
model and its handler takes it; the model must be a member of the `Command` union (the bound).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Generic, TypeVar

from bot.commands.result import CommandResult
from bot.commands.spec import Command
from bot.models import Actor
from bot.service.conversations import ConversationService

C = TypeVar("C", bound=Command)

# The words after the subcommand's name, and the command's clock (UTC), to the model.
Grammar = Callable[[list[str], datetime], C]
# Runs the command against the service, the same on every surface.
Handler = Callable[[C, ConversationService, Actor], Awaitable[CommandResult]]


class Surface(StrEnum):
    SLACK = "slack"
    CLI = "cli"


EVERYWHERE = frozenset(Surface)
# They post to or read from Slack (channels, people, pages), which the CLI cannot.
SLACK_ONLY = frozenset({Surface.SLACK})


class Section(Enum):
    """The overview's sections, in the order a support team reaches for them."""

    WORK = "Work on conversations"
    TALK = "Talk with the customer"
    ONCALL = "On call"
    DIGESTS = "Digests"
    HELP = "Help"


@dataclass(frozen=True)
class Subcommand(Generic[C]):
    """One `/conv` subcommand. `run` is None for a Slack-only one: it needs Slack, so its
    handler lives in the Slack layer (bot/slack/listeners/commands.py), which checks at build
    time that it has one for every such entry."""

    name: str
    model: type[C]
    grammar: Grammar[C]
    usage: str  # one line, starting with the name
    summary: str  # the overview's one line
    explanation: str  # what `help <name>` says
    examples: tuple[str, ...]  # each parses back to `model`
    section: Section
    surfaces: frozenset[Surface]
    run: Handler[C] | None
    # What a shell can do instead, said when another surface refuses a Slack-only command.
    in_a_shell: str = ""
    # Free text after this many words (a note, a reply): typed text reaches the grammar as one
    # last word, as written — spaces, quotes, `key:value` and line breaks kept — not as tokens.
    free_text_after: int | None = None

    def __post_init__(self) -> None:
        if (self.run is None) != (self.surfaces == SLACK_ONLY):
            raise ValueError(f"`{self.name}`: only a Slack-only subcommand has no handler here")
