"""The fake's network surface: Slack's Web API under `/api/{method}`, response_urls, and the
Socket Mode WebSocket under `/socket-mode/{ticket}`.

This module speaks HTTP and WebSocket only: it reads a call the way Slack does (query string,
form body or JSON body, the bot token from `Authorization: Bearer …` or a `token` argument, an
app-level method's `xapp-…` token from `Authorization` only), asks `FakeSlack`'s fault rules
(see `faults`) how to answer, records the call, and lets `methods` answer it. A refused call
never reaches `methods`: Slack refuses before it does anything. A Socket Mode connection is
handed to `socket_mode`, which greets it, pushes envelopes and records acks.

Serving the WebSocket needs uvicorn's WebSocket support (the `websockets` or `wsproto` package).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bot.devtools.fakeslack import methods
from bot.devtools.fakeslack.faults import RESPONSE_URL, Fault
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import JsonDict, SlackCall
from bot.devtools.fakeslack.response_urls import post_to_response_url
from bot.devtools.loopback import serve_in_background

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# Arguments Slack accepts as JSON-encoded strings in query strings and form posts.
JSON_ENCODED_ARGS = ("blocks", "attachments", "view", "metadata")
APP_TOKEN_PREFIX = "xapp-"
# A refused WebSocket handshake (an unknown or used ticket): closed before accepting, HTTP 403.
POLICY_VIOLATION = 1008


class _BadRequest(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def create_fake_slack_app(fake: FakeSlack) -> Starlette:
    """`POST|GET /api/{method}` (the Web API), `POST /response/{token}` (response_urls) and
    `WS /socket-mode/{ticket}` (Socket Mode)."""

    async def web_api(request: Request) -> Response:
        method = request.path_params["method"]
        late = 0.0
        try:
            args, form_token = await _read_args(request)
            if method in methods.APP_LEVEL_METHODS:  # an app-level token travels as a header
                token = _bearer(request)
            else:
                token = _bearer(request) or form_token
            body, late = _answer_call(fake, method, args, token)
        except _BadRequest as bad:
            body = {"ok": False, "error": bad.error}
            fake.record(SlackCall(method, {}, None, time.time(), False, bad.error))
        if isinstance(body, Fault):
            return await _fault_answer(fake, body, json_body=True)
        await _delay(fake, late)
        # Slack names the token's scopes on every answer (what `channels._granted_scopes` reads).
        scopes = {"X-OAuth-Scopes": ",".join(sorted(fake.scopes))}
        return Response(json.dumps(body), media_type=JSON_TYPE, headers=scopes)

    async def response_url(request: Request) -> Response:
        token = request.path_params["token"]
        arrived = time.time()
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        args = body if isinstance(body, dict) else {}
        fault = fake.take_fault(RESPONSE_URL, {"token": token, **args})
        if fault is not None and fault.refuses:
            fake.record_fault(_refused(RESPONSE_URL, args, token, arrived, fault))
            return await _fault_answer(fake, fault, json_body=False)
        if isinstance(body, dict):
            status, text = post_to_response_url(fake, token, body)
        else:
            status, text = 400, "invalid_payload"
        await _delay(fake, fault.delay if fault is not None else 0.0)
        return PlainTextResponse(text, status_code=status)

    async def socket_mode(websocket: WebSocket) -> None:
        ticket = websocket.path_params["ticket"]
        app_token = fake.socket_mode.redeem_ticket(ticket)
        if app_token is None:
            await websocket.close(POLICY_VIOLATION)
            return
        await websocket.accept()
        connection = await fake.socket_mode.connected(
            ticket, app_token, websocket.send_text, partial(_close_socket, websocket)
        )
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                fake.socket_mode.received(connection, text)
        finally:
            fake.socket_mode.disconnected(connection)

    return Starlette(
        routes=[
            Route("/api/{method}", web_api, methods=["GET", "POST"]),
            Route("/response/{token}", response_url, methods=["POST"]),
            WebSocketRoute("/socket-mode/{ticket}", socket_mode),
        ]
    )


async def _close_socket(websocket: WebSocket, code: int) -> None:
    with suppress(RuntimeError):  # already closed by the app
        await websocket.close(code)


def _answer_call(
    fake: FakeSlack, method: str, args: JsonDict, token: str | None
) -> tuple[JsonDict | Fault, float]:
    """Slack's answer body for one call (or the fault that refuses it), recording the call;
    and how many seconds late a fault rule wants the answer."""
    arrived = time.time()
    fault = fake.take_fault(method, args)
    if fault is not None and fault.refuses:
        fake.record_fault(_refused(method, args, token, arrived, fault))
        return fault, fault.delay
    refusal = _token_refusal(fake, method, token)
    if refusal is None:
        retry_after = fake.rate_limits.retry_after(method, _channel_of(args))
        if retry_after is not None:  # Slack's own limit, not an injected fault
            limited = Fault(status=429, error="ratelimited", retry_after=retry_after)
            fake.record(SlackCall(method, args, token, arrived, False, "ratelimited", 429))
            return limited, 0.0
    if refusal is not None:
        body: JsonDict = {"ok": False, "error": refusal}
    else:
        body = methods.call(fake, method, args, token or "")
    call = SlackCall(method, args, token, arrived, bool(body["ok"]), body.get("error"))
    fake.record(call, (body.get("response_metadata") or {}).get("messages") or ())
    return body, fault.delay if fault is not None else 0.0


def _channel_of(args: JsonDict) -> str | None:
    channel = args.get("channel")
    return None if channel is None else str(channel)


def _refused(
    method: str, args: JsonDict, token: str | None, arrived: float, fault: Fault
) -> SlackCall:
    return SlackCall(
        method,
        args,
        token,
        arrived,
        ok=False,
        error=fault.error,
        status=fault.status or 200,
        faulted=True,
    )


def _token_refusal(fake: FakeSlack, method: str, token: str | None) -> str | None:
    """Slack's error for the call's token, or None when the method may run with it.

    App-level methods take only app tokens (`xapp-…`), every other method only `xox…` tokens;
    the wrong kind is `not_allowed_token_type`, an unknown token `invalid_auth`.
    """
    if not token:
        return "not_authed"
    app_level = method in methods.APP_LEVEL_METHODS
    if token.startswith(APP_TOKEN_PREFIX):
        accepted = fake.accepted_app_tokens
    elif token.startswith("xox"):
        accepted = fake.accepted_tokens
    else:
        return "invalid_auth"
    if accepted is not None and token not in accepted:
        return "invalid_auth"
    if app_level != token.startswith(APP_TOKEN_PREFIX):
        return "not_allowed_token_type"
    return None


async def _read_args(request: Request) -> tuple[JsonDict, str | None]:
    """The call's arguments (query, then form or JSON body) and a `token` argument, if any.

    Slack reads a token from the query string or a form body, never from a JSON body.
    """
    args: JsonDict = dict(request.query_params)
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            raise _BadRequest("invalid_json") from None
        if not isinstance(body, dict):
            raise _BadRequest("invalid_json")
        token = args.pop("token", None)
        args.update(body)
        args.pop("token", None)
    else:
        if raw:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        token = args.pop("token", None)
    for key in JSON_ENCODED_ARGS:
        if key in args:
            args[key] = _decode_json_string(args[key])
    return args, (str(token) if token else None)


def _decode_json_string(value: object) -> object:
    """A JSON-encoded argument decoded; left as it was when it is not valid JSON."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


