"""Durations as people write them in convbot.yml: `30m`, `2s`, `1h30m`, `1 d 12 h`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

# Every spelling maps to seconds; `format_duration` writes the short spellings back.
_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
_PART = re.compile(r"\s*([0-9]{1,12})\s*([A-Za-z]+)\s*")
_HINT = "write whole numbers with units s, m, h or d, e.g. 30m, 2s or 1h30m"
# Longer than any interval, wait or grace convbot.yml has a use for; far longer ones overflow the
# scheduler's date arithmetic (`every: 10000000d` is the year 29349) when the bot starts.
DURATION_MAX = timedelta(days=366)
# How long records may be kept (`retention:`): audit logs are often kept for years. Ten years
# back from now is still far inside datetime's range.
RETENTION_MAX = timedelta(days=3660)


def _too_long(maximum: timedelta) -> str:
    if maximum == DURATION_MAX:
        return "is longer than a year (366d), the longest duration convbot.yml takes; use less"
    return f"is longer than {maximum.days}d, the longest this setting takes; use less"


def parse_duration(text: str, maximum: timedelta = DURATION_MAX) -> timedelta:
    """`30m` → 30 minutes. Units s, m, h, d, combinable (`1h30m`); each unit at most once."""
    shown = text.strip()[:40]
    if not text.strip():
        raise ValueError(f"a duration cannot be empty; {_HINT}")
    seen: set[int] = set()
    seconds = position = 0
    while position < len(text):
        part = _PART.match(text, position)
        if part is None:
            raise ValueError(f"'{shown}' is not a duration; {_HINT}")
        unit = _UNITS.get(part[2].lower())
        if unit is None:
            raise ValueError(f"'{part[2][:10]}' in '{shown}' is not a unit; {_HINT}")
        if unit in seen:
            raise ValueError(f"'{shown}' gives the same unit twice; {_HINT}")
        seen.add(unit)
        seconds += int(part[1]) * unit
        position = part.end()
    if seconds == 0:
        raise ValueError(f"'{shown}' is zero; a duration must be at least 1s")
    if seconds > maximum.total_seconds():
        raise ValueError(f"'{shown}' {_too_long(maximum)}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """30 minutes → `30 min`, 5400 s → `1 h 30 min`; `parse_duration` reads the result back."""
    if value < timedelta(0):
        return "-" + format_duration(-value)
    seconds, micros = divmod(value // timedelta(microseconds=1), 1_000_000)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    if micros:
        parts.append(f"{seconds}.{micros:06d}".rstrip("0") + " s")
    elif seconds or not parts:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def _coerce(value: object, maximum: timedelta = DURATION_MAX) -> object:
    if isinstance(value, str):
        return parse_duration(value, maximum)
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError("a duration must be at least 1s")
        if value % timedelta(seconds=1):
            raise ValueError(f"{format_duration(value)} is not whole seconds; {_HINT}")
        if value > maximum:
            raise ValueError(f"{format_duration(value)} {_too_long(maximum)}")
        return value
    # A bare number is ambiguous (seconds? minutes?): ask for the unit rather than guess.
    raise ValueError(f"'{str(value)[:40]}' has no unit; {_HINT}")


# A positive duration in config models: read from `30m`-style text, written back as `30 min`.
Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
# The same, for how long records are kept: up to RETENTION_MAX.
RetentionPeriod = Annotated[
    timedelta,
    BeforeValidator(lambda value: _coerce(value, RETENTION_MAX)),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
