"""The APScheduler trigger of each digest schedule, and the times it fires.

All replicas must agree on every tick, because a tick is claimed in the state database by job id
and scheduled time. Cron ticks are wall-clock times, so they agree by construction; interval ticks
are counted from one fixed anchor (the Unix epoch) rather than from when a process started, so
`every: 30m` fires at :00 and :30 UTC in every replica and after every restart.

Daylight saving time (tests/test_schedules.py pins all of it down):
- a wall time that does not exist (02:30 on the spring-forward day in Europe) fires once, an
  hour late by the clock, at 03:30 local; APScheduler reports it as the imaginary
  `02:30+01:00`, which is that instant (`next_runs` returns it normalised to 03:30+02:00);
- a wall time that happens twice (02:30 on the fall-back day) fires twice, once in each offset;
  both are APScheduler 3.11's own behaviour;
- stock APScheduler 3.11 also skips a whole day after a spring-forward change for times that
  fall before the change on its day but in no hour next to it (00:00-00:59 where clocks jump
  at 02:00: a daily 00:30, a Monday 00:00, the 1st of April at 00:00 in Europe);
  `WallClockCronTrigger` fixes that and nothing else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]


class DigestSchedule(Protocol):
    """What the schedule math reads of a digest (bot/config.py's DigestSchedule): this module
    sits below the config, which checks its cron expressions with `check_cron`."""

    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def every(self) -> timedelta | None: ...


# Interval ticks are whole multiples of the interval after this instant.
INTERVAL_ANCHOR = datetime(1970, 1, 1, tzinfo=UTC)

CRON_HELP = 'cron is 5 fields: minute hour day-of-month month weekday, e.g. "0 9-17/2 * * MON-FRI"'
_FIELDS = (
    ("minute", "minute"),
    ("hour", "hour"),
    ("day", "day-of-month"),
    ("month", "month"),
    ("day_of_week", "weekday"),
)
_WEEKDAYS = "MON, TUE, WED, THU, FRI, SAT or SUN"


class WallClockCronTrigger(CronTrigger):  # type: ignore[misc]
    """APScheduler's CronTrigger without its skipped day after a spring-forward change.

    To move to the next day (hour, month, …) the stock trigger adds the wall-clock difference
    as real time, so across a 23-hour day it lands an hour late: a daily 00:30 digest jumps from
    00:30 on the change day to 01:30 the next day, which does not match, and that day is
    skipped (APScheduler issues #529 and #606; still so in 3.11.3). When the real-time step
    overshoots the wall time it aimed at, this lands on that wall time instead. Everything else,
    including what happens inside the gap and in the repeated hour, stays as APScheduler does it.
    """

    def _increment_field_value(self, dateval: datetime, fieldnum: int) -> tuple[datetime, int]:
        moved, fieldnum = super()._increment_field_value(dateval, fieldnum)
        start = dateval.astimezone(UTC)
        aimed = dateval.replace(tzinfo=None) + (moved.astimezone(UTC) - start)
        if moved.replace(tzinfo=None) > aimed:
            wall = aimed.replace(tzinfo=self.timezone).astimezone(UTC).astimezone(self.timezone)
            # Only onto a wall time that exists: one inside the gap keeps APScheduler's answer.
            if wall.replace(tzinfo=None) == aimed and wall.astimezone(UTC) > start:
                moved = wall
        return moved, fieldnum


def job_id(schedule: DigestSchedule) -> str:
    """The APScheduler job id, also the first half of each tick's claim key."""
    return f"digest:{schedule.name}"


def trigger_for(schedule: DigestSchedule) -> BaseTrigger:
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron is not None:
        return WallClockCronTrigger.from_crontab(schedule.cron, timezone=zone)
    if schedule.every is None:  # the config model guarantees one of them
        raise ValueError(f"digest '{schedule.name}' has neither cron nor every")
    return IntervalTrigger(
        seconds=schedule.every // timedelta(seconds=1),
        start_date=INTERVAL_ANCHOR,
        timezone=zone,
    )


def next_runs(schedule: DigestSchedule, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times at or after `after`, as the scheduler would compute them.

    Aware datetimes in the schedule's zone, normalised so that the wall time shown is real (a
    tick APScheduler reports inside a DST gap is shown at the instant it actually fires).
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("next_runs needs an aware datetime, e.g. datetime.now(UTC)")
    zone = ZoneInfo(schedule.timezone)
    trigger = trigger_for(schedule)
    runs: list[datetime] = []
    previous: datetime | None = None
    now = after
    while len(runs) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        # astimezone(zone) alone is a no-op when the tzinfo is already `zone`: go through UTC.
        runs.append(fire.astimezone(UTC).astimezone(zone))
        previous = now = fire
    return runs


def check_cron(expression: str) -> str:
    """The expression with its spacing normalised, or a ValueError saying what is wrong in it."""
    shown = expression.strip()[:80]
    fields = expression.split()
    if len(fields) != 5:
        extra = " (for seconds, use every: instead)" if len(fields) == 6 else ""
        raise ValueError(f'"{shown}" has {len(fields)} fields; {CRON_HELP}{extra}')
    day, weekday = fields[2], fields[4]
    for part in weekday.split(","):
        days, _, step = part.partition("/")
        # APScheduler 3 counts weekdays from Monday=0, classic cron from Sunday=0: a number, or
        # a step over all days, would silently run on other days than the author meant.
        if any(character.isdigit() for character in days) or (step and days == "*"):
            raise ValueError(
                f'"{shown}": in the weekday field, write days as names ({_WEEKDAYS}; ranges '
                "like MON-FRI, lists like MON,WED,FRI), not numbers or */N: APScheduler counts "
                "weekdays from Monday=0 where cron starts at Sunday=0"
            )
    for (name, label), value in zip(_FIELDS, fields, strict=True):
        try:
            CronTrigger(**{name: value}, timezone=UTC)
        except ValueError as error:
            raise ValueError(
                f'"{shown}" is not a valid cron expression: in the {label} field, '
                f"{_plain(str(error), value)}; {CRON_HELP}"
            ) from None
    if day != "*" and weekday != "*":
        # Classic cron runs when either matches, APScheduler only when both do.
        raise ValueError(
            f'"{shown}" restricts both day-of-month and weekday, which cron reads as "either" '
            'but APScheduler as "both"; keep one of them and write * in the other'
        )
    normalised = " ".join(fields)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    trigger = WallClockCronTrigger.from_crontab(normalised, timezone=UTC)
    if trigger.get_next_fire_time(None, start) is None:
        raise ValueError(f'"{shown}" never fires (is it a date like 31 February?); {CRON_HELP}')
    return normalised


_TOO_HIGH = re.compile(r"\((\d+)\) is higher than the maximum value \((\d+)\)")
_TOO_LOW = re.compile(r"\((\d+)\) is lower than the minimum value \((\d+)\)")
_BAD_NAME = re.compile(r'Invalid (weekday|month) name "([^"]*)"')


def _plain(complaint: str, value: str) -> str:
    """APScheduler's complaint about one field, reworded for someone editing a YAML file."""
    if found := _TOO_HIGH.search(complaint):
        return f"{found[1]} is above the largest allowed value, {found[2]}"
    if found := _TOO_LOW.search(complaint):
        return f"{found[1]} is below the smallest allowed value, {found[2]}"
    if found := _BAD_NAME.search(complaint):
        names = _WEEKDAYS if found[1] == "weekday" else "JAN, FEB, … DEC"
        return f"'{found[2]}' is not a {found[1]} name; use {names}"
    if "range must not be higher" in complaint:
        return f"the range '{value}' runs backwards; write it low to high, e.g. 9-17 or MON-FRI"
    if "Increment must be higher than 0" in complaint:
        return f"the step in '{value}' is 0; a step (/N) must be at least 1"
    if complaint.startswith("Unrecognized expression"):
        return (
            f"'{value}' is not understood; use *, a number, a range (9-17), a list (1,15) "
            "or a step (*/15)"
        )
    return f"'{value}': {complaint[:1].lower()}{complaint[1:]}"
