"""Who is on call: rotations hand over at the same local time across DST, windows and overrides.

Europe/London is GMT (UTC+0) in winter and BST (UTC+1) in summer: in 2027 summer time starts on
Sunday 28 March (01:00 GMT → 02:00 BST, at 01:00 UTC). America/New_York is EST (UTC-5) / EDT
(UTC-4): summer time ends on Sunday 1 November 2026 (02:00 EDT → 01:00 EST, at 06:00 UTC, so
01:00-02:00 happens twice) and starts on Sunday 14 March 2027 (02:00 EST → 03:00 EDT, at 07:00
UTC, so 02:00-03:00 never happens).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.config import OncallConfig, OncallSchedule
from bot.oncall.rota import HANDOFF_HORIZON, Handoff, handoffs, on_call, shift_bounds
from bot.oncall.values import WEEKDAYS

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TICK = timedelta(microseconds=1)

EXAMPLE = OncallConfig.model_validate(
    yaml.safe_load(
        """
schedules:
  - name: primary
    timezone: Europe/London
    rotation: {users: [U01, U02, U03], shift: 7d, start: "2026-11-02T09:00"}
    restrict: [{days: [MON, TUE, WED, THU, FRI], from: "08:00", to: "20:00"}]
    overrides: [{user: U04, from: "2026-12-24T09:00", to: "2026-12-27T09:00"}]
