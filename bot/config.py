"""The operations file (`convbot.yml`), validated at start-up; each error names its path and fix.

Its sections as models; reading the file (bounds, YAML) is bot/config_file.py."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bot.config_values import PriorityValue, StatusValue, TimeZoneName, listed, queue_names
from bot.durations import Duration, RetentionPeriod, format_duration
from bot.field_rules import TagName
from bot.identifiers import CONFIG_NAME, POSTABLE_CHANNEL_ID, USERGROUP_ID, UsergroupId, UserId
from bot.models import (
    ACTIVE_STATUSES,
    AgentRole,
    AgentStatus,
    AutoAssignment,
    ConversationFilter,
    OrderBy,
    Priority,
    RuleMatch,
)
from bot.oncall.config import OncallConfig
from bot.schedules import check_cron
from bot.threads_config import ThreadsConfig

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}$")


class _Section(BaseModel):
    # A misspelt key must fail loudly, not be ignored and silently change behaviour.
    model_config = ConfigDict(extra="forbid")


class AgentSeed(_Section):
    id: str
    name: str
    email: str | None = None
    status: AgentStatus = AgentStatus.ACTIVE
    role: AgentRole = AgentRole.AGENT
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("ids are letters, digits, '.', '_', ':', '@' or '-', up to 255")
        return value


class QueueSeed(_Section):
    id: str
    name: str
    agents: list[str] = Field(default_factory=list)
    auto_assignment: AutoAssignment | None = None


class RoutingRuleSeed(_Section):
    name: str
    queue: str
    priority: Priority | None = None
    enabled: bool = True
    match: RuleMatch = Field(default_factory=RuleMatch)


class LocalSeed(_Section):
    """Agents, queues and routing rules of the embedded backend."""

    agents: list[AgentSeed] = Field(default_factory=list)
    queues: list[QueueSeed] = Field(default_factory=list)
    routing: list[RoutingRuleSeed] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_exist(self) -> LocalSeed:
        _unique("local.agents ids", [agent.id for agent in self.agents])
        _unique("local.queues ids", [queue.id for queue in self.queues])
        _unique("local.queues names", [queue.name.casefold() for queue in self.queues])
        agent_ids = {agent.id for agent in self.agents}
        queue_ids = {queue.id for queue in self.queues}
        for queue in self.queues:
            _unique(f"agents of queue '{queue.id}'", queue.agents)
            for agent in queue.agents:
                if agent not in agent_ids:
                    raise ValueError(
                        f"queue '{queue.id}' lists agent '{agent}', which is not under local.agents"
                    )
        for rule in self.routing:
            if rule.queue not in queue_ids:
                raise ValueError(
                    f"routing rule '{rule.name}' sends to queue '{rule.queue}', "
                    "which is not under local.queues"
                )
        return self


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} must be unique: '{value}' appears twice; remove one")
        seen.add(value)


Action = Literal[
    "create",
    "update",
    "assign",
    "route",
    "tag",
    "close",
    "escalate",
    "acknowledge",
    "digest",
    "reply",
    "note",
]


class Permission(_Section):
    """Who may do one action: these Slack users and the members of these user groups."""

    users: list[UserId] = Field(default_factory=list)
    usergroups: list[UsergroupId] = Field(default_factory=list)


# --- digests -----------------------------------------------------------------------------------

DIGEST_ITEMS_MAX = 40


class DigestFilter(_Section):
    """Which conversations a digest shows; queues by name or id, resolved when it runs."""

    status: Annotated[list[StatusValue], BeforeValidator(listed)] = Field(
        default_factory=lambda: list(ACTIVE_STATUSES)
    )
    priority: Annotated[list[PriorityValue], BeforeValidator(listed)] = Field(
        default_factory=lambda: [Priority.URGENT, Priority.HIGH]
    )
    queue: Annotated[list[str], BeforeValidator(listed)] = Field(default_factory=list)
    tags: Annotated[list[TagName], BeforeValidator(listed)] = Field(default_factory=list)

    @field_validator("status", "priority")
    @classmethod
    def _not_empty(cls, value: list[StrEnum]) -> list[StrEnum]:
        if not value:
            raise ValueError("list at least one value, or remove the key for the default")
        return list(dict.fromkeys(value))

    @field_validator("queue")
    @classmethod
    def _queue_names(cls, value: list[str]) -> list[str]:
        return queue_names(value)

    @field_validator("tags")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class DigestSchedule(_Section):
    """One scheduled digest: where it goes, when (cron or every, in a time zone), and what."""

    name: str
    channel: str
    cron: str | None = None
    every: Duration | None = None
    timezone: TimeZoneName = "UTC"
    filter: DigestFilter = Field(default_factory=DigestFilter)
    max_items: int = Field(default=15, ge=1, le=DIGEST_ITEMS_MAX)
    skip_if_empty: bool = True
    mention: str | None = None  # a user group pinged when URGENT items exist
    edit_in_place: bool = False  # one message per channel, edited at each tick

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not CONFIG_NAME.fullmatch(value):
            raise ValueError(
                f"'{value[:40]}' is not a usable name; use 1-64 letters, digits, '-' or '_',"
                " e.g. support-high"
            )
        return value

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        if not POSTABLE_CHANNEL_ID.fullmatch(value):
            hint = " (that is a name)" if value.startswith("#") else ""
            raise ValueError(
                f"'{value[:40]}' is not a Slack channel id{hint}; use the id that starts with C,"
                " G or D (channel details → About, at the bottom), e.g. C0123456789"
            )
        return value

    @field_validator("mention")
    @classmethod
    def _usergroup_id(cls, value: str | None) -> str | None:
        if value is not None and not USERGROUP_ID.fullmatch(value):
            raise ValueError(
                f"'{value[:40]}' is not a Slack user group id; use the id that starts with S,"
                " e.g. S0ONCALL, or remove mention"
            )
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @model_validator(mode="after")
    def _one_timing(self) -> DigestSchedule:
        if self.cron is not None and self.every is not None:
            raise ValueError(
                "has both cron and every; keep cron for wall-clock times (e.g. weekdays at"
                " 09:00) or every for a fixed interval, and remove the other"
            )
        if self.cron is None and self.every is None:
            raise ValueError(
                'says not when to run; add cron: (e.g. "0 9 * * MON-FRI") or every: (e.g. 30m)'
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def when(self) -> str:
        """`cron 0 9 * * MON-FRI (Europe/Zagreb)` or `every 30 min`: for listings."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        return f"every {format_duration(self.every or timedelta(0))}"

    def to_filter(self, queue_ids: list[str]) -> ConversationFilter:
        """The backend query: this digest's statuses, priorities and tags, the resolved queues.

        Oldest first, one page of `max_items`; the caller resolves `filter.queue` names to ids.
        """
        return ConversationFilter(
            statuses=list(self.filter.status),
            priorities=list(self.filter.priority),
            queueIds=list(dict.fromkeys(queue_ids)),
            tags=list(self.filter.tags),
            orderBy=OrderBy(field="createdAt", direction="asc"),
            limit=self.max_items,
        )


