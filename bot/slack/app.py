"""Builds the Bolt app over the Slack context: middleware, listeners, error handler."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.slack.context import SlackContext
from bot.slack.listeners import register_listeners
from bot.slack.redeliveries import once_per_event
from bot.slack.respond import retrying_respond

log = logging.getLogger("bot.slack")
UNHANDLED = "acknowledged a request no listener handles"


def build_slack_app(deps: SlackContext) -> AsyncApp:
    settings = deps.settings
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = AsyncApp(
        client=deps.client,
        signing_secret=secret,
        # Socket Mode has no signatures to check; HTTP mode always has a secret (serve checks).
        request_verification_enabled=secret is not None,
        process_before_response=False,  # ack first, work after: Slack's 3 s rule
        # To `unhandled` below rather than a 404: see there.
        raise_error_for_unhandled_request=True,
        logger=log,
    )
    # First: a redelivered event is answered before anything else is set up for it.
    app.middleware(once_per_event(deps.slack_events, deps.metrics))
    app.middleware(retrying_respond)
    register_listeners(app, deps)

    @app.error
    async def unhandled(
        error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # A signed request no listener takes (listeners/unknown.py answers buttons, forms and
            # commands): acknowledged, since Slack retries an event it got an error for and
            # shows the person an error for anything else.
            log.info("%s (type %r)", UNHANDLED, body.get("type"))
            return BoltResponse(status=200, body="")
        # The listeners answer people themselves; this only keeps traces out of Slack.
        log.error("unhandled error in a Slack listener", exc_info=error)
        # After the ack (a listener's work) there is no response left to set: Bolt asserts on a
        # returned one, and that AssertionError died unretrieved in the listener's task.
        return None if response is None else BoltResponse(status=200, body="")

    return app
