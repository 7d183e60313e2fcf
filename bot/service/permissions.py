"""Who may do what: the `permissions:` section of convbot.yml, checked before any backend call."""

from __future__ import annotations

from collections.abc import Callable
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
    "acknowledge": "acknowledge escalations",
    "digest": "post digests",
}


class GroupDirectory(Protocol):
    """Resolves a user group to its members (Slack's usergroups.users.list, cached)."""

    async def members(self, group_id: str) -> set[str]: ...


# The shell already has the bot's credentials; "rule" is the bot itself acting on a convbot.yml
# rule (auto-escalation), which whoever wrote the file allowed.
TRUSTED_SURFACES = ("cli", "rule")


class PermissionPolicy:
    def __init__(self, rules: dict[Action, Permission], groups: GroupDirectory | None) -> None:
        self._rules = rules
        self._groups = groups

    async def check(self, actor: Actor, action: Action) -> None:
        """Raise Forbidden unless `actor` may do `action`. The shell is trusted: it already has
        the credentials the bot has."""
        rule = self._rules.get(action)
        if rule is None or actor.surface in TRUSTED_SURFACES or actor.id in rule.users:
            return
        for group in rule.usergroups:
            if self._groups is not None and actor.id in await self._groups.members(group):
                return
        raise NotAllowed(action, rule)


Mention = Callable[[str], str]


class NotAllowed(Forbidden):
    """Forbidden, naming whom to ask, so a surface can draw them as it mentions people."""

    def __init__(self, action: Action, rule: Permission) -> None:
        self.action = action
        self.users = list(rule.users)
        self.usergroups = list(rule.usergroups)
        super().__init__(self.sentence(lambda user: f"<@{user}>", lambda g: f"<!subteam^{g}>"))

    def sentence(self, user: Mention, group: Mention) -> str:
        """The refusal with each user and user group written by `user` and `group`."""
        people = [user(u) for u in self.users] + [group(g) for g in self.usergroups]
        who = ", ".join(people[:5]) or "an admin to add you under `permissions:` in convbot.yml"
        return f"You can't {_VERBS[self.action]} here — ask {who}."
