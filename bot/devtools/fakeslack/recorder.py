"""`FakeSlack`: the fake workspace's state and the record of every call made to it.

It holds what a Slack workspace would (users, user groups, channels, messages, ephemeral
messages, views, published Home tabs, response_url posts), the calls the bot made, and the fault
rules for the next calls (`faults`: counted and rate-based; `fake.faulted` lists the calls they
refused). It does no HTTP and knows no Web API method: `methods` implements those
over this state and `server` serves them. Socket Mode (connections, envelopes, acks) lives in
`socket_mode.SocketMode`, as `fake.socket_mode`, with shortcuts here. Everything runs on one event
loop, so no locking.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.devtools.fakeslack import defaults
from bot.devtools.fakeslack.faults import RESPONSE_URL as RESPONSE_URL  # where it always was
from bot.devtools.fakeslack.faults import (
    CountedFault,
    Fault,
    FaultPlan,
    Match,
    RateFaults,
    fault_kind,
    make_fault,
    method_set,
)
from bot.devtools.fakeslack.rate_limits import RateLimits
from bot.devtools.fakeslack.scopes import MANIFEST_BOT_SCOPES
from bot.devtools.fakeslack.socket_mode import SocketAck, SocketMode

JsonDict = dict[str, Any]

# Slack lets a trigger_id open a view only within 3 seconds of the interaction that issued it.
TRIGGER_TTL_SECONDS = 3.0
# "You can use a response_url up to five times within 30 minutes" (Slack's guide to handling
# user interaction, "Message responses"); after that Slack answers `used_url`/`expired_url`.
RESPONSE_URL_USES, RESPONSE_URL_TTL_SECONDS = 5, 30 * 60
# Errors that mean the app sent what Slack refuses by rule (not a state of the workspace, like a
# channel it is not in): a test whose bot meets one fails (see `violations`).
RULE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "msg_blocks_too_long",
        "msg_too_long",
        "invalid_arguments",
        "invalid_attachments",
        "invalid_metadata_format",
        "missing_scope",
        "no_text",
        "exchanged_trigger_id",
        "used_url",
        "invalid_payload",
    }
)
# Every FakeSlack made since the list was last cleared: tests/conftest.py fails a test whose
# fakes saw the bot break one of Slack's rules.
CREATED: list[FakeSlack] = []


@dataclass(frozen=True)
class SlackCall:
    """One Web API call as the fake received it, and how it answered."""

    method: str
    args: JsonDict  # query string, form and JSON body merged; JSON-encoded blocks/views decoded
    token: str | None
    time: float
    ok: bool = True
    error: str | None = None
    status: int = 200
    faulted: bool = False  # refused by a fault rule (see `faults`): Slack did nothing


@dataclass(frozen=True)
class ResponsePost:
    """One post to a response_url the fake issued."""

    token: str
    channel: str
    user: str
    body: JsonDict
    time: float

    @property
    def response_type(self) -> str:
        return str(self.body.get("response_type") or "ephemeral")

    @property
    def replace_original(self) -> bool:
        return truthy(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        return truthy(self.body.get("delete_original"))

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def blocks(self) -> list[JsonDict]:
        blocks = self.body.get("blocks")
        return list(blocks) if isinstance(blocks, list) else []


@dataclass
class SlackUser:
    id: str
    name: str
    email: str | None = None
    is_bot: bool = False
    real_name: str = ""
    tz: str = "UTC"
    deleted: bool = False


@dataclass
class SlackChannel:
    id: str
    name: str
    is_im: bool = False
    is_mpim: bool = False
    is_private: bool = False
    is_member: bool = True  # whether the bot is in it (posting elsewhere is `not_in_channel`)
    is_archived: bool = False  # archived: posting and joining are `is_archived`
    members: set[str] | None = None  # None: everybody in the workspace
    user: str | None = None  # the other party of a DM
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class StoredMessage:
    channel: str
    ts: str
    text: str
    blocks: list[JsonDict]
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    attachments: list[JsonDict] = field(default_factory=list)
    metadata: JsonDict | None = None
    edited: bool = False

    def as_slack(self) -> JsonDict:
        """The message as Slack renders it in payloads (`message` of a block_actions payload)."""
        out: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class EphemeralMessage:
    """A message only `user` sees; Slack keeps no copy the API can read back, the fake does."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JsonDict]
    thread_ts: str | None = None


@dataclass
class StoredView:
    """A modal or Home view as Slack last answered it (`view` is the full view object)."""

    id: str
    user_id: str | None
    view: JsonDict

    @property
    def hash(self) -> str:
        return str(self.view["hash"])

    @property
    def type(self) -> str:
        return str(self.view["type"])

    @property
    def blocks(self) -> list[JsonDict]:
        return list(self.view.get("blocks") or [])

    @property
    def external_id(self) -> str:
        return str(self.view.get("external_id") or "")


