"""The `oncall:` section of convbot.yml: a valid one loads; each mistake names its field and fix."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import OpsConfig
from bot.config_file import load_config
from bot.errors import InvalidInput
from bot.models import Priority
from bot.oncall.config import (
    EscalationPolicy,
    OncallConfig,
    Override,
    PolicyStep,
    Restriction,
    Target,
)

EXAMPLE = """
oncall:
  schedules:
    - name: primary
      timezone: Europe/London
      rotation: {users: [U01, U02, U03], shift: 7d, start: "2026-11-02T09:00"}
      restrict: [{days: [MON, TUE, WED, THU, FRI], from: "08:00", to: "20:00"}]
      overrides: [{user: U04, from: "2026-12-24T09:00", to: "2026-12-27T09:00"}]
    - name: secondary
      rotation: {users: [W05, U06], shift: 12h, start: "2026-11-02T09:00"}
      restrict: [{days: "sat, sun", from: "20:00", to: "24:00"}]
  policies:
    - name: default
      steps:
        - {notify: ["schedule:primary"], wait: 5m}
        - {notify: ["schedule:secondary", "user:U09"], wait: 10m}
        - {notify: ["channel:C0INCIDENT", "usergroup:S0LEADS"], wait: 15m}
      repeat: 1
  auto_escalate:
    - {when: {priority: [URGENT], unassigned_for: 15m}, policy: default}
    - {when: {priority: [HIGH], queue: [Q_VIP], no_update_for: 2h}, policy: default}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "convbot.yml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> OncallConfig:
    return load_config(write(tmp_path, text)).oncall


def test_the_example_loads(tmp_path: Path) -> None:
    oncall = load(tmp_path, EXAMPLE)
    primary, secondary = oncall.schedules
    assert primary.zone == ZoneInfo("Europe/London")
    assert primary.rotation.users == ["U01", "U02", "U03"]
    assert primary.rotation.shift == timedelta(days=7)
    assert primary.rotation.start == datetime(2026, 11, 2, 9, 0)  # naive: London wall time
    (weekdays,) = primary.restrict
    assert weekdays.days == ["MON", "TUE", "WED", "THU", "FRI"]
    assert weekdays.weekdays == frozenset(range(5))
    assert (weekdays.from_, weekdays.to, weekdays.overnight) == (time(8), time(20), False)
    (christmas,) = primary.overrides
    assert (christmas.user, christmas.from_, christmas.to) == (
        "U04",
        datetime(2026, 12, 24, 9),
        datetime(2026, 12, 27, 9),
    )
    assert secondary.timezone == "UTC" and secondary.rotation.shift == timedelta(hours=12)
    # "24:00" is midnight at the end of the day: a window whose end is at or before its start.
    (weekend,) = secondary.restrict
    assert (weekend.days, weekend.to, weekend.overnight) == (["SAT", "SUN"], time(0), True)

    (policy,) = oncall.policies
    assert policy.repeat == 1 and [step.wait for step in policy.steps] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=15),
    ]
    assert policy.steps[1].notify == [
        Target(kind="schedule", ref="secondary"),
        Target(kind="user", ref="U09"),
    ]
    assert [str(t) for t in policy.steps[2].notify] == ["channel:C0INCIDENT", "usergroup:S0LEADS"]

    urgent, vip = oncall.auto_escalate
    assert urgent.when.priority == [Priority.URGENT] and urgent.when.queue == []
    assert (urgent.when.unassigned_for, urgent.when.no_update_for) == (timedelta(minutes=15), None)
    assert vip.when.queue == ["Q_VIP"] and vip.when.no_update_for == timedelta(hours=2)
    assert vip.policy == "default"

    assert oncall.schedule("primary") is primary and oncall.schedule("tertiary") is None
    assert oncall.policy("default") is policy and oncall.default_policy is policy


