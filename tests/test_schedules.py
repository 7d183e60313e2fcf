"""Digest schedules: validated in convbot.yml, made into triggers that fire when they are meant to.

Europe/Zagreb is UTC+1 (CET) in winter and UTC+2 (CEST) in summer. In 2026 summer time starts on
Sunday 29 March (02:00 CET → 03:00 CEST, at 01:00 UTC) and ends on Sunday 25 October (03:00 CEST
→ 02:00 CET, at 01:00 UTC). So a digest at 09:00 local fires at 08:00 UTC in winter, 07:00 UTC in
summer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.config import DigestSchedule, OpsConfig
from bot.config_file import load_config
from bot.durations import DURATION_MAX, Duration, format_duration, parse_duration
from bot.errors import InvalidInput
from bot.models import OrderBy, Priority, Status
from bot.schedules import INTERVAL_ANCHOR, job_id, next_runs, trigger_for

ZAGREB = ZoneInfo("Europe/Zagreb")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "convbot.yml"
    path.write_text(text, encoding="utf-8")
    return path


def schedule(**fields: object) -> DigestSchedule:
    return DigestSchedule.model_validate({"name": "d", "channel": "C0123456789", **fields})


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- the config ---------------------------------------------------------------------------------


def test_a_valid_digest_config_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
digests:
  - name: support-high
    channel: C0123456789
    cron: "0 9-17/2 * * MON-FRI"
    timezone: Europe/Zagreb
    filter: {status: [open, Waiting], priority: [URGENT, high], queue: [Billing, q-7], tags: [vip]}
    max_items: 20
    skip_if_empty: false
    mention: S0ONCALL
    edit_in_place: true
  - name: tick_2s
    channel: G0123456789
    every: 2s
scheduler:
  misfire_grace: 1h30m
""",
        )
    )
    first, second = config.digests
    assert first.cron == "0 9-17/2 * * MON-FRI" and first.every is None
    assert first.filter.status == [Status.OPEN, Status.WAITING]
    assert first.filter.priority == [Priority.URGENT, Priority.HIGH]
    assert first.filter.queue == ["Billing", "q-7"] and first.filter.tags == ["vip"]
    assert (first.max_items, first.skip_if_empty, first.edit_in_place) == (20, False, True)
    assert first.mention == "S0ONCALL" and first.zone == ZAGREB
    # Every default in one digest.
    assert second.cron is None and second.every == timedelta(seconds=2)
    assert second.timezone == "UTC"
    assert second.filter.status == [Status.OPEN, Status.WAITING]
    assert second.filter.priority == [Priority.URGENT, Priority.HIGH]
    assert second.filter.queue == [] and second.filter.tags == []
    assert (second.max_items, second.skip_if_empty, second.edit_in_place) == (15, True, False)
    assert second.mention is None
    assert config.scheduler.misfire_grace == timedelta(hours=1, minutes=30)
    assert config.scheduler.misfire_grace_seconds == 5400
    assert first.when == "cron 0 9-17/2 * * MON-FRI (Europe/Zagreb)"
    assert second.when == "every 2 s"


def test_without_digests_there_are_none_and_the_grace_is_ten_minutes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "agents: {}\n"))
    assert config.digests == []
    assert config.scheduler.misfire_grace == timedelta(minutes=10)


def test_a_dumped_config_loads_back_unchanged(tmp_path: Path) -> None:
    config = OpsConfig.model_validate(
        {
            "digests": [
                {
                    "name": "a",
                    "channel": "C0123456789",
                    "every": "1h30m",
                    "filter": {"tags": ["x"]},
                },
                {"name": "b", "channel": "C0123456789", "cron": "0  9 * * MON"},
            ],
            "scheduler": {"misfire_grace": "45s"},
        }
    )
    dumped = config.model_dump(mode="json")
    assert dumped["digests"][0]["every"] == "1 h 30 min"
    assert dumped["digests"][1]["cron"] == "0 9 * * MON"  # spacing normalised
    assert OpsConfig.model_validate(dumped) == config


def test_scalar_and_comma_separated_filter_values_are_lists() -> None:
    digest = schedule(every="1m", filter={"status": "open, waiting", "priority": "urgent"})
    assert digest.filter.status == [Status.OPEN, Status.WAITING]
    assert digest.filter.priority == [Priority.URGENT]


