"""An HTTP app that serves a `ConversationBackend` as the Infobip Conversations API.

It is a thin adapter, in the other direction from `InfobipBackend`: it turns the contract's
requests into backend calls and the backend's answers and errors into the contract's bodies,
status codes and error envelopes (`contracts/infobip-conversations-openapi.json`). It holds no
rules of its own; the backend (normally LocalBackend) decides.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import answers, metadata, params, transcripts
from bot.devtools.emulator.answers import (
    CLOSED,
    GENERAL_ERROR,
    TAG_EXISTS,
    Json,
    Refusal,
    error_response,
)
from bot.devtools.emulator.observe import Observed
from bot.devtools.emulator.params import NewConversation
from bot.devtools.faults.asgi import FaultMiddleware
from bot.devtools.faults.plan import FaultDice, FaultPlan
from bot.errors import (
    BackendUnavailable,
    ConversationClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
)
from bot.field_rules import LIMIT_MAX
from bot.models import (
    Agent,
    AgentRole,
    AgentStatus,
    ConversationPatch,
    Priority,
    Queue,
    RoutingRule,
    Status,
)

log = logging.getLogger(__name__)

API = "/ccaas/1"
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


# --- the app ---------------------------------------------------------------------------------


def create_emulator_app(
    backend: ConversationBackend,
    api_key: str,
    *,
    latency: float = 0.0,
    faults: FaultPlan | FaultDice | None = None,
) -> Starlette:
    """Serve `backend` under `/ccaas/1/`, requiring `Authorization: App <api_key>`.

    `latency` (seconds) is added before every answer, refusals included, to stand in for a
    distant or slow API; the requests still overlap (it is a sleep, not a queue). A plan's
    `latency` does the same when `latency` is not given.

    `faults` makes a share of the requests answer 429, 500, 503 or time out instead of being
    handled (`bot.devtools.faults.asgi`); the drop kinds need `bot.devtools.faults.proxy` in
    front and pass here without a fault. Pass a `FaultDice` to read what was injected
    (`dice.injected`); the app's dice is also at `app.state.fault_dice`.
    """
    if latency < 0:
        raise ValueError(f"latency must be >= 0 seconds, not {latency}")
    dice = faults if isinstance(faults, FaultDice) else FaultDice(faults or FaultPlan())
    if latency > 0 and dice.plan.latency > 0 and latency != dice.plan.latency:
        raise ValueError(
            f"latency is given twice ({latency:g} s, and {dice.plan.latency:g} s in the fault "
            "plan); give it once"
        )
    latency = latency or dice.plan.latency

    def route(path: str, methods: Mapping[str, Handler], prefix: str = API) -> Route:
        async def endpoint(request: Request) -> Response:
            # Starlette answers HEAD on GET routes: HEAD runs the GET handler.
            handler = methods.get(request.method) or methods["GET"]
            return await _answer(request, backend, handler)

        return Route(prefix + path, endpoint, methods=list(methods))

    app = Starlette(
        routes=[
            route("/conversations", {"GET": _list, "POST": _create}),
            route(
                "/conversations/{conversationId}",
                {"GET": _get, "PUT": _put, "PATCH": _patch},
            ),
            route(
                "/conversations/{conversationId}/assignee",
                {"PUT": _assign, "DELETE": _unassign},
            ),
            route("/conversations/{conversationId}/route", {"POST": _route}),
            route("/conversations/{conversationId}/tags", {"POST": _add_tag}),
            route("/conversations/{conversationId}/tags/{tagName:path}", {"DELETE": _remove_tag}),
            route("/tags", {"GET": _tags, "POST": _create_tag}),
            route("/agents", {"GET": _agents}),
            route("/agents/{agentId}", {"GET": _agent}),
            route("/queues", {"GET": _queues}),
            route("/routing", {"GET": _routing}),
            *(route(path, methods) for path, methods in transcripts.ROUTES.items()),
            *(route(path, methods) for path, methods in metadata.ROUTES.items()),
            *(route(path, methods, "") for path, methods in transcripts.OWN_ROUTES.items()),
        ],
        middleware=[
            Middleware(_Latency, seconds=latency),
            # Sees every answer a client gets, faults and 401s too (bot.devtools.emulator.observe).
            Middleware(Observed),
            # Faults come before the key is checked: they stand for the network and the
            # gateways in front of the API, which throttle and fail whoever is asking.
            Middleware(FaultMiddleware, dice=dice),
            Middleware(_RequireApiKey, api_key=api_key),
        ],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.fault_dice = dice
    return app


class _Latency:
    """Waits `seconds` before handling each HTTP request (the outermost layer, so every answer,
    a 401 too, comes that much later). Zero adds nothing, not even a task switch."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self._app = app
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._seconds > 0 and scope["type"] == "http":
            await asyncio.sleep(self._seconds)
        await self._app(scope, receive, send)


