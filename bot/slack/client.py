"""The Slack Web API client convbot uses everywhere, and its pooled session."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack import client_policy


def slack_session() -> aiohttp.ClientSession:
    """One pool of keep-alive connections to Slack for the Web API client and response_url
    posts. Without it slack_sdk opens (TCP + TLS) and closes a connection for every call: 12 %
    of convbot's CPU per `/conv create` in benchmarks/throughput.py. Build it inside the event
    loop that uses it and close it on shutdown. slack_sdk sets no timeout on a session it is
    given, so the session carries it."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client_policy.TIMEOUT))


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL honoured, Slack's 429, 5xx and connection retries on
    (bounded as bot/slack/client_policy.py says). `session`: see slack_session; without one
    (a one-shot CLI command) each call has a connection of its own."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=client_policy.TIMEOUT,
        session=session,
        retry_handlers=client_policy.retry_handlers(),
    )
