"""The emulator's messages and notes: `GET`/`POST /ccaas/1/conversations/{id}/messages` and
`…/notes` as the contract gives them (the sending agent in the `x-agent-id` header), and, outside
the API, `POST /emulator/conversations/{id}/inbound`: the customer writes, so that tests and the
demo have someone to answer. The rules are the backend's (bot/backends/local_messages.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError
from starlette.requests import Request

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import params
from bot.devtools.emulator.answers import BAD_BODY, Json, Refusal, bad, pagination
from bot.messages import (
    SENDABLE_CHANNELS,
    Direction,
    ListOrder,
    Message,
    MessageCreate,
    MessageFilter,
    NoteCreate,
    NoteFilter,
)

Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]
CONVERSATION = "/conversations/{conversationId}"
INBOUND = "/emulator/conversations/{conversationId}/inbound"
# CreateMessageApiRequest's fields: others are ignored, as the API ignores what it does not take.
MESSAGE_FIELDS = ("from", "to", "channel", "contentType", "content")
# What an inbound message the test or demo leaves out is: a customer's text on live chat (or on
# the conversation's own channel, when messages can be sent on it).
INBOUND_DEFAULTS = {"from": "customer", "to": "convbot", "contentType": "TEXT"}
INBOUND_CHANNEL = "LIVE_CHAT"


@runtime_checkable
class CustomerSide(Protocol):
    """A store that can take a customer's message (LocalBackend.receive_message)."""

    async def receive_message(self, conversation_id: str, message: MessageCreate) -> Message: ...


async def _messages(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    # Filters the backend protocol cannot express: refused rather than ignored.
    params.unsupported(query, "messageIds", "channel")
    limit, page = params.paging(query)
    directions = params.enum_values(query, "direction", Direction)
    wanted = MessageFilter(
        direction=directions[0] if directions else None,
        createdAfter=params.timestamp(query, "createdAfter"),
        createdBefore=params.timestamp(query, "createdBefore"),
        orderBy=_order(query.get("orderBy")),
        page=page,
        limit=limit,
    )
    found = await backend.list_messages(request.path_params["conversationId"], wanted)
    return {
        "messages": [message.wire() for message in found.items],
        "pagination": pagination(found.totalItems, page, limit, _order_text(wanted.orderBy)),
    }


async def _send(request: Request, backend: ConversationBackend) -> Json:
    message = _message_create(await params.body(request))
    # Infobip's docs: the sending agent travels in this header, not in the body.
    agent_id = request.headers.get("x-agent-id")
    sent = await backend.send_message(request.path_params["conversationId"], message, agent_id)
    return sent.wire()


async def _notes(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    limit, page = params.paging(query)
    wanted = NoteFilter(orderBy=_order(query.get("orderBy")), page=page, limit=limit)
    found = await backend.list_notes(request.path_params["conversationId"], wanted)
    return {
        "notes": [note.wire() for note in found.items],
        "pagination": pagination(found.totalItems, page, limit, _order_text(wanted.orderBy)),
    }


async def _add_note(request: Request, backend: ConversationBackend) -> Json:
    # Text notes only: an ATTACHMENT note names files uploaded elsewhere, which the emulator
    # does not hold (a 400, as for any body it cannot take).
    note = params.model(NoteCreate, await params.body(request))
    return (await backend.add_note(request.path_params["conversationId"], note)).wire()


async def _inbound(request: Request, backend: ConversationBackend) -> Json:
    if not isinstance(backend, CustomerSide):
        raise Refusal(404, "NOT_FOUND", "This emulator's store cannot act as the customer.")
    body = await params.body(request)
    conversation_id = request.path_params["conversationId"]
    if "content" not in body and isinstance(body.get("text"), str):
        body["content"] = {"text": body["text"]}  # `{"text": "…"}` is enough from a shell
    if "channel" not in body:
        channel = (await backend.get(conversation_id)).channel
        body["channel"] = channel.value if channel in SENDABLE_CHANNELS else INBOUND_CHANNEL
    message = _message_create({**INBOUND_DEFAULTS, **body})
    return (await backend.receive_message(conversation_id, message)).wire()


def _message_create(body: Mapping[str, Any]) -> MessageCreate:
    try:
        return MessageCreate.model_validate({k: v for k, v in body.items() if k in MESSAGE_FIELDS})
    except ValidationError as error:
        raise bad(BAD_BODY, params.validation_errors(error)) from None


def _order(text: str | None) -> ListOrder:
    # The contract: "If an order is not given, the default order id:asc will be applied."
    if not text:
        return ListOrder(field="id", direction="asc")
    try:
        return ListOrder.parse(text)
    except ValidationError:
        raise bad(f"Invalid orderBy '{text}'.") from None


def _order_text(order: ListOrder) -> str:
    return f"{order.field}:{order.direction.upper()}"


# Under /ccaas/1 (the API), and outside it (the emulator's own).
ROUTES: dict[str, dict[str, Handler]] = {
    f"{CONVERSATION}/messages": {"GET": _messages, "POST": _send},
    f"{CONVERSATION}/notes": {"GET": _notes, "POST": _add_note},
}
OWN_ROUTES: dict[str, dict[str, Handler]] = {INBOUND: {"POST": _inbound}}