class _RequireApiKey:
    """Every path, known or not, answers 401 without the right `Authorization: App <key>`."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"App {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = Headers(scope=scope).get("authorization", "").encode()
            if not hmac.compare_digest(given, self._expected):
                await error_response(401, "UNAUTHORIZED", "Unauthorized")(scope, receive, send)
                return
        await self._app(scope, receive, send)


async def _http_exception(_request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the envelope too, never as plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_response(404, "NOT_FOUND", "Not found")
    message_id = "METHOD_NOT_ALLOWED" if status == 405 else "BAD_REQUEST"
    return error_response(status, message_id, str(getattr(exc, "detail", "")) or message_id)


async def _answer(request: Request, backend: ConversationBackend, handler: Handler) -> Response:
    """Run one handler and translate what the backend raised into the contract's answers."""
    try:
        return JSONResponse(await handler(request, backend))
    except Refusal as refusal:
        return refusal.response()
    except ConversationClosed:
        return error_response(400, "BAD_REQUEST", CLOSED)
    except NotFound as error:
        return await _not_found(request, backend, error)
    except InvalidInput as error:
        return error_response(400, "BAD_REQUEST", error.message)
    except Forbidden as error:
        return error_response(403, "FORBIDDEN", error.message)
    except RateLimited as error:
        response = error_response(429, "TOO_MANY_REQUESTS", error.message)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(round(error.retry_after))
        return response
    except BackendUnavailable as error:
        return error_response(503, "SERVICE_UNAVAILABLE", error.message)
    except Exception:
        log.exception("emulator: %s %s failed", request.method, request.url.path)
        return error_response(500, "GENERAL_ERROR", GENERAL_ERROR)


async def _not_found(
    request: Request, backend: ConversationBackend, error: NotFound
) -> JSONResponse:
    """The id in the path missing is a 404; something the body names missing (an agent, a tag,
    a queue) is the contract's 400 NOT_FOUND, with the backend's sentence naming it."""
    conversation_id = request.path_params.get("conversationId")
    if conversation_id is not None:
        try:
            await backend.get(conversation_id)
        except NotFound:
            return answers.invalid_id(conversation_id).response()
    return error_response(400, "NOT_FOUND", error.message)


# --- conversations ---------------------------------------------------------------------------


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


# --- tags ------------------------------------------------------------------------------------


class _TagLink(BaseModel):
    tagName: str = Field(min_length=1, max_length=100)


class _NewTag(BaseModel):
    name: str = Field(min_length=1, max_length=100)


async def _add_tag(request: Request, backend: ConversationBackend) -> Json:
    link = params.model(_TagLink, await params.body(request))
    await backend.add_tag(request.path_params["conversationId"], link.tagName)
    return {"statusCode": "SUCCESS", "message": "Tag added to conversation successfully."}


async def _remove_tag(request: Request, backend: ConversationBackend) -> Json:
    path = request.path_params
    await backend.remove_tag(path["conversationId"], path["tagName"])
    return {"statusCode": "SUCCESS", "message": "Tag removed successfully."}