"""
    )
).schedules[0]


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rota(
    users: list[str] | int = 3,
    shift: str = "7d",
    start: str = "2026-11-02T09:00",
    timezone: str = "Europe/London",
    **more: object,
) -> OncallSchedule:
    names = [f"U{n:02d}" for n in range(1, users + 1)] if isinstance(users, int) else users
    rotation = {"users": names, "shift": shift, "start": start}
    return OncallSchedule.model_validate(
        {"name": "s", "timezone": timezone, "rotation": rotation, **more}
    )


# --- examples ------------------------------------------------------------------------------------


def test_the_rotation_hands_over_weekly_at_nine_local() -> None:
    assert on_call(EXAMPLE, london(2026, 11, 2, 9, 0)) == "U01"
    assert on_call(EXAMPLE, london(2026, 11, 6, 19, 59)) == "U01"
    assert on_call(EXAMPLE, london(2026, 11, 9, 8, 59)) == "U01"
    assert on_call(EXAMPLE, london(2026, 11, 9, 9, 0)) == "U02"
    assert on_call(EXAMPLE, london(2026, 11, 16, 9, 0)) == "U03"
    assert on_call(EXAMPLE, london(2026, 11, 23, 9, 0)) == "U01"
    # Before the start the rotation runs backwards: the week before was U03's.
    assert on_call(EXAMPLE, london(2026, 11, 2, 8, 59)) == "U03"
    assert on_call(EXAMPLE, london(2026, 10, 21, 12, 0)) == "U02"


def test_outside_the_restriction_no_one_is_on_call() -> None:
    assert on_call(EXAMPLE, london(2026, 11, 7, 12, 0)) is None  # Saturday
    assert on_call(EXAMPLE, london(2026, 11, 3, 21, 0)) is None  # Tuesday after 20:00
    assert on_call(EXAMPLE, london(2026, 11, 3, 20, 0)) is None  # the end is not in the window
    assert on_call(EXAMPLE, london(2026, 11, 3, 7, 59)) is None
    assert on_call(EXAMPLE, london(2026, 11, 3, 8, 0)) == "U01"


def test_an_override_wins_even_where_the_rotation_is_restricted() -> None:
    assert on_call(EXAMPLE, london(2026, 12, 24, 8, 59)) == "U02"
    assert on_call(EXAMPLE, london(2026, 12, 24, 9, 0)) == "U04"
    assert on_call(EXAMPLE, london(2026, 12, 25, 12, 0)) == "U04"  # Christmas Day
    assert on_call(EXAMPLE, london(2026, 12, 25, 23, 0)) == "U04"  # outside the window
    assert on_call(EXAMPLE, london(2026, 12, 26, 12, 0)) == "U04"  # a Saturday
    assert on_call(EXAMPLE, london(2026, 12, 27, 9, 0)) is None  # over; a Sunday


def test_handoffs_list_every_change_around_christmas() -> None:
    assert handoffs(EXAMPLE, utc(2026, 12, 24), 5) == [
        Handoff(utc(2026, 12, 24, 8), "U02"),  # the window opens; U02's week since 21 Dec
        Handoff(utc(2026, 12, 24, 9), "U04"),
        Handoff(utc(2026, 12, 27, 9), None),  # a Sunday
        Handoff(utc(2026, 12, 28, 8), "U02"),
        Handoff(utc(2026, 12, 28, 9), "U03"),
    ]
    assert handoffs(EXAMPLE, utc(2026, 12, 24, 8), 1) == [Handoff(utc(2026, 12, 24, 9), "U04")]
    assert handoffs(EXAMPLE, utc(2026, 12, 24), 0) == []


def test_a_weekly_shift_keeps_nine_local_across_spring_forward() -> None:
    schedule = rota(start="2027-03-15T09:00")
    assert shift_bounds(schedule, utc(2027, 3, 25)) == (utc(2027, 3, 22, 9), utc(2027, 3, 29, 8))
    assert [h.at for h in handoffs(schedule, utc(2027, 3, 23), 2)] == [
        utc(2027, 3, 29, 8),  # 09:00 BST
        utc(2027, 4, 5, 8),
    ]


def test_a_twelve_hour_shift_hands_over_at_nine_and_twenty_one_local() -> None:
    schedule = rota(users=2, shift="12h", start="2026-10-30T09:00", timezone="America/New_York")
    found = handoffs(schedule, utc(2026, 10, 31, 14), 4)
    local = [h.at.astimezone(NEW_YORK) for h in found]
    assert [(t.day, t.hour) for t in local] == [(31, 21), (1, 9), (1, 21), (2, 9)]
    assert [h.user for h in found] == ["U02", "U01", "U02", "U01"]
    # The night the clocks go back is 13 hours long.
    assert found[1].at - found[0].at == timedelta(hours=13)


def test_a_handover_in_the_spring_gap_moves_to_the_change() -> None:
    schedule = rota(users=2, shift="1d", start="2027-03-10T02:30", timezone="America/New_York")
    # 02:30 does not exist on 14 March: the handover happens at 03:00 EDT, the change itself.
    assert shift_bounds(schedule, utc(2027, 3, 14, 12)) == (
        utc(2027, 3, 14, 7),
        utc(2027, 3, 15, 6, 30),
    )


def test_a_handover_in_the_repeated_hour_takes_the_first() -> None:
    schedule = rota(users=2, shift="1d", start="2026-10-30T01:30", timezone="America/New_York")
    start, end = shift_bounds(schedule, utc(2026, 11, 1, 12))
    assert start == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST an hour later
    assert end == utc(2026, 11, 2, 6, 30)


def test_an_hourly_shift_in_the_spring_gap_is_empty() -> None:
    # 01:00-02:00 does not happen on 28 March 2027 in London: the 01:00 shift starts and ends at
    # the change, so its user is skipped that night.
    schedule = rota(users=24, shift="1h", start="2027-03-01T00:00")
    found = handoffs(schedule, utc(2027, 3, 28), 2)
    # U02's hour vanishes: U03 takes over from U01 at 02:00 BST.
    assert found == [Handoff(utc(2027, 3, 28, 1), "U03"), Handoff(utc(2027, 3, 28, 2), "U04")]
    assert on_call(schedule, utc(2027, 3, 28, 0, 59)) == "U01"


def test_windows_run_past_midnight_and_to_the_end_of_the_day() -> None:
    nights = rota(restrict=[{"days": ["FRI"], "from": "22:00", "to": "06:00"}])
    assert on_call(nights, london(2026, 11, 6, 21, 59)) is None
    assert on_call(nights, london(2026, 11, 6, 22, 0)) == "U01"
    assert on_call(nights, london(2026, 11, 7, 5, 59)) == "U01"  # Saturday morning
    assert on_call(nights, london(2026, 11, 7, 6, 0)) is None
    evenings = rota(restrict=[{"days": ["MON"], "from": "18:00", "to": "24:00"}])
    assert on_call(evenings, london(2026, 11, 2, 23, 59)) == "U01"
    assert on_call(evenings, london(2026, 11, 3, 0, 0)) is None


def test_the_last_listed_override_wins() -> None:
    schedule = rota(
        overrides=[
            {"user": "U08", "from": "2026-11-03T00:00", "to": "2026-11-05T00:00"},
            {"user": "U09", "from": "2026-11-04T00:00", "to": "2026-11-04T12:00"},
        ]
    )
    assert on_call(schedule, london(2026, 11, 3, 12)) == "U08"
    assert on_call(schedule, london(2026, 11, 4, 6)) == "U09"
    assert on_call(schedule, london(2026, 11, 4, 12)) == "U08"


def test_a_schedule_that_never_changes_has_no_handoffs() -> None:
    assert handoffs(rota(users=1), utc(2026, 11, 4), 3) == []
    assert handoffs(rota(users=3, shift="100d"), utc(2026, 11, 4), 3) == []  # beyond 60 days


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        on_call(EXAMPLE, datetime(2026, 11, 2, 9))
    with pytest.raises(ValueError, match="aware datetime"):
        handoffs(EXAMPLE, datetime(2026, 11, 2, 9), 1)


# --- properties ----------------------------------------------------------------------------------

DST_ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Europe/Zagreb",
    "America/Santiago",
]
ZONES = [*DST_ZONES, "Asia/Kolkata"]


def _transitions(name: str) -> list[datetime]:
    """The hours (UTC) in 2026-2027 at which the zone's offset changes."""
    zone = ZoneInfo(name)
    found, hour = [], utc(2026, 1, 1)
    offset = hour.astimezone(zone).utcoffset()
    while hour < utc(2028, 1, 1):
        hour += timedelta(hours=1)
        if (now := hour.astimezone(zone).utcoffset()) != offset:
            found.append(hour)
            offset = now
    return found


