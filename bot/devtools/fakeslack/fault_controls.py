"""The fake Slack's fault injection API (`fail`, `faults`, `fail_next`, …) over its rules.

A mixin of `FakeSlack` (recorder.py), which holds `fault_rules`. The rules themselves are in
faults.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.devtools.fakeslack.faults import (
    CountedFault,
    Fault,
    Match,
    RateFaults,
    SlackFaultRules,
    fault_kind,
    make_fault,
    method_set,
)
from bot.devtools.fakeslack.records import JsonDict


class FaultControls:
    """Rules for how the next calls are answered (429s, 5xx, `ok: false`, delays)."""

    fault_rules: SlackFaultRules

    def fail(
        self,
        method: str,
        *,
        times: int | None = 1,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        html: bool | None = None,
        match: Match = None,
    ) -> CountedFault:
        """Answer the next `times` calls of `method` (None: every call until `clear_faults`).

        `status` 429 (the default; `Retry-After: 1` unless `retry_after` says otherwise), 500,
        503 …; `error` alone is HTTP 200 with `ok: false`; `delay` alone answers that late and
        refuses nothing. `match` limits the rule to calls whose arguments contain those items
        (or that a predicate accepts). "response_url" as `method` fails response_url posts.
        The rule (its `hits`, `remaining`) is returned.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")
        fault = make_fault(
            status=status, error=error, retry_after=retry_after, delay=delay, html=html
        )
        rule = CountedFault(method_set(method), match, fault=fault, remaining=times)
        self.fault_rules.add(rule)
        return rule

    def faults(
        self,
        *,
        rate: float,
        kinds: Iterable[int | str] = (429, 500),
        seed: int | None = None,
        methods: str | Iterable[str] | None = None,
        retry_after: int = 1,
        delay: float = 0.0,
        max_per_request: int | None = None,
        match: Match = None,
    ) -> RateFaults:
        """Fail a share `rate` of the calls of `methods` (None: every Web API method), each as
        one of `kinds` (HTTP statuses, or error codes answered with HTTP 200), from an RNG
        seeded with `seed`. `max_per_request`: refuse one request (method and arguments, as a
        client's retries repeat them) at most that many times. The rule is returned."""
        rule = RateFaults(
            method_set(methods),
            match,
            rate=rate,
            kinds=tuple(fault_kind(k, retry_after=retry_after, delay=delay) for k in kinds),
            seed=seed,
            max_per_request=max_per_request,
        )
        self.fault_rules.add(rule)
        return rule

    def clear_faults(self, method: str | None = None) -> None:
        """Drop every fault rule, or those naming `method`: Slack is healthy again."""
        self.fault_rules.clear(method)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str = "ratelimited",
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail (use "response_url" for response posts).

        The default is Slack's rate limit: HTTP 429, `Retry-After: 1`, `{"ok":false,
        "error":"ratelimited"}`. `status=200` gives an ordinary `ok: false` answer with `error`.
        (The older spelling of `fail`: `Retry-After` goes with 429 and 503 only, JSON bodies.)
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self.fail(
            method,
            times=times,
            status=status,
            error=error,
            retry_after=retry_after if status in (429, 503) else None,
            html=False,
        )

    def take_fault(self, method: str, args: JsonDict | None = None) -> Fault | None:
        """How the next call of `method` (with `args`) must be answered, if a rule says so."""
        return self.fault_rules.take(method, args)
