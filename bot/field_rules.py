"""What a field may hold: lengths and counts (what one command may ask for), tag names,
conversation ids, printable text. Each rule is written once, for pydantic validators and for
callers outside pydantic alike, and a violation reads as a sentence (InvalidInput)."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError

from bot.errors import InvalidInput

TOPIC_MAX = 1000
SUMMARY_MAX = 4000
TAG_MAX = 100
LIMIT_MAX = 999  # the contract's page-size maximum
# Conversation ids convbot puts in one list request's filter (the thread mirror's "which of
# these closed"; the contract sets no limit): each is a query parameter, so 50 keep the request
# line near 3 KB, under the 8 KB servers commonly take.
CONVERSATION_IDS_MAX = 50
# What one command may ask for (bot/bounded.py says why): each tag costs a create and a link at
# Infobip, each filter value is a parameter of every request of a list.
TAGS_PER_COMMAND = 10
VALUES_PER_FILTER = 10
TAG_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A conversation id wherever one enters (commands, button values, form metadata): opaque, but
# one word that starts with a letter or digit, so `.`, `..` and empty never reach a URL path.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$"
# Use fullmatch: with re.match, `$` would also accept a trailing newline.
CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)
# Control characters break terminals and storage (tab and line breaks are text); lone surrogates
# cannot be encoded as UTF-8. The command parser refuses them in what is typed; the request
# models refuse them too, so that a Slack form cannot store what `/conv` would refuse.
BAD_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, object]) -> M:
    """Build `model` from user-supplied values; a violation becomes one readable InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"] if isinstance(part, str))
            if problem["type"] == "value_error":  # our own messages name their subject
                problems.append(problem["msg"].removeprefix("Value error, "))
            elif problem["type"] == "string_too_long":
                limit = problem.get("ctx", {}).get("max_length")
                length = len(str(problem["input"]))
                problems.append(f"{field} is {length} characters; the limit is {limit}")
            else:
                problems.append(f"{field or 'value'}: {problem['msg']}")
        raise InvalidInput("; ".join(problems) + ".") from None


def check_tag_name(name: str) -> str:
    """For pydantic validators: a ValueError naming the rule."""
    if not TAG_NAME.fullmatch(name):
        raise ValueError(
            f"tag '{name[:40]!s}' is not valid: use 1-{TAG_MAX} letters, digits, '.', '_' or '-'"
        )
    return name


def require_tag_name(name: str) -> str:
    """For callers outside pydantic: the same rule as an InvalidInput sentence."""
    try:
        return check_tag_name(name)
    except ValueError as error:
        raise InvalidInput(f"T{str(error)[1:]}.") from None


TagName = Annotated[str, BeforeValidator(lambda v: check_tag_name(str(v)))]


def too_many_tags(count: int) -> str:
    """The sentence for a command naming more tags than TAGS_PER_COMMAND (no final period)."""
    return (
        f"{count} tags are more than one command or form may give at once: the limit is"
        f" {TAGS_PER_COMMAND}; add the rest with another `tag`"
    )


def check_tag_count(names: list[str]) -> list[str]:
    """For pydantic validators: a ValueError when `names` holds more tags than one command may."""
    count = len(dict.fromkeys(names))
    if count > TAGS_PER_COMMAND:
        raise ValueError(too_many_tags(count))
    return names


def require_tag_count(names: list[str]) -> None:
    """For callers outside pydantic: the same rule as an InvalidInput sentence."""
    try:
        check_tag_count(names)
    except ValueError as error:
        raise InvalidInput(f"{error}.") from None


TagNames = Annotated[list[TagName], AfterValidator(check_tag_count)]
ConversationId = Annotated[str, Field(pattern=CONVERSATION_ID_PATTERN)]


def check_characters(field: str | None, value: str | None) -> str | None:
    """For pydantic validators: a ValueError naming the field that holds a control character."""
    if value is not None and BAD_CHARACTERS.search(value):
        raise ValueError(f"the {field or 'text'} contains a control character; remove it")
    return value
