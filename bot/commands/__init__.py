"""The `/conv` command grammar, shared by the Slack command and the CLI.

`parse(text)` turns what a person typed into one of the `spec` models, or raises InvalidInput.
"""

from bot.commands.parser import USAGE, help_text, parse, parse_tokens, tokenize
from bot.commands.spec import (
    SUBCOMMANDS,
    AssignCommand,
    CloseCommand,
    Command,
    CreateCommand,
    HelpCommand,
    ListCommand,
    RouteCommand,
    ShowCommand,
    TagCommand,
    TakeCommand,
    UnassignCommand,
    UntagCommand,
    UpdateCommand,
)

__all__ = [
    "SUBCOMMANDS",
    "USAGE",
    "AssignCommand",
    "CloseCommand",
    "Command",
    "CreateCommand",
    "HelpCommand",
    "ListCommand",
    "RouteCommand",
    "ShowCommand",
    "TagCommand",
    "TakeCommand",
    "UnassignCommand",
    "UntagCommand",
    "UpdateCommand",
    "help_text",
    "parse",
    "parse_tokens",
    "tokenize",
]
