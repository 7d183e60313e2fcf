"""Global Bolt middleware: an Events API event Slack delivers again is acknowledged, not rerun;
and `first_submission`, the same for a form's submission delivered again.

A Bolt middleware rather than a check in intake.py: Socket Mode deliveries pass here too, and
Bolt has already verified the signature and answered `url_verification` and `ssl_check`. Bolt
itself does nothing about retries: it passes the headers on (and copies Socket Mode's
`retry_attempt` into the same header); slack_sdk's retry handlers are for the bot's own calls.

Every event is recorded, not only those that carry `X-Slack-Retry-Num`: the first delivery must
be on record for its retry to be recognised, and a delivery that arrives twice without the header
is a duplicate all the same. Not recorded: channel messages nothing acts on (chatter outside a
thread; see `_ignored`), which message.channels delivers by the thousand.

The record is written before the ack, so the wait for it is bounded: a state database that
does not answer must not hold the ack past Slack's 3 s (which would cause the very retries this
is about); then the event runs, since showing something twice beats dropping it. The write
itself is left to finish in the background rather than cancelled: cancelling it would wait for
the connection's rollback, which is stuck behind the same database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import Metrics
from bot.slack.thread_replies import thread_message
from bot.state.slack_events import EVENT_ID_MAX, SlackEvents

log = logging.getLogger(__name__)
RECORD_TIMEOUT = 1.0  # seconds; Slack retries an event it got no answer for within 3 s

Middleware = Callable[..., Awaitable[BoltResponse | None]]
_writing: set[asyncio.Task[bool]] = set()  # records still being written after their wait ended


def once_per_event(events: SlackEvents, metrics: Metrics) -> Middleware:
    async def each_event_once(
        body: dict[str, Any],
        req: AsyncBoltRequest,
        context: AsyncBoltContext,
        next: Callable[[], Awaitable[Any]],
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not 0 < len(event_id) <= EVENT_ID_MAX:
            return await next()  # type: ignore[no-any-return]
        if _ignored(body.get("event"), context.bot_user_id):
            return await next()  # type: ignore[no-any-return]
        try:
            first = await _recorded(events, event_id)
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            log.warning(
                "could not record Slack event %s (%s); running it, as a repeat may run twice",
                event_id,
                type(error).__name__,
            )
            metrics.slack_redeliveries.labels("unrecorded").inc()
            first = True
        if first:
            return await next()  # type: ignore[no-any-return]
        log.info(
            "acknowledged Slack event %s again without running it (retry %s, reason %s)",
            event_id,
            req.headers.get("x-slack-retry-num", ["-"])[0],
            req.headers.get("x-slack-retry-reason", ["-"])[0],
        )
        metrics.slack_redeliveries.labels("skipped").inc()
        return BoltResponse(status=200, body="")

    return each_event_once


def _ignored(event: object, bot_user_id: str | None) -> bool:
    """A channel message nothing acts on (chatter outside a thread, a bot's, the bot's own):
    dropped by its listener, so not recorded. With message.channels subscribed, every message
    in every channel the bot is in arrives; a row each would be most of the table."""
    if not isinstance(event, dict) or event.get("type") != "message":
        return False
    return thread_message(event, bot_user_id) is None


# A form submission is recorded under its view's id with this prefix (Slack's event ids start
# "Ev", view ids "V"): a view is submitted and closed once, so a second delivery of the same
# view's submission is Slack (or a proxy, or a load balancer) sending it again.
SUBMISSION = "view_submission:"


async def first_submission(events: SlackEvents, view_id: object) -> bool:
    """Whether this is the first accepted submission of the form `view_id` (on any replica).

    Recorded only once the form was found valid, so a submission refused with field errors
    can be corrected and sent again. Bounded as events are (RECORD_TIMEOUT): a state database
    that does not answer lets it run, since a form must not be lost to a stuck record.
    """
    if not isinstance(view_id, str) or not 0 < len(SUBMISSION + view_id) <= EVENT_ID_MAX:
        return True
    try:
        return await _recorded(events, SUBMISSION + view_id)
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("could not record form %s (%s); saving it", view_id, type(error).__name__)
        return True


async def _recorded(events: SlackEvents, event_id: str) -> bool:
    """Whether this is the event's first delivery; TimeoutError after RECORD_TIMEOUT."""
    write = asyncio.ensure_future(events.first_delivery(event_id))
    _writing.add(write)
    write.add_done_callback(_written)
    return await asyncio.wait_for(asyncio.shield(write), RECORD_TIMEOUT)


def _written(write: asyncio.Task[bool]) -> None:
    _writing.discard(write)
    if not write.cancelled() and write.exception() is not None:
        # Already said (the wait for it timed out, or it failed in time and was logged then).
        log.debug("a Slack event record was not written: %r", write.exception())
