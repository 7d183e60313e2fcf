"""An HTTP app that serves a `ConversationBackend` as the Infobip Conversations API.

It is a thin adapter, in the other direction from `InfobipBackend`: it turns the contract's
requests into backend calls and the backend's answers and errors into the contract's bodies,
status codes and error envelopes (`contracts/infobip-conversations-openapi.json`). It holds no
rules of its own; the backend (normally LocalBackend) decides.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.backends.base import ConversationBackend
from bot.errors import (
    BackendUnavailable,
    ConversationClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
)
from bot.models import (
    LIMIT_MAX,
    Agent,
    AgentRole,
    AgentStatus,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    OrderBy,
    Priority,
    Queue,
    RoutingRule,
    Status,
    parse_timestamp,
)

log = logging.getLogger(__name__)

API = "/ccaas/1"
DEFAULT_LIMIT = 10  # the contract's default page size
DEFAULT_ORDER = "id:ASC"  # "If an order is not given, the default order id:asc will be applied."
# Texts from the contract's examples.
BAD_BODY = "Invalid request body."
CLOSED = "Closed conversation cannot be changed"
PAGE_SIZE_NEGATIVE = "Page size has to be bigger or equal to zero!"
TAG_EXISTS = "Tag already exists."
GENERAL_ERROR = "Something went wrong. Please contact support."
# The contract shows no text for these; they follow the pattern of the one above.
PAGE_SIZE_ZERO = "Page size has to be bigger than zero!"
PAGE_SIZE_TOO_BIG = f"Page size has to be smaller or equal to {LIMIT_MAX}!"
PAGE_NEGATIVE = "Page number has to be bigger or equal to zero!"

Json = Any
Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]
M = TypeVar("M", bound=BaseModel)

# PUT replaces the whole conversation: what the body omits takes the create defaults.
PUT_DEFAULTS: dict[str, Any] = {
    "topic": None,
    "summary": None,
    "status": Status.OPEN.value,
    "priority": Priority.NORMAL.value,
    "queueId": None,
    "agentId": None,
}


class _Refusal(Exception):
    """An answer given before (or instead of) the backend's: status plus error envelope."""

    def __init__(
        self,
        status: int,
        message_id: str,
        text: str,
        validation: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.message_id = message_id
        self.text = text
        self.validation = validation

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message_id, self.text, self.validation)


def error_response(
    status: int, message_id: str, text: str, validation: Mapping[str, list[str]] | None = None
) -> JSONResponse:
    details: dict[str, Any] = {"messageId": message_id, "text": text}
    if validation:
        details["validationErrors"] = dict(validation)
    return JSONResponse({"requestError": {"serviceException": details}}, status_code=status)


def _bad(text: str, validation: Mapping[str, list[str]] | None = None) -> _Refusal:
    return _Refusal(400, "BAD_REQUEST", text, validation)


def _invalid_id(entity_id: str) -> _Refusal:
    return _Refusal(404, "NOT_FOUND", f"Invalid id '{entity_id}' given! No such entity exists.")


# --- the app ---------------------------------------------------------------------------------


def create_emulator_app(backend: ConversationBackend, api_key: str) -> Starlette:
    """Serve `backend` under `/ccaas/1/`, requiring `Authorization: App <api_key>`."""

    def route(path: str, methods: Mapping[str, Handler]) -> Route:
        async def endpoint(request: Request) -> Response:
            # Starlette answers HEAD on GET routes: HEAD runs the GET handler.
            handler = methods.get(request.method) or methods["GET"]
            return await _answer(request, backend, handler)

        return Route(API + path, endpoint, methods=list(methods))

    return Starlette(
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
        ],
        middleware=[Middleware(_RequireApiKey, api_key=api_key)],
        exception_handlers={HTTPException: _http_exception},
    )


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
    except _Refusal as refusal:
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
            return _invalid_id(conversation_id).response()
    return error_response(400, "NOT_FOUND", error.message)


# --- conversations ---------------------------------------------------------------------------


async def _list(request: Request, backend: ConversationBackend) -> Json:
    query = _conversation_filter(request.query_params)
    page = await backend.list(query)
    return {
        "conversations": [_conversation(c) for c in page.items],
        "pagination": _pagination(page.totalItems, page.page, page.limit, _order(query.orderBy)),
    }


async def _create(request: Request, backend: ConversationBackend) -> Json:
    data = _model(ConversationCreate, await _body(request))
    return _conversation(await backend.create(data))


async def _get(request: Request, backend: ConversationBackend) -> Json:
    return _conversation(await backend.get(request.path_params["conversationId"]))


async def _put(request: Request, backend: ConversationBackend) -> Json:
    body = await _body(request)
    patch = _model(ConversationPatch, {**PUT_DEFAULTS, **_known(ConversationPatch, body)})
    return _conversation(await backend.patch(request.path_params["conversationId"], patch))


