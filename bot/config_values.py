"""Values that several sections of convbot.yml take, read as people write them.

Shared by `bot/config.py` (digests, the embedded seed) and `bot/oncall/config.py` (schedules,
rules); it imports neither, so both can use it.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator

from bot.models import Priority, Status

_E = TypeVar("_E", bound=StrEnum)


def member_of(enum: type[_E], label: str) -> BeforeValidator:
    """Enum values case-insensitive, as in the command grammar (`open`, `High`, `urgent`)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        member = enum.__members__.get(value.strip().upper().replace("-", "_").replace(" ", "_"))
        if member is None:
            allowed = ", ".join(enum.__members__)
            raise ValueError(f"unknown {label} '{value[:40]}'; use one of {allowed}")
        return member

    return BeforeValidator(parse)


def listed(value: object) -> object:
    """`status: OPEN` or `status: OPEN, WAITING` are lists too, as in the grammar."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def time_zone(value: str) -> str:
    """An IANA time zone name, or an error suggesting the closest one."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ValueError(
            f"unknown time zone '{value[:60]}'; {hint}use an IANA name such as "
            "Europe/Zagreb, America/New_York or UTC"
        ) from None
    return value


def queue_names(value: list[str]) -> list[str]:
    """Queue names or ids, trimmed, none blank, each once."""
    names = [name.strip() for name in value]
    if "" in names:
        raise ValueError("a queue cannot be blank; give its name or id")
    return list(dict.fromkeys(names))


StatusValue = Annotated[Status, member_of(Status, "status")]
PriorityValue = Annotated[Priority, member_of(Priority, "priority")]
TimeZoneName = Annotated[str, AfterValidator(time_zone)]
