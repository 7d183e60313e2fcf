"""How a listener's work ends: timed into metrics, and any failure turned into one sentence."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.errors import ConvbotError
from bot.metrics import Metrics

log = logging.getLogger("bot.slack")

UNEXPECTED = (
    "Something went wrong on our side (it is logged); check with `/conv list` before trying again."
)


def sentence_for(error: BaseException) -> str:
    """What the person sees: our own sentence for our errors, never a trace."""
    return str(error) if isinstance(error, ConvbotError) else UNEXPECTED


@asynccontextmanager
async def observed(metrics: Metrics, kind: str, name: str) -> AsyncIterator[None]:
    """Time the block and count its outcome; unexpected errors are logged with their trace."""
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        yield
    except BaseException as caught:
        error = caught
        if not isinstance(caught, ConvbotError):
            log.exception("%s %s failed", kind, name)
        raise
    finally:
        metrics.observe_slack(kind, name, time.perf_counter() - started, error)