def test_the_filter_becomes_an_oldest_first_conversation_query() -> None:
    digest = schedule(
        every="5m",
        max_items=7,
        filter={"status": ["OPEN"], "priority": ["URGENT"], "queue": ["Billing"], "tags": ["vip"]},
    )
    query = digest.to_filter(["q-billing", "q-billing"])
    assert query.statuses == [Status.OPEN] and query.priorities == [Priority.URGENT]
    assert query.queueIds == ["q-billing"] and query.tags == ["vip"]
    assert query.orderBy == OrderBy(field="createdAt", direction="asc")
    assert query.limit == 7 and query.page == 0
    assert query.agentId is None and not query.unassigned


DIGEST = "digests:\n  - {name: d, channel: C0123456789, %s}\n"


@pytest.mark.parametrize(
    ("text", "path", "fix"),
    [
        (
            DIGEST % 'cron: "0 9 * * *", every: 30m',
            "digests[0]: has both cron and every",
            "keep cron for wall-clock times (e.g. weekdays at 09:00) or every for a fixed"
            " interval, and remove the other",
        ),
        (DIGEST % "timezone: UTC", "digests[0]: says not when to run", "add cron: (e.g."),
        (
            DIGEST % 'cron: "61 9 * * *"',
            'digests[0].cron: "61 9 * * *" is not a valid cron expression',
            "in the minute field, 61 is above the largest allowed value, 59",
        ),
        (
            DIGEST % 'cron: "0 25 * * *"',
            "digests[0].cron:",
            "in the hour field, 25 is above the largest allowed value, 23",
        ),
        (
            DIGEST % 'cron: "0 9 * * MON-FOO"',
            "digests[0].cron:",
            "in the weekday field, 'FOO' is not a weekday name; use MON, TUE",
        ),
        (
            DIGEST % 'cron: "0 17-9 * * *"',
            "digests[0].cron:",
            "the range '17-9' runs backwards; write it low to high",
        ),
        (
            DIGEST % 'cron: "*/0 9 * * *"',
            "digests[0].cron:",
            "a step (/N) must be at least 1",
        ),
        (
            DIGEST % 'cron: "0 9 L * *"',
            "digests[0].cron:",
            "in the day-of-month field, 'L' is not understood; use *, a number",
        ),
        (
            DIGEST % 'cron: "0 0 9 * * *"',
            'digests[0].cron: "0 0 9 * * *" has 6 fields',
            "cron is 5 fields: minute hour day-of-month month weekday",
        ),
        (
            DIGEST % 'cron: "0 9 * * 1-5"',
            "digests[0].cron:",
            "write days as names (MON, TUE",
        ),
        (DIGEST % 'cron: "0 9 * * */2"', "digests[0].cron:", "not numbers or */N"),
        (
            DIGEST % 'cron: "0 9 1 * MON"',
            "digests[0].cron:",
            "keep one of them and write * in the other",
        ),
        (DIGEST % 'cron: "0 9 31 2 *"', "digests[0].cron:", "never fires"),
        (
            DIGEST % "every: 1m, timezone: Europe/Zagrab",
            "digests[0].timezone: unknown time zone 'Europe/Zagrab'",
            "did you mean Europe/Zagreb? use an IANA name",
        ),
        (
            DIGEST % "every: 1m, timezone: Mars/Olympus",
            "digests[0].timezone: unknown time zone",
            "use an IANA name such as Europe/Zagreb",
        ),
        (
            "digests:\n  - {name: d, channel: C0123456789, every: 1m}\n"
            "  - {name: D, channel: C0123456789, every: 2m}\n",
            "digests: digests[1].name 'D' repeats digests[0].name",
            "names must be unique, rename one",
        ),
        (DIGEST % "every: 1m, max_items: 41", "digests[0].max_items:", "41 is too large; use 40"),
        (DIGEST % "every: 1m, max_items: 0", "digests[0].max_items:", "0 is too small; use 1"),
        (
            DIGEST % "every: 1m, filter: {priority: [HIGH, CRITICAL]}",
            "digests[0].filter.priority[1]: unknown priority 'CRITICAL'",
            "use one of URGENT, HIGH, NORMAL, LOW",
        ),
        (
            DIGEST % "every: 1m, filter: {status: [OPEN, PENDING]}",
            "digests[0].filter.status[1]: unknown status 'PENDING'",
            "use one of OPEN, WAITING, SOLVED, CLOSED",
        ),
        (
            DIGEST % "every: 1m, filter: {priority: []}",
            "digests[0].filter.priority:",
            "list at least one value, or remove the key for the default",
        ),
        (
            DIGEST % "every: 1m, filter: {tags: [ok, 'not ok']}",
            "digests[0].filter.tags[1]: tag 'not ok' is not valid",
            "letters, digits",
        ),
        (
            DIGEST % "every: 30x",
            "digests[0].every: 'x' in '30x' is not a unit",
            "write whole numbers with units s, m, h or d, e.g. 30m",
        ),
        (DIGEST % "every: 1.5h", "digests[0].every: '1.5h' is not a duration", "e.g. 30m"),
        (DIGEST % "every: 90", "digests[0].every: '90' has no unit", "e.g. 30m"),
        (DIGEST % "every: 0s", "digests[0].every: '0s' is zero", "at least 1s"),
        (
            "scheduler: {misfire_grace: soon}\n",
            "scheduler.misfire_grace: 'soon' is not a duration",
            "e.g. 30m",
        ),
        (
            "digests:\n  - {name: d, every: 1m}\n",
            "digests[0].channel:",
            "required; add it",
        ),
        (
            "digests:\n  - {name: d, every: 1m, channel: '#support'}\n",
            "digests[0].channel: '#support' is not a Slack channel id (that is a name)",
            "e.g. C0123456789",
        ),
        (DIGEST % "every: 1m, mention: '@oncall'", "digests[0].mention:", "e.g. S0ONCALL"),
        (
            "digests:\n  - {name: 'support high', channel: C0123456789, every: 1m}\n",
            "digests[0].name: 'support high' is not a usable name",
            "letters, digits, '-' or '_'",
        ),
        (DIGEST % "every: 1m, cronn: x", "digests[0].cronn:", "did you mean 'cron'?"),
        ("scheduler: {misfire: 1m}\n", "scheduler.misfire:", "did you mean 'misfire_grace'?"),
    ],
)
def test_each_mistake_is_one_line_with_its_path_and_fix(
    tmp_path: Path, text: str, path: str, fix: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    header, *problems = str(caught.value).splitlines()
    assert header.endswith("has errors:")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"  {path}"), problems[0]
    assert fix in problems[0]


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2s", timedelta(seconds=2)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 2h 3m 4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("1 h 30 min", timedelta(hours=1, minutes=30)),
        (" 10M ", timedelta(minutes=10)),
        ("90 seconds", timedelta(seconds=90)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be empty"),
        ("30", "'30' is not a duration"),
        ("30x", "'x' in '30x' is not a unit"),
        ("1w", "'w' in '1w' is not a unit"),
        ("1.5h", "'1.5h' is not a duration"),
        ("-5m", "'-5m' is not a duration"),
        ("1h1h", "the same unit twice"),
        ("0m", "is zero"),
        ("999999999999d", "is longer than a year (366d)"),
        ("367d", "is longer than a year (366d)"),
    ],
)
def test_bad_durations_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=2), "2 s"),
        (timedelta(minutes=30), "30 min"),
        (timedelta(hours=1, minutes=30), "1 h 30 min"),
        (timedelta(days=2, seconds=5), "2 d 5 s"),
        (timedelta(0), "0 s"),
        (timedelta(seconds=1.5), "1.5 s"),
        (-timedelta(minutes=5), "-5 min"),
    ],
)
def test_durations_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@settings(max_examples=200, derandomize=True)
@given(st.integers(min_value=1, max_value=int(DURATION_MAX.total_seconds())))
def test_formatted_durations_parse_back(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


def test_the_duration_type_refuses_bare_numbers_and_accepts_timedeltas() -> None:
    from pydantic import TypeAdapter, ValidationError

    adapter: TypeAdapter[timedelta] = TypeAdapter(Duration)
    assert adapter.validate_python(timedelta(minutes=1)) == timedelta(minutes=1)
    assert adapter.validate_python("1m") == timedelta(minutes=1)
    assert adapter.dump_python(timedelta(minutes=1), mode="json") == "1 min"
    for bad in (60, timedelta(0), timedelta(milliseconds=1500)):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


# --- triggers -----------------------------------------------------------------------------------


def test_job_ids_and_trigger_kinds() -> None:
    cron = schedule(name="support-high", cron="0 9 * * MON-FRI", timezone="Europe/Zagreb")
    every = schedule(name="tick", every="2s", timezone="Asia/Kolkata")
    assert job_id(cron) == "digest:support-high" and job_id(every) == "digest:tick"
    assert isinstance(trigger_for(cron), CronTrigger)
    assert trigger_for(cron).timezone == ZAGREB
    assert isinstance(trigger_for(every), IntervalTrigger)
    assert trigger_for(every).interval == timedelta(seconds=2)


def test_next_runs_needs_an_aware_moment_and_honours_count() -> None:
    digest = schedule(every="1m")
    with pytest.raises(ValueError, match="aware"):
        next_runs(digest, datetime(2026, 1, 1), 3)
    assert next_runs(digest, utc(2026, 1, 1), 0) == []
    runs = next_runs(digest, utc(2026, 1, 1, 0, 0, 30), 3)
    assert runs == [utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 2), utc(2026, 1, 1, 0, 3)]
    assert all(run.tzinfo == ZoneInfo("UTC") for run in runs)


