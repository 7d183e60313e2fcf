"""The HTTP surface: POST /slack/events (Bolt), /healthz, /readyz and /metrics.

Everything is built in the lifespan, inside the server's event loop, and closed on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.bootstrap import Runtime, build_runtime
from bot.config import DigestSchedule
from bot.errors import BackendUnavailable, ConvbotError
from bot.http_limits import MAX_BODY_BYTES, READ_DEADLINE_SECONDS, RequestGuard
from bot.jobs.scheduler import start_scheduler
from bot.metrics import CONTENT_TYPE, Metrics
from bot.schedules import job_id, next_runs
from bot.settings import Settings
from bot.slack.bolt_requests import dispatch
from bot.slack.client import slack_client, slack_session
from bot.slack.failures import SLACK_FAILURES
from bot.slack.intake import refusal
from bot.slack.respond import post
from bot.state.db import safe_url
from bot.state.ticks import TickClaims, TickRecord
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
READY_TIMEOUT = 5.0
# How long one readiness answer stands. Each probe costs an Infobip request and a database
# round trip, and /readyz asks for no credentials: unbounded, anyone who reaches the port spends
# the bot's Infobip quota (500 requests, 500 pings). Load balancers probe every few seconds, so a
# few seconds' staleness changes nothing they decide.
READY_CACHE_SECONDS = 5.0

Readiness = tuple[int, dict[str, object]]  # HTTP status and body


class ReadinessProbe:
    """One probe at a time, its answer kept for `ttl` seconds: requests meanwhile share it, and
    requests that arrive while it runs wait for that same probe instead of starting another."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[Readiness]],
        *,
        ttl: float = READY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._answer: Readiness | None = None
        self._answered_at = float("-inf")
        self._running: asyncio.Task[Readiness] | None = None

    async def answer(self) -> Readiness:
        if self._answer is not None and self._clock() - self._answered_at < self._ttl:
            return self._answer
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(self._run())
        # Shielded: one waiter going away (a client hanging up) must not cancel the probe the
        # others wait for.
        return await asyncio.shield(self._running)

    async def _run(self) -> Readiness:
        try:
            answer = await self._probe()
            self._answer, self._answered_at = answer, self._clock()
            return answer
        finally:
            self._running = None


@dataclass
class Serving:
    runtime: Runtime
    handler: AsyncSlackRequestHandler
    metrics: Metrics
    readiness: ReadinessProbe | None = field(default=None)
    telling: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.readiness is None:
            runtime = self.runtime
            self.readiness = ReadinessProbe(lambda: _probe_readiness(runtime))

    def tell(self, response_url: str, sentence: str) -> None:
        """Post `sentence` to the person on `response_url` after the ack (intake's refusals)."""
        task = asyncio.create_task(self._tell(response_url, sentence))
        self.telling.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self.telling.discard)

    async def _tell(self, response_url: str, sentence: str) -> None:
        message = {"text": sentence, "response_type": "ephemeral", "replace_original": False}
        try:
            await post(response_url, message, self.handler.app.client.session)
        except SLACK_FAILURES as error:  # said once, without a trace: Slack is unreachable
            log.warning("could not tell a person why their request was not run: %r", error)


