"""`FakeSlack`: the fake workspace's state and the record of every call made to it.

It holds what a Slack workspace would (users, user groups, channels, messages, ephemeral
messages, views, published Home tabs, response_url posts, in records.py), the calls the bot made
(call_log.py), the fault rules for the next calls (fault_controls.py over faults.py: counted
and rate-based; `fake.faulted` lists the calls they refused), and the trigger_ids and
response_urls it issued (interaction_handles.py). It does no HTTP and knows no Web API method:
`methods` implements those over this state and `server` serves them. Socket Mode (connections,
envelopes, acks) lives in `socket_mode.SocketMode`, as `fake.socket_mode`, with shortcuts in
socket_mode_shortcuts.py. Everything runs on one event loop, so no locking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from bot.devtools.fakeslack import defaults
from bot.devtools.fakeslack.call_log import CallLog
from bot.devtools.fakeslack.fault_controls import FaultControls
from bot.devtools.fakeslack.faults import SlackFaultRules
from bot.devtools.fakeslack.interaction_handles import TRIGGER_TTL_SECONDS, InteractionHandles
from bot.devtools.fakeslack.rate_limits import RateLimits
from bot.devtools.fakeslack.records import (
    EphemeralMessage,
    JsonDict,
    ResponsePost,
    ResponseUrl,
    SlackCall,
    SlackChannel,
    SlackUser,
    StoredMessage,
    StoredView,
    Violation,
)
from bot.devtools.fakeslack.scopes import MANIFEST_BOT_SCOPES
from bot.devtools.fakeslack.socket_mode import SocketMode
from bot.devtools.fakeslack.socket_mode_shortcuts import SocketModeShortcuts

# Every FakeSlack made since the list was last cleared: tests/conftest.py fails a test whose
# fakes saw the bot break one of Slack's rules.
CREATED: list[FakeSlack] = []


class FakeSlack(CallLog, FaultControls, InteractionHandles, SocketModeShortcuts):
    """An in-memory Slack workspace that records every call the bot makes."""

    def __init__(
        self,
        *,
        team_id: str = defaults.TEAM_ID,
        team_name: str = defaults.TEAM_NAME,
        team_domain: str = defaults.TEAM_DOMAIN,
        app_id: str = defaults.APP_ID,
        bot_user_id: str = defaults.BOT_USER_ID,
        bot_id: str = defaults.BOT_ID,
        bot_name: str = defaults.BOT_NAME,
        accepted_tokens: Iterable[str] | None = None,
        accepted_app_tokens: Iterable[str] | None = None,
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
        scopes: Iterable[str] = MANIFEST_BOT_SCOPES,
        rate_limits: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        # None: any `xox…` token is valid; otherwise only these (others are `invalid_auth`).
        self.accepted_tokens = set(accepted_tokens) if accepted_tokens is not None else None
        # The same for app-level tokens (`xapp-…`), the only ones apps.connections.open takes.
        self.accepted_app_tokens = (
            set(accepted_app_tokens) if accepted_app_tokens is not None else None
        )
        self.trigger_ttl = trigger_ttl
        # The bot token's OAuth scopes: a method they do not cover answers `missing_scope`.
        self.scopes = frozenset(scopes)
        # Slack's per-method and per-channel rate limits (429 and Retry-After when exceeded).
        self.rate_limits = RateLimits(enabled=rate_limits)
        # Seconds added before each answer (Web API and response_url alike).
        self.latency: float = 0.0
        # Where the fake is served (`http://127.0.0.1:PORT`); set by `serve_fake_slack`.
        self.base_url: str | None = None

        self.calls: list[SlackCall] = []
        # Every call a fault rule refused, Web API (also in `calls`) and response_url alike.
        self.faulted: list[SlackCall] = []
        self.responses: list[ResponsePost] = []
        self.users: dict[str, SlackUser] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.usergroup_handles: dict[str, str] = {}  # Slack draws `<!subteam^S…>` as @handle
        self.channels: dict[str, SlackChannel] = {}
        self.messages: dict[tuple[str, str], StoredMessage] = {}
        self.ephemeral: list[EphemeralMessage] = []
        self.views: dict[str, StoredView] = {}
        self.home_views: dict[str, StoredView] = {}
        self.closed_views: set[str] = set()  # modals a person closed: gone to views.update
        # Calls Slack refused because the bot broke one of its rules; a test expecting one clears
        # this after checking it, else tests/conftest.py fails the test.
        self.violations: list[Violation] = []
        self.socket_mode = SocketMode(app_id)

        self.fault_rules = SlackFaultRules()
        self._waiters: set[asyncio.Event] = set()  # one per pending wait_for
        self._triggers = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._serial = 0
        self._last_ts_us = 0
        self.add_user(bot_user_id, bot_name, is_bot=True)
        CREATED.append(self)

    # --- the workspace -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What `SLACK_API_URL` (and slack_sdk's `base_url`) must be: `…/api/`."""
        return f"{self._served_at()}/api/"

    def add_user(
        self,
        id: str,
        name: str,
        email: str | None = None,
        is_bot: bool = False,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        deleted: bool = False,
    ) -> SlackUser:
        user = SlackUser(id, name, email, is_bot, real_name or name, tz, deleted)
        self.users[id] = user
        return user

    def add_usergroup(self, id: str, members: Iterable[str], handle: str | None = None) -> None:
        self.usergroups[id] = list(members)
        if handle:
            self.usergroup_handles[id] = handle

    def add_channel(
        self,
        id: str,
        name: str | None = None,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
    ) -> SlackChannel:
        channel = SlackChannel(
            id,
            name or id.lower(),
            is_private=is_private,
            is_member=is_member,
            is_archived=is_archived,
            members=set(members) if members is not None else None,
        )
        self.channels[id] = channel
        return channel

    def find_channel(self, ref: str) -> SlackChannel | None:
        """A channel by id, or by name (`#general` or `general`), as chat.postMessage accepts."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def dm_with(self, user_id: str) -> tuple[SlackChannel, bool]:
        """The bot's DM with a user, opened if needed; and whether it was already open."""
        for channel in self.channels.values():
            if channel.is_im and channel.user == user_id:
                return channel, True
        channel_id = "D" + user_id[1:]
        channel = SlackChannel(
            channel_id, channel_id, is_im=True, members={user_id, self.bot_user_id}, user=user_id
        )
        self.channels[channel_id] = channel
        return channel, False

    def user_by_email(self, email: str) -> SlackUser | None:
        wanted = email.casefold()
        return next(
            (u for u in self.users.values() if u.email and u.email.casefold() == wanted), None
        )

    # --- messages --------------------------------------------------------------------------------

    def store_message(
        self,
        channel: str,
        *,
        text: str = "",
        blocks: list[JsonDict] | None = None,
        user: str | None = None,
        thread_ts: str | None = None,
        attachments: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
    ) -> StoredMessage:
        """Store a new message (from the bot unless `user` says otherwise) with a fresh ts."""
        author = user or self.bot_user_id
        message = StoredMessage(
            channel=channel,
            ts=self.next_ts(),
            text=text,
            blocks=list(blocks or []),
            user=author,
            bot_id=self.bot_id if author == self.bot_user_id else None,
            thread_ts=thread_ts,
            attachments=list(attachments or []),
            metadata=metadata,
        )
        self.messages[(channel, message.ts)] = message
        return message

    def message(self, channel: str, ts: str) -> StoredMessage | None:
        return self.messages.get((channel, ts))

    def messages_in(self, channel: str) -> list[StoredMessage]:
        """A channel's messages, oldest first."""
        found = [m for (c, _), m in self.messages.items() if c == channel]
        return sorted(found, key=lambda m: _ts_key(m.ts))

    def delete_message(self, channel: str, ts: str) -> StoredMessage | None:
        return self.messages.pop((channel, ts), None)

    def store_ephemeral(
        self,
        channel: str,
        user: str,
        *,
        text: str = "",
        blocks: list[JsonDict] | None = None,
        thread_ts: str | None = None,
    ) -> EphemeralMessage:
        message = EphemeralMessage(
            channel, user, self.next_ts(), text, list(blocks or []), thread_ts
        )
        self.ephemeral.append(message)
        return message

    def ephemeral_for(self, user: str, channel: str | None = None) -> list[EphemeralMessage]:
        """The ephemeral messages `user` sees (in `channel`, if given), oldest first."""
        return [
            m
            for m in self.ephemeral
            if m.user == user and (channel is None or m.channel == channel)
        ]

    def find_ephemeral(self, channel: str, ts: str) -> EphemeralMessage | None:
        return next((m for m in self.ephemeral if m.channel == channel and m.ts == ts), None)

    # --- views -----------------------------------------------------------------------------------

    def save_view(self, view: StoredView) -> None:
        self.views[view.id] = view
        if view.type == "home" and view.user_id is not None:
            self.home_views[view.user_id] = view

    def view_by_external_id(self, external_id: str) -> StoredView | None:
        return next((v for v in self.views.values() if v.external_id == external_id), None)

    def home_view(self, user_id: str) -> StoredView | None:
        return self.home_views.get(user_id)

    def open_view(self, view_id: str) -> StoredView | None:
        """A view still open: Slack answers `not_found` for one its person has closed."""
        return None if view_id in self.closed_views else self.views.get(view_id)

    def close_view(self, view_id: str) -> StoredView | None:
        """The person closed a modal (Cancel, the close icon, or a submission that closed it),
        and every modal pushed above it; the closed view, or None if it was not open."""
        view = self.open_view(view_id)
        if view is None:
            return None
        root = view.view.get("root_view_id")
        stack = [v for v in self.views.values() if v.view.get("root_view_id") == root]
        above = stack[stack.index(view) :] if view in stack else [view]
        self.closed_views.update(v.id for v in above)
        self.changed()
        return view

    # --- ids -------------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts (`seconds.micros`), strictly increasing across the workspace."""
        now_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{self._next_serial():09d}"

    def new_hash(self) -> str:
        return f"{int(time.time())}.{self._next_serial():08d}"

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _served_at(self) -> str:
        if self.base_url is None:
            raise RuntimeError(
                "the fake is not served yet: use `async with serve_fake_slack(fake)` "
                "or set fake.base_url"
            )
        return self.base_url.rstrip("/")


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)
