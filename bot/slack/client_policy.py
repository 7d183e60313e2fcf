"""How convbot waits on Slack: one timeout and one retry policy for the Web API and response_urls.

Both clients are slack_sdk's (AsyncWebClient, AsyncWebhookClient) and take the same retry
handlers, so a 429 on `chat.update` and a 429 on the response_url that redraws the same card are
treated alike. slack_sdk keeps one RetryState per call and each handler retries only while the
call's retries *of any kind* are fewer than its own max_retry_count: a call makes at most 4
attempts (the largest count + 1), and a 500/503 or a dropped connection is not retried once 2
retries (of any kind) were spent, even if they were 429s.

- 429: wait Retry-After + up to 1 s of jitter; at most 3 retries, and only when Slack asks for at
  most MAX_RETRY_AFTER seconds: a longer wait (Slack may ask for tens of seconds) fails at once
  (`ratelimited`, or the response_url's 429 logged) rather than stall the caller for minutes.
- 500/503 (Slack's `internal_error`, its edge's 503 page): backoff 0.5 s * 2^n + up to 1 s
  (≤ 1.5 s, then ≤ 2 s), at most 2 retries. Slack says an `internal_error` may have done part of
  the work, so a retried post can rarely show twice: a duplicate beats a lost page or answer.
- dropped/refused connections: the same backoff, at most 2 retries. A timeout (TIMEOUT) is not
  retried (slack_sdk raises a plain TimeoutError): a slow Slack may have done it already.
- Inside a command's deadline (`bot.deadlines`, set around every listener's work) no retry is
  made whose wait would outlast it: the call fails at once, as a longer Retry-After does, rather
  than answer after the deadline promised. Work without a deadline (digest ticks, escalation
  sweeps, the error sentence a listener sends once its work has failed) keeps the bounds above.

Worst case, sleeping: 3 * (MAX_RETRY_AFTER + 1) = 18 s, plus the attempts themselves. That bounds
what waits on a call: a page holds its escalation (an Acknowledge waits for it), a digest tick
holds its schedule's next run (max_instances=1), a listener's answer is late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import RandomJitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot import deadlines

TIMEOUT = 10  # seconds for one attempt (a request and its answer), Web API and response_url
MAX_RETRY_AFTER = 5  # seconds: a 429 asking for longer is not waited out
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
BACKOFF_FACTOR = 0.5  # seconds; the n-th retry waits BACKOFF_FACTOR * 2^n + up to JITTER
JITTER = 1.0  # RandomJitter adds up to 1 s, to 429 waits as well


def _fits_deadline(wait: float) -> bool:
    """Whether sleeping `wait` s still leaves the command time for the attempt after it."""
    left = deadlines.remaining()
    return left is None or wait + JITTER < left


def retry_after(headers: Mapping[str, str | Sequence[str]]) -> int | None:
    """Slack's Retry-After, in whole seconds (1 when a 429 names none), from a retry handler's
    HttpResponse (lists of values) or a SlackApiError's response (one value each); None when it
    is not a number (slack_sdk could not sleep on it either)."""
    wait = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    try:
        return int(wait if isinstance(wait, str) else wait[0])
    except (IndexError, ValueError):
        return None


class _BoundedRateLimit(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, declining a Retry-After over MAX_RETRY_AFTER or the deadline."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return wait is not None and wait <= MAX_RETRY_AFTER and _fits_deadline(wait)


class _WithinDeadline(AsyncRetryHandler):
    """A slack_sdk handler's own rule, declining a backoff the command's deadline has no room for.
    Mixed in before the handler it bounds (server errors, connection errors)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        retry = await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )
        return retry and _fits_deadline(BACKOFF_FACTOR * 2**state.current_attempt)


class _BoundedServerError(_WithinDeadline, AsyncServerErrorRetryHandler):
    """slack_sdk's 500/503 handler, within the deadline."""


class _BoundedConnectionError(_WithinDeadline, AsyncConnectionErrorRetryHandler):
    """slack_sdk's connection-error handler, within the deadline."""


def retry_handlers() -> list[AsyncRetryHandler]:
    """The handlers for one client (Web API or response_url), as the module docstring says."""
    backoff = BackoffRetryIntervalCalculator(BACKOFF_FACTOR, RandomJitter())
    return [
        _BoundedRateLimit(max_retry_count=RATE_LIMIT_RETRIES),
        _BoundedServerError(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=backoff),
        _BoundedConnectionError(max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff),
    ]
