"""The Infobip Conversations API (`/ccaas/1/...`) as a `ConversationBackend`.

This module only reports what Infobip said, in our models and our error types; the service layer
decides. HTTP and retries live in `http.py`, error mapping in `errors.py`, list fan-out and merge
in `listing.py`, body parsing in `wire.py`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot import deadlines
from bot.backends.base import IdPrefixMatches
from bot.backends.infobip import listing, transcripts, wire
from bot.backends.infobip.errors import NOTHING, ErrorMapper, MaybeDone, Subject, unreadable
from bot.backends.infobip.http import InfobipHttp, Params, RetryPolicy, checked_api_key
from bot.errors import BackendUnavailable, ConvbotError, InvalidInput, NotFound
from bot.field_rules import LIMIT_MAX
from bot.messages import Message, MessageCreate, MessageFilter, Note, NoteCreate, NoteFilter
from bot.models import (
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Metadata,
    OrderBy,
    Queue,
    ResultPage,
    RoutingRule,
    Tag,
)
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
Json = Any
# What a POST that may have been carried out before it failed leaves the user to check.
CREATE_UNSURE = (
    "the conversation may or may not have been created; check with `list` before creating it again."
)
CREATE_CLOCK_SKEW = timedelta(minutes=2)  # between this host's clock and Infobip's
CREATE_LOOKS = 3  # looks for a create whose answer was lost, a second apart
# Infobip cannot search conversations by id: a typed prefix is looked for in one page of the
# most recently updated ones (plus the ids the bot's own records hold, bot/state/known_ids.py).
RECENT_FOR_PREFIX = 200
ROUTE_UNSURE = (
    "conversation {0} may or may not have been routed (each route moves a round-robin queue on); "
    "check it with `show {0}` before routing it again."
)


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
        key = checked_api_key(api_key)
        self._base_url = base_url
        self._host = httpx.URL(base_url).host or base_url
        self._errors = ErrorMapper(self._host, key, timeout)
        self._http = InfobipHttp(
            base_url,
            key,
            timeout=timeout,
            policy=RetryPolicy(max_retries, backoff_base, backoff_max),
            transport=transport,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"InfobipBackend(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- conversations ------------------------------------------------------------------------

    async def create(self, data: ConversationCreate) -> Conversation:
        # Only what was set is sent; channel is sent too (the contract's ConversationApiModel
        # lists no channel but allows extra properties).
        body = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        body.pop("tags", None)  # linked one by one by the service, after the create
        body["channel"] = data.channel.value
        subject = Subject(queue=data.queueId, agent=data.agentId)
        sent_at = utcnow()
        try:
            answer = await self._call(
                "POST", "/conversations", subject, body=body, unsure=CREATE_UNSURE
            )
        except MaybeDone:
            # The answer was lost, not necessarily the conversation: look for it before
            # telling anyone to create it again (which would make a duplicate).
            found = await self._created_since(data, sent_at)
            if found is None:
                raise
            log.info("create: Infobip's answer was lost; found conversation %s", found.id)
            return found
        return wire.conversation(answer)

    async def _created_since(
        self, data: ConversationCreate, sent_at: datetime
    ) -> Conversation | None:
        """The one conversation created since `sent_at` (less a clock skew) with this topic,
        summary and priority; None when there is none, or more than one to tell apart."""
        query = ConversationFilter(
            priorities=[data.priority] if "priority" in data.model_fields_set else [],
            createdAfter=sent_at - CREATE_CLOCK_SKEW,
            orderBy=OrderBy(field="createdAt", direction="desc"),
            limit=LIMIT_MAX,
        )
        for attempt in range(CREATE_LOOKS):
            left = deadlines.remaining()
            if left is not None and left <= (1.0 if attempt else 0.0):
                break  # the command's time is up: the person is told it may exist
            if attempt:
                await self._http.pause(1.0)  # it may still be being carried out
            try:
                page = await self.list(query)
            except BackendUnavailable:
                # Look again: whatever lost the answer may fail a list too, and giving up here
                # tells the person to create again what may well exist.
                continue
            same = [
                c
                for c in page.items
                if c.topic == data.topic and (c.summary or None) == (data.summary or None)
            ]
            if len(same) == 1:
                return same[0]
            if len(same) > 1:
                return None  # identical creates in the same moment: not ours to pick
        return None

    async def get(self, conversation_id: str) -> Conversation:
        # The conversation and its tags are two resources; ask for both at once. Exceptions are
        # collected so that no request is left running unobserved when the other one fails.
        answer, tags = await asyncio.gather(
            self._call("GET", _conv(conversation_id), Subject(conversation=conversation_id)),
            self.list_tags(conversation_id),
            return_exceptions=True,
        )
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(tags, BaseException):
            raise tags
        return wire.conversation(answer).model_copy(update={"tags": [tag.name for tag in tags]})

    async def list(self, query: ConversationFilter) -> ResultPage[Conversation]:
        return await listing.list_conversations(self._get_json, query)

    async def with_id_prefix(self, prefix: str, limit: int) -> IdPrefixMatches:
        # No id search in the API: one page of recently updated conversations, never more.
        recent = await self.list(
            ConversationFilter(
                orderBy=OrderBy(field="updatedAt", direction="desc"), limit=RECENT_FOR_PREFIX
            )
        )
        found = [c for c in recent.items if c.id.startswith(prefix)][:limit]
        return IdPrefixMatches(found, complete=False)

    async def patch(self, conversation_id: str, patch: ConversationPatch) -> Conversation:
        # PATCH, never PUT: PUT resets every omitted field to the create defaults.
        changes = patch.changes()
        subject = Subject(
            conversation=conversation_id,
            queue=_str_or_none(changes.get("queueId")),
            agent=_str_or_none(changes.get("agentId")),
        )
        answer = await self._call("PATCH", _conv(conversation_id), subject, body=changes)
        return wire.conversation(answer)

    async def route(self, conversation_id: str) -> Conversation:
        # A POST, and not idempotent: only retried when it provably never left (http.py).
        answer = await self._call(
            "POST",
            f"{_conv(conversation_id)}/route",
            Subject(conversation=conversation_id),
            unsure=ROUTE_UNSURE.format(conversation_id),
        )
        return wire.routed(answer, conversation_id)

    async def assign(self, conversation_id: str, agent_id: str) -> Conversation:
        answer = await self._call(
            "PUT",
            f"{_conv(conversation_id)}/assignee",
            Subject(conversation=conversation_id, agent=agent_id),
            body={"agentId": agent_id},
        )
        return wire.conversation(answer)

    async def unassign(self, conversation_id: str) -> Conversation:
        answer = await self._call(
            "DELETE", f"{_conv(conversation_id)}/assignee", Subject(conversation=conversation_id)
        )
        return wire.conversation(answer)

    # --- tags ---------------------------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        response = await self._exchange("POST", "/tags", body={"name": name})
        if (
            response.status_code == 400
            and "already exists" in self._errors.envelope(response).text.lower()
        ):
            return Tag(name=name)  # what the caller wanted is there
        answer = self._answer(response, Subject(tag=name))
        if isinstance(answer, dict):
            answer = {"name": name, **answer}
        return wire.parse(Tag, answer, "a tag")

    async def add_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._call(
            "POST",
            f"{_conv(conversation_id)}/tags",
            Subject(conversation=conversation_id, tag=tag_name),
            body={"tagName": tag_name},
        )

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._call(
            "DELETE",
            f"{_conv(conversation_id)}/tags/{segment(tag_name)}",
            Subject(conversation=conversation_id, tag=tag_name),
        )

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]:
        # By name, as people read them (the API's default order is by id, which means nothing).
        params = {"orderBy": "name:asc"}
        if conversation_id is not None:
            params["conversationId"] = conversation_id
        items = await listing.fetch_all(self._get_json, "/tags", "tags", params)
        return [wire.parse(Tag, item, "a tag") for item in items]

    # --- messages and notes (transcripts.py) -------------------------------------------------

    async def list_messages(
        self, conversation_id: str, query: MessageFilter
    ) -> ResultPage[Message]:
        params = transcripts.message_params(query)
        path, subject = f"{_conv(conversation_id)}/messages", Subject(conversation=conversation_id)
        answer = await self._call("GET", path, subject, params=params)
        return transcripts.page(Message, answer, "messages", query)

    async def send_message(
        self, conversation_id: str, message: MessageCreate, agent_id: str | None
    ) -> Message:
        # The sending agent is a header (Infobip's docs), sent only when there is one: Infobip
        # refuses it on an unassigned conversation.
        answer = await self._call(
            "POST",
            f"{_conv(conversation_id)}/messages",
            Subject(conversation=conversation_id, agent=agent_id),
            body=message.wire(),
            headers={"x-agent-id": agent_id} if agent_id is not None else None,
            unsure=transcripts.SEND_UNSURE,
        )
        return wire.parse(Message, answer, "a message")

    async def list_notes(self, conversation_id: str, query: NoteFilter) -> ResultPage[Note]:
        params = transcripts.note_params(query)
        path, subject = f"{_conv(conversation_id)}/notes", Subject(conversation=conversation_id)
        answer = await self._call("GET", path, subject, params=params)
        return transcripts.page(Note, answer, "notes", query)

    async def add_note(self, conversation_id: str, note: NoteCreate) -> Note:
        answer = await self._call(
            "POST",
            f"{_conv(conversation_id)}/notes",
            Subject(conversation=conversation_id, agent=note.agentId),
            body=note.wire(),
            unsure=transcripts.NOTE_UNSURE,
        )
        return wire.parse(Note, answer, "a note")

    async def get_metadata(self, conversation_id: str) -> Metadata:
        path, subject = f"{_conv(conversation_id)}/metadata", Subject(conversation=conversation_id)
        return transcripts.metadata(await self._call("GET", path, subject))

    async def patch_metadata(self, conversation_id: str, values: Metadata) -> None:
        # PATCH merges (the contract), so it is idempotent and retried as any PATCH is.
        if not values:  # the contract's minProperties: 1, refused before it is sent
            raise InvalidInput("Metadata to save needs at least one key.")
        path, subject = f"{_conv(conversation_id)}/metadata", Subject(conversation=conversation_id)
        await self._call("PATCH", path, subject, body=dict(values))

    # --- agents, queues, rules ----------------------------------------------------------------

    async def list_agents(self) -> builtins.list[Agent]:
        items = await listing.fetch_all(self._get_json, "/agents", "agents", {})
        return [wire.parse(Agent, item, "an agent") for item in items]

    async def get_agent(self, agent_id: str) -> Agent | None:
        path = f"/agents/{segment(agent_id)}"
        try:
            answer = await self._call("GET", path, Subject(agent=agent_id))
        except NotFound:
            # The contract answers an unknown id with 404, or 400 `NOT_FOUND` ("Invalid agent
            # id given"), which the error mapping reads as not found either way.
            return None
        return wire.parse(Agent, answer, "an agent")

    async def agents_with_email(self, email: str) -> builtins.list[Agent]:
        # One request: the contract's `email` filter of GET /agents. Its items are
        # AgentResponse, without the e-mail, which is why the whole list cannot be searched.
        items, _ = await listing.fetch_page(
            self._get_json, "/agents", "agents", {"email": email}, 0, LIMIT_MAX
        )
        return [wire.parse(Agent, item, "an agent") for item in items]

    async def list_queues(self) -> builtins.list[Queue]:
        items = await listing.fetch_all(self._get_json, "/queues", "queues", {})
        return [wire.parse(Queue, item, "a queue") for item in items]

    async def list_routing_rules(self) -> builtins.list[RoutingRule]:
        # GET /routing takes no page or limit: it answers every rule at once.
        routes = wire.dig(await self._get_json("/routing", {}), "routes")
        if not isinstance(routes, builtins.list):
            raise unreadable("the routing rules")
        return [wire.rule(entry, position) for position, entry in enumerate(routes, start=1)]

    async def ping(self) -> None:
        refusal: ConvbotError | None = None
        try:
            await self._get_json("/queues", {"limit": 1})
        except BackendUnavailable:
            raise
        except ConvbotError as error:
            refusal = error
        if refusal is not None:  # raised here so that the answer is not chained twice
            raise BackendUnavailable(
                f"Infobip at {self._host} answered the health check with an error: {refusal}"
            )

    # --- HTTP ---------------------------------------------------------------------------------

    async def _get_json(self, path: str, params: Mapping[str, Any]) -> Json:
        return await self._call("GET", path, NOTHING, params=params)

    async def _call(
        self,
        method: str,
        path: str,
        subject: Subject,
        *,
        params: Params | None = None,
        body: Json = None,
        unsure: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Json:
        response = await self._exchange(
            method, path, params=params, body=body, unsure=unsure, headers=headers
        )
        return self._answer(response, subject, unsure)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Json = None,
        unsure: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.exchange(
                method, path, params=params, body=body, headers=headers
            )
        except httpx.RequestError as error:
            failure = self._errors.for_failure(method, error, unsure)
        # Raised outside the `except`: the httpx error, whose request carries the key in its
        # headers, becomes neither the cause nor the context of what the user sees.
        raise failure

    def _answer(
        self, response: httpx.Response, subject: Subject, unsure: str | None = None
    ) -> Json:
        if not response.is_success:
            raise self._errors.for_response(response, subject, unsure)
        return wire.decoded(response)


def _conv(conversation_id: str) -> str:
    return f"/conversations/{segment(conversation_id)}"


def segment(value: str) -> str:
    """`value` as exactly one path segment (DESIGN.md: ids travel as one encoded segment).

    `quote` leaves `.` alone (it is unreserved), and a segment that is `.` or `..` would be
    resolved by httpx as a dot segment: `/conversations/..` becomes `/ccaas/1`, and a tag named
    `..` turns `DELETE …/tags/..` into `DELETE /conversations/{id}`. Percent-encoded dots are the
    same characters to the server (RFC 3986 §2.3) but are not dot segments (§5.2.4)."""
    if not value:  # `/conversations/` is the list: an empty id must not turn a get into it
        raise InvalidInput("An empty id names nothing; give the conversation's id.")
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