def test_without_oncall_there_is_nothing_to_page(tmp_path: Path) -> None:
    oncall = load(tmp_path, "agents: {}\n")
    assert oncall == OncallConfig()
    assert (oncall.schedules, oncall.policies, oncall.auto_escalate) == ([], [], [])
    assert oncall.default_policy is None and oncall.policy("default") is None
    assert load_config(tmp_path / "absent.yml").oncall == OncallConfig()


def test_the_default_policy_is_the_one_named_default_else_the_first() -> None:
    def policies(*names: str) -> OncallConfig:
        step = {"notify": ["user:U01"], "wait": "5m"}
        return OncallConfig.model_validate(
            {"policies": [{"name": n, "steps": [step]} for n in names]}
        )

    assert policies("night", "default").default_policy == policies("default").policies[0]
    assert policies("night", "day").default_policy == policies("night").policies[0]


def test_a_dumped_config_loads_back_unchanged(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    dumped = config.model_dump(mode="json")
    assert dumped["oncall"]["policies"][0]["steps"][1]["notify"] == [
        "schedule:secondary",
        "user:U09",
    ]
    assert dumped["oncall"]["schedules"][0]["rotation"]["shift"] == "7 d"
    assert OpsConfig.model_validate(dumped) == config


def test_targets_read_and_write_kind_colon_ref() -> None:
    for text in ("schedule:primary", "user:U0123", "user:W0123", "channel:G0AB", "usergroup:S0X"):
        assert str(Target.parse(text)) == text
    assert Target.parse(" User : U09 ") == Target(kind="user", ref="U09")
    with pytest.raises(ValueError, match="did you mean user:U09"):
        Target.parse("U09")
    with pytest.raises(ValueError, match="is not a Slack user id"):
        Target.parse("user:alice")


def test_models_are_frozen_and_take_python_names() -> None:
    window = Restriction(days=["MON"], from_=time(22), to=time(6))
    assert window.overnight and window.model_dump(by_alias=True)["from"] == time(22)
    override = Override(user="U01", from_=datetime(2026, 1, 1), to=datetime(2026, 1, 2))
    with pytest.raises(ValidationError, match="frozen"):
        override.user = "U02"  # type: ignore[misc]
    step = PolicyStep.model_validate({"notify": ["user:U1A", "user:U1A"], "wait": "1h"})
    assert step.notify == [Target(kind="user", ref="U1A")]  # a repeat is paged once
    assert EscalationPolicy(name="p", steps=[step]).repeat == 0


def schedule(**changes: object) -> str:
    """An oncall section with one schedule, some of its keys replaced (as YAML flow text)."""
    fields = {
        "name": "primary",
        "timezone": "Europe/London",
        "rotation": '{users: [U01], shift: 7d, start: "2026-11-02T09:00"}',
        **changes,
    }
    body = ", ".join(f"{key}: {value}" for key, value in fields.items())
    return f"oncall:\n  schedules:\n    - {{{body}}}\n"


def rotation(**changes: str) -> str:
    fields = {"users": "[U01]", "shift": "7d", "start": '"2026-11-02T09:00"', **changes}
    return "{" + ", ".join(f"{key}: {value}" for key, value in fields.items()) + "}"


def window(days: str = "[MON]", start: str = '"08:00"', end: str = '"20:00"') -> str:
    return f"[{{days: {days}, from: {start}, to: {end}}}]"


def policy(*steps: str, extra: str = "") -> str:
    return (
        schedule() + "  policies:\n    - {name: default, steps: [" + ", ".join(steps) + "]"
        f"{extra}}}\n"
    )


ROTATION = "oncall.schedules[0].rotation"
STEP = "oncall.policies[0].steps[0]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # schedules
        (schedule(rotaton="{}"), "oncall.schedules[0].rotaton: unknown key"),
        (schedule(name="'on call'"), "oncall.schedules[0].name: 'on call' is not a usable name"),
        (schedule(timezone="Europe/Londn"), "timezone: unknown time zone 'Europe/Londn'; did you"),
        (schedule(rotation=rotation(shift="30m")), f"{ROTATION}.shift: '30m' is not a shift"),
        (schedule(rotation=rotation(shift="30m")), "shift must be hours or days, e.g. 12h or 7d"),
        (schedule(rotation=rotation(shift="0d")), f"{ROTATION}.shift: '0d' is zero"),
        (schedule(rotation=rotation(shift="367d")), f"{ROTATION}.shift: '367d' is longer than"),
        (schedule(rotation=rotation(shift="7")), f"{ROTATION}.shift: '7' has no unit"),
        (schedule(rotation=rotation(users="[]")), f"{ROTATION}.users: list at least one"),
        (
            schedule(rotation=rotation(users="[U01, alice]")),
            f"{ROTATION}.users[1]: 'alice' is not a Slack user id; use the id that starts with U",
        ),
        (
            schedule(rotation=rotation(start='"2026-11-02"')),
            f"{ROTATION}.start: '2026-11-02' has no time of day; write the local wall time"
            ' in quotes as "YYYY-MM-DDTHH:MM"',
        ),
        (
            schedule(rotation=rotation(start="2026-11-02")),
            f"{ROTATION}.start: '2026-11-02' has no time of day",
        ),
        (
            schedule(rotation=rotation(start='"2026-11-02T09:00+01:00"')),
            f"{ROTATION}.start: '2026-11-02T09:00+01:00' has a UTC offset",
        ),
        (
            schedule(rotation=rotation(start='"2026-02-30T09:00"')),
            f"{ROTATION}.start: '2026-02-30T09:00' is not a real date and time",
        ),
        (schedule(rotation=rotation(begin='"x"')), f"{ROTATION}.begin: unknown key"),
        (schedule(rotation="{users: [U01]}"), f"{ROTATION}.shift: required; add it"),
        # restrictions
        (
            schedule(restrict=window(days="[1, 2]")),
            "oncall.schedules[0].restrict[0].days[0]: 1 is a number; write days as names: MON,",
        ),
        (
            schedule(restrict=window(days="[Monday]")),
            "restrict[0].days[0]: 'Monday' is not a day; did you mean MON?",
        ),
        (schedule(restrict=window(days="[]")), "restrict[0].days: list at least one day"),
        (
            schedule(restrict=window(start='"25:00"')),
            "restrict[0].from: '25:00' is not a time of day; write HH:MM in quotes, e.g. \"08:00\"",
        ),
        (schedule(restrict=window(start='"24:00"')), "restrict[0].from: '24:00' is not a time"),
        (
            schedule(restrict=window(end="20:00")),
            'restrict[0].to: 1200 is a number, not a time; write HH:MM in quotes, e.g. "08:00"'
            ' or "24:00" (unquoted, YAML reads 20:00 as the number 1200)',
        ),
        (schedule(restrict="[{days: [MON], from: '08:00'}]"), "restrict[0].to: required"),
        # overrides
        (
            schedule(overrides='[{user: U04, from: "2026-12-27T09:00", to: "2026-12-24T09:00"}]'),
            "oncall.schedules[0].overrides[0]: override for U04 ends (2026-12-24T09:00) before it"
            " starts (2026-12-27T09:00); to must be after from",
        ),
        (
            schedule(overrides='[{user: "@bob", from: "2026-12-24T09:00", to: "2026-12-25"}]'),
            "overrides[0].user: '@bob' is not a Slack user id",
        ),
        (
            schedule() + schedule(name="Primary").removeprefix("oncall:\n  schedules:\n"),
            "oncall.schedules: schedules[1].name 'Primary' repeats schedules[0].name;"
            " names must be unique, rename one",
        ),
        # policies
        (
            policy('{notify: ["U09"], wait: 5m}'),
            f"{STEP}.notify[0]: 'U09' says not what it is; did you mean user:U09? write"
            " schedule:NAME, user:U…, channel:C… or usergroup:S…",
        ),
        (
            policy('{notify: ["team:ops"], wait: 5m}'),
            f"{STEP}.notify[0]: 'team' in 'team:ops' is not a kind of target",
        ),
        (
            policy('{notify: ["channel:#incidents"], wait: 5m}'),
            f"{STEP}.notify[0]: '#incidents' in 'channel:#incidents' is not a Slack channel id",
        ),
        (
            policy('{notify: ["channel:D0123456789"], wait: 5m}'),
            f"{STEP}.notify[0]: 'D0123456789' in 'channel:D0123456789' is a direct message, not a"
            " channel; page one person by their member id, e.g. user:U0123456789",
        ),
        (
            policy('{notify: ["usergroup:@leads"], wait: 5m}'),
            f"{STEP}.notify[0]: '@leads' in 'usergroup:@leads' is not a Slack user group id",
        ),
        (
            policy('{notify: ["schedule:primry"], wait: 5m}'),
            "oncall: policies[0].steps[0].notify[0] 'schedule:primry' names no"
            " schedule under oncall.schedules; did you mean 'primary'?",
        ),
        (policy("{notify: [], wait: 5m}"), f"{STEP}.notify: list at least one target"),
        (policy('{notify: ["user:U09"], wait: 0m}'), f"{STEP}.wait: '0m' is zero"),
        (policy('{notify: ["user:U09"], wait: 5}'), f"{STEP}.wait: '5' has no unit"),
        (policy('{notify: ["user:U09"]}'), f"{STEP}.wait: required; add it"),
        (
            policy('{notify: ["user:U09"], wait: 5m}', extra=", repeat: 11"),
            "oncall.policies[0].repeat: 11 is too large; use 10 or less",
        ),
        (
            policy('{notify: ["user:U09"], wait: 5m}', extra=", repeat: -1"),
            "oncall.policies[0].repeat: -1 is too small; use 0 or more",
        ),
        (policy(), "oncall.policies[0].steps: list at least one step"),
        (
            "oncall:\n  policies:\n"
            '    - {name: p, steps: [{notify: ["user:U1A"], wait: 1m}]}\n'
            '    - {name: P, steps: [{notify: ["user:U1A"], wait: 1m}]}\n',
            "policies[1].name 'P' repeats policies[0].name",
        ),
        # auto-escalation
        (
            policy('{notify: ["user:U09"], wait: 5m}')
            + "  auto_escalate: [{when: {priority: [URGENT]}, policy: default}]\n",
            "oncall.auto_escalate[0].when: says not how long to wait; add unassigned_for:",
        ),
        (
            policy('{notify: ["user:U09"], wait: 5m}')
            + "  auto_escalate: [{when: {priority: [CRITICAL], unassigned_for: 5m},"
            " policy: default}]\n",
            "oncall.auto_escalate[0].when.priority[0]: unknown priority 'CRITICAL'; use one of"
            " URGENT, HIGH, NORMAL, LOW",
        ),
        (
            policy('{notify: ["user:U09"], wait: 5m}')
            + "  auto_escalate: [{when: {no_update_for: 2h}, policy: defualt}]\n",
            "oncall: auto_escalate[0].policy 'defualt' names no policy under"
            " oncall.policies; did you mean 'default'?",
        ),
        (
            "oncall:\n  auto_escalate: [{when: {no_update_for: 2h}, policy: default}]\n",
            "names no policy under oncall.policies; add it under oncall.policies",
        ),
        (
            policy('{notify: ["user:U09"], wait: 5m}')
            + "  auto_escalate: [{when: {no_update_for: 2h, queue: [' ']}, policy: default}]\n",
            "oncall.auto_escalate[0].when.queue: a queue cannot be blank",
        ),
        ("oncall: {schedule: []}\n", "oncall.schedule: unknown key"),
    ],
)
def test_mistakes_name_their_field_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)
