"""The Infobip Conversations API (`/ccaas/1/...`) as a `ConversationBackend`.

This module only reports what Infobip said, in our models and our error types; the service layer
decides. Each method here is one resource's request; sending it and reading its answer is
`api.py` (over `http.py`, HTTP and retries, and `errors.py`, error mapping); an id as a path
segment is `paths.py`; looking for a create whose answer was lost, `lost_creates.py`; list
fan-out and merge, `listing.py`; body parsing, `wire.py`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable

import httpx

from bot.backends.base import IdPrefixMatches
from bot.backends.infobip import listing, transcripts, wire
from bot.backends.infobip.api import InfobipApi
from bot.backends.infobip.errors import MaybeDone, Subject, unreadable
from bot.backends.infobip.http import RetryPolicy, checked_api_key
from bot.backends.infobip.lost_creates import created_since
from bot.backends.infobip.paths import segment
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
# What a POST that may have been carried out before it failed leaves the user to check.
CREATE_UNSURE = (
    "the conversation may or may not have been created; check with `list` before creating it again."
)
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
        self._api = InfobipApi(
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
        await self._api.aclose()

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
            answer = await self._api.call(
                "POST", "/conversations", subject, body=body, unsure=CREATE_UNSURE
            )
        except MaybeDone:
            # The answer was lost, not necessarily the conversation: look for it before
            # telling anyone to create it again (which would make a duplicate).
            found = await created_since(
                data, sent_at, list_conversations=self.list, pause=self._api.pause
            )
            if found is None:
                raise
            log.info("create: Infobip's answer was lost; found conversation %s", found.id)
            return found
        return wire.conversation(answer)

    async def get(self, conversation_id: str) -> Conversation:
        # The conversation and its tags are two resources; ask for both at once. Exceptions are
        # collected so that no request is left running unobserved when the other one fails.
        answer, tags = await asyncio.gather(
            self._api.call("GET", _conv(conversation_id), Subject(conversation=conversation_id)),
            self.list_tags(conversation_id),
            return_exceptions=True,
        )
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(tags, BaseException):
            raise tags
        return wire.conversation(answer).model_copy(update={"tags": [tag.name for tag in tags]})

    async def list(self, query: ConversationFilter) -> ResultPage[Conversation]:
        return await listing.list_conversations(self._api.get_json, query)

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
        answer = await self._api.call("PATCH", _conv(conversation_id), subject, body=changes)
        return wire.conversation(answer)

    async def route(self, conversation_id: str) -> Conversation:
        # A POST, and not idempotent: only retried when it provably never left (http.py).
        answer = await self._api.call(
            "POST",
            f"{_conv(conversation_id)}/route",
            Subject(conversation=conversation_id),
            unsure=ROUTE_UNSURE.format(conversation_id),
        )
        return wire.routed(answer, conversation_id)

    async def assign(self, conversation_id: str, agent_id: str) -> Conversation:
        answer = await self._api.call(
            "PUT",
            f"{_conv(conversation_id)}/assignee",
            Subject(conversation=conversation_id, agent=agent_id),
            body={"agentId": agent_id},
        )
        return wire.conversation(answer)

    async def unassign(self, conversation_id: str) -> Conversation:
        answer = await self._api.call(
            "DELETE", f"{_conv(conversation_id)}/assignee", Subject(conversation=conversation_id)
        )
        return wire.conversation(answer)

    # --- tags ---------------------------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        response = await self._api.exchange("POST", "/tags", body={"name": name})
        if (
            response.status_code == 400
            and "already exists" in self._api.errors.envelope(response).text.lower()
        ):
            return Tag(name=name)  # what the caller wanted is there
        answer = self._api.answer(response, Subject(tag=name))
        if isinstance(answer, dict):
            answer = {"name": name, **answer}
        return wire.parse(Tag, answer, "a tag")

    async def add_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._api.call(
            "POST",
            f"{_conv(conversation_id)}/tags",
            Subject(conversation=conversation_id, tag=tag_name),
            body={"tagName": tag_name},
        )

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None:
        await self._api.call(
            "DELETE",
            f"{_conv(conversation_id)}/tags/{segment(tag_name)}",
            Subject(conversation=conversation_id, tag=tag_name),
        )

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]:
        # By name, as people read them (the API's default order is by id, which means nothing).
        params = {"orderBy": "name:asc"}
        if conversation_id is not None:
            params["conversationId"] = conversation_id
        items = await listing.fetch_all(self._api.get_json, "/tags", "tags", params)
        return [wire.parse(Tag, item, "a tag") for item in items]

    # --- messages and notes (transcripts.py) -------------------------------------------------

    async def list_messages(
        self, conversation_id: str, query: MessageFilter
    ) -> ResultPage[Message]:
        params = transcripts.message_params(query)
        path, subject = f"{_conv(conversation_id)}/messages", Subject(conversation=conversation_id)
        answer = await self._api.call("GET", path, subject, params=params)
        return transcripts.page(Message, answer, "messages", query)

    async def send_message(
        self, conversation_id: str, message: MessageCreate, agent_id: str | None
    ) -> Message:
        # The sending agent is a header (Infobip's docs), sent only when there is one: Infobip
        # refuses it on an unassigned conversation.
        answer = await self._api.call(
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
        answer = await self._api.call("GET", path, subject, params=params)
        return transcripts.page(Note, answer, "notes", query)

    async def add_note(self, conversation_id: str, note: NoteCreate) -> Note:
        answer = await self._api.call(
            "POST",
            f"{_conv(conversation_id)}/notes",
            Subject(conversation=conversation_id, agent=note.agentId),
            body=note.wire(),
            unsure=transcripts.NOTE_UNSURE,
        )
        return wire.parse(Note, answer, "a note")

    async def get_metadata(self, conversation_id: str) -> Metadata:
        path, subject = f"{_conv(conversation_id)}/metadata", Subject(conversation=conversation_id)
        return transcripts.metadata(await self._api.call("GET", path, subject))

    async def patch_metadata(self, conversation_id: str, values: Metadata) -> None:
        # PATCH merges (the contract), so it is idempotent and retried as any PATCH is.
        if not values:  # the contract's minProperties: 1, refused before it is sent
            raise InvalidInput("Metadata to save needs at least one key.")
        path, subject = f"{_conv(conversation_id)}/metadata", Subject(conversation=conversation_id)
        await self._api.call("PATCH", path, subject, body=dict(values))

    # --- agents, queues, rules ----------------------------------------------------------------

    async def list_agents(self) -> builtins.list[Agent]:
        items = await listing.fetch_all(self._api.get_json, "/agents", "agents", {})
        return [wire.parse(Agent, item, "an agent") for item in items]

    async def get_agent(self, agent_id: str) -> Agent | None:
        path = f"/agents/{segment(agent_id)}"
        try:
            answer = await self._api.call("GET", path, Subject(agent=agent_id))
        except NotFound:
            # The contract answers an unknown id with 404, or 400 `NOT_FOUND` ("Invalid agent
            # id given"), which the error mapping reads as not found either way.
            return None
        return wire.parse(Agent, answer, "an agent")

    async def agents_with_email(self, email: str) -> builtins.list[Agent]:
        # One request: the contract's `email` filter of GET /agents. Its items are
        # AgentResponse, without the e-mail, which is why the whole list cannot be searched.
        items, _ = await listing.fetch_page(
            self._api.get_json, "/agents", "agents", {"email": email}, 0, LIMIT_MAX
        )
        return [wire.parse(Agent, item, "an agent") for item in items]

    async def list_queues(self) -> builtins.list[Queue]:
        items = await listing.fetch_all(self._api.get_json, "/queues", "queues", {})
        return [wire.parse(Queue, item, "a queue") for item in items]

    async def list_routing_rules(self) -> builtins.list[RoutingRule]:
        # GET /routing takes no page or limit: it answers every rule at once.
        routes = wire.dig(await self._api.get_json("/routing", {}), "routes")
        if not isinstance(routes, builtins.list):
            raise unreadable("the routing rules")
        return [wire.rule(entry, position) for position, entry in enumerate(routes, start=1)]

    async def ping(self) -> None:
        refusal: ConvbotError | None = None
        try:
            await self._api.get_json("/queues", {"limit": 1})
        except BackendUnavailable:
            raise
        except ConvbotError as error:
            refusal = error
        if refusal is not None:  # raised here so that the answer is not chained twice
            raise BackendUnavailable(
                f"Infobip at {self._api.host} answered the health check with an error: {refusal}"
            )


def _conv(conversation_id: str) -> str:
    return f"/conversations/{segment(conversation_id)}"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
