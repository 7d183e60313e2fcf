"""`respond()` over a response_url with the Web API client's retries.

Bolt's own `respond` posts once: a 429 from Slack or a dropped connection loses the answer (a
card that never redraws) without a word. This one retries those as the Web API client does
(bot/slack/client_policy.py: a short `Retry-After` is waited out, a long one is not), and logs a
post Slack still refuses. A middleware puts it in every listener's `respond`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from bot.slack import client_policy

log = logging.getLogger(__name__)


def webhook_client(
    response_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebhookClient:
    """A response_url client that retries 429s, 5xx and connection failures by the Web API
    client's policy (bot/slack/client_policy.py: a 5xx lost the answer to a command otherwise).
    `session`: the Web API client's pooled one (slack_session); without it every post
    opens and closes a connection of its own."""
    return AsyncWebhookClient(
        url=response_url,
        timeout=client_policy.TIMEOUT,
        session=session,
        retry_handlers=client_policy.retry_handlers(),
    )


async def post(
    response_url: str, message: dict[str, Any], session: aiohttp.ClientSession | None = None
) -> WebhookResponse:
    """Post `message` to a response_url with retries; a final refusal is logged."""
    response = await webhook_client(response_url, session).send_dict(message)
    if response.status_code != 200:
        log.warning(
            "Slack refused a response_url post: HTTP %s %s", response.status_code, response.body
        )
    return response


class RetryingRespond(AsyncRespond):
    def __init__(self, *, response_url: str | None, session: aiohttp.ClientSession | None) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            # Slack sends no response_url for a press in a modal or on the Home tab, so a button
            # meant for a message, pressed there (an old view, a forged payload), has nowhere to
            # answer. Bolt's respond raised, over whatever it was saying: an unhandled error.
            log.warning("no response_url to answer on: %.200s", text)
            return WebhookResponse(url="", status_code=404, body="no response_url", headers={})
        if isinstance(text, dict):
            return await post(self.response_url, _build_message(**text), self.session)
        message = _build_message(
            text=text,
            blocks=blocks,
            attachments=attachments,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            thread_ts=thread_ts,
            metadata=metadata,
        )
        return await post(self.response_url, message, self.session)


async def retrying_respond(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
    """Global middleware: every listener's `respond` retries like the Web API client."""
    context["respond"] = RetryingRespond(
        response_url=context.response_url,
        session=context.client.session if context.client else None,
    )
    return await next()
