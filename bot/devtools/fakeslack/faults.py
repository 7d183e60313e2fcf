"""Fault injection: Slack answering 429, 5xx, `ok: false` or late, as it does under load.

Rules are set on a running `FakeSlack` (the server asks it before every call):

- counted: `fake.fail(method, times=3, status=429, retry_after=1)` — the next `times` calls of
  `method` (that `match`, if given) get that answer; `times=None` until `fake.clear_faults()`.
  `status=500`/`503` (5xx: a JSON body for 500, Slack's HTML error page for 502/503/504;
  `html=` chooses), `error="internal_error"` alone (HTTP 200, `ok: false`), `delay=2` (the answer
  waits 2 s; with no status or error the call is then applied normally: a slow Slack, no refusal).
- rate: `fake.faults(rate=0.2, kinds=[429, 500], seed=7, methods=[...])` — each call of those
  methods (every Web API method when `methods` is None) fails with probability `rate`, its kind
  drawn from `kinds` (an HTTP status, or a string: that error code with HTTP 200). One seeded
  RNG per rule, drawn once per call in arrival order: the n-th call's fate is the same on every
  run, whichever request it belongs to. `max_per_request=N` refuses one request (same method
  and arguments: a client's retry of it) at most N times, so clients that retry N times always
  get through — a test then proves "delivered exactly once", not luck.

Counted rules answer first, oldest first (the first rule with calls left wins); rate rules are
consulted only when no counted rule answered. "response_url" (`RESPONSE_URL`) as a method makes
response_url posts fail (plain-text bodies, as Slack's response_urls answer).

A refused call is NOT applied: Slack refuses before doing anything (nothing posted, updated or
opened). 429 answers carry `Retry-After` (seconds); `retry_after=` adds it to any status.

What is recorded (see `FakeSlack`): every refused call is appended to `fake.faulted`, marked
`SlackCall.faulted`; refused Web API calls also stay in `fake.calls` as before (so `calls_to`
and `wait_for` count attempts: `calls_to(m, faulted=False)` are the calls that reached the
method). Refused response_url posts are only in `fake.faulted`, never in `fake.responses`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]
# The pseudo method name under which response_url posts are fault-injected.
RESPONSE_URL = "response_url"
# `match=`: a call's arguments must contain these items, or the predicate must accept them.
Match = Mapping[str, object] | Callable[[JsonDict], bool] | None

_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}
_HTML_BY_DEFAULT = frozenset({502, 503, 504})  # what a load balancer in front of Slack answers
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Fault:
    """How one call is answered instead of normally.

    `status` None: not refused, only answered `delay` seconds late (the call is applied).
    """

    status: int | None
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    html: bool = False

    @property
    def refuses(self) -> bool:
        return self.status is not None

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}

    def html_page(self) -> str:
        """An error page like the one Slack's edge serves when the API is down."""
        reason = _REASONS.get(self.status or 0, "Error")
        return (
            "<!DOCTYPE html>\n<html><head><meta charset=utf-8>"
            f"<title>{self.status} {reason} | Slack</title></head>\n"
            f"<body><h1>Slack is having trouble</h1><p>{self.status} {reason}. "
            "Please try again in a moment.</p></body></html>\n"
        )


def make_fault(
    *,
    status: int | None = None,
    error: str | None = None,
    retry_after: int | None = None,
    delay: float = 0.0,
    html: bool | None = None,
) -> Fault:
    """A fault as `fail` describes it, with Slack's defaults filled in.

    Nothing but `delay`: a slow answer. Only `error`: HTTP 200 `ok: false`. Otherwise `status`
    (429 by default) with its usual error code; 429 with `Retry-After: 1` unless told.
    """
    if delay < 0:
        raise ValueError("delay must not be negative")
    if retry_after is not None and retry_after < 0:
        raise ValueError("retry_after must not be negative")
    if status is None and error is None:
        if delay > 0 and retry_after is None and html is None:
            return Fault(None, delay=delay)
        status = 429
    if status is None:
        status = 200
    if status != 200 and not 400 <= status <= 599:
        raise ValueError(f"a fault's status is 200 (with an error) or 4xx/5xx, not {status}")
    if status == 200 and not error:
        raise ValueError("a fault with status 200 needs an error code (Slack's `ok: false`)")
    if status == 429 and retry_after is None:
        retry_after = 1
    return Fault(
        status=status,
        error=error or _ERRORS.get(status, "http_error"),
        retry_after=retry_after,
        delay=delay,
        html=status in _HTML_BY_DEFAULT if html is None else html,
    )


