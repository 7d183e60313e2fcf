"""Who may do what: the `permissions:` section of convbot.yml, checked before any backend call."""

from __future__ import annotations

from typing import Protocol

from bot.config import Action, Permission
from bot.errors import Forbidden
from bot.models import Actor

_VERBS: dict[Action, str] = {
    "create": "create conversations",
    "update": "change conversations",
    "assign": "assign conversations",
    "route": "route conversations",
    "tag": "tag conversations",
    "close": "close conversations",
    "escalate": "escalate conversations",
    "digest": "post digests",
}


class GroupDirectory(Protocol):
    """Resolves a user group to its members (Slack's usergroups.users.list, cached)."""

    async def members(self, group_id: str) -> set[str]: ...


class PermissionPolicy:
    def __init__(self, rules: dict[Action, Permission], groups: GroupDirectory | None) -> None:
        self._rules = rules
        self._groups = groups

    async def check(self, actor: Actor, action: Action) -> None:
        """Raise Forbidden unless `actor` may do `action`. The shell is trusted: it already has
        the credentials the bot has."""
        rule = self._rules.get(action)
        if rule is None or actor.surface == "cli" or actor.id in rule.users:
            return
        for group in rule.usergroups:
            if self._groups is not None and actor.id in await self._groups.members(group):
                return
        raise Forbidden(f"You can't {_VERBS[action]} here — ask {_who(rule)}.")


def _who(rule: Permission) -> str:
    people = [f"<@{user}>" for user in rule.users] + [f"<!subteam^{g}>" for g in rule.usergroups]
    return ", ".join(people[:5]) or "an admin to add you under `permissions:` in convbot.yml"