async def _patch(request: Request, backend: ConversationBackend) -> Json:
    patch = _model(ConversationPatch, await _body(request))
    return _conversation(await backend.patch(request.path_params["conversationId"], patch))


class _Assignee(BaseModel):
    agentId: str = Field(min_length=1, max_length=255)


async def _assign(request: Request, backend: ConversationBackend) -> Json:
    agent = _model(_Assignee, await _body(request))
    conversation_id = request.path_params["conversationId"]
    return _conversation(await backend.assign(conversation_id, agent.agentId))


async def _unassign(request: Request, backend: ConversationBackend) -> Json:
    return _conversation(await backend.unassign(request.path_params["conversationId"]))


async def _route(request: Request, backend: ConversationBackend) -> Json:
    # The contract's schema says ConversationResultPage; its example is the conversation itself,
    # which is what the API answers.
    return _conversation(await backend.route(request.path_params["conversationId"]))


# --- tags ------------------------------------------------------------------------------------


class _TagLink(BaseModel):
    tagName: str = Field(min_length=1, max_length=100)


class _NewTag(BaseModel):
    name: str = Field(min_length=1, max_length=100)


async def _add_tag(request: Request, backend: ConversationBackend) -> Json:
    link = _model(_TagLink, await _body(request))
    await backend.add_tag(request.path_params["conversationId"], link.tagName)
    return {"statusCode": "SUCCESS", "message": "Tag added to conversation successfully."}


async def _remove_tag(request: Request, backend: ConversationBackend) -> Json:
    params = request.path_params
    await backend.remove_tag(params["conversationId"], params["tagName"])
    return {"statusCode": "SUCCESS", "message": "Tag removed successfully."}


async def _tags(request: Request, backend: ConversationBackend) -> Json:
    params = request.query_params
    limit, page = _paging(params)
    tags = await backend.list_tags(params.get("conversationId"))
    if "name" in params:
        tags = [tag for tag in tags if tag.name == params["name"]]
    return _listing("tags", tags, limit, page, params.get("orderBy") or DEFAULT_ORDER)


async def _create_tag(request: Request, backend: ConversationBackend) -> Json:
    wanted = _model(_NewTag, await _body(request))
    # Infobip refuses a duplicate; the backend protocol treats it as done. Say what Infobip says.
    if any(tag.name == wanted.name for tag in await backend.list_tags()):
        raise _bad(TAG_EXISTS)
    return _dump(await backend.create_tag(wanted.name))


# --- agents, queues, routing -----------------------------------------------------------------


async def _agents(request: Request, backend: ConversationBackend) -> Json:
    params = request.query_params
    _unsupported(
        params, "queueIds", "createdAfter", "createdBefore", "updatedAfter", "updatedBefore"
    )
    limit, page = _paging(params)
    for name, kind in (("status", AgentStatus), ("availability", AgentStatus), ("role", AgentRole)):
        _enum_values(params, name, kind)  # an unknown enum value is a 400, as for conversations
    agents = _filtered(
        await backend.list_agents(),
        params,
        {
            "agentIds": "id",
            "displayName": "displayName",
            "email": "email",
            "status": "status",
            "availability": "availability",
            "role": "role",
            "enabled": "enabled",
        },
    )
    return _listing("agents", agents, limit, page, params.get("orderBy") or DEFAULT_ORDER)


async def _agent(request: Request, backend: ConversationBackend) -> Json:
    agent_id = request.path_params["agentId"]
    found: list[Agent] = [a for a in await backend.list_agents() if a.id == agent_id]
    if not found:
        raise _Refusal(404, "NOT_FOUND", f"Invalid agent id given '{agent_id}'")
    return _dump(found[0])


async def _queues(request: Request, backend: ConversationBackend) -> Json:
    params = request.query_params
    _unsupported(params, "agentId", "workingHoursId")
    limit, page = _paging(params)
    queues: list[Queue] = _filtered(
        await backend.list_queues(), params, {"queueIds": "id", "name": "name"}
    )
    return _listing("queues", queues, limit, page, params.get("orderBy") or DEFAULT_ORDER)


async def _routing(request: Request, backend: ConversationBackend) -> Json:
    params = request.query_params
    rules: list[RoutingRule] = _filtered(
        await backend.list_routing_rules(), params, {"ruleIds": "id", "enabled": "enabled"}
    )
    rules.sort(key=lambda rule: rule.order)
    # GET /routing is not paged: every rule, with the pagination the contract's example shows.
    return _listing("routes", rules, LIMIT_MAX, 0, "order:ASC")