def test_every_2s_fires_every_two_seconds_on_the_same_ticks_in_every_replica() -> None:
    digest = schedule(every="2s")
    runs = next_runs(digest, utc(2026, 5, 4, 12, 0, 0, 500_000), 5)
    assert runs[0] == utc(2026, 5, 4, 12, 0, 2)
    assert [b - a for a, b in pairwise(runs)] == [timedelta(seconds=2)] * 4
    # Ticks count from a fixed anchor, not from when the trigger was built: two replicas that
    # start at different moments compute the same scheduled times, so their claims collide.
    assert all((run - INTERVAL_ANCHOR) % timedelta(seconds=2) == timedelta(0) for run in runs)
    assert next_runs(digest, runs[1] - timedelta(seconds=1), 3) == runs[1:4]
    # A moment that is itself a tick is included, as the scheduler does when a job is added.
    assert next_runs(digest, runs[2], 1) == [runs[2]]


@pytest.mark.slow
async def test_every_2s_drives_a_real_scheduler_every_two_seconds() -> None:
    config = OpsConfig.model_validate(
        {"digests": [{"name": "tick", "channel": "C0123456789", "every": "2s"}]}
    )
    digest = config.digests[0]
    ticks: list[datetime] = []
    two = asyncio.Event()

    def executed(event: JobExecutionEvent) -> None:
        ticks.append(event.scheduled_run_time)
        if len(ticks) >= 2:
            two.set()

    async def run() -> None:
        pass

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.add_job(
        run,
        trigger_for(digest),
        id=job_id(digest),
        misfire_grace_time=config.scheduler.misfire_grace_seconds,
    )
    scheduler.start()
    try:
        await asyncio.wait_for(two.wait(), timeout=8)
    finally:
        scheduler.shutdown(wait=False)
    assert ticks[1] - ticks[0] == timedelta(seconds=2)
    assert (ticks[0] - INTERVAL_ANCHOR) % timedelta(seconds=2) == timedelta(0)


