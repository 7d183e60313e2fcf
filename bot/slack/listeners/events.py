"""Events: the Home tab is drawn when someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.context import SlackContext
from bot.slack.home import publish_home
from bot.slack.listeners.answering import observed

HOME_OPENED = "app_home_opened"


def register(app: AsyncApp, deps: SlackContext) -> None:
    @app.event(HOME_OPENED)
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab needs nothing drawn
        async with observed(deps.metrics, "event", "app_home_opened"):
            await publish_home(deps, client, str(event.get("user") or ""))
