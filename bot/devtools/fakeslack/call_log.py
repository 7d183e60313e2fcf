"""The fake Slack's record of every call the bot made, and waiting for calls to arrive.

A mixin of `FakeSlack` (recorder.py), which holds the attributes declared here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bot.devtools.fakeslack.faults import RESPONSE_URL
from bot.devtools.fakeslack.records import RULE_ERRORS, ResponsePost, SlackCall, Violation
from bot.devtools.fakeslack.socket_mode import SocketMode


class CallLog:
    """`calls`, `faulted`, `responses` and `violations`, and waits on them."""

    calls: list[SlackCall]
    faulted: list[SlackCall]
    responses: list[ResponsePost]
    violations: list[Violation]
    socket_mode: SocketMode
    _waiters: set[asyncio.Event]

    def record(self, call: SlackCall, details: Iterable[str] = ()) -> None:
        self.calls.append(call)
        if not call.faulted and call.error in RULE_ERRORS:
            self.violations.append(Violation(call.method, call.error or "", tuple(details)))
        self._wake_waiters()

    def record_fault(self, call: SlackCall) -> None:
        """A call a fault rule refused: in `faulted`, and (Web API calls) in `calls` too."""
        self.faulted.append(call)
        if call.method == RESPONSE_URL:
            self._wake_waiters()
        else:
            self.record(call)

    def calls_to(self, method: str, *, faulted: bool | None = None) -> list[SlackCall]:
        """Every call of `method`, attempts refused by a fault rule included (they are marked
        `faulted`); `faulted=False` keeps the calls that reached the method (which may still
        have answered `ok: false`), `faulted=True` only the refused ones."""
        return [
            c
            for c in self.calls
            if c.method == method and (faulted is None or c.faulted is faulted)
        ]

    def last(self, method: str) -> SlackCall:
        """The latest call to `method`; AssertionError naming what was called if there is none."""
        calls = self.calls_to(method)
        if not calls:
            raise AssertionError(f"no {method} call; calls were: {self._called()}")
        return calls[-1]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the call reads best with the limit inline
    ) -> list[SlackCall]:
        """Wait until `method` has been called `count` times (failed calls count); return them.

        TimeoutError, naming the calls that did arrive, when they do not come in time.
        """
        recorded = asyncio.Event()
        self._waiters.add(recorded)
        try:
            async with asyncio.timeout(timeout):
                while len(self.calls_to(method)) < count:
                    recorded.clear()
                    await recorded.wait()
        except TimeoutError:
            seen = len(self.calls_to(method))
            raise TimeoutError(
                f"waited {timeout}s for {count} {method} call(s), saw {seen}; "
                f"calls were: {self._called()}"
            ) from None
        finally:
            self._waiters.discard(recorded)
        return self.calls_to(method)

    @property
    def waiting(self) -> int:
        """How many callers wait for a call or a change right now (tests see a long-poll park)."""
        return len(self._waiters)

    def changed(self) -> None:
        """The workspace changed other than by a recorded call (a response_url post, a person's
        action in the local Slack): wake whoever waits for a change."""
        self._wake_waiters()

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until the next recorded call or `changed()`, or `timeout` seconds."""
        changed = asyncio.Event()
        self._waiters.add(changed)
        try:
            async with asyncio.timeout(timeout):
                await changed.wait()
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(changed)

    def clear(self) -> None:
        """Forget the recorded calls, faulted calls, response posts, envelopes and acks (the
        state and the fault rules stay)."""
        self.calls.clear()
        self.faulted.clear()
        self.responses.clear()
        self.socket_mode.clear()

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    def _called(self) -> str:
        return ", ".join(c.method for c in self.calls) or "none"