TRANSITIONS = {name: _transitions(name) for name in ZONES}
PROPERTY = settings(derandomize=True, max_examples=300, deadline=None)


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Within hours or days of a real DST change in 2026-2027 more often than not, else any time."""
    if TRANSITIONS[zone] and (within := draw(st.sampled_from([0, 3 * 3600, 2 * 86400]))):
        near = draw(st.sampled_from(TRANSITIONS[zone]))
        return near + timedelta(seconds=draw(st.integers(-within, within)))
    return utc(2000, 1, 1) + timedelta(seconds=draw(st.integers(0, 100 * 365 * 86400)))


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    shifts: list[str],
    users: tuple[int, int] = (1, 5),
    start_hours: tuple[int, int] = (0, 23),
    restrict: bool = False,
    overrides: bool = False,
) -> tuple[OncallSchedule, datetime]:
    """A schedule and an instant; the rotation starts up to ~40 shifts either side of it."""
    zone = draw(st.sampled_from(ZONES))
    at = draw(instants(zone))
    shift = draw(st.sampled_from(shifts))
    spread = 40 * (int(shift[:-1]) * (24 if shift.endswith("d") else 1))
    wall = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    day = (wall + timedelta(hours=draw(st.integers(-spread, spread)))).date()
    clock = time(draw(st.integers(*start_hours)), draw(st.sampled_from([0, 15, 30, 45])))
    fields: dict[str, object] = {}
    if restrict:
        fields["restrict"] = draw(st.lists(windows(), min_size=1, max_size=3))
    if overrides:
        fields["overrides"] = draw(st.lists(override_near(wall), max_size=3))
    schedule = rota(
        users=draw(st.integers(*users)),
        shift=shift,
        start=datetime.combine(day, clock).isoformat(),
        timezone=zone,
        **fields,
    )
    return schedule, at


def clock_text(quarters: int) -> str:
    return f"{quarters // 4:02d}:{quarters % 4 * 15:02d}"


@st.composite
def windows(draw: st.DrawFn) -> dict[str, object]:
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    start, end = draw(st.integers(0, 95)), draw(st.integers(0, 96))  # 96 quarters: "24:00"
    return {"days": days, "from": clock_text(start), "to": clock_text(end)}


@st.composite
def override_near(draw: st.DrawFn, wall: datetime) -> dict[str, object]:
    start = wall.replace(second=0, microsecond=0) + timedelta(
        minutes=draw(st.integers(-5000, 5000))
    )
    end = start + timedelta(minutes=draw(st.integers(1, 5000)))
    user = draw(st.sampled_from(["U71", "U72"]))
    return {"user": user, "from": start.isoformat(), "to": end.isoformat()}


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The rule, computed another way: the first occurrence, or the first wall time after a gap."""
    while True:
        found = [
            candidate.astimezone(UTC)
            for fold in (0, 1)
            if (candidate := wall.replace(tzinfo=zone, fold=fold))
            .astimezone(UTC)
            .astimezone(zone)
            .replace(tzinfo=None)
            == wall
        ]
        if found:
            return min(found)
        wall += timedelta(minutes=1)  # these zones change on whole minutes


