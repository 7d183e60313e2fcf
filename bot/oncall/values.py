"""Values of the `oncall:` section as people write them: names, shift lengths (`7d`, `12h`),
local wall times ("2026-11-02T09:00"), times of day ("08:00", "24:00") and day names; each
refused with a sentence saying what to write instead."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from bot.durations import DURATION_MAX, format_duration
from bot.identifiers import CONFIG_NAME


def _name(value: str) -> str:
    if not CONFIG_NAME.fullmatch(value):
        raise ValueError(
            f"'{value[:40]}' is not a usable name; use 1-64 letters, digits, '-' or '_',"
            " e.g. primary"
        )
    return value


Name = Annotated[str, AfterValidator(_name)]

_SHIFT = re.compile(
    r"^\s*(?:([0-9]{1,6})\s*(?:d|day|days))?\s*(?:([0-9]{1,6})\s*(?:h|hr|hrs|hour|hours))?\s*$",
    re.IGNORECASE,
)
_SHIFT_HINT = "shift must be hours or days, e.g. 12h or 7d (or 1d12h)"


def _shift(value: object) -> object:
    """`7d`, `12h`, `1d12h`: a rotation hands over at whole hours of local time, never minutes."""
    if isinstance(value, timedelta):
        if value <= timedelta(0) or value % timedelta(hours=1):
            raise ValueError(
                f"{format_duration(value)} is not a whole number of hours; {_SHIFT_HINT}"
            )
        return _shift_bounded(value, format_duration(value))
    if not isinstance(value, str):
        raise ValueError(f"'{str(value)[:40]}' has no unit; {_SHIFT_HINT}")
    found = _SHIFT.match(value)
    if found is None or not value.strip():
        raise ValueError(f"'{value.strip()[:40]}' is not a shift length; {_SHIFT_HINT}")
    shift = timedelta(days=int(found[1] or 0), hours=int(found[2] or 0))
    if not shift:
        raise ValueError(f"'{value.strip()[:40]}' is zero; a shift must be at least 1h")
    return _shift_bounded(shift, f"'{value.strip()[:40]}'")


def _shift_bounded(shift: timedelta, shown: str) -> timedelta:
    # As every duration of convbot.yml (bot/durations.py): handoffs a millennium apart are a typo.
    if shift > DURATION_MAX:
        raise ValueError(f"{shown} is longer than a year (366d); {_SHIFT_HINT}")
    return shift


Shift = Annotated[
    timedelta,
    BeforeValidator(_shift),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

_LOCAL = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?$")
_LOCAL_HINT = 'write the local wall time in quotes as "YYYY-MM-DDTHH:MM", e.g. "2026-11-02T09:00"'
_NO_OFFSET = f"remove it, the schedule's timezone says where; {_LOCAL_HINT}"


def _local_datetime(value: object) -> object:
    """A naive wall time, read in the schedule's zone; an offset would contradict that zone."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"'{value.isoformat()}' has a UTC offset; {_NO_OFFSET}")
        return value
    if isinstance(value, date):
        raise ValueError(f"'{value.isoformat()}' has no time of day; {_LOCAL_HINT}")
    if not isinstance(value, str):
        raise ValueError(f"'{str(value)[:40]}' is not a date and time; {_LOCAL_HINT}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        hint = "is not a real date and time" if _LOCAL.match(text) else "is not a date and time"
        raise ValueError(f"'{text[:40]}' {hint}; {_LOCAL_HINT}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"'{text[:40]}' has a UTC offset; {_NO_OFFSET}")
    if not _LOCAL.match(text):
        what = "has no time of day" if len(text) == 10 else "is not in the expected form"
        raise ValueError(f"'{text[:40]}' {what}; {_LOCAL_HINT}")
    return parsed


LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]

_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")


def _clock(value: object, *, end: bool) -> object:
    """`"08:00"`; for the end of a window also `"24:00"`, kept as 00:00 of the next day."""
    hint = 'write HH:MM in quotes, e.g. "08:00"' + (' or "24:00"' if end else "")
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"'{value}' has a time zone; {hint}: the schedule's timezone applies")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        # YAML 1.1 reads an unquoted 20:00 as the base-60 number 1200.
        hours, minutes = divmod(value, 60)
        raise ValueError(
            f"{value} is a number, not a time; {hint} (unquoted, YAML reads"
            f" {hours}:{minutes:02d} as the number {value})"
        )
    found = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if found is not None:
        hours, minutes, seconds = int(found[1]), int(found[2]), int(found[3] or 0)
        if end and (hours, minutes, seconds) == (24, 0, 0):
            return time(0)  # an end at or before the start runs to the next day: to midnight
        if hours < 24 and minutes < 60 and seconds < 60:
            return time(hours, minutes, seconds)
    raise ValueError(f"'{str(value).strip()[:40]}' is not a time of day; {hint}")


def start_clock(value: object) -> object:
    return _clock(value, end=False)


def end_clock(value: object) -> object:
    return _clock(value, end=True)


Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # in date.weekday() order: Monday is 0
DAYS_HINT = "write days as names: MON, TUE, WED, THU, FRI, SAT or SUN"


def day_name(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # As in digests' cron: tools disagree on whether day 0 is Sunday or Monday.
        raise ValueError(
            f"{value} is a number; {DAYS_HINT} (numbers are refused: some count from Sunday,"
            " some from Monday)"
        )
    if not isinstance(value, str):
        return value
    day = value.strip().upper()
    if day in WEEKDAYS:
        return day
    close = f"did you mean {day[:3]}? " if day[:3] in WEEKDAYS else ""
    raise ValueError(f"'{value[:20]}' is not a day; {close}{DAYS_HINT}")
