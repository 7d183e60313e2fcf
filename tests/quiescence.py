"""Prove that the bot did nothing more by waiting until its work has finished, not for a while.

The bot under test runs in the test's event loop (tests/slack_harness.py). Whatever it does after
an ack runs in asyncio tasks: Bolt's listener (started before the ack is sent), the tasks that
listener starts (a debounced chat.update, a refusal told on a response_url, a Slack call retried
after a 429), a job the scheduler fires. So once every such task has finished, everything the
requests so far set off has happened, and "nothing more was sent" can be asserted at once: a
bot that would send a second answer is caught every time, not only when it is quick enough to
beat a guessed sleep.

Not waited for: what runs for as long as the bot serves (uvicorn's servers and connections,
Socket Mode's loops), i.e. the tasks already running when a bot came up (`standing`), unless
they run the bot's own code (its start-up catch-up of a missed digest is work); and the thread
mirror's channel workers, which run as long as their channel has open threads (tests that
mirror run its pass themselves).
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path
from typing import Any

import bot
from bot.slack.thread_mirror import WORKER_PREFIX

_BOT_CODE = str(Path(bot.__file__).parent)
_standing: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def standing() -> None:
    """Note the tasks running now, just after a bot came up: they serve, they do not work."""
    _standing.update(task for task in asyncio.all_tasks() if not _runs_bot_code(task))


def pending() -> set[asyncio.Task[Any]]:
    """The bot's work that has not finished yet."""
    work = asyncio.all_tasks() - set(_standing) - {asyncio.current_task()}
    return {task for task in work if not task.get_name().startswith(WORKER_PREFIX)}


async def quiescent(seconds: float = 10.0) -> None:
    """Wait until the bot's work has finished: what it has started, and what that started."""
    try:
        async with asyncio.timeout(seconds):
            while waiting := pending():
                await asyncio.wait(waiting)
    except TimeoutError:
        names = sorted(_describe(task) for task in pending())
        raise AssertionError(f"still working after {seconds:g} s: {names}") from None


def _runs_bot_code(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and code.co_filename.startswith(_BOT_CODE)


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return f"{task.get_name()} {getattr(coro, '__qualname__', coro)!s}"
