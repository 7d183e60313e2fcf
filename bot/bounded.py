"""How much backend work one command may start at once.

One command used to fan out without bound: `/conv create Flood #t0 … #t999` made 2,004 Infobip
requests, as fast as the client's 20 connections allowed, and everyone else's `list` waited
behind them (0.4 s became 36 s). The grammar now limits what one command may ask for (tags per
command, values per filter, rows per page: bot/field_rules.py); the calls a command still makes run
at most CALLS_PER_COMMAND at a time, so that the rest of the pool stays free for other people.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
# Backend calls one command runs at once. 4 of the Infobip client's 20 connections: a wide
# `list` (up to 16 status x priority sub-queries) or ten tags take a few round trips longer,
# and five such commands at once still leave room for everyone else.
CALLS_PER_COMMAND = 4


async def settled(
    calls: Iterable[Awaitable[T]], limit: int = CALLS_PER_COMMAND
) -> list[T | BaseException]:
    """Each call's result or exception, in order, running at most `limit` at a time. Every
    call has ended when this returns, so none is left running unobserved."""
    slots = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    return await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)


async def all_of(calls: Iterable[Awaitable[T]], limit: int = CALLS_PER_COMMAND) -> list[T]:
    """Every result; on a failure, the first one, raised once all calls have ended."""
    results = await settled(calls, limit)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]


def throttled(
    fetch: Callable[..., Awaitable[T]], limit: int = CALLS_PER_COMMAND
) -> Callable[..., Awaitable[T]]:
    """`fetch` limited to `limit` calls in flight, however the caller nests its gathers; inside
    `one_budget`, also to that budget's calls in flight."""
    slots = asyncio.Semaphore(limit)

    async def call(*args: Any, **kwargs: Any) -> T:
        async with slots:
            shared = _BUDGET.get()
            # A throttled fetch wrapped again takes the budget once, in the outer call: taking
            # it again inside would let calls each hold one slot and wait for a second, forever.
            if shared is None or _HOLDING.get():
                return await fetch(*args, **kwargs)
            async with shared:  # always taken after `slots`: one order, so no deadlock
                holding = _HOLDING.set(True)
                try:
                    return await fetch(*args, **kwargs)
                finally:
                    _HOLDING.reset(holding)

    return call


# A budget shared by every `throttled` call of one piece of work (contextvars reach the tasks it
# starts), for work that runs several throttled operations at once; and whether the running
# call holds a slot of it already.
_BUDGET: ContextVar[asyncio.Semaphore | None] = ContextVar("convbot_call_budget", default=None)
_HOLDING: ContextVar[bool] = ContextVar("convbot_call_budget_held", default=False)


@contextmanager
def one_budget(limit: int = CALLS_PER_COMMAND) -> Iterator[None]:
    """Hold every throttled call made inside the block (and in the tasks it starts) to `limit`
    in flight in all: a list per priority, each throttled on its own, would otherwise run
    `limit` requests apiece. An enclosing budget already set stays the one."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set(asyncio.Semaphore(limit))
    try:
        yield
    finally:
        _BUDGET.reset(token)
