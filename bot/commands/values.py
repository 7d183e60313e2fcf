"""The values options and arguments take, each converted or refused with a sentence.

A converter takes the value as typed and the command's clock, `(value, now)`, and returns what the
command model holds. Messages quote the user's word through `printable`, so invisible characters
show as escapes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from bot.errors import InvalidInput
from bot.field_rules import (
    BAD_CHARACTERS,
    CONVERSATION_ID,
    SUMMARY_MAX,
    TAG_MAX,
    TAG_NAME,
    TAGS_PER_COMMAND,
    TOPIC_MAX,
    VALUES_PER_FILTER,
    too_many_tags,
)
from bot.identifiers import CONFIG_NAME
from bot.models import OrderBy, Status

AT_YEARS = (1970, 9998)  # room for any time zone's offset when the surface makes `at:` aware
PAGE_MAX = 100_000  # bounds int() on user digits; 100k pages of 100 is deeper than anyone pages
SINCE_MAX = timedelta(days=3650)
NAME_MAX = 255  # queue and agent references

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
Convert = Callable[[str, datetime], object]

# --- messages ----------------------------------------------------------------------------------


def printable(word: str, width: int = 40) -> str:
    """A user's word, shortened and with invisible characters made visible, for a message."""
    short = word if len(word) <= width else word[: width - 1] + "…"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in short)


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    guesses = difflib.get_close_matches(word.lower()[:40], list(choices), n=1)
    return guesses[0] if guesses else None


# --- values ------------------------------------------------------------------------------------

# Spaces allowed: a name ("Ben Kovac") may come as several words or in quotes.
_AGENT = re.compile(rf"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{{1,{NAME_MAX}}}")
_DIGITS = re.compile(r"[0-9]{1,9}")


def dedupe(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


def checked_text(label: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"The {label} cannot be empty.")
    if len(value) > limit:
        raise InvalidInput(f"The {label} is {len(value)} characters long; the limit is {limit}.")
    if BAD_CHARACTERS.search(value):
        raise InvalidInput(f"The {label} contains a control character; remove it.")
    return value


def enum_member(enum: type[_E], value: str) -> _E:
    member = enum.__members__.get(value.strip().upper().replace("-", "_").replace(" ", "_"))
    if member is None:
        label, allowed = enum.__name__.lower(), ", ".join(enum.__members__)
        raise InvalidInput(f"Unknown {label} '{printable(value)}'. Use one of: {allowed}.")
    return member


def listed(value: str) -> list[str]:
    items = dedupe(item.strip() for item in value.split(",") if item.strip())
    if not items:
        raise InvalidInput(f"'{printable(value)}' holds no values; separate values with commas.")
    return items


def conversation_id(value: str) -> str:
    if not CONVERSATION_ID.fullmatch(value):
        raise InvalidInput(
            f"'{printable(value)}' is not a conversation id: ids are up to 255 letters, digits,"
            " '.', '_', ':' or '-', starting with a letter or digit."
        )
    return value


def tag_name(value: str) -> str:
    name = value.removeprefix("#")
    if not TAG_NAME.fullmatch(name):
        # printable makes invisible characters visible, which the shared rule's message does not.
        raise InvalidInput(
            f"Tag '{printable(name)}' is not valid: use 1-{TAG_MAX} letters, digits, '.', '_'"
            " or '-'."
        )
    return name


def agent_ref(value: str) -> str:
    """`me`, or an agent's name, `@name`, e-mail, id or Slack mention (resolved by the service)."""
    value = " ".join(value.split())
    if value.lower() == "me":
        return "me"
    if not _AGENT.fullmatch(value):
        raise InvalidInput(
            f"'{printable(value)}' is not an agent: give `me`, a name, `@name`, an e-mail or an"
            f" agent id (up to {NAME_MAX} characters)."
        )
    return value


# --- option converters: (value, now) -> value for the command model ----------------------------


def one_of(enum: type[_E]) -> Convert:
    return lambda value, _now: enum_member(enum, value)


def some_of(enum: type[_E]) -> Convert:
    return lambda value, _now: dedupe(enum_member(enum, item) for item in listed(value))


def topic_text(value: str, _now: datetime) -> str:
    return checked_text("topic", value, TOPIC_MAX)


def summary_text(value: str, _now: datetime) -> str:
    return checked_text("summary", value, SUMMARY_MAX)


def queue_name(value: str, _now: datetime) -> str:
    return checked_text("queue", value, NAME_MAX)


def queue_names(value: str, now: datetime) -> list[str]:
    items = listed(value)
    if len(items) > VALUES_PER_FILTER:
        raise InvalidInput(
            f"{len(items)} queues are more than one list may filter on: the limit is"
            f" {VALUES_PER_FILTER}."
        )
    return [queue_name(item, now) for item in items]


def agent_option(value: str, _now: datetime) -> str:
    return agent_ref(value)


def agent_filter(value: str, _now: datetime) -> str:
    return "none" if value.lower() == "none" else agent_ref(value)


def tag_list(value: str, _now: datetime) -> list[str]:
    return counted_tags(tag_name(item) for item in listed(value))


def counted_tags(names: Iterable[str]) -> list[str]:
    """Distinct tags, at most TAGS_PER_COMMAND of them: each costs backend calls."""
    tags = dedupe(names)
    if len(tags) > TAGS_PER_COMMAND:
        raise InvalidInput(too_many_tags(len(tags)) + ".")
    return tags


def oncall_name(label: str, section: str, value: str) -> str:
    if not CONFIG_NAME.fullmatch(value):
        raise InvalidInput(
            f"'{printable(value)}' is not a {label} name: names are 1-64 letters, digits, '-' or"
            f" '_', as under `oncall.{section}:` in convbot.yml."
        )
    return value


def policy_name(value: str, _now: datetime) -> str:
    return oncall_name("policy", "policies", value)


def new_status(value: str, _now: datetime) -> Status:
    status = enum_member(Status, value)
    if status is Status.CLOSED:
        raise InvalidInput(
            "A new conversation cannot start CLOSED. Use one of: OPEN, WAITING, SOLVED."
        )
    return status


def whole_number(label: str, high: int) -> Convert:
    def convert(value: str, _now: datetime) -> int:
        number = int(value) if _DIGITS.fullmatch(value) else 0
        if not 1 <= number <= high:
            raise InvalidInput(
                f"`{label}:` must be a whole number from 1 to {high}, not '{printable(value)}'."
            )
        return number

    return convert


# --- since: and sort: --------------------------------------------------------------------------

_RELATIVE = re.compile(r"([0-9]{1,7})([mhdw])", re.IGNORECASE)
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def since_moment(value: str, now: datetime) -> datetime:
    relative = _RELATIVE.fullmatch(value)
    moment = _ago(int(relative[1]), relative[2].lower(), now) if relative else _absolute(value)
    if moment > now:
        raise InvalidInput(f"`since:{printable(value)}` is in the future.")
    if now - moment > SINCE_MAX:
        raise InvalidInput(f"`since:` can go back at most {SINCE_MAX.days} days.")
    return moment


def _ago(count: int, unit: str, now: datetime) -> datetime:
    if count < 1:
        raise InvalidInput("`since:` must count at least 1, e.g. `since:1h`.")
    age = count * _UNITS[unit]
    # Checked before subtracting: a huge age would overflow datetime rather than fail politely.
    if age > SINCE_MAX:
        raise InvalidInput(f"`since:` can go back at most {SINCE_MAX.days} days.")
    return now - age


def _absolute(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.upper())
        # Without an offset it means UTC: the bot knows no user's time zone.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "`since:` takes an age like `30m`, `2h`, `3d`, `1w` or a date like `2026-11-01`,"
            f" not '{printable(value)}'."
        ) from None