def test_an_interval_counts_real_time_across_a_dst_change() -> None:
    digest = schedule(every="1h", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 3, 28, 23, 30), 4)
    assert [run.astimezone(UTC).hour for run in runs] == [0, 1, 2, 3]
    assert [run.hour for run in runs] == [1, 3, 4, 5]  # local 02:00 does not exist that night


# --- cron across Zagreb's 2026 DST changes ----------------------------------------------------


def test_a_daily_nine_oclock_stays_at_nine_local_across_spring_forward() -> None:
    digest = schedule(cron="0 9 * * *", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 3, 27), 4)
    assert [(run.date(), run.time()) for run in runs] == [
        (date(2026, 3, day), time(9, 0)) for day in (27, 28, 29, 30)
    ]
    assert [run.astimezone(UTC) for run in runs] == [
        utc(2026, 3, 27, 8),  # CET, UTC+1
        utc(2026, 3, 28, 8),
        utc(2026, 3, 29, 7),  # CEST, UTC+2: the change was at 01:00 UTC that morning
        utc(2026, 3, 30, 7),
    ]
    assert runs[2].astimezone(UTC) - runs[1].astimezone(UTC) == timedelta(hours=23)


def test_a_daily_nine_oclock_stays_at_nine_local_across_fall_back() -> None:
    digest = schedule(cron="0 9 * * *", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 10, 24), 3)
    assert [run.time() for run in runs] == [time(9, 0)] * 3
    assert [run.astimezone(UTC) for run in runs] == [
        utc(2026, 10, 24, 7),  # CEST
        utc(2026, 10, 25, 8),  # CET from 01:00 UTC on the 25th
        utc(2026, 10, 26, 8),
    ]
    assert runs[1].astimezone(UTC) - runs[0].astimezone(UTC) == timedelta(hours=25)


