"""Every `/conv` subcommand, one entry each, in the order help and "Commands:" name them.

An entry (bot/commands/subcommand.py) holds the name, model, grammar, usage, help, examples,
section, surfaces and handler; the tables the rest of the bot reads (`SUBCOMMANDS`, `USAGE`,
`SLACK_ONLY`, `HELP_SECTIONS`) are views of this one list. `help` is defined here: it is about
the list itself.

Commands are dispatched through their entry, not through a `match` per command, which would be
one more table to keep in step. What a `match` with `assert_never` would catch is caught instead
by the type checker (an entry's model outside the `Command` union; a grammar or handler of another
model) and at import (a model in the union without an entry, see `_check`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

from bot.commands import help as pages
from bot.commands.result import CommandResult
from bot.commands.spec import Command, HelpCommand
from bot.commands.subcommand import EVERYWHERE, C, Section, Subcommand
from bot.commands.subcommand import SLACK_ONLY as SLACK_SURFACE_ONLY
from bot.commands.subcommands.assigning import ASSIGN, TAKE, UNASSIGN
from bot.commands.subcommands.changes import CLOSE, CREATE, ROUTE, TAG, UNTAG, UPDATE
from bot.commands.subcommands.digests import DIGEST, SCHEDULES
from bot.commands.subcommands.oncall import ESCALATE, ESCALATIONS, ONCALL
from bot.commands.subcommands.reading import LIST, SHOW
from bot.commands.subcommands.transcripts import MESSAGES, NOTE, REPLY
from bot.commands.values import printable, suggestion
from bot.errors import InvalidInput
from bot.models import Actor
from bot.service.conversations import ConversationService


def _help_grammar(words: list[str], now: datetime) -> HelpCommand:
    if len(words) > 1:
        raise InvalidInput(f"Unexpected '{printable(words[1])}': `help` takes one command name.")
    return HelpCommand(subcommand=subcommand_named(words[0]).name if words else None)


async def _help(command: HelpCommand, service: ConversationService, actor: Actor) -> CommandResult:
    # Needs neither the service nor who asked: help must answer even when the backend cannot.
    return CommandResult(kind="help", headline="convbot help", text=help_text(command.subcommand))


HELP = Subcommand(
    name="help",
    model=HelpCommand,
    grammar=_help_grammar,
    usage="help [subcommand]",
    summary="This list, or one command's options and examples.",
    explanation="Lists the commands, or explains one of them.",
    examples=("help", "help list"),
    section=Section.HELP,
    surfaces=EVERYWHERE,
    run=_help,
)

REGISTRY: tuple[Subcommand[Any], ...] = (
    CREATE,
    LIST,
    SHOW,
    UPDATE,
    ASSIGN,
    TAKE,
    UNASSIGN,
    ROUTE,
    TAG,
    UNTAG,
    CLOSE,
    MESSAGES,
    REPLY,
    NOTE,
    DIGEST,
    SCHEDULES,
    ESCALATE,
    ONCALL,
    ESCALATIONS,
    HELP,
)

_BY_NAME: dict[str, Subcommand[Any]] = {entry.name: entry for entry in REGISTRY}
_BY_MODEL: dict[type[Any], Subcommand[Any]] = {entry.model: entry for entry in REGISTRY}


def _check(members: tuple[type[Any], ...]) -> None:
    """Fails at import, so in every test and every run, when the entries and the `Command`
    union disagree. (An entry whose model is not in the union already fails the type check.)"""
    problems = [
        *(f"{model.__name__} has no entry" for model in members if model not in _BY_MODEL),
        *(
            f"{entry.model.__name__} is not in the union"
            for entry in REGISTRY
            if entry.model not in members
        ),
        *(
            f"`{entry.name}` is not its model's kind"
            for entry in REGISTRY
            if entry.model.model_fields["kind"].default != entry.name
        ),
    ]
    if len(_BY_NAME) != len(REGISTRY) or len(_BY_MODEL) != len(REGISTRY):
        problems.append("an entry is listed twice")
    if problems:
        raise RuntimeError(f"bot/commands/registry.py: {'; '.join(problems)}.")


_check(get_args(get_args(Command)[0]))

SUBCOMMANDS: tuple[str, ...] = tuple(_BY_NAME)
USAGE: dict[str, str] = {entry.name: entry.usage for entry in REGISTRY}
SLACK_ONLY: frozenset[str] = frozenset(e.name for e in REGISTRY if e.surfaces == SLACK_SURFACE_ONLY)
HELP_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (section.value, tuple(entry.name for entry in members))
    for section, members in pages.sections(REGISTRY)
)


def subcommand(name: str) -> Subcommand[Any] | None:
    """The entry of a subcommand's name as typed (any case), if there is one."""
    return _BY_NAME.get(name.strip().lower())


def subcommand_named(word: str) -> Subcommand[Any]:
    """The entry `word` names, or an error that suggests the closest name."""
    entry = subcommand(word)
    if entry is None:
        raise InvalidInput(unknown_command(word))
    return entry


def subcommand_of(command: C) -> Subcommand[C]:
    """The entry that made `command`."""
    entry: Subcommand[C] = _BY_MODEL[type(command)]
    return entry


def unknown_command(word: str) -> str:
    guess = suggestion(word, SUBCOMMANDS)
    hint = f" Did you mean `{guess}`?" if guess else ""
    return f"Unknown command '{printable(word)}'.{hint} Commands: {', '.join(SUBCOMMANDS)}."


def synopsis(name: str) -> str:
    """The usage line without its `key:value` options, which `help <command>` lists."""
    return pages.short_usage(USAGE[name])


def help_text(subcommand: str | None = None) -> str:
    """The commands by section, one line each; or one command's usage, explanation, examples."""
    if subcommand is None:
        return pages.overview(REGISTRY)
    try:
        entry = subcommand_named(subcommand)
    except InvalidInput as error:
        raise InvalidInput(error.message, usage=HELP.usage) from None
    return pages.page(entry)
