"""People's messages in conversations' threads, for `thread_replies` (issue 18 item 4): what
each becomes is decided in bot/slack/thread_replies.py; here the event is read and handed on.

Bolt acknowledges an event before its listener runs (bot/slack/app.py), and Slack's
redeliveries are dropped before they get here (bot/slack/redeliveries.py).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.context import SlackContext
from bot.slack.listeners.answering import observed
from bot.slack.thread_replies import thread_message

MESSAGE = "message"
# The manifest's subscriptions: both arrive as events of type `message`. Public channels'
# need channels:history, private ones' groups:history; DMs (message.im) are not read.
SUBSCRIPTIONS = ("message.channels", "message.groups")


def register(app: AsyncApp, deps: SlackContext) -> None:
    @app.event(MESSAGE)
    async def thread_reply(event: dict[str, Any], context: AsyncBoltContext) -> None:
        message = thread_message(event, context.bot_user_id)
        if message is None:
            return  # not a person's reply in a thread: nothing to do, nothing to time
        async with observed(deps.metrics, "event", "thread-message"):
            await deps.thread_replies.take(message)
