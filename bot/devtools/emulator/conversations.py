"""The emulator's conversations: list, create, get, PUT, PATCH, assign, unassign and route under
`/ccaas/1/conversations`, as the contract gives them; the rules are the backend's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import answers, params
from bot.devtools.emulator.answers import Json
from bot.devtools.emulator.params import NewConversation
from bot.models import ConversationPatch, Priority, Status

Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]

# PUT replaces the whole conversation: what the body omits takes the create defaults.
PUT_DEFAULTS: dict[str, Any] = {
    "topic": None,
    "summary": None,
    "status": Status.OPEN.value,
    "priority": Priority.NORMAL.value,
    "queueId": None,
    "agentId": None,
}


async def _list(request: Request, backend: ConversationBackend) -> Json:
    query = params.conversation_filter(request.query_params)
    page = await backend.list(query)
    return {
        "conversations": [answers.conversation(c) for c in page.items],
        "pagination": answers.pagination(
            page.totalItems, page.page, page.limit, answers.order(query.orderBy)
        ),
    }


async def _create(request: Request, backend: ConversationBackend) -> Json:
    # Every field is optional in the contract, so `{}` is a valid create.
    wanted = params.model(NewConversation, await params.body(request))
    return answers.conversation(await backend.create(wanted.create()))


async def _get(request: Request, backend: ConversationBackend) -> Json:
    return answers.conversation(await backend.get(request.path_params["conversationId"]))


async def _put(request: Request, backend: ConversationBackend) -> Json:
    body = await params.body(request)
    patch = params.model(
        ConversationPatch, {**PUT_DEFAULTS, **params.known(ConversationPatch, body)}
    )
    return answers.conversation(await backend.patch(request.path_params["conversationId"], patch))


async def _patch(request: Request, backend: ConversationBackend) -> Json:
    patch = params.model(ConversationPatch, await params.body(request))
    return answers.conversation(await backend.patch(request.path_params["conversationId"], patch))


class _Assignee(BaseModel):
    agentId: str = Field(min_length=1, max_length=255)


async def _assign(request: Request, backend: ConversationBackend) -> Json:
    agent = params.model(_Assignee, await params.body(request))
    conversation_id = request.path_params["conversationId"]
    return answers.conversation(await backend.assign(conversation_id, agent.agentId))


async def _unassign(request: Request, backend: ConversationBackend) -> Json:
    return answers.conversation(await backend.unassign(request.path_params["conversationId"]))


async def _route(request: Request, backend: ConversationBackend) -> Json:
    # The contract's schema says ConversationResultPage; its example is the conversation itself,
    # which is what the API answers.
    return answers.conversation(await backend.route(request.path_params["conversationId"]))


ROUTES: dict[str, dict[str, Handler]] = {
    "/conversations": {"GET": _list, "POST": _create},
    "/conversations/{conversationId}": {"GET": _get, "PUT": _put, "PATCH": _patch},
    "/conversations/{conversationId}/assignee": {"PUT": _assign, "DELETE": _unassign},
    "/conversations/{conversationId}/route": {"POST": _route},
}
