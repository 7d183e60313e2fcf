"""Which OAuth scope each Web API method needs, as each method's reference page lists it.

A call the bot token's scopes do not cover is refused with `missing_scope`, naming the scope
`needed` and the ones `provided` (docs.slack.dev/reference/methods/<method>, "Required scopes",
and the `missing_scope` error there). The fake's token has the scopes of convbot's
`manifest.yml` unless a test gives others (`tests/test_manifest.py` keeps the two the same), so a
method the app was never granted fails in a test as it would after installing the app.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.records import JsonDict, SlackChannel


class Workspace(Protocol):
    """What a scope depends on: the workspace's channels (FakeSlack has them; the recorder
    imports this module for the manifest's scopes, so it is not imported back)."""

    @property
    def channels(self) -> Mapping[str, SlackChannel]: ...


# The bot scopes of convbot's manifest.yml (oauth_config.scopes.bot).
MANIFEST_BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "channels:history",
    "groups:history",
    "reactions:write",
)

# Methods that need no scope at all: auth.test, chat.getPermalink, the views.* methods (a
# trigger_id or the app's own views are the permission).
_FIXED: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "conversations.join": "channels:join",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "usergroups.users.list": "usergroups:read",
    "team.info": "team:read",
    "reactions.add": "reactions:write",
}


def _reading(channel: SlackChannel) -> str:
    """conversations.info: one read scope per kind of conversation."""
    if channel.is_im:
        return "im:read"
    if channel.is_mpim:
        return "mpim:read"
    return "groups:read" if channel.is_private else "channels:read"


def _opening(fake: Workspace, args: JsonDict) -> str | None:
    """conversations.open: `im:write` for a DM, `mpim:write` for a group DM."""
    users = [u for u in str(args.get("users") or "").split(",") if u.strip()]
    return "mpim:write" if len(users) > 1 else "im:write"


def _info(fake: Workspace, args: JsonDict) -> str | None:
    channel = fake.channels.get(str(args.get("channel") or ""))
    return None if channel is None else _reading(channel)


def _history(fake: Workspace, args: JsonDict) -> str | None:
    """conversations.replies: one history scope per kind of conversation."""
    channel = fake.channels.get(str(args.get("channel") or ""))
    return None if channel is None else _reading(channel).replace(":read", ":history")


_BY_CHANNEL: dict[str, Callable[[Workspace, JsonDict], str | None]] = {
    "conversations.open": _opening,
    "conversations.info": _info,
    "conversations.replies": _history,
}


def check_scope(fake: Workspace, method: str, args: JsonDict, granted: Collection[str]) -> None:
    """Refuse the call as Slack does when the token lacks the scope the method needs."""
    needed = _FIXED.get(method)
    if needed is None and method in _BY_CHANNEL:
        needed = _BY_CHANNEL[method](fake, args)
    if needed is not None and needed not in granted:
        raise SlackRefusal(
            "missing_scope", fields={"needed": needed, "provided": ",".join(sorted(granted))}
        )
