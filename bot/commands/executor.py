"""Runs a parsed command against the service: the one place the grammar meets the rules.

The Slack listeners and the CLI both call `execute` and only differ in how they draw the result.
Each command's handler is in its registry entry (bot/commands/registry.py).
"""

from __future__ import annotations

from typing import Any

from bot.commands.registry import subcommand_of
from bot.commands.result import CommandResult
from bot.commands.spec import Command
from bot.commands.subcommand import Subcommand
from bot.errors import InvalidInput
from bot.models import Actor
from bot.service.conversation_ids import with_full_id
from bot.service.conversations import ConversationService


async def execute(command: Command, service: ConversationService, actor: Actor) -> CommandResult:
    # The id as typed first (a whole id costs nothing more); a prefix is completed only when
    # no conversation has it as its id (bot/service/conversation_ids.py).
    return await with_full_id(
        command, lambda typed: service.ids.complete(typed), lambda c: _run(c, service, actor)
    )


async def _run(command: Command, service: ConversationService, actor: Actor) -> CommandResult:
    entry = subcommand_of(command)
    if entry.run is None:
        # They post to and read from Slack, which this surface-independent layer cannot.
        raise InvalidInput(_slack_only(entry))
    return await entry.run(command, service, actor)


def _slack_only(entry: Subcommand[Any]) -> str:
    """The refusal for a command that posts to or reads from Slack, from another surface."""
    return f"`{entry.name}` works in Slack: type `/conv {entry.usage}` there." + entry.in_a_shell