# --- requests --------------------------------------------------------------------------------


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:  # empty, not JSON, not UTF-8
        raise _bad(BAD_BODY) from None
    if not isinstance(data, dict):
        raise _bad(BAD_BODY)
    return data


def _known(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields our model has. Others (read-only ones like id, ones we do not model) are
    ignored, as the API ignores what it does not take."""
    return {key: value for key, value in data.items() if key in model.model_fields}


def _model(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(_known(model, data))
    except ValidationError as error:
        raise _bad(BAD_BODY, _validation_errors(error)) from None


def _validation_errors(error: ValidationError) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        found.setdefault(where, []).append(problem["msg"])
    return found


def _conversation_filter(params: QueryParams) -> ConversationFilter:
    _unsupported(params, "conversationIds")
    limit, page = _paging(params)
    try:
        return ConversationFilter(
            statuses=_enum_values(params, "status", Status),
            priorities=_enum_values(params, "priority", Priority),
            queueIds=params.getlist("queueIds"),
            tags=params.getlist("tagNames"),
            agentId=params.get("agentId"),
            orderBy=_order_by(params.get("orderBy")),
            page=page,
            limit=limit,
            **_dates(params),
        )
    except ValidationError as error:
        raise _bad("Invalid request parameters.", _validation_errors(error)) from None


def _dates(params: QueryParams) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for name in (
        "createdAfter",
        "createdBefore",
        "updatedAfter",
        "updatedBefore",
        "closedAfter",
        "closedBefore",
    ):
        found.update(_date(params, name))
    return found


def _date(params: QueryParams, name: str) -> dict[str, datetime]:
    if name not in params:
        return {}
    try:
        value = parse_timestamp(params[name])
    except ValueError:
        value = None
    if not isinstance(value, datetime):
        raise _bad(f"Invalid value '{params[name]}' for '{name}'.")
    return {name: value}


E = TypeVar("E", bound=Enum)


def _enum_values(params: QueryParams, name: str, kind: type[E]) -> list[E]:
    """The contract's enum parameters take one value each."""
    values = params.getlist(name)
    if len(values) > 1:
        raise _bad(f"Parameter '{name}' takes one value.")
    try:
        return [kind(value) for value in values]
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise _bad(f"Invalid value '{values[0]}' for '{name}'; use one of {allowed}.") from None


def _order_by(text: str | None) -> OrderBy:
    if not text:
        return OrderBy(field="id", direction="asc")
    try:
        return OrderBy.parse(text)
    except ValidationError:
        raise _bad(f"Invalid orderBy '{text}'.") from None


def _paging(params: QueryParams) -> tuple[int, int]:
    limit = _integer(params, "limit", DEFAULT_LIMIT)
    page = _integer(params, "page", 0)
    if limit < 0:
        raise _bad(PAGE_SIZE_NEGATIVE)
    if limit == 0:
        raise _bad(PAGE_SIZE_ZERO)
    if limit > LIMIT_MAX:
        raise _bad(PAGE_SIZE_TOO_BIG)
    if page < 0:
        raise _bad(PAGE_NEGATIVE)
    return limit, page


def _integer(params: QueryParams, name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise _bad(f"Invalid value '{text}' for '{name}'.") from None


def _unsupported(params: QueryParams, *names: str) -> None:
    """Filters the backend protocol cannot express: refuse them rather than ignore them."""
    for name in names:
        if name in params:
            raise _bad(f"The emulator does not support the '{name}' filter.")


# --- answers ---------------------------------------------------------------------------------


def _dump(model: BaseModel) -> Json:
    # The contract types optional fields as plain strings: absent, not null.
    return model.model_dump(mode="json", exclude_none=True)


def _conversation(conversation: Conversation) -> Json:
    # Infobip's conversation bodies carry no tags (they are their own resource); channel stays.
    return conversation.model_dump(mode="json", exclude={"tags"}, exclude_none=True)


def _order(order: OrderBy) -> str:
    return f"{order.field}:{order.direction.upper()}"


def _pagination(total: int, page: int, limit: int, order: str) -> Json:
    return {"totalItems": total, "page": page, "limit": limit, "orderBy": order}


def _listing(key: str, items: Sequence[BaseModel], limit: int, page: int, order: str) -> Json:
    start = page * limit
    return {
        key: [_dump(item) for item in items[start : start + limit]],
        "pagination": _pagination(len(items), page, limit, order),
    }


T = TypeVar("T", bound=BaseModel)


def _filtered(items: Iterable[T], params: QueryParams, fields: Mapping[str, str]) -> list[T]:
    """Keep items whose field equals one of the values given for its parameter."""
    wanted = {fields[name]: set(params.getlist(name)) for name in fields if name in params}
    return [
        item
        for item in items
        if all(_text(getattr(item, field)) in values for field, values in wanted.items())
    ]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)
