"""The HTTP side of the Infobip client: one pooled keep-alive `httpx.AsyncClient`, the retry
policy, backoff with jitter and `Retry-After`. It knows nothing of Infobip's resources or error
bodies; `errors.py` reads those.

The API key lives in the client's default headers and nowhere else: never in a log line, a repr
or an error message.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot import __version__, deadlines
from bot.errors import InvalidInput

log = logging.getLogger(__name__)

API = "/ccaas/1"
# Requests in flight per backend. A wide list fans out into many requests; queueing them here
# instead of in the pool keeps httpx's pool timeout from firing on a busy but healthy API.
MAX_IN_FLIGHT = 20
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Methods whose repetition leaves the same state. POST is not among them: a second create makes
# a duplicate and a second route moves a ROUND_ROBIN queue on to the next agent.
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE"})
# Failures that prove the request never reached Infobip: the only ones a POST may retry.
NEVER_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Connection trouble worth another try for an idempotent request. Not in it: local mistakes
# (a bad header, an unsupported scheme) that would fail the same way again.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

Json = Any
Params = Mapping[str, str | int | Sequence[str]]


class DeadlinePassed(httpx.PoolTimeout):
    """The command's deadline (`bot.deadlines`) passed before the request could be sent: like
    a pool timeout, it provably never left, so nothing changed."""


class DeadlineTimeout(httpx.ReadTimeout):
    """A request whose timeout the command's deadline cut short went unanswered: like any read
    timeout, it may have been carried out."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_base: float = 0.2
    backoff_max: float = 8.0


def checked_api_key(api_key: str) -> str:
    """The key as a header can carry it. The messages name the variable, never the value."""
    key = api_key.strip()  # a pasted key often brings a newline or a space along
    if not key:
        raise InvalidInput(
            "INFOBIP_API_KEY is empty; set it to your Infobip API key, or unset INFOBIP_BASE_URL "
            "to use the embedded store."
        )
    if not (key.isascii() and key.isprintable()):
        raise InvalidInput(
            "INFOBIP_API_KEY contains characters an HTTP header cannot carry (only printable "
            "ASCII is allowed); copy the key again from the Infobip portal."
        )
    return key


class InfobipHttp:
    """Sends requests to `<base_url>/ccaas/1/...` with the retry policy of DESIGN.md."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float,
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.timeout = timeout
        self._policy = policy
        self._sleep = sleep
        self._random = random.Random()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Authorization": f"App {api_key}",
                "User-Agent": f"convbot/{__version__}",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=MAX_IN_FLIGHT,
                max_keepalive_connections=MAX_IN_FLIGHT,
                keepalive_expiry=30.0,
            ),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def pause(self, seconds: float) -> None:
        """Wait, with the sleep this client was given (tests give one that does not)."""
        await self._sleep(seconds)

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Json = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with the retry policy: the last answer, or the last transport error raised."""
        retries = self._policy.max_retries
        for attempt in itertools.count():
            try:
                response = await self._send(method, API + path, params, body, headers)
            except httpx.RequestError as error:
                if attempt >= retries or not may_retry_error(method, error):
                    raise
                delay = self._backoff(attempt)
                if _past_deadline_after(delay):
                    raise
            else:
                if attempt >= retries or not may_retry_status(method, response.status_code):
                    return response
                delay = self._retry_delay(response, attempt)
                if _past_deadline_after(delay):  # the last answer is what the person hears
                    return response
            log.debug(
                "retrying %s %s in %.2f s (retry %d of %d)",
                method,
                path,
                delay,
                attempt + 1,
                retries,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # itertools.count() never ends

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Json,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        left = deadlines.remaining()
        if left is not None and left <= 0:
            raise DeadlinePassed("the command's deadline passed")
        try:
            async with asyncio.timeout(left):
                await self._slots.acquire()
        except TimeoutError:
            raise DeadlinePassed("the command's deadline passed waiting for a slot") from None
        try:
            started = time.perf_counter()
            timeout = self._client.timeout
            left = deadlines.remaining()
            cut = left is not None and left < self.timeout
            if cut:
                assert left is not None
                timeout = httpx.Timeout(max(left, 0.001), connect=min(max(left, 0.001), 5.0))
            try:
                response = await self._client.request(
                    method, path, params=params, json=body, headers=headers, timeout=timeout
                )
            except httpx.RequestError as error:
                log.debug("%s %s -> %s in %d ms", method, path, type(error).__name__, _ms(started))
                if cut and isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout):
                    raise DeadlineTimeout("the command's deadline passed") from None
                if cut and isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
                    raise DeadlinePassed("the command's deadline passed") from None
                raise
        finally:
            self._slots.release()
        log.debug("%s %s -> %d in %d ms", method, path, response.status_code, _ms(started))
        return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so that retrying clients spread out."""
        ceiling = min(self._policy.backoff_max, self._policy.backoff_base * 2**attempt)
        return self._random.uniform(0, ceiling)

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float:
        after = retry_after(response)
        if after is None:
            return self._backoff(attempt)
        return min(after, self._policy.backoff_max * 4)  # a server asking for an hour is not obeyed


def _past_deadline_after(delay: float) -> bool:
    """Whether waiting `delay` before another try would pass the command's deadline."""
    left = deadlines.remaining()
    return left is not None and delay >= left


def may_retry_error(method: str, error: httpx.RequestError) -> bool:
    if method not in IDEMPOTENT:
        return isinstance(error, NEVER_SENT)
    return isinstance(error, CONNECTION_ERRORS)


def may_retry_status(method: str, status: int) -> bool:
    # A POST is repeated only when it provably never left (above): a 502/503/504 may come from a
    # gateway after Infobip carried the request out.
    return method in IDEMPOTENT and status in RETRY_STATUSES


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
