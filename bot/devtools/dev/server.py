"""`convbot dev`: the bot and a local Slack in one process, on one port, with no account anywhere.

    /dev                 the local Slack page (bot/devtools/dev/static)
    /dev/api/…           its JSON API: state (long-polled), command, action, submit, close, home
                         (bot/devtools/dev/local_slack.py does the work)
    /local-slack/api/…   the fake Slack Web API the bot is pointed at (SLACK_API_URL)
    /local-slack/response/…  its response_urls
    /slack/events, /healthz, /readyz, /metrics   the bot itself, exactly as `convbot serve`

The bot runs on the embedded backend with the demo of bot/devtools/dev/demo.py, its files in one
folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import httpx
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.backends.local import LocalBackend
from bot.bootstrap import build_runtime
from bot.devtools.dev import EXPOSE_FLAG, demo
from bot.devtools.dev.customers import Customers
from bot.devtools.dev.local_slack import BotRefused, LocalSlack
from bot.devtools.dev.thread_api import ThreadApi, json_body, refused
from bot.devtools.fakeslack import FakeSlack, create_fake_slack_app
from bot.listening import bind_or_say
from bot.server import create_http_app
from bot.settings import Settings
from bot.state.db import create_engine

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
FAKE_PREFIX = "/local-slack"
# How often, about, a demo customer writes again while `convbot dev` runs (seconds).
CUSTOMERS_EVERY = 45.0
WILDCARDS = ("0.0.0.0", "::", "")
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Dev:
    fake: FakeSlack
    local: LocalSlack
    threads: ThreadApi


def dev_settings(folder: Path, base_url: str, token: str, signing_secret: str) -> Settings:
    """The bot's settings for the demo: embedded backend, state and config in `folder`, Slack
    at the local fake over HTTP. Set here, each of them wins over the environment (a real
    SLACK_APP_TOKEN there would otherwise put the bot in Socket Mode); no .env file is read."""
    config = folder / "convbot.yml"
    config.write_text(
        "# Written by `convbot dev` at each start: the demo's operations file.\n"
        + yaml.safe_dump(demo.operations(), sort_keys=False)
    )
    return Settings(
        _env_file=None,
        slack_bot_token=token,
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=f"{base_url}{FAKE_PREFIX}/api/",
        database_url=f"sqlite+aiosqlite:///{folder / 'convbot-dev.db'}",
        convbot_config=str(config),
        infobip_base_url=None,
        infobip_api_key=None,
    )


def create_dev_app(
    folder: Path,
    base_url: str,
    *,
    ready: Callable[[], None] | None = None,
    listening_everywhere: bool = False,
    customers_every: float | None = CUSTOMERS_EVERY,
) -> Starlette:
    """The whole of `convbot dev`, to be served at `base_url` (`http://127.0.0.1:PORT`);
    `ready` is called once the bot and its demo are up. A demo customer writes about every
    `customers_every` seconds (None: only their first messages)."""
    folder.mkdir(parents=True, exist_ok=True)
    # New ones each start, known only to this process: no web page can sign a request to the
    # bot, or call the local Slack's Web API as the bot.
    secret = secrets.token_hex(16)
    token = f"xoxb-convbot-dev-{secrets.token_hex(12)}"
    settings = dev_settings(folder, base_url, token, secret)
    fake = FakeSlack(accepted_tokens=[token])
    demo.workspace(fake)
    fake.base_url = f"{base_url}{FAKE_PREFIX}"
    local = LocalSlack(fake, secret)
    local.bot_url = base_url
    dev = Dev(fake, local, ThreadApi(local))
    bot = create_http_app(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The demo's conversations go in before the bot starts, so its first digest has them.
        runtime = await build_runtime(settings)
        try:
            customers = Customers(LocalBackend(runtime.engine))
            created = await demo.conversations(runtime.conversations, customers)
        finally:
            await runtime.aclose()
        if created:
            log.info("created %d demo conversations", created)
        demo.welcome(fake)  # first in #support, before the bot's first digest
        engine = create_engine(settings.database_url)
        dev.threads.engine = engine
        writing: asyncio.Task[None] | None = None
        try:
            async with (
                bot.router.lifespan_context(bot),
                httpx.AsyncClient(timeout=30.0) as http,
            ):
                local.http = http
                if customers_every is not None:
                    writing = asyncio.create_task(
                        Customers(LocalBackend(engine)).keep_writing(customers_every)
                    )
                if ready is not None:
                    ready()
                yield
        finally:
            if writing is not None:
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
            await engine.dispose()

    routes = [
        Route("/", lambda _request: RedirectResponse("/dev"), methods=["GET"]),
        Route("/dev", _page, methods=["GET"]),
        Mount("/dev/static", StaticFiles(directory=STATIC), name="static"),
        Route("/dev/api/state", _with(dev, _state), methods=["GET"]),
        Route("/dev/api/command", _with(dev, _command), methods=["POST"]),
        Route("/dev/api/action", _with(dev, _action), methods=["POST"]),
        Route("/dev/api/submit", _with(dev, _submit), methods=["POST"]),
        Route("/dev/api/close", _with(dev, _close), methods=["POST"]),
        Route("/dev/api/home", _with(dev, _home), methods=["POST"]),
        *dev.threads.routes(),
        Mount(FAKE_PREFIX, create_fake_slack_app(fake)),
        Mount("", bot),
    ]
    # A page elsewhere may not use the API: a Host check against DNS rebinding (unless the
    # person chose to listen on every interface) and JSON-only posts (see json_body).
    host = urlsplit(base_url).hostname or ""
    hosts = ["*"] if listening_everywhere else ["127.0.0.1", "localhost", host]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.local_slack = local  # serve_dev ends its long-polls on Ctrl-C
    return app


def _with(dev: Dev, handler: Callable[[Dev, Request], Awaitable[Response]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await handler(dev, request)

    return endpoint


async def _page(_request: Request) -> Response:
    return FileResponse(STATIC / "index.html")


async def _state(dev: Dev, request: Request) -> Response:
    user = request.query_params.get("user") or ""
    channel = request.query_params.get("channel") or ""
    since = request.query_params.get("since")
    if user not in dev.fake.users:
        user = next(iter(u.id for u in dev.fake.users.values() if not u.is_bot))
    found = dev.fake.channels.get(channel)
    if found is None or (found.is_im and found.user != user):  # not someone else's DM
        channel = demo.SUPPORT
    version = int(since) if since and since.isdigit() else None
    reading = request.query_params.get("tab") != "home"  # the App Home hides the channel
    thread_ts = request.query_params.get("thread") or None
    state = await dev.local.state(user, channel, version, reading=reading, thread_ts=thread_ts)
    if state["thread"] is not None and thread_ts:
        state["thread"]["conversation"] = await dev.threads.conversation_of(channel, thread_ts)
    return JSONResponse(state)


async def _command(dev: Dev, request: Request) -> Response:
    body = await json_body(request)
    user, channel, text = body.get("user"), body.get("channel"), body.get("text")
    if user not in dev.fake.users or channel not in dev.fake.channels or not isinstance(text, str):
        return refused("a command needs a known user and channel, and its text")
    ack = await dev.local.command(user, channel, text.removeprefix("/conv").strip())
    return JSONResponse({"ok": ack.status_code == 200})


async def _action(dev: Dev, request: Request) -> Response:
    body = await json_body(request)
    user, channel = body.get("user"), body.get("channel") or ""
    container, action = body.get("container"), body.get("action")
    if user not in dev.fake.users or not isinstance(container, dict):
        return refused("an action needs a known user and its container")
    if not isinstance(action, dict) or not action.get("action_id"):
        return refused("an action needs its action_id")
    await dev.local.action(user, str(channel), container, action)
    return JSONResponse({"ok": True})


async def _submit(dev: Dev, request: Request) -> Response:
    body = await json_body(request)
    user, view_id, values = body.get("user"), body.get("view_id"), body.get("values")
    if user not in dev.fake.users or not isinstance(view_id, str) or not isinstance(values, dict):
        return refused("a submission needs a known user, the view id and its values")
    try:
        errors = await dev.local.submit(user, view_id, values)
    except BotRefused as error:
        return JSONResponse({"ok": False, "error": str(error)}, status_code=502)
    return JSONResponse({"ok": True, "errors": errors} if errors else {"ok": True})


async def _close(dev: Dev, request: Request) -> Response:
    body = await json_body(request)
    user, view_id = body.get("user"), body.get("view_id")
    if user not in dev.fake.users or not isinstance(view_id, str):
        return refused("closing needs a known user and the view id")
    dev.local.close(user, view_id)
    return JSONResponse({"ok": True})


async def _home(dev: Dev, request: Request) -> Response:
    user = (await json_body(request)).get("user")
    if user not in dev.fake.users:
        return refused("opening the App Home needs a known user")
    await dev.local.open_home(user)
    return JSONResponse({"ok": True})


def is_loopback(host: str) -> bool:
    """Only this machine can connect to `host` (a name other than localhost counts as not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_dev(folder: Path, host: str, port: int, *, unsafe_expose: bool = False) -> int:
    """Serve `convbot dev` until Ctrl-C or SIGTERM; the URL is printed once the bot is up."""
    # The page has no sign-in: whoever reaches it picks who they are. Off this machine that is
    # anyone on the network acting as any person in the demo, so it takes a flag saying so.
    if not is_loopback(host) and not unsafe_expose:
        print(
            f"convbot dev: not listening on {host or '(every interface)'}: the page has no sign-in,"
            " so anyone who reaches it can act as any person in it; use --host 127.0.0.1, or add"
            f" {EXPOSE_FLAG} if every machine that can reach this port is trusted",
            file=sys.stderr,
        )
        return 2
    if folder.exists() and not folder.is_dir():
        print(
            f"convbot dev: --folder {folder} is a file; name a folder (it is created if absent)",
            file=sys.stderr,
        )
        return 2
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(
            f"convbot dev: cannot create the folder {folder} ({error.strerror}); pick another"
            " with --folder",
            file=sys.stderr,
        )
        return 2
    sock = bind_or_say("convbot dev", host, port, "pick another port or host")
    if sock is None:
        return 2
    # Listening now: the URL is printed a moment before uvicorn serves the socket, and a page
    # opened in that moment waits in the backlog instead of being refused.
    sock.listen(128)
    bound = sock.getsockname()[1]
    everywhere = host in WILDCARDS
    if not is_loopback(host):
        print(
            f"convbot dev: WARNING: {EXPOSE_FLAG}: listening on {host or '*'}:{bound}, where"
            " anyone who reaches this port can use the page and act as any person in it",
            file=sys.stderr,
            flush=True,
        )
    # Browsers refuse 0.0.0.0 as an address to visit; the bot and the page use loopback.
    base_url = f"http://{'127.0.0.1' if everywhere else host}:{bound}"

    def ready() -> None:
        print(f"convbot dev: open {base_url}/dev   (files in {folder}; Ctrl-C stops)", flush=True)
        if os.environ.get("CONVBOT_CONFIG"):
            # The demo writes and runs on its own convbot.yml; say so rather than seem to obey.
            print(
                f"convbot dev: CONVBOT_CONFIG is ignored here; the demo runs on its own"
                f" {folder / 'convbot.yml'}",
                flush=True,
            )

    app = create_dev_app(folder, base_url, ready=ready, listening_everywhere=everywhere)
    local: LocalSlack = app.state.local_slack
    # An open page holds a long-poll for up to 25 s: answer it at once on Ctrl-C, and give
    # anything else 1 s.
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=1
    )
    # uvicorn stops cleanly, then raises the SIGINT again for its caller: Ctrl-C is how a
    # person ends `convbot dev`, not an error to show a traceback for.
    with contextlib.suppress(KeyboardInterrupt):
        _StoppingServer(config, local.stop).run(sockets=[sock])
    return 0


class _StoppingServer(uvicorn.Server):
    """A uvicorn server that calls `on_exit` in its event loop as soon as SIGINT or SIGTERM
    arrives, before it waits for the open requests to finish."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler runs between two bytecodes of the loop: only hand the work over.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_exit)
        super().handle_exit(sig, frame)