def request_key(method: str, args: JsonDict | None) -> str:
    """Names one request: a client's retry sends the same method and arguments again."""
    return method + "\n" + json.dumps(args or {}, sort_keys=True, default=str)


@dataclass
class FaultRule:
    """What every rule has: the methods it covers, an optional match, and how often it hit."""

    methods: frozenset[str] | None  # None: every Web API method (not response_url)
    match: Match = None
    hits: int = 0  # calls this rule answered

    def covers(self, method: str, args: JsonDict | None) -> bool:
        if self.methods is None:
            if method == RESPONSE_URL:
                return False
        elif method not in self.methods:
            return False
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(args or {}))
        given = args or {}
        return all(given.get(key) == value for key, value in self.match.items())

    @property
    def exhausted(self) -> bool:
        return False

    def take(self, method: str, args: JsonDict | None) -> Fault | None:
        raise NotImplementedError


@dataclass
class CountedFault(FaultRule):
    """`fault` for the next `remaining` covered calls (None: until cleared)."""

    fault: Fault = field(default_factory=lambda: Fault(429, "ratelimited", 1))
    remaining: int | None = 1

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def take(self, method: str, args: JsonDict | None) -> Fault | None:
        if self.exhausted or not self.covers(method, args):
            return None
        if self.remaining is not None:
            self.remaining -= 1
        self.hits += 1
        return self.fault


@dataclass
class RateFaults(FaultRule):
    """Each covered call fails with probability `rate`, as one of `kinds`."""

    rate: float = 0.0
    kinds: tuple[Fault, ...] = ()
    seed: int | None = None
    max_per_request: int | None = None
    _rng: random.Random = field(init=False, repr=False)
    _per_request: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate is a probability, 0 to 1")
        if not self.kinds:
            raise ValueError("kinds must name at least one fault")
        if self.max_per_request is not None and self.max_per_request < 0:
            raise ValueError("max_per_request must not be negative")
        self._rng = random.Random(self.seed)

    def take(self, method: str, args: JsonDict | None) -> Fault | None:
        if not self.covers(method, args):
            return None
        # Both draws happen for every covered call, whatever the cap says, so that the n-th
        # call's fate depends on the seed alone.
        hit = self._rng.random() < self.rate
        kind = self._rng.choice(self.kinds)
        if not hit:
            return None
        if self.max_per_request is not None:
            key = request_key(method, args)
            if self._per_request.get(key, 0) >= self.max_per_request:
                return None
            self._per_request[key] = self._per_request.get(key, 0) + 1
        self.hits += 1
        return kind


def fault_kind(kind: int | str, *, retry_after: int | None, delay: float) -> Fault:
    """A rate rule's kind: an HTTP status (429, 500, 503…) or an error code (HTTP 200)."""
    if isinstance(kind, str):
        return make_fault(error=kind, delay=delay)
    return make_fault(status=kind, retry_after=retry_after if kind == 429 else None, delay=delay)


class SlackFaultRules:
    """The rules a `FakeSlack` consults before each call, in the order described above."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def take(self, method: str, args: JsonDict | None = None) -> Fault | None:
        self.rules = [rule for rule in self.rules if not rule.exhausted]
        counted = [r for r in self.rules if isinstance(r, CountedFault)]
        for rule in [*counted, *(r for r in self.rules if not isinstance(r, CountedFault))]:
            fault = rule.take(method, args)
            if fault is not None:
                return fault
        return None

    def clear(self, method: str | None = None) -> None:
        """Drop every rule, or those naming `method` (a rule for every method stays)."""
        if method is None:
            self.rules.clear()
        else:
            self.rules = [r for r in self.rules if r.methods is None or method not in r.methods]


def method_set(methods: str | Iterable[str] | None) -> frozenset[str] | None:
    if methods is None:
        return None
    return frozenset([methods] if isinstance(methods, str) else methods)
