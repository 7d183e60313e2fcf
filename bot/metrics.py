"""Prometheus metrics: counts and latencies per command, action and backend call."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.backends.base import ConversationBackend
from bot.errors import BackendUnavailable, ConvbotError

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, BackendUnavailable):
        return "backend_error"
    if isinstance(error, ConvbotError):
        return "user_error"
    return "internal_error"


class Metrics:
    """One registry per app, so tests and several apps in one process never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.slack_requests = Counter(
            "convbot_slack_requests",
            "Slack commands, actions, views and events handled, by outcome.",
            ["kind", "name", "outcome"],
            registry=self.registry,
        )
        self.slack_seconds = Histogram(
            "convbot_slack_request_seconds",
            "Time from receiving a Slack request to finishing its work.",
            ["kind", "name"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        # Slack delivering an event again means an ack came late or not at all: worth watching.
        self.slack_redeliveries = Counter(
            "convbot_slack_redeliveries",
            "Events API deliveries of an event already taken in (not run again), and deliveries"
            " run without a record because the state database did not answer in time.",
            ["outcome"],
            registry=self.registry,
        )
        self.backend_calls = Counter(
            "convbot_backend_calls",
            "Backend calls, by method and outcome.",
            ["backend", "method", "outcome"],
            registry=self.registry,
        )
        self.backend_seconds = Histogram(
            "convbot_backend_call_seconds",
            "Backend call latency.",
            ["backend", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe_slack(
        self, kind: str, name: str, seconds: float, error: BaseException | None
    ) -> None:
        self.slack_requests.labels(kind, name, outcome_of(error)).inc()
        self.slack_seconds.labels(kind, name).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MeteredBackend:
    """Wraps a backend so every call is counted and timed; otherwise transparent."""

    def __init__(self, inner: ConversationBackend, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.name = inner.name

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if not callable(target) or method.startswith("_"):
            return target
        return self._timed(method, target)

    def _timed(self, method: str, target: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(target)
        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                return await target(*args, **kwargs)
            except BaseException as caught:
                error = caught
                raise
            finally:
                labels = (self.name, method)
                self._metrics.backend_calls.labels(*labels, outcome_of(error)).inc()
                self._metrics.backend_seconds.labels(*labels).observe(time.perf_counter() - started)

        return call


def metered(backend: ConversationBackend, metrics: Metrics) -> ConversationBackend:
    return cast(ConversationBackend, MeteredBackend(backend, metrics))
