"""An HTTP app that serves a `ConversationBackend` as the Infobip Conversations API.

It is a thin adapter, in the other direction from `InfobipBackend`: it turns the contract's
requests into backend calls and the backend's answers and errors into the contract's bodies,
status codes and error envelopes (`contracts/infobip-conversations-openapi.json`). It holds no
rules of its own; the backend (normally LocalBackend) decides.

This module builds the app (routes, latency, faults, the API key) and turns what a handler
raised into the contract's answer; the handlers are per resource: conversations.py, tags.py,
directory.py (agents, queues, routing rules), transcripts.py, metadata.py.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import (
    answers,
    conversations,
    directory,
    metadata,
    tags,
    transcripts,
)
from bot.devtools.emulator.answers import (
    CLOSED,
    GENERAL_ERROR,
    Json,
    Refusal,
    error_response,
)
from bot.devtools.emulator.observe import Observed
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

log = logging.getLogger(__name__)

API = "/ccaas/1"
Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]

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
            *(
                route(path, methods)
                for resource in (conversations, tags, directory, transcripts, metadata)
                for path, methods in resource.ROUTES.items()
            ),
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
