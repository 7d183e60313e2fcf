"""The `oncall:` section of convbot.yml: schedules, escalation policies and auto-escalation rules.

Times in a schedule are local wall times in its `timezone` ("2026-11-02T09:00", "08:00"), so a
rotation keeps handing over at 09:00 local across daylight-saving changes. Each error names the
field and what to write instead, as in the rest of convbot.yml; the values themselves (names,
shifts, wall times, days) are read in values.py.
"""

from __future__ import annotations

import difflib
import re
from datetime import time
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bot.config_values import PriorityValue, TimeZoneName, listed, queue_names
from bot.durations import Duration
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
from bot.oncall.values import (
    DAYS_HINT,
    WEEKDAYS,
    LocalDateTime,
    Name,
    Shift,
    Weekday,
    day_name,
    end_clock,
    start_clock,
)


class _Section(BaseModel):
    # A misspelt key must fail loudly, not be ignored and silently change who gets paged.
    model_config = ConfigDict(extra="forbid", frozen=True)


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

    days: Annotated[list[Annotated[Weekday, BeforeValidator(day_name)]], BeforeValidator(listed)]
    from_: Annotated[time, BeforeValidator(start_clock)] = Field(alias="from")
    to: Annotated[time, BeforeValidator(end_clock)]

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: list[Weekday]) -> list[Weekday]:
        if not value:
            raise ValueError(f"list at least one day; {DAYS_HINT}, e.g. [MON, TUE]")
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