def walked_index(schedule: OncallSchedule, at: datetime) -> int:
    """The shift covering `at`, found by walking shift by shift from the start."""
    rotation, zone = schedule.rotation, schedule.zone

    def boundary(k: int) -> datetime:
        return to_instant(rotation.start + k * rotation.shift, zone)

    k = 0
    while boundary(k) > at:
        k -= 1
    while boundary(k + 1) <= at:
        k += 1
    return k


def inside_windows(schedule: OncallSchedule, at: datetime) -> bool:
    zone = schedule.zone
    today = at.astimezone(zone).date()
    for offset in range(-2, 2):
        day = today + timedelta(days=offset)
        for window in schedule.restrict:
            if WEEKDAYS[day.weekday()] not in window.days:
                continue
            start = datetime.combine(day, window.from_)
            end = datetime.combine(day + timedelta(days=window.to <= window.from_), window.to)
            if to_instant(start, zone) <= at < to_instant(end, zone):
                return True
    return False


def inside_by_wall_clock(schedule: OncallSchedule, at: datetime) -> bool:
    """The windows read literally on the local clock: right wherever the clock runs evenly."""
    wall = at.astimezone(schedule.zone).replace(tzinfo=None)
    for day in (wall.date(), wall.date() - timedelta(days=1)):
        for window in schedule.restrict:
            if WEEKDAYS[day.weekday()] in window.days:
                start = datetime.combine(day, window.from_)
                end = datetime.combine(day + timedelta(days=window.to <= window.from_), window.to)
                if start <= wall < end:
                    return True
    return False


ALL_SHIFTS = ["1h", "2h", "3h", "5h", "8h", "12h", "24h", "36h", "1d", "2d", "7d", "14d"]


@pytest.mark.slow
@PROPERTY
@given(cases(shifts=ALL_SHIFTS))
def test_on_call_is_the_rotation_user_of_the_shift_walked_to(
    case: tuple[OncallSchedule, datetime],
) -> None:
    schedule, at = case
    users = schedule.rotation.users
    user = on_call(schedule, at)
    assert user in users
    assert user == users[walked_index(schedule, at) % len(users)]
    # The same instant in any zone, asked again: the same answer.
    assert on_call(schedule, at.astimezone(schedule.zone)) == user
    assert on_call(schedule, at.astimezone(ZoneInfo("Asia/Tokyo"))) == user
    assert on_call(schedule, at) == user