@dataclass
class ResponseUrl:
    token: str
    channel: str
    user: str
    message_ts: str | None  # the message the interaction came from, for replace/delete_original
    issued: float = field(default_factory=time.monotonic)
    uses: int = 0


@dataclass(frozen=True)
class Violation:
    """A call Slack refused because the app broke one of its rules (`RULE_ERRORS`)."""

    method: str
    error: str
    details: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method}: {self.error} {'; '.join(self.details)}".strip()


@dataclass
class _Trigger:
    issued: float
    user_id: str | None
    used: bool = False


class FakeSlack:
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

        self.fault_plan = FaultPlan()
        self._waiters: set[asyncio.Event] = set()  # one per pending wait_for
        self._triggers: dict[str, _Trigger] = {}
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

    # --- interaction handles: trigger ids and response_urls -------------------------------------

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id as an interaction payload carries; views.open/push accept it once, 3 s."""
        trigger_id = f"{self._next_serial()}.{int(time.time())}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(time.monotonic(), user_id)
        return trigger_id

    def redeem_trigger(self, trigger_id: str) -> tuple[str | None, str | None]:
        """Use a trigger_id: (the user it was issued for, None) or (None, Slack's error code)."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return None, "invalid_trigger_id"
        if trigger.used:
            return None, "exchanged_trigger_id"
        if time.monotonic() - trigger.issued > self.trigger_ttl:
            return None, "expired_trigger_id"
        trigger.used = True
        return trigger.user_id, None

    def new_response_url(self, channel: str, user: str, *, message_ts: str | None = None) -> str:
        """A response_url served by the fake (`POST …/response/<token>`).

        `message_ts` names the message the interaction came from, which `replace_original` and
        `delete_original` then act on (a channel message, or an ephemeral one `user` sees).
        """
        token = secrets.token_urlsafe(18)
        self._response_urls[token] = ResponseUrl(token, channel, user, message_ts)
        return f"{self._served_at()}/response/{token}"

    def response_url(self, token: str) -> ResponseUrl | None:
        return self._response_urls.get(token)

    def use_response_url(self, token: str) -> tuple[ResponseUrl | None, str | None]:
        """Count one post to a response_url: (it, None), or (None, Slack's error for it)."""
        url = self._response_urls.get(token)
        if url is None or time.monotonic() - url.issued > RESPONSE_URL_TTL_SECONDS:
            return None, "expired_url"
        if url.uses >= RESPONSE_URL_USES:
            return None, "used_url"
        url.uses += 1
        return url, None

    # --- Socket Mode (details and more in `self.socket_mode`) -----------------------------------

    def socket_mode_url(self, ticket: str) -> str:
        """The WebSocket URL apps.connections.open answers: `ws://…/socket-mode/<ticket>`."""
        served = urlsplit(self._served_at())
        scheme = "wss" if served.scheme == "https" else "ws"
        return urlunsplit((scheme, served.netloc, f"/socket-mode/{ticket}", "", ""))

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self.socket_mode.open_connections)

    async def wait_for_socket(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the call reads best with the limit inline
    ) -> None:
        """Wait until the app has `count` Socket Mode connections open."""
        await self.socket_mode.wait_for_connections(count, timeout)

    async def send_envelope(
        self,
        type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push an envelope (`slash_commands`, `interactive`, `events_api`) to the app.

        `payload` as the `*_payload` builders make it; the envelope_id, to `wait_for_ack` on.
        """
        return await self.socket_mode.send_envelope(
            type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 3.0,  # noqa: ASYNC109 - Slack's own limit, inline reads best
    ) -> SocketAck:
        """The app's ack of the envelope (TimeoutError after `timeout`, Slack's 3 s by default)."""
        return await self.socket_mode.wait_for_ack(envelope_id, timeout)

    # --- the record ------------------------------------------------------------------------------

    def record(self, call: SlackCall, details: Iterable[str] = ()) -> None:
        self.calls.append(call)
        if not call.faulted and call.error in RULE_ERRORS:
            self.violations.append(Violation(call.method, call.error or "", tuple(details)))
        self._wake_waiters()

    def record_fault(self, call: SlackCall) -> None:
        """A call a fault rule refused: in `faulted`, and (Web API calls) in `calls` too."""
        self.faulted.append(call)
        if call.method == RESPONSE_URL:
            self._wake_waiters()
        else:
            self.record(call)

    def calls_to(self, method: str, *, faulted: bool | None = None) -> list[SlackCall]:
        """Every call of `method`, attempts refused by a fault rule included (they are marked
        `faulted`); `faulted=False` keeps the calls that reached the method (which may still
        have answered `ok: false`), `faulted=True` only the refused ones."""
        return [
            c
            for c in self.calls
            if c.method == method and (faulted is None or c.faulted is faulted)
        ]

    def last(self, method: str) -> SlackCall:
        """The latest call to `method`; AssertionError naming what was called if there is none."""
        calls = self.calls_to(method)
        if not calls:
            raise AssertionError(f"no {method} call; calls were: {self._called()}")
        return calls[-1]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the call reads best with the limit inline
    ) -> list[SlackCall]:
        """Wait until `method` has been called `count` times (failed calls count); return them.

        TimeoutError, naming the calls that did arrive, when they do not come in time.
        """
        recorded = asyncio.Event()
        self._waiters.add(recorded)
        try:
            async with asyncio.timeout(timeout):
                while len(self.calls_to(method)) < count:
                    recorded.clear()
                    await recorded.wait()
        except TimeoutError:
            seen = len(self.calls_to(method))
            raise TimeoutError(
                f"waited {timeout}s for {count} {method} call(s), saw {seen}; "
                f"calls were: {self._called()}"
            ) from None
        finally:
            self._waiters.discard(recorded)
        return self.calls_to(method)

    @property
    def waiting(self) -> int:
        """How many callers wait for a call or a change right now (tests see a long-poll park)."""
        return len(self._waiters)

    def changed(self) -> None:
        """The workspace changed other than by a recorded call (a response_url post, a person's
        action in the local Slack): wake whoever waits for a change."""
        self._wake_waiters()

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until the next recorded call or `changed()`, or `timeout` seconds."""
        changed = asyncio.Event()
        self._waiters.add(changed)
        try:
            async with asyncio.timeout(timeout):
                await changed.wait()
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(changed)

    def clear(self) -> None:
        """Forget the recorded calls, faulted calls, response posts, envelopes and acks (the
        state and the fault rules stay)."""
        self.calls.clear()
        self.faulted.clear()
        self.responses.clear()
        self.socket_mode.clear()

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    # --- fault injection (see `faults`) ----------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        times: int | None = 1,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        html: bool | None = None,
        match: Match = None,
    ) -> CountedFault:
        """Answer the next `times` calls of `method` (None: every call until `clear_faults`).

        `status` 429 (the default; `Retry-After: 1` unless `retry_after` says otherwise), 500,
        503 …; `error` alone is HTTP 200 with `ok: false`; `delay` alone answers that late and
        refuses nothing. `match` limits the rule to calls whose arguments contain those items
        (or that a predicate accepts). "response_url" as `method` fails response_url posts.
        The rule (its `hits`, `remaining`) is returned.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")
        fault = make_fault(
            status=status, error=error, retry_after=retry_after, delay=delay, html=html
        )
        rule = CountedFault(method_set(method), match, fault=fault, remaining=times)
        self.fault_plan.add(rule)
        return rule

    def faults(
        self,
        *,
        rate: float,
        kinds: Iterable[int | str] = (429, 500),
        seed: int | None = None,
        methods: str | Iterable[str] | None = None,
        retry_after: int = 1,
        delay: float = 0.0,
        max_per_request: int | None = None,
        match: Match = None,
    ) -> RateFaults:
        """Fail a share `rate` of the calls of `methods` (None: every Web API method), each as
        one of `kinds` (HTTP statuses, or error codes answered with HTTP 200), from an RNG
        seeded with `seed`. `max_per_request`: refuse one request (method and arguments, as a
        client's retries repeat them) at most that many times. The rule is returned."""
        rule = RateFaults(
            method_set(methods),
            match,
            rate=rate,
            kinds=tuple(fault_kind(k, retry_after=retry_after, delay=delay) for k in kinds),
            seed=seed,
            max_per_request=max_per_request,
        )
        self.fault_plan.add(rule)
        return rule

    def clear_faults(self, method: str | None = None) -> None:
        """Drop every fault rule, or those naming `method`: Slack is healthy again."""
        self.fault_plan.clear(method)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (use "response_url" for response posts).

        The default is Slack's rate limit: HTTP 429, `Retry-After: 1`, `{"ok":false,
        "error":"ratelimited"}`. `status=200` gives an ordinary `ok: false` answer with `error`.
        (The older spelling of `fail`: `Retry-After` goes with 429 and 503 only, JSON bodies.)
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self.fail(
            method,
            times=times,
            status=status,
            error=error,
            retry_after=retry_after if status in (429, 503) else None,
            html=False,
        )

    def take_fault(self, method: str, args: JsonDict | None = None) -> Fault | None:
        """How the next call of `method` (with `args`) must be answered, if a rule says so."""
        return self.fault_plan.take(method, args)

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

    def _called(self) -> str:
        return ", ".join(c.method for c in self.calls) or "none"


def truthy(value: Any) -> bool:
    """A flag as Slack reads it from JSON (`true`) or from a form (`"true"`, `"1"`)."""
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)
