"""The Infobip Conversations API over HTTP (`/ccaas/1/...`), as a `ConversationBackend`.

This module only reports what Infobip said, in our models and our error types; the service layer
decides. The API key lives in the client's default headers and nowhere else: it is never put into
a log line, a repr or an error message.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bot import __version__
from bot.errors import (
    BackendUnavailable,
    ConvbotError,
    ConversationClosed,
    InvalidInput,
    NotFound,
    RateLimited,
)
from bot.models import (
    LIMIT_MAX,
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    OrderBy,
    Page,
    Priority,
    Queue,
    RoutingRule,
    Status,
    Tag,
    format_timestamp,
)

log = logging.getLogger(__name__)

API = "/ccaas/1"
# Client-side filters (unassigned, channel) read whole result sets; past this many pages of
# LIMIT_MAX per sub-query the user must narrow the filter instead of us paging for minutes.
CLIENT_SIDE_PAGE_CAP = 20
# Requests in flight per backend. A wide list fans out into many requests; queueing them here
# instead of in the pool keeps httpx's pool timeout from firing on a busy but healthy API.
MAX_IN_FLIGHT = 20
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures that prove the request never reached Infobip: the only ones a create may retry.
NEVER_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
CLOSED_TEXT = "closed conversation cannot be changed"
ERROR_TEXT_MAX = 300

Json = Any
Params = Mapping[str, str | int | Sequence[str]]
M = TypeVar("M", bound=BaseModel)


class Retry(Enum):
    """How a request may be repeated."""

    # Safe to repeat: GET/PUT/PATCH/DELETE, and the POSTs whose repetition is harmless
    # (creating a tag that exists answers "Tag already exists.", linking a tag twice or routing
    # twice leaves the same state).
    ALWAYS = "always"
    # POST /conversations: a repeat may create a duplicate, so only when it provably never left.
    UNSENT = "unsent"


@dataclass(frozen=True)
class _Subject:
    """What a call is about, so that a NOT_FOUND answer can name the missing thing."""

    conversation: str | None = None
    tag: str | None = None
    agent: str | None = None
    queue: str | None = None

    def not_found(self, text: str) -> NotFound | None:
        named = [
            (kind, value)
            for kind, value in (
                ("tag", self.tag),
                ("agent", self.agent),
                ("queue", self.queue),
                ("conversation", self.conversation),
            )
            if value
        ]
        if not named:
            return None
        lowered = text.lower()
        kind, value = (
            # Infobip quotes the id it could not find ("Invalid id 'x' given! ..."),
            next((pair for pair in named if f"'{pair[1]}'" in text), None)
            # or names the kind ("Invalid tagName ...", "Agent a1 was not found."),
            or next((pair for pair in named[:-1] if pair[0] in lowered), None)
            # or says nothing useful (a bare 404): then it is the call's main subject.
            or named[-1]
        )
        return NotFound(_NOT_FOUND[kind].format(value))


_NOT_FOUND = {
    "conversation": "Conversation {} was not found.",
    "tag": "Tag '{}' was not found.",
    "agent": "Agent {} was not found.",
    "queue": "Queue {} was not found.",
}
_NOTHING = _Subject()


@dataclass(frozen=True)
class _Envelope:
    """Infobip's error body `{"requestError":{"serviceException":{...}}}`, or nothing."""

    message_id: str | None = None
    text: str = ""
    validation: dict[str, builtins.list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response) -> _Envelope:
        try:
            data = response.json()
        except ValueError:  # not JSON at all (a proxy's HTML page, an empty body)
            return cls()
        details = _dig(data, "requestError", "serviceException")
        if not isinstance(details, dict):
            return cls()
        message_id = details.get("messageId")
        text = details.get("text")
        errors = details.get("validationErrors")
        return cls(
            message_id=message_id if isinstance(message_id, str) else None,
            text=text[:ERROR_TEXT_MAX] if isinstance(text, str) else "",
            validation={
                str(name): [str(item) for item in messages]
                for name, messages in (errors.items() if isinstance(errors, dict) else ())
                if isinstance(messages, list)
            },
        )

    def describe(self, status: int) -> str:
        text = self.text.strip().rstrip(".!") or f"HTTP {status}"
        problems = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in self.validation.items())
        return f"{text} ({problems[:ERROR_TEXT_MAX]})." if problems else f"{text}."