@pytest.mark.slow
@PROPERTY
@given(cases(shifts=["1d", "2d", "3d", "7d", "14d"], users=(2, 5), start_hours=(4, 22)))
def test_day_shifts_hand_over_at_the_start_time_of_day(
    case: tuple[OncallSchedule, datetime],
) -> None:
    schedule, at = case
    rotation, zone = schedule.rotation, schedule.zone
    found = handoffs(schedule, at, 4)
    assert len(found) == 4
    local = [handoff.at.astimezone(zone) for handoff in found]
    assert all(t.time() == rotation.start.time() for t in local)
    assert all(b.date() - a.date() == rotation.shift for a, b in pairwise(local))


@pytest.mark.slow
@PROPERTY
@given(cases(shifts=[s for s in ALL_SHIFTS if s != "1h"], users=(2, 5)))
def test_consecutive_shifts_go_to_consecutive_users(case: tuple[OncallSchedule, datetime]) -> None:
    # Shifts of at least 2h: a 1h shift that falls into a 1h spring gap is empty (see above).
    schedule, at = case
    users = schedule.rotation.users
    start, end = shift_bounds(schedule, at)
    assert start <= at < end
    assert start.tzinfo == UTC and end.tzinfo == UTC
    assert abs((end - start) - schedule.rotation.shift) <= timedelta(hours=1)
    user = on_call(schedule, at)
    assert on_call(schedule, start) == on_call(schedule, end - TICK) == user
    assert on_call(schedule, end) == users[(users.index(user or "") + 1) % len(users)]
    assert shift_bounds(schedule, end)[0] == end


@pytest.mark.slow
@PROPERTY
@given(
    cases(shifts=ALL_SHIFTS, restrict=True, overrides=True),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=3, max_size=3),
)
def test_handoffs_are_exactly_where_on_call_changes(
    case: tuple[OncallSchedule, datetime], fractions: list[float]
) -> None:
    schedule, after = case
    found = handoffs(schedule, after, 6)
    times = [handoff.at for handoff in found]
    assert times == sorted(set(times)) and all(t.tzinfo == UTC for t in times)
    assert all(after < t <= after + HANDOFF_HORIZON for t in times)
    value = on_call(schedule, after)
    edges = [after, *times, *([] if len(found) == 6 else [after + HANDOFF_HORIZON])]
    values = [value, *(handoff.user for handoff in found)]
    for (low, high), held in zip(pairwise(edges), values, strict=False):
        assert on_call(schedule, high - TICK) == held
        assert all(on_call(schedule, low + (high - low - TICK) * f) == held for f in fractions)
    for before, handoff in zip(values, found, strict=False):
        assert on_call(schedule, handoff.at) == handoff.user != before


@pytest.mark.slow
@PROPERTY
@given(cases(shifts=ALL_SHIFTS, restrict=True))
def test_with_windows_no_one_is_on_call_exactly_outside_them(
    case: tuple[OncallSchedule, datetime],
) -> None:
    schedule, at = case
    inside = inside_windows(schedule, at)
    assert (on_call(schedule, at) is not None) == inside
    zone = schedule.zone
    offsets = {(at + timedelta(hours=h)).astimezone(zone).utcoffset() for h in (-26, 0, 26)}
    if len(offsets) == 1:  # no DST change within a day: the plain wall-clock reading holds
        assert inside == inside_by_wall_clock(schedule, at)


def test_the_property_instants_reach_real_dst_changes() -> None:
    assert all(len(TRANSITIONS[zone]) == 4 for zone in DST_ZONES)
    assert TRANSITIONS["Asia/Kolkata"] == []
    assert utc(2027, 3, 28, 1) in TRANSITIONS["Europe/London"]
    assert date(2027, 3, 14) in {t.date() for t in TRANSITIONS["America/New_York"]}
