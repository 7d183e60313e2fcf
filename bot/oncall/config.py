"""The `oncall:` section of convbot.yml: schedules, escalation policies and auto-escalation rules.

Times in a schedule are local wall times in its `timezone` ("2026-11-02T09:00", "08:00"), so a
rotation keeps handing over at 09:00 local across daylight-saving changes. Each error names the
field and what to write instead, as in the rest of convbot.yml.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bot.config_values import PriorityValue, TimeZoneName, listed, queue_names
from bot.durations import DURATION_MAX, Duration, format_duration
from bot.identifiers import (
    CHANNEL_ID,
    CONFIG_NAME,
    POSTABLE_CHANNEL_ID,
    USER_ID,
    USER_ID_HINT,
    USERGROUP_ID,
    UserId,
)
from bot.models import Priority


class _Section(BaseModel):
    # A misspelt key must fail loudly, not be ignored and silently change who gets paged.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- values as people write them -----------------------------------------------------------------


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


def _start_clock(value: object) -> object:
    return _clock(value, end=False)


def _end_clock(value: object) -> object:
    return _clock(value, end=True)


Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # in date.weekday() order: Monday is 0
_DAYS_HINT = "write days as names: MON, TUE, WED, THU, FRI, SAT or SUN"


def _weekday(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # As in digests' cron: tools disagree on whether day 0 is Sunday or Monday.
        raise ValueError(
            f"{value} is a number; {_DAYS_HINT} (numbers are refused: some count from Sunday,"
            " some from Monday)"
        )
    if not isinstance(value, str):
        return value
    day = value.strip().upper()
    if day in WEEKDAYS:
        return day
    close = f"did you mean {day[:3]}? " if day[:3] in WEEKDAYS else ""
    raise ValueError(f"'{value[:20]}' is not a day; {close}{_DAYS_HINT}")


# --- schedules -----------------------------------------------------------------------------------


class Rotation(_Section):
    """Users take turns, one `shift` each, from `start` (local wall time) on."""

    users: list[UserId]
    shift: Shift
    start: LocalDateTime

    @field_validator("users")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        # A user may appear more than once (a longer turn); an empty rotation pages no one.
        if not value:
            raise ValueError("list at least one Slack user id, e.g. [U0123456789]")
        return value


class Restriction(_Section):
    """On these days, on call only from `from` to `to` local time; past midnight if to <= from."""

    model_config = ConfigDict(populate_by_name=True)

    days: Annotated[list[Annotated[Weekday, BeforeValidator(_weekday)]], BeforeValidator(listed)]
    from_: Annotated[time, BeforeValidator(_start_clock)] = Field(alias="from")
    to: Annotated[time, BeforeValidator(_end_clock)]

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: list[Weekday]) -> list[Weekday]:
        if not value:
            raise ValueError(f"list at least one day; {_DAYS_HINT}, e.g. [MON, TUE]")
        return list(dict.fromkeys(value))

    @property
    def weekdays(self) -> frozenset[int]:
        """The days as `date.weekday()` numbers: Monday is 0."""
        return frozenset(WEEKDAYS.index(day) for day in self.days)

    @property
    def overnight(self) -> bool:
        """A window that starts on one day and ends on the next (`to: "24:00"` included)."""
        return self.to <= self.from_


class Override(_Section):
    """`user` is on call from `from` to `to` (local wall times), whatever the rotation says."""

    model_config = ConfigDict(populate_by_name=True)

    user: UserId
    from_: LocalDateTime = Field(alias="from")
    to: LocalDateTime

    @model_validator(mode="after")
    def _forwards(self) -> Override:
        if self.to <= self.from_:
            raise ValueError(
                f"override for {self.user} ends ({self.to:%Y-%m-%dT%H:%M}) before it starts"
                f" ({self.from_:%Y-%m-%dT%H:%M}); to must be after from"
            )
        return self


class OncallSchedule(_Section):
    """One rota: a rotation, optionally limited to weekly windows, with overrides on top."""

    name: Name
    timezone: TimeZoneName = "UTC"
    rotation: Rotation
    restrict: list[Restriction] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- escalation policies -------------------------------------------------------------------------

TargetKind = Literal["schedule", "user", "channel", "usergroup"]
TARGET_KINDS: tuple[TargetKind, ...] = get_args(TargetKind)
_TARGET_HINT = "write schedule:NAME, user:U…, channel:C… or usergroup:S…"
_TARGET_REFS: dict[str, tuple[re.Pattern[str], str]] = {
    "schedule": (
        CONFIG_NAME,
        "is not a schedule name; use the name of one under oncall.schedules, e.g. schedule:primary",
    ),
    "user": (USER_ID, f"is not a Slack user id; {USER_ID_HINT}, e.g. user:U0123456789"),
    "channel": (
        CHANNEL_ID,
        "is not a Slack channel id; use the id that starts with C or G (channel details →"
        " About, at the bottom), e.g. channel:C0123456789",
    ),
    "usergroup": (
        USERGROUP_ID,
        "is not a Slack user group id; use the id that starts with S, e.g. usergroup:S0ONCALL",
    ),
}

_DM_TARGET = (
    "is a direct message, not a channel; page one person by their member id, e.g."
    " user:U0123456789, or a channel the team shares, e.g. channel:C0123456789"
)


class Target(_Section):
    """Whom a policy step notifies, written `kind:ref` in convbot.yml (`user:U0123456789`)."""

    kind: TargetKind
    ref: str

    @model_validator(mode="after")
    def _ref_shape(self) -> Target:
        pattern, complaint = _TARGET_REFS[self.kind]
        if self.kind == "channel" and POSTABLE_CHANNEL_ID.fullmatch(self.ref):
            complaint = _DM_TARGET  # a DM's id: right shape, wrong kind of place for a page
        if not pattern.fullmatch(self.ref):
            raise ValueError(f"'{self.ref[:40]}' in '{str(self)[:60]}' {complaint}")
        return self

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"

    @classmethod
    def parse(cls, text: str) -> Target:
        """`schedule:primary` → Target(kind="schedule", ref="primary"); ValueError if not one."""
        return cls.model_validate(_split_target(text))


def _split_target(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip()
    kind, colon, ref = text.partition(":")
    if not colon:
        guess = _guess_kind(text)
        hint = f"did you mean {guess}:{text}? " if guess else ""
        raise ValueError(f"'{text[:40]}' says not what it is; {hint}{_TARGET_HINT}")
    if kind.strip().lower() not in TARGET_KINDS:
        raise ValueError(
            f"'{kind.strip()[:20]}' in '{text[:60]}' is not a kind of target; {_TARGET_HINT}"
        )
    return {"kind": kind.strip().lower(), "ref": ref.strip()}


def _guess_kind(text: str) -> str | None:
    for kind in ("user", "channel", "usergroup"):
        if _TARGET_REFS[kind][0].fullmatch(text):
            return kind
    return "schedule" if CONFIG_NAME.fullmatch(text) else None


TargetValue = Annotated[
    Target,
    BeforeValidator(_split_target),
    PlainSerializer(str, return_type=str, when_used="json"),
]


class PolicyStep(_Section):
    """Notify these targets, then wait this long for someone to acknowledge."""

    notify: list[TargetValue]
    wait: Duration

    @field_validator("notify")
    @classmethod
    def _someone(cls, value: list[Target]) -> list[Target]:
        if not value:
            raise ValueError('list at least one target, e.g. ["schedule:primary"]')
        return list(dict.fromkeys(value))


class EscalationPolicy(_Section):
    """Steps in order; after the last, the steps run `repeat` more times, then escalation stops."""

    name: Name
    steps: list[PolicyStep]
    repeat: int = Field(default=0, ge=0, le=10)

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, value: list[PolicyStep]) -> list[PolicyStep]:
        if not value:
            raise ValueError(
                'list at least one step, e.g. [{notify: ["schedule:primary"], wait: 5m}]'
            )
        return value


# --- auto-escalation -----------------------------------------------------------------------------


class AutoEscalateWhen(_Section):
    """Which conversations escalate by themselves; every condition given must hold.

    An empty `priority` or `queue` means any; at least one of the two waits is required.
    """

    priority: Annotated[list[PriorityValue], BeforeValidator(listed)] = Field(default_factory=list)
    queue: Annotated[list[str], BeforeValidator(listed)] = Field(default_factory=list)
    unassigned_for: Duration | None = None
    no_update_for: Duration | None = None

    @field_validator("priority")
    @classmethod
    def _no_repeated_priorities(cls, value: list[Priority]) -> list[Priority]:
        return list(dict.fromkeys(value))

    @field_validator("queue")
    @classmethod
    def _queue_names(cls, value: list[str]) -> list[str]:
        return queue_names(value)

    @model_validator(mode="after")
    def _some_wait(self) -> AutoEscalateWhen:
        if self.unassigned_for is None and self.no_update_for is None:
            raise ValueError(
                "says not how long to wait; add unassigned_for: (e.g. 15m) or no_update_for:"
                " (e.g. 2h)"
            )
        return self


class AutoEscalateRule(_Section):
    when: AutoEscalateWhen
    policy: str
    # What the rule's escalations are recorded under; without it, a name derived from `when`
    # and `policy`, so reordering the rules in the file does not make them fire again.
    name: Name | None = None


# --- the section ---------------------------------------------------------------------------------


class OncallConfig(_Section):
    schedules: list[OncallSchedule] = Field(default_factory=list)
    policies: list[EscalationPolicy] = Field(default_factory=list)
    auto_escalate: list[AutoEscalateRule] = Field(default_factory=list)

    @field_validator("schedules")
    @classmethod
    def _unique_schedules(cls, value: list[OncallSchedule]) -> list[OncallSchedule]:
        _unique_names("schedules", [schedule.name for schedule in value])
        return value

    @field_validator("policies")
    @classmethod
    def _unique_policies(cls, value: list[EscalationPolicy]) -> list[EscalationPolicy]:
        _unique_names("policies", [policy.name for policy in value])
        return value

    @model_validator(mode="after")
    def _references_exist(self) -> OncallConfig:
        schedules = [schedule.name for schedule in self.schedules]
        for p, policy in enumerate(self.policies):
            for s, step in enumerate(policy.steps):
                for n, target in enumerate(step.notify):
                    if target.kind == "schedule" and target.ref not in schedules:
                        raise ValueError(
                            f"policies[{p}].steps[{s}].notify[{n}] '{target}' names no schedule"
                            f" under oncall.schedules; {_fix(target.ref, schedules, 'schedules')}"
                        )
        policies = [policy.name for policy in self.policies]
        for r, rule in enumerate(self.auto_escalate):
            if rule.policy not in policies:
                raise ValueError(
                    f"auto_escalate[{r}].policy '{rule.policy[:40]}' names no policy under"
                    f" oncall.policies; {_fix(rule.policy, policies, 'policies')}"
                )
        return self

    def schedule(self, name: str) -> OncallSchedule | None:
        return next((schedule for schedule in self.schedules if schedule.name == name), None)

    def policy(self, name: str) -> EscalationPolicy | None:
        return next((policy for policy in self.policies if policy.name == name), None)

    @property
    def default_policy(self) -> EscalationPolicy | None:
        """The policy named `default`, else the first listed, else None."""
        return self.policy("default") or next(iter(self.policies), None)


def _unique_names(section: str, names: list[str]) -> None:
    # Names are typed in commands and targets: unique regardless of case, as digests' are.
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        earlier = first.setdefault(name.casefold(), index)
        if earlier != index:
            raise ValueError(
                f"{section}[{index}].name '{name}' repeats {section}[{earlier}].name;"
                " names must be unique, rename one"
            )


def _fix(name: str, known: list[str], section: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if known:
        return f"fix the name (known: {', '.join(known)}) or add it under oncall.{section}"
    return f"add it under oncall.{section}"