def create_http_app(
    settings: Settings,
    *,
    freeze_heap: bool = False,
    read_deadline: float = READ_DEADLINE_SECONDS,
) -> Starlette:
    """`freeze_heap`: for a long-lived server process (see below); not for tests that start many.

    `read_deadline`: how long a request's body may take to arrive (bot/http_limits.py).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics = Metrics()
        async with AsyncExitStack() as cleanup:
            session = await cleanup.enter_async_context(slack_session())
            client = slack_client(settings, session)
            runtime = await build_runtime(settings, client=client, metrics=metrics, for_slack=True)
            cleanup.push_async_callback(runtime.aclose)
            slack = runtime.slack_app()
            scheduler = start_scheduler(runtime.jobs, runtime.config)
            cleanup.callback(scheduler.shutdown, wait=False)
            if settings.slack_app_token:
                socket_mode = AsyncSocketModeHandler(
                    slack, settings.slack_app_token.get_secret_value()
                )
                await socket_mode.connect_async()  # type: ignore[no-untyped-call]
                cleanup.push_async_callback(socket_mode.close_async)
                log.info("connected to Slack in Socket Mode")
            app.state.serving = Serving(runtime, AsyncSlackRequestHandler(slack), metrics)
            # The ~150k objects built at start-up live as long as the process; left in the
            # collector's view, each full collection scans them all and stalls the loop for
            # 50-100 ms (measured by benchmarks/ack_latency.py at 200 commands/s).
            if freeze_heap:
                gc.collect()
                gc.freeze()
            yield

    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    if not settings.slack_app_token:
        # Socket Mode has no signing secret to verify requests with: an HTTP door into the
        # listeners would let anyone who reaches the port act as any Slack user.
        routes.append(Route("/slack/events", _slack_events, methods=["POST"]))
    # Every body is read within a size limit and a deadline before any route sees it.
    guard = Middleware(RequestGuard, max_body=MAX_BODY_BYTES, read_deadline=read_deadline)
    return Starlette(routes=routes, lifespan=lifespan, middleware=[guard])


def _serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


async def _slack_events(request: Request) -> Response:
    serving = _serving(request)
    # Bolt would raise on a body that is not the shape Slack sends (a 500); see bot/slack/intake.
    # The body was read within bot/http_limits.py's bounds; it is not parsed before it is
    # known to be Slack's.
    secret = serving.runtime.settings.slack_signing_secret
    refused = refusal(
        await request.body(), request.headers, secret.get_secret_value() if secret else None
    )
    if refused is None:
        return await dispatch(serving.handler, request)
    if refused.sentence and refused.ack_text:
        return JSONResponse({"response_type": "ephemeral", "text": refused.sentence})
    if refused.sentence and refused.response_url:
        serving.tell(refused.response_url, refused.sentence)
    return Response(status_code=refused.status)


async def _healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def _readyz(request: Request) -> Response:
    """Ready when the state database and the backend both answer within a few seconds; the
    answer is shared for READY_CACHE_SECONDS (see ReadinessProbe)."""
    readiness = _serving(request).readiness
    assert readiness is not None  # set by Serving
    status, body = await readiness.answer()
    return JSONResponse(body, status_code=status)


async def _probe_readiness(runtime: Runtime) -> Readiness:
    """The database and the backend, each asked once.

    With digests configured, `digests` adds each one's last run (its scheduled time), last error
    and next run (ISO-8601 in UTC, or null). A digest's error is detail, not unreadiness; ticks
    that cannot be read are a database problem (and their last run and error are null).
    """
    digests = {schedule.name: _digest_detail(schedule) for schedule in runtime.config.digests}
    database, backend, ticks = await asyncio.gather(
        _check(_ping_database(runtime)),
        _check(runtime.backend.ping()),
        _check(_read_last_ticks(runtime, digests)),
    )
    if database == "ok" and ticks != "ok":
        database = f"digest runs unreadable: {ticks}"
    ready = database == backend == "ok"
    body: dict[str, object] = {"database": database, "backend": backend}
    if digests:
        body["digests"] = digests
    return (200 if ready else 503), body


def _digest_detail(schedule: DigestSchedule) -> dict[str, str | None]:
    try:
        upcoming = next_runs(schedule, utcnow(), 1)
    except Exception:  # the config validated it; still, detail never crashes the endpoint
        log.exception("next run of digest %s", schedule.name)
        upcoming = []
    return {
        "last_run": None,
        "last_error": None,
        "next_run": _iso(upcoming[0] if upcoming else None),
    }


async def _read_last_ticks(runtime: Runtime, digests: dict[str, dict[str, str | None]]) -> None:
    """Fill in each digest's last run and error from the tick claims (all or none of them)."""
    ticks = TickClaims(runtime.engine, "readyz")
    found: dict[str, TickRecord | None] = {}
    for schedule in runtime.config.digests:
        found[schedule.name] = await ticks.last(job_id(schedule))
    for name, record in found.items():
        if record is not None:
            digests[name]["last_run"] = _iso(record.scheduled_at)
            digests[name]["last_error"] = record.error


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


async def _ping_database(runtime: Runtime) -> None:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # Said as the other checks say it: which database, and what to look at.
        raise BackendUnavailable(
            f"The state database at {safe_url(runtime.engine)} is not answering "
            f"({type(error).__name__}); check DATABASE_URL and that the server is up."
        ) from None


async def _check(probe: Awaitable[None]) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await probe
    except ConvbotError as error:
        return str(error)
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT:g} s"
    except Exception as error:  # a probe reports; it never crashes the endpoint
        return f"not answering ({type(error).__name__})"
    return "ok"


async def _metrics(request: Request) -> Response:
    return Response(_serving(request).metrics.exposition(), media_type=CONTENT_TYPE)
