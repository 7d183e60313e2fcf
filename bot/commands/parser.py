"""Parse what a person typed into a command model: the same for Slack `/conv` and the CLI.

Every failure is an InvalidInput with a sentence a person can act on and, once the subcommand is
known, its usage line. Nothing else may escape, whatever the text: the Slack listener shows
`str(error)` and must never see a traceback. Each subcommand's grammar is in its registry entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from bot.commands.registry import USAGE, subcommand, unknown_command
from bot.commands.spec import Command, HelpCommand
from bot.commands.tokens import tokenize
from bot.errors import InvalidInput


def parse(text: str, *, now: datetime | None = None) -> Command:
    """Parse what was typed after `/conv` (or a whole CLI line)."""
    tokens = split(text)
    entry = subcommand(tokens[0]) if tokens else None
    if entry is not None and entry.free_text_after is not None:
        tokens = with_free_text(text, tokens, entry.free_text_after + 1)
    return parse_tokens(tokens, now=now)


def with_free_text(text: str, tokens: list[str], lead: int) -> list[str]:
    """The first `lead` words, then everything after them as typed, as one word: a note or a
    reply is the person's text, not a list of tokens (its quotes, spacing and lines are kept).
    When the leading words were not plain (quoted), the tokens stand."""
    parts = re.split(r"\s+", text.strip(), maxsplit=lead)
    if len(parts) <= lead or parts[:lead] != tokens[:lead]:
        return tokens
    return [*tokens[:lead], parts[lead]]


def split(text: str) -> list[str]:
    """`tokenize`, whose complaint about an open quote carries the named command's usage."""
    try:
        return tokenize(text)
    except InvalidInput as error:
        words = text.split(None, 1)
        usage = USAGE.get(words[0].lower()) if words else None
        raise InvalidInput(error.message, usage=usage) from None


def parse_tokens(tokens: Sequence[str], *, now: datetime | None = None) -> Command:
    """Parse words already split (by `tokenize` or by the shell; a word may contain spaces)."""
    words = [word for word in tokens if word.strip()]
    if not words:
        return HelpCommand()
    entry = subcommand(words[0])
    if entry is None:
        raise InvalidInput(unknown_command(words[0]))
    try:
        command: Command = entry.grammar(words[1:], _clock(now))
        return command
    except InvalidInput as error:
        raise InvalidInput(error.message, usage=entry.usage) from None
    except ValidationError as error:
        raise InvalidInput(_readable(error), usage=entry.usage) from None


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _readable(error: ValidationError) -> str:
    # A backstop: the converters should have refused the value first with a better sentence.
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return f"Invalid {where}: {first['msg'].rstrip('.')}."
