"""Who is on call: a pure function of a schedule and an instant, and the instants it changes.

Every edge (a rotation boundary, a restriction window's start or end, an override's start or
end) is a local wall time made into an instant the same way: a wall time skipped by a
spring-forward change moves forward to the first instant that exists (the change itself); a
wall time that happens twice in a fall-back change is its first occurrence. Every span is
half-open, [start, end), so an edge belongs to what starts there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.oncall.config import OncallSchedule
from bot.oncall.values import WEEKDAYS

# How far `handoffs` looks ahead; a schedule that changes less often yields fewer handoffs.
HANDOFF_HORIZON = timedelta(days=60)
_CHUNK = timedelta(days=7)  # handoffs scans this much at a time, stopping once it has enough


@dataclass(frozen=True)
class Handoff:
    """From `at` (UTC) on, `user` is on call; None means no one (outside the restrictions)."""

    at: datetime
    user: str | None


def on_call(schedule: OncallSchedule, at: datetime) -> str | None:
    """Who is on call at `at` (aware): an override, else the rotation unless restricted away."""
    _require_aware(at, "on_call")
    zone = schedule.zone
    for override in reversed(schedule.overrides):  # the last listed wins where they overlap
        if _instant(override.from_, zone) <= at < _instant(override.to, zone):
            return override.user
    if schedule.restrict and not _in_window(schedule, at):
        return None
    return _user(schedule, _shift_index(schedule, at))


def shift_bounds(schedule: OncallSchedule, at: datetime) -> tuple[datetime, datetime]:
    """The start and end (UTC) of the rotation shift that covers `at`, ignoring restrictions."""
    _require_aware(at, "shift_bounds")
    index = _shift_index(schedule, at)
    return _boundary(schedule, index), _boundary(schedule, index + 1)


def handoffs(schedule: OncallSchedule, after: datetime, count: int) -> list[Handoff]:
    """The next `count` changes of `on_call` strictly after `after`, within HANDOFF_HORIZON."""
    _require_aware(after, "handoffs")
    found: list[Handoff] = []
    current = on_call(schedule, after)
    low = after.astimezone(UTC)
    horizon = low + HANDOFF_HORIZON
    while len(found) < count and low < horizon:
        high = min(low + _CHUNK, horizon)
        for instant in sorted(set(_edges(schedule, low, high))):
            user = on_call(schedule, instant)
            if user != current:
                found.append(Handoff(at=instant, user=user))
                current = user
                if len(found) == count:
                    break
        low = high
    return found


# --- the rotation --------------------------------------------------------------------------------


def _boundary(schedule: OncallSchedule, index: int) -> datetime:
    """Where shift `index` starts: `start + index * shift` on the local clock, as an instant."""
    rotation = schedule.rotation
    return _instant(rotation.start + index * rotation.shift, schedule.zone)


def _shift_index(schedule: OncallSchedule, at: datetime) -> int:
    """The k with boundary(k) <= at < boundary(k + 1); negative before the rotation starts."""
    rotation = schedule.rotation
    wall = at.astimezone(schedule.zone).replace(tzinfo=None)
    # O(1): estimate from the local clock, then correct. The estimate runs one behind in a
    # repeated hour (the clock reads earlier than a boundary already passed) and can land on a
    # shift a spring-forward gap emptied; it is never ahead, but guard that direction too.
    index = (wall - rotation.start) // rotation.shift
    while _boundary(schedule, index) > at:
        index -= 1
    while _boundary(schedule, index + 1) <= at:
        index += 1
    return index


def _user(schedule: OncallSchedule, index: int) -> str:
    users = schedule.rotation.users
    return users[index % len(users)]


# --- restriction windows -------------------------------------------------------------------------


def _windows(
    schedule: OncallSchedule, first: date, last: date
) -> Iterator[tuple[datetime, datetime]]:
    """The restriction windows that open on the local days first..last, as instants."""
    zone = schedule.zone
    day = first
    while day <= last:
        weekday = WEEKDAYS[day.weekday()]
        for window in schedule.restrict:
            if weekday in window.days:
                end_day = day + timedelta(days=1) if window.overnight else day
                yield (
                    _instant(datetime.combine(day, window.from_), zone),
                    _instant(datetime.combine(end_day, window.to), zone),
                )
        day += timedelta(days=1)


def _in_window(schedule: OncallSchedule, at: datetime) -> bool:
    # A window lasts at most a day (plus an hour of DST), so only windows opened the day before
    # or on the local date can hold `at`; one more day each side costs little and stays right
    # in zones whose clocks change at midnight (America/Santiago) or jump across it.
    today = at.astimezone(schedule.zone).date()
    spans = _windows(schedule, today - timedelta(days=2), today + timedelta(days=1))
    return any(start <= at < end for start, end in spans)


# --- where on_call may change --------------------------------------------------------------------


def _edges(schedule: OncallSchedule, low: datetime, high: datetime) -> Iterator[datetime]:
    """Every instant in (low, high] at which a span starts or ends: a superset of the changes."""
    index = _shift_index(schedule, low) + 1
    while (boundary := _boundary(schedule, index)) <= high:
        yield boundary
        index += 1
    zone = schedule.zone
    if schedule.restrict:
        first = low.astimezone(zone).date() - timedelta(days=2)
        last = high.astimezone(zone).date() + timedelta(days=1)
        for start, end in _windows(schedule, first, last):
            yield from (edge for edge in (start, end) if low < edge <= high)
    for override in schedule.overrides:
        for wall in (override.from_, override.to):
            if low < (edge := _instant(wall, zone)) <= high:
                yield edge


# --- wall times to instants ----------------------------------------------------------------------


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time: a gap moves forward, a repeat takes the first."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # it exists; fold=0 is the first occurrence if it happens twice
    # Inside a spring-forward gap. With fold=1 the wall time is read with the offset after the
    # change, an instant before it; with fold=0, with the offset before, an instant after it.
    # The change is the first instant whose wall time is at or after `wall`: bisect to it.
    low = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _require_aware(at: datetime, caller: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{caller} needs an aware datetime, e.g. datetime.now(UTC)")
