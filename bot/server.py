"""The HTTP surface: POST /slack/events (Bolt), /healthz, /readyz and /metrics.

Everything is built in the lifespan, inside the server's event loop, and closed on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.bootstrap import Runtime, build_runtime
from bot.errors import ConvbotError
from bot.jobs.scheduler import start_scheduler
from bot.metrics import CONTENT_TYPE, Metrics
from bot.settings import Settings
from bot.slack.app import build_slack_app, build_slack_deps
from bot.slack.deps import slack_client
from bot.slack.usergroups import SlackUserGroups

log = logging.getLogger(__name__)
READY_TIMEOUT = 5.0


@dataclass
class Serving:
    runtime: Runtime
    handler: AsyncSlackRequestHandler
    metrics: Metrics


def create_http_app(settings: Settings, *, freeze_heap: bool = False) -> Starlette:
    """`freeze_heap`: for a long-lived server process (see below); not for tests that start many."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        metrics = Metrics()
        client = slack_client(settings)
        runtime = await build_runtime(settings, groups=SlackUserGroups(client), metrics=metrics)
        async with AsyncExitStack() as cleanup:
            cleanup.push_async_callback(runtime.aclose)
            deps = build_slack_deps(runtime, client, metrics)
            slack = build_slack_app(deps)
            scheduler = start_scheduler(deps)
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
    return Starlette(routes=routes, lifespan=lifespan)


def _serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


async def _slack_events(request: Request) -> Response:
    return await _serving(request).handler.handle(request)


async def _healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def _readyz(request: Request) -> Response:
    """Ready when the state database and the backend both answer within a few seconds."""
    runtime = _serving(request).runtime
    database, backend = await asyncio.gather(
        _check(_ping_database(runtime)), _check(runtime.backend.ping())
    )
    ready = database == backend == "ok"
    return JSONResponse(
        {"database": database, "backend": backend}, status_code=200 if ready else 503
    )


async def _ping_database(runtime: Runtime) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(probe: Awaitable[None]) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await probe
    except ConvbotError as error:
        return str(error)
    except Exception as error:  # a probe reports; it never crashes the endpoint
        return f"not answering ({type(error).__name__})"
    return "ok"


async def _metrics(request: Request) -> Response:
    return Response(_serving(request).metrics.exposition(), media_type=CONTENT_TYPE)