def test_weekday_hours_in_zagreb_skip_the_weekend_and_follow_local_time() -> None:
    digest = schedule(cron="0 9-17/2 * * MON-FRI", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 3, 27, 15), 4)  # Friday 16:00 CET
    assert [(run.date(), run.hour) for run in runs] == [
        (date(2026, 3, 27), 17),
        (date(2026, 3, 30), 9),  # Monday, now in summer time
        (date(2026, 3, 30), 11),
        (date(2026, 3, 30), 13),
    ]
    assert runs[1].astimezone(UTC) == utc(2026, 3, 30, 7)


def test_a_time_inside_the_spring_gap_fires_once_at_the_same_distance_past_it() -> None:
    """02:30 does not exist in Zagreb on 29 March 2026 (02:00 CET jumps to 03:00 CEST).

    APScheduler 3.11 yields the imaginary wall time 02:30 with the winter offset (+01:00), i.e.
    the instant 01:30 UTC, which is 03:30 CEST: the digest runs an hour late by the clock on the
    wall, once, and is back at 02:30 the next day. Nothing is skipped and nothing repeats.
    """
    digest = schedule(cron="30 2 * * *", timezone="Europe/Zagreb")
    trigger = trigger_for(digest)
    raw = trigger.get_next_fire_time(None, utc(2026, 3, 28, 12))
    assert (raw.hour, raw.minute, raw.utcoffset()) == (2, 30, timedelta(hours=1))
    assert raw.astimezone(UTC) == utc(2026, 3, 29, 1, 30)

    runs = next_runs(digest, utc(2026, 3, 27, 12), 4)
    assert [run.astimezone(UTC) for run in runs] == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST: the gap day
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]
    assert [(run.day, run.hour, run.minute) for run in runs] == [
        (28, 2, 30),
        (29, 3, 30),
        (30, 2, 30),
        (31, 2, 30),
    ]


def test_a_time_inside_the_autumn_repeat_fires_in_both_offsets() -> None:
    """02:30 happens twice in Zagreb on 25 October 2026 (03:00 CEST falls back to 02:00 CET).

    APScheduler 3.11 fires at both: 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC). They are
    distinct scheduled times, so each is claimed separately and both digests are posted.
    """
    digest = schedule(cron="30 2 * * *", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 10, 24, 12), 3)
    assert [run.astimezone(UTC) for run in runs] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 26, 1, 30),
    ]
    assert [(run.day, run.hour, run.minute, run.fold) for run in runs] == [
        (25, 2, 30, 0),
        (25, 2, 30, 1),
        (26, 2, 30, 0),
    ]


def test_a_daily_digest_in_the_hour_after_midnight_is_not_skipped_after_spring_forward() -> None:
    """Stock APScheduler 3.11 skips 30 March here; WallClockCronTrigger does not."""
    digest = schedule(cron="30 0 * * *", timezone="Europe/Zagreb")
    runs = next_runs(digest, utc(2026, 3, 27, 12), 4)
    assert [(run.day, run.hour, run.minute) for run in runs] == [
        (28, 0, 30),
        (29, 0, 30),
        (30, 0, 30),
        (31, 0, 30),
    ]
    assert runs[2].astimezone(UTC) == utc(2026, 3, 29, 22, 30)


