"""Hand a request intake accepted (bot/slack/intake.py) to Bolt, its body read as Slack meant it.

Bolt reads any form body that contains the word "payload" anywhere as an interactivity payload
(slack_bolt.request.internals.parse_body: `if "payload" in body`), and a form without a
`payload=` field then reads as `{}`. A slash command whose text says "payload" (`/conv create
payload schema broken`) reached no listener and was acknowledged with nothing: the person got
no answer at all. Such a body is given to Bolt as the flat form it is; the signature Bolt checks
is over the raw body, which is untouched.
"""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.request.async_internals import build_async_context
from starlette.requests import Request
from starlette.responses import Response

from bot.slack.intake import content_type_of, read_body


async def dispatch(handler: AsyncSlackRequestHandler, request: Request) -> Response:
    """Bolt's answer to the request (which intake has already judged readable)."""
    body = await request.body()
    bolt_request = to_async_bolt_request(request, body)
    if not bolt_request.body and b"payload" in body:
        bolt_request.body = read_body(body.decode("utf-8"), content_type_of(request.headers))
        # Who, where and the response_url are read from the body when the request is built.
        bolt_request.context = build_async_context(bolt_request.context, bolt_request.body)
    return to_starlette_response(await handler.app.async_dispatch(bolt_request))
