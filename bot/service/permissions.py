"""Who may do what: the `permissions:` section of convbot.yml, checked before any backend call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    "reply": "reply to customers",
    "note": "add notes to conversations",
}


class GroupDirectory(Protocol):
    """Resolves a user group to its members (Slack's usergroups.users.list, cached)."""

    async def members(self, group_id: str) -> set[str]: ...


# The shell already has the bot's credentials; "rule" is the bot itself acting on a convbot.yml
# rule (auto-escalation), which whoever wrote the file allowed.
TRUSTED_SURFACES = ("cli", "rule")

# (actor id, action) pairs already decided for the press or form being answered (`decided`).
_DECIDED: ContextVar[frozenset[tuple[str, Action]]] = ContextVar("decided", default=frozenset())


@contextmanager
def decided(actor: Actor, action: Action) -> Iterator[None]:
    """Within the block, `actor` may do `action` without the policy being asked again: a press
    is allowed once, before its claim is taken, and the service calls it then makes are that
    same decision (asked twice, a user group's members could change in between). Only for a
    caller whose `ConversationService.authorize` for this actor and action just passed."""
    token = _DECIDED.set(_DECIDED.get() | {(actor.id, action)})
    try:
        yield
    finally:
        _DECIDED.reset(token)


class PermissionPolicy:
    def __init__(self, rules: dict[Action, Permission], groups: GroupDirectory | None) -> None:
        self._rules = rules
        self._groups = groups

    async def check(self, actor: Actor, action: Action) -> None:
        """Raise Forbidden unless `actor` may do `action`. The shell is trusted: it already has
        the credentials the bot has."""
        if (actor.id, action) in _DECIDED.get():
            return
        rule = self._rules.get(action)
        if rule is None or actor.surface in TRUSTED_SURFACES or actor.id in rule.users:
            return
        for group in rule.usergroups:
            if self._groups is not None and actor.id in await self._groups.members(group):
                return
        raise NotAllowed(action, rule)


Mention = Callable[[str], str]


def _plainly(user_or_group_id: str) -> str:
    return "@" + user_or_group_id


class NotAllowed(Forbidden):
    """Forbidden, naming whom to ask: their ids, which each surface draws its own way (Slack
    mentions them, bot/slack/blocks/messages.py). `str()` names them plainly (`@U123`)."""

    def __init__(self, action: Action, rule: Permission) -> None:
        self.action = action
        self.users = list(rule.users)
        self.usergroups = list(rule.usergroups)
        super().__init__(self.sentence(_plainly, _plainly))

    def sentence(self, user: Mention, group: Mention) -> str:
        """The refusal with each user and user group written by `user` and `group`."""
        people = [user(u) for u in self.users] + [group(g) for g in self.usergroups]
        who = ", ".join(people[:5]) or "an admin to add you under `permissions:` in convbot.yml"
        return f"You can't {_VERBS[self.action]} here — ask {who}."