class SchedulerConfig(_Section):
    # A tick that could not start on time still runs if it is at most this late, else it is
    # skipped (APScheduler's misfire_grace_time).
    misfire_grace: Duration = timedelta(minutes=10)
    # How often each replica looks for due escalation steps and auto-escalation rules: a page is
    # sent at most this late.
    escalation_sweep: Duration = timedelta(seconds=15)
    # A digest tick whose replica stopped (crashed, was killed) after claiming it and before
    # asking Slack to post is taken over by another replica, or by the restarted bot, this long
    # after the claim. A live replica slower than this loses the tick to the one taking over
    # and does not post it (bot/state/ticks.py), so it is a delay, never a duplicate.
    tick_lease: Duration = timedelta(minutes=1)

    @field_validator("tick_lease")
    @classmethod
    def _lease_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(hours=1):
            raise ValueError("must be between 1s and 1h, e.g. 1m")
        return value

    @field_validator("escalation_sweep")
    @classmethod
    def _sweep_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=5):
            raise ValueError("must be between 1s and 5m, e.g. 15s")
        return value

    @property
    def misfire_grace_seconds(self) -> int:
        return int(self.misfire_grace.total_seconds())


class RetentionConfig(_Section):
    """How long the state database keeps what grows with use; older rows are dropped by an hourly
    housekeeping job on every replica (bot/state/retention.py). At least a day each."""

    audit_log: RetentionPeriod = timedelta(days=365)  # who did what, refusals included
    job_ticks: RetentionPeriod = timedelta(
        days=30
    )  # digest and hand-off tick claims (a job's last kept)
    escalations: RetentionPeriod = timedelta(days=90)  # ended escalations and their pages
    # Posted digests whose buttons still redraw; a row holds the drawn blocks (up to ~12 kB),
    # so a digest every minute keeps ~10,000 of them a week.
    digest_posts: RetentionPeriod = timedelta(days=7)
    # Threads of closed conversations (and of cards deleted from Slack), after they retired.
    threads: RetentionPeriod = timedelta(days=30)

    @field_validator("audit_log", "job_ticks", "escalations", "digest_posts", "threads")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):
            raise ValueError("must be at least 1d, e.g. 90d")
        return value


class OpsConfig(_Section):
    # Slack user id (or `cli:<os user>`) → agent id: who "me" is.
    agents: dict[str, str] = Field(default_factory=dict)
    local: LocalSeed = Field(default_factory=LocalSeed)
    # An action that is absent here is open to everyone.
    permissions: dict[Action, Permission] = Field(default_factory=dict)
    digests: list[DigestSchedule] = Field(default_factory=list)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    oncall: OncallConfig = Field(default_factory=OncallConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    threads: ThreadsConfig = Field(default_factory=ThreadsConfig)

    @field_validator("digests")
    @classmethod
    def _unique_digest_names(cls, value: list[DigestSchedule]) -> list[DigestSchedule]:
        # Names become job ids and command arguments: unique regardless of case.
        first: dict[str, int] = {}
        for index, digest in enumerate(value):
            earlier = first.setdefault(digest.name.casefold(), index)
            if earlier != index:
                raise ValueError(
                    f"digests[{index}].name '{digest.name}' repeats digests[{earlier}].name;"
                    " names must be unique, rename one"
                )
        return value