async def _fault_answer(fake: FakeSlack, fault: Fault, *, json_body: bool) -> Response:
    """The refusal as Slack sends it: `{"ok": false, "error"}` from the Web API (an HTML error
    page for a 5xx from Slack's edge), plain text from a response_url; `Retry-After` on 429s."""
    await _delay(fake, fault.delay)
    status = fault.status or 200
    if fault.html:
        return Response(
            fault.html_page(), status_code=status, headers=fault.headers(), media_type=HTML_TYPE
        )
    if json_body:
        body = json.dumps({"ok": False, "error": fault.error})
        return Response(body, status_code=status, headers=fault.headers(), media_type=JSON_TYPE)
    return PlainTextResponse(fault.error or "", status_code=status, headers=fault.headers())


async def _delay(fake: FakeSlack, extra: float = 0.0) -> None:
    """`fake.latency` on every answer, plus what a fault rule adds to this one."""
    seconds = fake.latency + extra
    if seconds > 0:
        await asyncio.sleep(seconds)


@asynccontextmanager
async def serve_fake_slack(fake: FakeSlack) -> AsyncIterator[str]:
    """Serve the fake on a free 127.0.0.1 port in this loop; yield its base URL.

    Point `SLACK_API_URL` (slack_sdk's `base_url`) at `f"{base_url}/api/"` (also `fake.api_url`);
    `fake.new_response_url(...)` works while it serves.
    """
    async with serve_in_background(create_fake_slack_app(fake)) as base_url:
        fake.base_url = base_url
        try:
            yield base_url
        finally:
            fake.base_url = None