def test_stock_apscheduler_still_skips_that_day() -> None:
    """Pins the upstream bug (APScheduler #529, #606) that WallClockCronTrigger works around.

    When this fails, APScheduler has fixed it: trigger_for can use CronTrigger itself again.
    """
    trigger = CronTrigger.from_crontab("30 0 * * *", timezone=ZAGREB)
    after_change_day = trigger.get_next_fire_time(
        datetime(2026, 3, 29, 0, 30, tzinfo=ZAGREB), datetime(2026, 3, 29, 0, 30, tzinfo=ZAGREB)
    )
    assert after_change_day.astimezone(ZAGREB).date() == date(2026, 3, 31)


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Sunday 8 March is New York's change day: the Monday midnight digest still comes.
        ("0 0 * * MON", "America/New_York", utc(2026, 3, 2, 12), [(3, 9), (3, 16)]),
        # The 1st-of-month midnight digest is not lost for April in Europe.
        ("0 0 1 * *", "Europe/Zagreb", utc(2026, 2, 15), [(3, 1), (4, 1), (5, 1)]),
        # Sydney moves its clocks forward on Sunday 4 October 2026.
        ("15 0 * * *", "Australia/Sydney", utc(2026, 10, 2), [(10, 3), (10, 4), (10, 5)]),
    ],
)
def test_midnight_digests_survive_the_change_in_each_zone(
    cron: str, zone: str, after: datetime, expected: list[tuple[int, int]]
) -> None:
    runs = next_runs(schedule(cron=cron, timezone=zone), after, len(expected))
    assert [(run.month, run.day) for run in runs] == expected
    assert all(run.hour == 0 for run in runs)


# --- any zone, any daily time -----------------------------------------------------------------

ZONES = ("Europe/Zagreb", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
# Days just before each zone's 2026 clock changes, so gaps and repeats come up often.
CHANGES = {
    "Europe/Zagreb": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Australia/Sydney": (date(2026, 4, 5), date(2026, 10, 4)),
    "Asia/Kolkata": (),
}
NEAR_CHANGES = sorted({day - timedelta(days=2) for days in CHANGES.values() for day in days})


def exists(day: date, hour: int, minute: int, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, time(hour, minute))
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def test_the_clock_changes_used_below_are_real() -> None:
    for name, days in CHANGES.items():
        zone = ZoneInfo(name)
        for day in days:
            before = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
            after = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
            assert before != after, (name, day)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.integers(min_value=0, max_value=59),
    start=st.one_of(
        st.sampled_from(NEAR_CHANGES),
        st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    ),
    second_of_day=st.integers(min_value=0, max_value=86_399),
)
@pytest.mark.slow
@example(zone_name="America/New_York", hour=2, minute=30, start=date(2026, 3, 6), second_of_day=0)
@example(zone_name="Australia/Sydney", hour=2, minute=0, start=date(2026, 10, 2), second_of_day=0)
@example(zone_name="Australia/Sydney", hour=2, minute=45, start=date(2026, 4, 3), second_of_day=0)
@example(zone_name="Europe/Zagreb", hour=2, minute=59, start=date(2026, 3, 27), second_of_day=0)
@example(zone_name="Europe/Zagreb", hour=0, minute=0, start=date(2026, 3, 27), second_of_day=0)
@example(zone_name="America/New_York", hour=1, minute=30, start=date(2026, 10, 30), second_of_day=0)
def test_daily_cron_fires_at_the_requested_local_time(
    zone_name: str, hour: int, minute: int, start: date, second_of_day: int
) -> None:
    zone = ZoneInfo(zone_name)
    digest = schedule(cron=f"{minute} {hour} * * *", timezone=zone_name)
    after = datetime.combine(start, time(0), tzinfo=UTC) + timedelta(seconds=second_of_day)
    runs = next_runs(digest, after, 8)

    assert len(runs) == 8
    assert after <= runs[0] < after + timedelta(days=1, hours=2)
    for run in runs:
        assert run.tzinfo == zone
        if exists(run.date(), hour, minute, zone):
            assert (run.hour, run.minute) == (hour, minute)
        else:
            # Inside a spring-forward gap: the wall time read with the offset before the change,
            # i.e. the requested time pushed forward by the gap, on the same day.
            wall = datetime.combine(run.date(), time(hour, minute), tzinfo=zone)
            assert run.timestamp() == wall.timestamp()
            assert (run.hour, run.minute) != (hour, minute)
    for earlier, later in pairwise(runs):
        assert earlier.timestamp() < later.timestamp()
        days = (later.date() - earlier.date()).days
        # One run a day; a second one on the same day only for a wall time that happens twice.
        assert days == 1 or (days == 0 and earlier.fold == 0 and later.fold == 1), (earlier, later)


# --- any cron expression, against brute force -----------------------------------------------

MINUTES = ("0", "15", "30", "45", "*/15", "0-5", "59")
HOURS = ("*", "0", "1", "2", "3", "0-3", "*/2", "9-17/2", "23")
DAYS = ("*", "1", "15", "last")
WEEKDAYS = ("*", "MON", "SUN", "MON-FRI", "SAT,SUN")


def matches(trigger: CronTrigger, moment: datetime) -> bool:
    """Does the wall-clock reading of `moment` satisfy every field, by APScheduler's rules?"""
    return all(
        field.get_next_value(moment) == field.get_value(moment)
        for field in reversed(trigger.fields)
    )


# Each zone with the days just before its own changes (Kolkata has none: any day will do).
ZONE_STARTS = [
    (name, day - timedelta(days=2)) for name, days in CHANGES.items() for day in days
] + [("Asia/Kolkata", date(2026, 3, 27)), ("Asia/Kolkata", date(2026, 10, 23))]


@pytest.mark.slow
@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    zone_start=st.sampled_from(ZONE_STARTS),
    minute=st.sampled_from(MINUTES),
    hour=st.sampled_from(HOURS),
    day=st.sampled_from(DAYS),
    weekday=st.sampled_from(WEEKDAYS),
)
@example(
    zone_start=("Europe/Zagreb", date(2026, 3, 27)), minute="0", hour="0", day="*", weekday="*"
)
@example(
    zone_start=("America/New_York", date(2026, 3, 6)), minute="0", hour="0", day="*", weekday="MON"
)
@example(
    zone_start=("Europe/Zagreb", date(2026, 10, 23)), minute="*/15", hour="2", day="*", weekday="*"
)
def test_cron_fires_at_every_matching_moment_and_only_there(
    zone_start: tuple[str, date], minute: str, hour: str, day: str, weekday: str
) -> None:
    """Brute force over every real minute of four days around a change.

    Every instant whose local reading matches is a fire time (nothing skipped; in the repeated
    hour both readings count). Every fire time matches, either as a real reading or as a wall
    time inside the gap (which APScheduler reports with the offset before the change).
    """
    zone_name, start = zone_start
    if day != "*" and weekday != "*":
        weekday = "*"
    zone = ZoneInfo(zone_name)
    digest = schedule(cron=f"{minute} {hour} {day} * {weekday}", timezone=zone_name)
    trigger = trigger_for(digest)
    begin = datetime.combine(start, time(0), tzinfo=UTC)
    end = begin + timedelta(days=4)

    fires: list[datetime] = []
    previous = None
    now = begin
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire.astimezone(UTC) >= end:
            break
        fires.append(fire)
        previous = now = fire
    instants = [fire.astimezone(UTC) for fire in fires]
    assert instants == sorted(set(instants))  # strictly increasing: no repeats, no going back

    expected = set()
    moment = begin
    while moment < end:
        if matches(trigger, moment.astimezone(zone)):
            expected.add(moment)
        moment += timedelta(minutes=1)
    assert expected <= set(instants), sorted(expected - set(instants))[:3]
    for fire, instant in zip(fires, instants, strict=True):
        if instant not in expected:
            wall = fire.replace(tzinfo=None)
            assert not exists(wall.date(), wall.hour, wall.minute, zone), fire
            assert matches(trigger, fire)
