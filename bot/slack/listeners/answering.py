"""Answering after the ack: the work timed into metrics under the command's deadline
(`observed`), and a failure told as one sentence beside what was pressed or typed (`tell`)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.async_app import AsyncRespond

from bot import deadlines
from bot.errors import ConvbotError
from bot.metrics import Metrics
from bot.slack.blocks.messages import error_reply

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


@asynccontextmanager
async def answering(metrics: Metrics, name: str, respond: AsyncRespond) -> AsyncIterator[None]:
    """Run a read-style action; any failure becomes one ephemeral sentence."""
    try:
        async with observed(metrics, "action", name):
            yield
    except Exception as error:
        await tell(respond, error)


async def tell(respond: AsyncRespond, error: BaseException) -> None:
    """One ephemeral sentence about a failure, beside the message (or command) it came from."""
    text, blocks = error_reply(error)
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