class InfobipBackend:
    """One instance per process: it owns a pooled keep-alive `httpx.AsyncClient`."""

    name = "infobip"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.2,
        backoff_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("InfobipBackend needs an API key (INFOBIP_API_KEY is empty)")
        self._base_url = base_url
        self._host = httpx.URL(base_url).host or base_url
        self._api_key = api_key
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._random = random.Random()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Authorization": f"App {api_key}",
                "User-Agent": f"convbot/{__version__}",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=MAX_IN_FLIGHT,
                max_keepalive_connections=MAX_IN_FLIGHT,
                keepalive_expiry=30.0,
            ),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"InfobipBackend(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- conversations ------------------------------------------------------------------------

    async def create(self, data: ConversationCreate) -> Conversation:
        # Only what was set is sent; channel is sent too (the contract's ConversationApiModel
        # lists no channel but allows extra properties).
        body = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        body.pop("tags", None)  # linked one by one by the service, after the create
        body["channel"] = data.channel.value
        subject = _Subject(queue=data.queueId, agent=data.agentId)
        answer = await self._call("POST", "/conversations", subject, body=body, retry=Retry.UNSENT)
        return _conversation(answer)

    async def get(self, conversation_id: str) -> Conversation:
        # The conversation and its tags are two resources; ask for both at once. Exceptions are
        # collected so that no request is left running unobserved when the other one fails.
        answer, tags = await asyncio.gather(
            self._call("GET", _conv(conversation_id), _Subject(conversation=conversation_id)),
            self.list_tags(conversation_id),
            return_exceptions=True,
        )
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(tags, BaseException):
            raise tags
        return _conversation(answer).model_copy(update={"tags": [tag.name for tag in tags]})

    async def list(self, query: ConversationFilter) -> Page[Conversation]:
        # The API takes one status and one priority: several become one query per combination.
        statuses: builtins.list[Status | None] = [*query.statuses] or [None]
        priorities: builtins.list[Priority | None] = [*query.priorities] or [None]
        combos = [(status, priority) for status in statuses for priority in priorities]
        params = _list_params(query)
        if query.unassigned or query.channel is not None:
            parts = await asyncio.gather(*(self._filtered(params, s, p, query) for s, p in combos))
        elif len(combos) == 1:
            return await self._one_page(_with(params, *combos[0]), query)
        else:
            need = (query.page + 1) * query.limit
            parts = await asyncio.gather(
                *(self._prefix(_with(params, s, p), need) for s, p in combos)
            )
        return _merge(parts, query)

    async def patch(self, conversation_id: str, patch: ConversationPatch) -> Conversation:
        # PATCH, never PUT: PUT resets every omitted field to the create defaults.
        changes = patch.changes()
        subject = _Subject(
            conversation=conversation_id,
            queue=_str_or_none(changes.get("queueId")),
            agent=_str_or_none(changes.get("agentId")),
        )
        answer = await self._call("PATCH", _conv(conversation_id), subject, body=changes)
        return _conversation(answer)

    async def route(self, conversation_id: str) -> Conversation:
        # Retried like a PUT (Retry.ALWAYS): routing twice lands the conversation in one place.
        answer = await self._call(
            "POST", f"{_conv(conversation_id)}/route", _Subject(conversation=conversation_id)
        )
        return _routed(answer, conversation_id)

    async def assign(self, conversation_id: str, agent_id: str) -> Conversation:
        answer = await self._call(
            "PUT",
            f"{_conv(conversation_id)}/assignee",
            _Subject(conversation=conversation_id, agent=agent_id),
            body={"agentId": agent_id},
        )
        return _conversation(answer)

    async def unassign(self, conversation_id: str) -> Conversation:
        answer = await self._call(
            "DELETE", f"{_conv(conversation_id)}/assignee", _Subject(conversation=conversation_id)
        )
        return _conversation(answer)

    # --- tags ---------------------------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        response = await self._exchange("POST", "/tags", body={"name": name})
        if response.status_code == 400 and "already exists" in _Envelope.of(response).text.lower():
            return Tag(name=name)  # what the caller wanted is there
        answer = self._answer(response, _Subject(tag=name))
        if isinstance(answer, dict):
            answer = {"name": name, **answer}
        return _parse(Tag, answer, "a tag")

    async def add_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._call(
            "POST",
            f"{_conv(conversation_id)}/tags",
            _Subject(conversation=conversation_id, tag=tag_name),
            body={"tagName": tag_name},
        )

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._call(
            "DELETE",
            f"{_conv(conversation_id)}/tags/{quote(tag_name, safe='')}",
            _Subject(conversation=conversation_id, tag=tag_name),
        )

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]:
        params = {} if conversation_id is None else {"conversationId": conversation_id}
        items = await self._all_pages("/tags", "tags", params)
        return [_parse(Tag, item, "a tag") for item in items]

    # --- agents, queues, rules ----------------------------------------------------------------

    async def list_agents(self) -> builtins.list[Agent]:
        items = await self._all_pages("/agents", "agents", {})
        return [_parse(Agent, item, "an agent") for item in items]

    async def list_queues(self) -> builtins.list[Queue]:
        items = await self._all_pages("/queues", "queues", {})
        return [_parse(Queue, item, "a queue") for item in items]

    async def list_routing_rules(self) -> builtins.list[RoutingRule]:
        # GET /routing takes no page or limit: it answers every rule at once.
        answer = await self._call("GET", "/routing", _NOTHING)
        routes = _dig(answer, "routes")
        if not isinstance(routes, builtins.list):
            raise _unreadable("the routing rules")
        return [_rule(entry, position) for position, entry in enumerate(routes, start=1)]

    async def ping(self) -> None:
        try:
            await self._call("GET", "/queues", _NOTHING, params={"limit": 1})
        except BackendUnavailable:
            raise
        except ConvbotError as error:
            raise BackendUnavailable(
                f"Infobip at {self._host} answered the health check with an error: {error}"
            ) from error

    # --- listing ------------------------------------------------------------------------------

    async def _one_page(
        self, params: dict[str, Any], query: ConversationFilter
    ) -> Page[Conversation]:
        items, total = await self._page(
            "/conversations", "conversations", params, query.page, query.limit
        )
        return Page[Conversation](
            items=[_conversation(item) for item in items],
            totalItems=total if total is not None else query.page * query.limit + len(items),
            page=query.page,
            limit=query.limit,
            orderBy=str(query.orderBy),
        )

    async def _prefix(
        self, params: dict[str, Any], need: int
    ) -> tuple[builtins.list[Conversation], int]:
        """The first `need` conversations of one sub-query (in API order) and its total."""
        first, total = await self._page(
            "/conversations", "conversations", params, 0, min(LIMIT_MAX, need)
        )
        known = total if total is not None else len(first)
        further = _pages_for(min(need, known)) if need > LIMIT_MAX else 1
        rest = await asyncio.gather(
            *(
                self._page("/conversations", "conversations", params, n, LIMIT_MAX)
                for n in range(1, further)
            )
        )
        items = first + [item for page_items, _ in rest for item in page_items]
        return [_conversation(item) for item in items[:need]], known

    async def _filtered(
        self,
        params: dict[str, Any],
        status: Status | None,
        priority: Priority | None,
        query: ConversationFilter,
    ) -> tuple[builtins.list[Conversation], int]:
        """Everything one sub-query matches, filtered here on what the API cannot filter."""
        items = await self._all_pages(
            "/conversations", "conversations", _with(params, status, priority), cap=True
        )
        seen: set[str] = set()
        kept = []
        for conversation in (_conversation(item) for item in items):
            if conversation.id in seen:  # rows may shift between pages read concurrently
                continue
            seen.add(conversation.id)
            if query.unassigned and conversation.agentId is not None:
                continue
            if query.channel is not None and conversation.channel is not query.channel:
                continue
            kept.append(conversation)
        return kept, len(kept)

    async def _all_pages(
        self, path: str, key: str, params: Mapping[str, Any], *, cap: bool = False
    ) -> builtins.list[Any]:
        """Every item of a paged resource: the first page tells the total, the rest at once."""
        first, total = await self._page(path, key, params, 0, LIMIT_MAX)
        pages = _pages_for(total) if total is not None else 1
        if cap and pages > CLIENT_SIDE_PAGE_CAP:
            raise InvalidInput(
                f"That filter matches {total} conversations at Infobip, too many to check "
                "'unassigned' or 'channel' here; narrow it with status, priority or queue."
            )
        rest = await asyncio.gather(
            *(self._page(path, key, params, n, LIMIT_MAX) for n in range(1, pages))
        )
        return first + [item for items, _ in rest for item in items]

    async def _page(
        self, path: str, key: str, params: Mapping[str, Any], page: int, limit: int
    ) -> tuple[builtins.list[Any], int | None]:
        answer = await self._call(
            "GET", path, _NOTHING, params={**params, "page": page, "limit": limit}
        )
        items = _dig(answer, key)
        if not isinstance(items, builtins.list):
            raise _unreadable(f"the {key} list")
        total = _dig(answer, "pagination", "totalItems")
        return items, total if isinstance(total, int) else None

    # --- HTTP ---------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        subject: _Subject,
        *,
        params: Params | None = None,
        body: Json = None,
        retry: Retry = Retry.ALWAYS,
    ) -> Json:
        response = await self._exchange(method, path, params=params, body=body, retry=retry)
        return self._answer(response, subject, retry)

    def _answer(
        self, response: httpx.Response, subject: _Subject, retry: Retry = Retry.ALWAYS
    ) -> Json:
        if not response.is_success:
            raise self._error(response, subject, retry)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise _unreadable(f"the answer to {response.request.method}") from None

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Json = None,
        retry: Retry = Retry.ALWAYS,
    ) -> httpx.Response:
        """Send with the retry policy; give back the last answer, or raise for no answer."""
        for attempt in itertools.count():
            try:
                response = await self._send(method, API + path, params, body)
            except httpx.RequestError as error:
                if attempt >= self._max_retries or not _may_retry_error(error, retry):
                    raise self._unreachable(error, retry) from error
                delay = self._backoff(attempt)
            else:
                if attempt >= self._max_retries or not _may_retry_status(response, retry):
                    return response
                delay = self._retry_delay(response, attempt)
            log.debug(
                "retrying %s %s in %.2f s (retry %d of %d)",
                method,
                path,
                delay,
                attempt + 1,
                self._max_retries,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # itertools.count() never ends

    async def _send(
        self, method: str, path: str, params: Params | None, body: Json
    ) -> httpx.Response:
        async with self._slots:
            started = time.perf_counter()
            try:
                response = await self._client.request(method, path, params=params, json=body)
            except httpx.RequestError as error:
                log.debug(
                    "%s %s -> %s in %d ms", method, path, type(error).__name__, _ms_since(started)
                )
                raise
        log.debug("%s %s -> %d in %d ms", method, path, response.status_code, _ms_since(started))
        return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so that retrying clients spread out."""
        return self._random.uniform(0, min(self._backoff_max, self._backoff_base * 2**attempt))

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        after = _retry_after(response)
        if after is None:
            return self._backoff(attempt)
        return min(after, self._backoff_max * 4)  # a server asking for an hour is not obeyed

    # --- errors -------------------------------------------------------------------------------

    def _error(self, response: httpx.Response, subject: _Subject, retry: Retry) -> ConvbotError:
        status = response.status_code
        envelope = _Envelope.of(response)
        if status in (401, 403):
            return BackendUnavailable(
                f"Infobip refused the API key ({status}): check INFOBIP_API_KEY."
            )
        if status == 429:
            after = _retry_after(response)
            wait = f"in {after:.0f} seconds" if after is not None else "in a minute"
            return RateLimited(
                f"Infobip is throttling requests (HTTP 429); try again {wait}.", retry_after=after
            )
        if status >= 500:
            return self._failing(status, retry)
        if status == 404 or envelope.message_id == "NOT_FOUND":
            return self._not_found(status, envelope, subject, response)
        if CLOSED_TEXT in envelope.text.lower() and subject.conversation:
            return ConversationClosed(subject.conversation)
        return InvalidInput(
            self._scrub(f"Infobip rejected the request: {envelope.describe(status)}")
        )

    def _failing(self, status: int, retry: Retry) -> BackendUnavailable:
        # A 503 is refused up front; a 500/502/504 may come after the create was done.
        if retry is Retry.UNSENT and status != 503:
            return BackendUnavailable(
                f"Infobip failed (HTTP {status}) and the conversation may or may not have been "
                "created; check with `list` before creating it again."
            )
        return BackendUnavailable(
            f"Infobip is failing (HTTP {status}) at {self._host}; try again in a minute."
        )

    def _not_found(
        self, status: int, envelope: _Envelope, subject: _Subject, response: httpx.Response
    ) -> ConvbotError:
        found = subject.not_found(envelope.text)
        if found is not None:
            return found
        if status == 404:  # a listing that is not there: the base URL points somewhere else
            return BackendUnavailable(
                f"Infobip at {self._host} has no {response.request.url.path}: "
                "check INFOBIP_BASE_URL."
            )
        return NotFound(self._scrub(f"Infobip found nothing: {envelope.describe(status)}"))

    def _unreachable(self, error: httpx.RequestError, retry: Retry) -> BackendUnavailable:
        kind = type(error).__name__
        if retry is Retry.UNSENT and not isinstance(error, NEVER_SENT):
            return BackendUnavailable(
                f"Infobip at {self._host} did not answer ({kind}), so the conversation may or may "
                "not have been created; check with `list` before creating it again."
            )
        if isinstance(error, httpx.UnsupportedProtocol):
            return BackendUnavailable(
                f"INFOBIP_BASE_URL ({self._host}) is not an http(s) address; fix it and restart."
            )
        if isinstance(error, httpx.TimeoutException):
            return BackendUnavailable(
                f"Infobip at {self._host} did not answer within {self._timeout:g} s ({kind}); "
                "check INFOBIP_BASE_URL or try again in a minute."
            )
        return BackendUnavailable(
            f"Could not reach Infobip at {self._host} ({kind}); check INFOBIP_BASE_URL and the "
            "network, then try again."
        )

    def _scrub(self, text: str) -> str:
        """Whatever Infobip echoes back, the key never reaches a message."""
        return text.replace(self._api_key, "***")


# --- helpers ---------------------------------------------------------------------------------


def _conv(conversation_id: str) -> str:
    return f"/conversations/{quote(conversation_id, safe='')}"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _dig(data: Json, *keys: str) -> Json:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _may_retry_error(error: httpx.RequestError, retry: Retry) -> bool:
    if retry is Retry.UNSENT:
        return isinstance(error, NEVER_SENT)
    return isinstance(error, RETRYABLE_ERRORS)


def _may_retry_status(response: httpx.Response, retry: Retry) -> bool:
    return retry is Retry.ALWAYS and response.status_code in RETRY_STATUSES


def _retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _unreadable(what: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"Infobip sent {what} in a shape convbot cannot read; try again, and report it if it "
        "keeps happening."
    )


def _parse(model: type[M], data: Json, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _unreadable(what) from error


def _conversation(data: Json) -> Conversation:
    # Infobip's conversation bodies carry no tags; `tags=None` means "not loaded".
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "tags"}
    return _parse(Conversation, data, "a conversation")


def _routed(data: Json, conversation_id: str) -> Conversation:
    """The contract's schema says a ConversationResultPage; its example and the API give the
    conversation. Read either."""
    page = _dig(data, "conversations")
    if isinstance(page, builtins.list):
        matching = [c for c in page if _dig(c, "id") == conversation_id] or page
        if len(matching) != 1:
            raise _unreadable("a routing result")
        data = matching[0]
    return _conversation(data)


def _rule(entry: Json, position: int) -> RoutingRule:
    if not isinstance(entry, dict):
        raise _unreadable("a routing rule")
    data = dict(entry)  # unknown fields (expression, queueName, ...) are kept as extras
    data.setdefault("order", position)
    data.setdefault("name", str(data.get("id", f"rule {position}")))
    if not isinstance(data.get("match"), dict):
        data.pop("match", None)  # Infobip's rules carry `expression`; `match` is ours
    return _parse(RoutingRule, data, "a routing rule")


def _pages_for(total: int) -> int:
    return max(1, -(-total // LIMIT_MAX))


def _list_params(query: ConversationFilter) -> dict[str, Any]:
    params: dict[str, Any] = {"orderBy": str(query.orderBy)}
    if query.queueIds:
        params["queueIds"] = builtins.list(query.queueIds)  # repeated: form style, exploded
    if query.tags:
        params["tagNames"] = builtins.list(query.tags)
    if query.agentId is not None:
        params["agentId"] = query.agentId
    for name in (
        "createdAfter",
        "createdBefore",
        "updatedAfter",
        "updatedBefore",
        "closedAfter",
        "closedBefore",
    ):
        value = getattr(query, name)
        if value is not None:
            params[name] = format_timestamp(value)
    return params


def _with(
    params: dict[str, Any], status: Status | None, priority: Priority | None
) -> dict[str, Any]:
    extra = {"status": status, "priority": priority}
    return {**params, **{key: value.value for key, value in extra.items() if value is not None}}


def _merge(
    parts: Sequence[tuple[builtins.list[Conversation], int]], query: ConversationFilter
) -> Page[Conversation]:
    """Sub-query results, each already in `orderBy` order, merged into the requested page."""
    key = functools.cmp_to_key(functools.partial(_compare, order=query.orderBy))
    merged = heapq.merge(*(items for items, _ in parts), key=key)
    start = query.page * query.limit
    return Page[Conversation](
        items=builtins.list(itertools.islice(merged, start, start + query.limit)),
        totalItems=sum(total for _, total in parts),
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


def _compare(a: Conversation, b: Conversation, order: OrderBy) -> int:
    """`order.field` then id, both in `order.direction`; missing values last either way."""
    for name in (order.field, "id"):
        x, y = _sort_value(a, name), _sort_value(b, name)
        if x is None or y is None:
            if (x is None) != (y is None):
                return 1 if x is None else -1
            continue
        if x != y:
            result = 1 if x > y else -1
            return -result if order.direction == "desc" else result
    return 0


def _sort_value(conversation: Conversation, name: str) -> Any:
    value = getattr(conversation, name)
    if isinstance(value, Priority):
        return value.rank  # URGENT > HIGH > NORMAL > LOW, not alphabetical
    if isinstance(value, Enum):
        return value.value
    return value
