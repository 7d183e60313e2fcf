"""How a listener's work ends: timed into metrics, and any failure turned into one sentence."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.async_app import AsyncRespond

from bot import deadlines
from bot.errors import ConvbotError
from bot.metrics import Metrics
from bot.slack.blocks.messages import UNEXPECTED, error_mrkdwn, error_reply, sentence_for

__all__ = ["UNEXPECTED", "error_mrkdwn", "observed", "sentence_for", "tell"]

log = logging.getLogger("bot.slack")


@asynccontextmanager
async def observed(metrics: Metrics, kind: str, name: str) -> AsyncIterator[None]:
    """Time the block and count its outcome; unexpected errors are logged with their trace.
    The block runs under the command's deadline (`bot.deadlines`)."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        with deadlines.within(deadlines.COMMAND_SECONDS):
            yield
    except BaseException as caught:
        error = caught
        if not isinstance(caught, ConvbotError):
            log.exception("%s %s failed", kind, name)
        raise
    finally:
        metrics.observe_slack(kind, name, time.perf_counter() - started, error)


async def tell(respond: AsyncRespond, error: BaseException) -> None:
    """One ephemeral sentence about a failure, beside the message (or command) it came from."""
    text, blocks = error_reply(error)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
