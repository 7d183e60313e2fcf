"""The operations file (`convbot.yml`), validated at start-up; each error names its path and fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import InvalidInput
from bot.models import AgentRole, AgentStatus, AutoAssignment, Priority, RuleMatch

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


Action = Literal["create", "update", "assign", "route", "tag", "close", "escalate", "digest"]
ACTIONS: tuple[Action, ...] = get_args(Action)


class Permission(_Section):
    """Who may do one action: these Slack users and the members of these user groups."""

    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)


class OpsConfig(_Section):
    # Slack user id (or `cli:<os user>`) → agent id: who "me" is.
    agents: dict[str, str] = Field(default_factory=dict)
    local: LocalSeed = Field(default_factory=LocalSeed)
    # An action that is absent here is open to everyone.
    permissions: dict[Action, Permission] = Field(default_factory=dict)


def load_config(path: str | Path) -> OpsConfig:
    """Read and validate the file; a missing file means the defaults."""
    file = Path(path)
    if not file.exists():
        return OpsConfig()
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InvalidInput(f"{file} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise InvalidInput(f"{file} must be a mapping of sections (agents:, local:, …).")
    try:
        return OpsConfig.model_validate(raw)
    except ValidationError as error:
        raise InvalidInput(f"{file} has errors:\n" + describe_errors(error)) from error


def describe_errors(error: ValidationError) -> str:
    """One line per problem: its YAML path, what is wrong, and what to write instead."""
    lines = []
    for problem in error.errors():
        path = _yaml_path(problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        elif problem["type"] == "missing":
            message = "required; add it"
        lines.append(f"  {path or '(top level)'}: {message}")
    return "\n".join(lines)


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
