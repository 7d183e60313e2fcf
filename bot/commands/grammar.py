"""The shapes a subcommand's words take: `key:value` options, a conversation id first, ids only.

Each subcommand's own grammar (bot/commands/subcommands/) is built from these, so the same
mistake gets the same sentence whichever command it was made in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from bot.commands.values import (
    Convert,
    conversation_id,
    counted_tags,
    printable,
    suggestion,
    tag_name,
)
from bot.errors import InvalidInput

_M = TypeVar("_M", bound=BaseModel)

ONLY_AN_ID = "only a conversation id"


@dataclass(frozen=True)
class Option:
    field: str  # the command model's field
    convert: Convert
    example: str


NO_OPTIONS: dict[str, Option] = {}


def read_options(
    words: list[str], options: dict[str, Option], now: datetime
) -> tuple[dict[str, object], list[str]]:
    """Converted options by model field, and the words that are not options, in order."""
    values: dict[str, object] = {}
    rest: list[str] = []
    for word in words:
        key, colon, value = word.partition(":")
        option = options.get(key.lower()) if colon else None
        if option is None:
            rest.append(word)
        elif option.field in values:
            raise InvalidInput(f"Option `{key.lower()}:` is given twice; give it once.")
        elif not value.strip():
            raise InvalidInput(f"Option `{key.lower()}:` needs a value, e.g. `{option.example}`.")
        else:
            values[option.field] = option.convert(value.strip(), now)
    return values, rest


def take_id(name: str, rest: list[str]) -> tuple[str, list[str]]:
    if not rest:
        raise InvalidInput(f"`{name}` needs a conversation id.")
    return conversation_id(rest[0]), rest[1:]


def unexpected(
    name: str, word: str, options: dict[str, Option], takes: str = ONLY_AN_ID
) -> InvalidInput:
    """A word the grammar has no place for; `takes` says what a command without options takes."""
    if not options:
        return InvalidInput(f"Unexpected '{printable(word)}': `{name}` takes {takes}.")
    key, colon, _ = word.partition(":")
    guess = suggestion(key, options) if colon else None
    hint = f" Did you mean `{guess}:`?" if guess else ""
    listing = ", ".join(f"{option}:" for option in options)
    return InvalidInput(f"Unexpected '{printable(word)}' for `{name}`.{hint} Options: {listing}.")


def id_only(name: str, model: type[_M]) -> Callable[[list[str], datetime], _M]:
    """`<name> <id>`, and nothing more."""

    def parse(words: list[str], now: datetime) -> _M:
        conversation, extra = take_id(name, words)
        if extra:
            raise unexpected(name, extra[0], NO_OPTIONS)
        return model.model_validate({"id": conversation})

    return parse


def id_and_tags(name: str, model: type[_M]) -> Callable[[list[str], datetime], _M]:
    """`<name> <id> <tag> [<tag> …]`."""

    def parse(words: list[str], now: datetime) -> _M:
        conversation, names = take_id(name, words)
        if not names:
            raise InvalidInput(f"`{name}` needs at least one tag name after the conversation id.")
        tags = counted_tags(tag_name(word) for word in names)
        return model.model_validate({"id": conversation, "tags": tags})

    return parse
