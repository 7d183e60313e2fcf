"""`convbot dev`: the bot and a local Slack in one process, on one port, with no account anywhere.

    /dev                 the local Slack page (bot/dev/static)
    /dev/api/…           its JSON API: state (long-polled), command, action, submit, close, home
                         (bot/dev/local_slack.py does the work)
    /local-slack/api/…   the fake Slack Web API the bot is pointed at (SLACK_API_URL)
    /local-slack/response/…  its response_urls
    /slack/events, /healthz, /readyz, /metrics   the bot itself, exactly as `convbot serve`

The bot runs on the embedded backend with the demo of bot/dev/demo.py, its files in one folder.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.bootstrap import build_runtime
from bot.dev import demo
from bot.dev.local_slack import LocalSlack
from bot.fakeslack import FakeSlack, create_fake_slack_app
from bot.server import create_http_app
from bot.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
FAKE_PREFIX = "/local-slack"
BOT_TOKEN = "xoxb-convbot-dev"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Dev:
    fake: FakeSlack
    local: LocalSlack
    settings: Settings


def dev_settings(folder: Path, base_url: str, signing_secret: str) -> Settings:
    """The bot's settings for the demo: embedded backend, state and config in `folder`, Slack
    at the local fake. Nothing is read from the environment or a .env file."""
    config = folder / "convbot.yml"
    config.write_text(
        "# Written by `convbot dev` at each start: the demo's operations file.\n"
        + yaml.safe_dump(demo.operations(), sort_keys=False)
    )
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=signing_secret,
        slack_api_url=f"{base_url}{FAKE_PREFIX}/api/",
        database_url=f"sqlite+aiosqlite:///{folder / 'convbot-dev.db'}",
        convbot_config=str(config),
        infobip_base_url=None,
        infobip_api_key=None,
    )


def create_dev_app(
    folder: Path, base_url: str, *, ready: Callable[[], None] | None = None
) -> Starlette:
    """The whole of `convbot dev`, to be served at `base_url` (`http://127.0.0.1:PORT`);
    `ready` is called once the bot and its demo are up."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)  # a new one each start: only this process signs requests
    settings = dev_settings(folder, base_url, secret)
    fake = FakeSlack(accepted_tokens=[BOT_TOKEN])
    demo.workspace(fake)
    fake.base_url = f"{base_url}{FAKE_PREFIX}"
    local = LocalSlack(fake, secret)
    local.bot_url = base_url
    dev = Dev(fake, local, settings)
    bot = create_http_app(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The demo's conversations go in before the bot starts, so its first digest has them.
        runtime = await build_runtime(settings)
        try:
            created = await demo.conversations(runtime.conversations)
        finally:
            await runtime.aclose()
        if created:
            log.info("created %d demo conversations", created)
        async with (
            bot.router.lifespan_context(bot),
            httpx.AsyncClient(timeout=30.0) as http,
        ):
            local.http = http
            if ready is not None:
                ready()
            yield

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
        Mount(FAKE_PREFIX, create_fake_slack_app(fake)),
        Mount("", bot),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _with(dev: Dev, handler: Callable[[Dev, Request], Awaitable[Response]]) -> Handler:
    async def endpoint(request: Request) -> Response:
        return await handler(dev, request)

    return endpoint


async def _page(_request: Request) -> Response:
    return FileResponse(STATIC / "index.html")


async def _body(request: Request) -> dict[str, Any]:
    try:
        found = await request.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _refused(problem: str) -> Response:
    return JSONResponse({"ok": False, "error": problem}, status_code=400)


async def _state(dev: Dev, request: Request) -> Response:
    user = request.query_params.get("user") or ""
    channel = request.query_params.get("channel") or ""
    since = request.query_params.get("since")
    if user not in dev.fake.users:
        user = next(iter(u.id for u in dev.fake.users.values() if not u.is_bot))
    if channel not in dev.fake.channels:
        channel = demo.SUPPORT
    version = int(since) if since and since.isdigit() else None
    return JSONResponse(await dev.local.state(user, channel, version))


async def _command(dev: Dev, request: Request) -> Response:
    body = await _body(request)
    user, channel, text = body.get("user"), body.get("channel"), body.get("text")
    if user not in dev.fake.users or channel not in dev.fake.channels or not isinstance(text, str):
        return _refused("a command needs a known user and channel, and its text")
    ack = await dev.local.command(user, channel, text.removeprefix("/conv").strip())
    return JSONResponse({"ok": ack.status_code == 200})


async def _action(dev: Dev, request: Request) -> Response:
    body = await _body(request)
    user, channel = body.get("user"), body.get("channel") or ""
    container, action = body.get("container"), body.get("action")
    if user not in dev.fake.users or not isinstance(container, dict):
        return _refused("an action needs a known user and its container")
    if not isinstance(action, dict) or not action.get("action_id"):
        return _refused("an action needs its action_id")
    await dev.local.action(user, str(channel), container, action)
    return JSONResponse({"ok": True})


async def _submit(dev: Dev, request: Request) -> Response:
    body = await _body(request)
    user, view_id, values = body.get("user"), body.get("view_id"), body.get("values")
    if user not in dev.fake.users or not isinstance(view_id, str) or not isinstance(values, dict):
        return _refused("a submission needs a known user, the view id and its values")
    errors = await dev.local.submit(user, view_id, values)
    return JSONResponse({"ok": True, "errors": errors} if errors else {"ok": True})


async def _close(dev: Dev, request: Request) -> Response:
    body = await _body(request)
    user, view_id = body.get("user"), body.get("view_id")
    if user not in dev.fake.users or not isinstance(view_id, str):
        return _refused("closing needs a known user and the view id")
    dev.local.close(user, view_id)
    return JSONResponse({"ok": True})


async def _home(dev: Dev, request: Request) -> Response:
    user = (await _body(request)).get("user")
    if user not in dev.fake.users:
        return _refused("opening the App Home needs a known user")
    await dev.local.open_home(user)
    return JSONResponse({"ok": True})


def serve_dev(folder: Path, host: str, port: int) -> int:
    """Serve `convbot dev` until Ctrl-C; the URL is printed once the bot is up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        print(f"convbot dev: cannot listen on {host}:{port} ({error.strerror}); pick another port")
        return 2
    bound = sock.getsockname()[1]
    base_url = f"http://{host}:{bound}"

    def ready() -> None:
        print(f"convbot dev: open {base_url}/dev   (files in {folder}; Ctrl-C stops)", flush=True)

    app = create_dev_app(folder, base_url, ready=ready)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
