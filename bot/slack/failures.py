"""What a Slack Web API call can fail with once slack_sdk's retries are spent.

slack_sdk raises its own errors for Slack's answers, but re-raises aiohttp's and asyncio's own
for a connection that fails or times out: code that degrades gracefully must catch all of them.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

SLACK_FAILURES: tuple[type[BaseException], ...] = (
    SlackApiError,
    SlackClientError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
)