async def _tags(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    limit, page = params.paging(query)
    tags = await backend.list_tags(query.get("conversationId"))
    if "name" in query:
        tags = [tag for tag in tags if tag.name == query["name"]]
    tags, order_text = params.ordered(tags, query, answers.TAG)
    return answers.listing("tags", tags, answers.TAG, limit, page, order_text)


async def _create_tag(request: Request, backend: ConversationBackend) -> Json:
    wanted = params.model(_NewTag, await params.body(request))
    # Infobip refuses a duplicate; the backend protocol treats it as done. Say what Infobip says.
    if any(tag.name == wanted.name for tag in await backend.list_tags()):
        raise answers.bad(TAG_EXISTS)
    return answers.dump(await backend.create_tag(wanted.name), answers.CREATED_TAG)


# --- agents, queues, routing -----------------------------------------------------------------

# GET /agents's date filters (the contract's parameters): item field, and which side of it.
_AGENT_DATES = {
    "createdAfter": ("createdAt", "after"),
    "createdBefore": ("createdAt", "before"),
    "updatedAfter": ("updatedAt", "after"),
    "updatedBefore": ("updatedAt", "before"),
}


async def _agents(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    # Queue membership is not in the backend protocol, nor an availability "set by the
    # system" (the contract): refused rather than answered with nobody.
    params.unsupported(query, "queueIds", "availability")
    limit, page = params.paging(query)
    # An unknown enum or boolean value is a 400, as for conversations.
    for name, kind in (("status", AgentStatus), ("role", AgentRole)):
        params.enum_values(query, name, kind)
    params.boolean(query, "enabled")
    email = query.get("email")
    # `email` filters on what the items do not show (AgentResponse has no email): the backend
    # looks it up, by the same rule as the embedded store (`bot.models.same_email`).
    agents = (
        await backend.agents_with_email(email) if email is not None else await backend.list_agents()
    )
    agents = params.filtered(
        agents,
        query,
        {
            "agentIds": "id",
            "status": "status",
            "role": "role",
            "enabled": "enabled",
        },
    )
    if "displayName" in query:
        # The contract: "This is case insensitive and will search for substring anywhere
        # within string".
        part = query["displayName"].casefold()
        agents = [agent for agent in agents if part in agent.displayName.casefold()]
    agents = params.dates(agents, query, _AGENT_DATES)
    agents, order_text = params.ordered(agents, query, answers.AGENT)
    return answers.listing("agents", agents, answers.AGENT, limit, page, order_text)


async def _agent(request: Request, backend: ConversationBackend) -> Json:
    agent_id = request.path_params["agentId"]
    found: list[Agent] = [a for a in await backend.list_agents() if a.id == agent_id]
    if not found:
        raise Refusal(404, "NOT_FOUND", f"Invalid agent id given '{agent_id}'")
    # AgentResponseWithEmail: the one agent answer that carries the e-mail.
    return answers.dump(found[0], answers.AGENT_WITH_EMAIL)


async def _queues(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    # Queue membership and working hours are not in the backend protocol: refused, not ignored.
    params.unsupported(query, "agentId", "workingHoursId")
    limit, page = params.paging(query)
    queues: list[Queue] = params.filtered(
        await backend.list_queues(), query, {"queueIds": "id", "name": "name"}
    )
    queues, order_text = params.ordered(queues, query, answers.QUEUE)
    return answers.listing("queues", queues, answers.QUEUE, limit, page, order_text)


async def _routing(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    params.boolean(query, "enabled")
    rules: list[RoutingRule] = params.filtered(
        await backend.list_routing_rules(), query, {"ruleIds": "id", "enabled": "enabled"}
    )
    rules.sort(key=lambda rule: rule.order)
    # GET /routing is not paged: every rule, with the pagination the contract's example shows.
    return answers.listing("routes", rules, answers.RULE, LIMIT_MAX, 0, "order:ASC")
