"""One deadline per command, press and form: every backend wait inside it is bounded by it.

A stalled Infobip once made one `/conv show` answer after 41 s, and 30 at once after two minutes:
each retry waited for a connection slot again and nothing bounded the whole. Now the Slack
listeners run their work `within(COMMAND_SECONDS)`, and the Infobip client reads `remaining()`
before every wait: a slot, a request (its timeout capped), a backoff. When the deadline has
passed nothing more is sent, and the person is told in one sentence.

A context variable carries it, so the concurrent backend calls of one command (asyncio tasks copy
the context) share their command's deadline, and work outside a listener (the scheduler's
digests and escalation sweeps) has none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# What a person waits for an answer at most (plus the moment it takes to say so). Slack keeps a
# response_url for 30 minutes, but nobody watches a command for that long.
COMMAND_SECONDS = 15.0

_DEADLINE: ContextVar[float | None] = ContextVar("convbot_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the block under a deadline `seconds` from now (an earlier one already set stays)."""
    deadline = time.monotonic() + seconds
    current = _DEADLINE.get()
    token = _DEADLINE.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (0 or less: passed); None when there is none."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def seconds_given() -> float:
    """The deadline every command gets, for sentences that name it."""
    return COMMAND_SECONDS