# --- at: ---------------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WALL_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})", re.IGNORECASE)


def wall_time(value: str, _now: datetime) -> datetime | None:
    """A naive wall time: only the surface knows the viewer's time zone. `now` is None."""
    if value.lower() == "now":
        return None
    found = _WALL_TIME.fullmatch(value)
    if found is None and _DATE_ONLY.fullmatch(value):
        # Most likely `at:2026-12-25 03:00` without quotes: the time became another word.
        raise InvalidInput(
            f"`at:{printable(value)}` needs a time too; put the date and time in quotes:"
            f' `at:"{printable(value)} 03:00"`.'
        )
    try:
        if found is None:
            raise ValueError(value)
        year, month, day, hour, minute = (int(part) for part in found.groups())
        moment = datetime(year, month, day, hour, minute)  # naive on purpose
    except ValueError:
        raise InvalidInput(
            '`at:` takes a local time as YYYY-MM-DD HH:MM, e.g. `at:"2026-12-25 03:00"` or'
            f" `at:2026-12-25T03:00`, or `at:now`; not '{printable(value)}'."
        ) from None
    low, high = AT_YEARS
    if not low <= moment.year <= high:
        raise InvalidInput(f"`at:` must be a time in the years {low} to {high}.")
    return moment


_SORT_FIELDS = {
    "created": "createdAt",
    "createdat": "createdAt",
    "updated": "updatedAt",
    "updatedat": "updatedAt",
    "closed": "closedAt",
    "closedat": "closedAt",
    "priority": "priority",
    "status": "status",
    "topic": "topic",
    "id": "id",
    "queue": "queueId",
    "queueid": "queueId",
    "agent": "agentId",
    "agentid": "agentId",
}
# Newest and most urgent first is what people want from these; alphabetical for the rest.
_DESC_FIRST = {"createdAt", "updatedAt", "closedAt", "priority"}


def sort_order(value: str, _now: datetime) -> OrderBy:
    name, _, direction = value.partition(":")
    field = _SORT_FIELDS.get(name.strip().lower())
    if field is None:
        raise InvalidInput(
            f"Unknown sort field '{printable(name)}'. Use one of: created, updated, closed,"
            " priority, status, topic, id, queue, agent."
        )
    direction = direction.strip().lower() or ("desc" if field in _DESC_FIRST else "asc")
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"Sort direction must be asc or desc, not '{printable(direction)}'.")
    return OrderBy.model_validate({"field": field, "direction": direction})
