"""Faults injected at the HTTP layer: an ASGI middleware that answers some requests itself,
before the app sees them.

- "429": Infobip's throttling answer, `Retry-After` set;
- "500" / "503": Infobip's error envelope with that status;
- "timeout": no answer until the plan's `timeout` has passed (or the client hung up), then 503.

In each case the request is read and dropped: the app never handles it, so nothing changed.
Other kinds ("drop-before", "drop-after") pass without a fault: closing a connection is not
something an ASGI app can do (uvicorn answers 500 for an app that sends nothing); see
`bot.devtools.faults.proxy`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.devtools.faults.plan import HTTP_KINDS, FaultDice, FaultKind, FaultPlan

log = logging.getLogger(__name__)

# Infobip's error envelope, as bot/devtools/emulator/answers.py builds it (not imported from
# there: the emulator imports this module, and the middleware can stand in front of any app).
_ANSWERS: dict[FaultKind, tuple[int, str, str]] = {
    "429": (429, "TOO_MANY_REQUESTS", "Too many requests."),
    "500": (500, "GENERAL_ERROR", "Something went wrong. Please contact support."),
    "503": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
    "timeout": (503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable."),
}


def fault_response(kind: FaultKind, plan: FaultPlan) -> JSONResponse:
    """The answer given for an HTTP-layer fault: status and Infobip error envelope."""
    status, message_id, text = _ANSWERS[kind]
    details: dict[str, Any] = {"messageId": message_id, "text": text}
    body = {"requestError": {"serviceException": details}}
    headers = {"Retry-After": f"{plan.retry_after:g}"} if kind == "429" else None
    return JSONResponse(body, status_code=status, headers=headers)


class FaultMiddleware:
    """Rolls `dice` for each HTTP request and, on an HTTP-layer fault, answers instead of the
    app. Non-HTTP scopes (lifespan, websocket) pass untouched."""

    def __init__(self, app: ASGIApp, dice: FaultDice) -> None:
        self._app = app
        self._dice = dice

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self._dice.roll(HTTP_KINDS) if scope["type"] == "http" else None
        if kind is None:
            await self._app(scope, receive, send)
            return
        self._dice.record(kind)
        log.debug("fault %s for %s %s", kind, scope.get("method"), scope.get("path"))
        hung_up = await _drain(receive)
        if kind == "timeout" and not hung_up:
            await _stall(receive, self._dice.plan.timeout)
        # A client that hung up gets nothing: uvicorn drops what is sent after a disconnect.
        await fault_response(kind, self._dice.plan)(scope, receive, send)


async def _drain(receive: Receive) -> bool:
    """Read the request body to its end (so that the connection can carry the next request).
    True when the client hung up instead."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        if not message.get("more_body", False):
            return False


async def _stall(receive: Receive, seconds: float) -> None:
    """Wait `seconds`, or until the client hangs up (which is what a client that timed out
    does), so that a stalled request does not hold up the server's shutdown."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass
