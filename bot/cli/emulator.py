"""`convbot emulator`: the Infobip API served over the embedded store, for tests and demos."""

from __future__ import annotations

import asyncio

import uvicorn

from bot.backends.local import LocalBackend
from bot.config import load_config
from bot.emulator.app import create_emulator_app
from bot.settings import Settings
from bot.state.db import create_engine, migrate


def serve_emulator(
    settings: Settings,
    host: str,
    port: int,
    api_key: str,
    database_url: str,
    latency: float = 0.0,
) -> int:
    slow = f" (answering {latency * 1000:g} ms late)" if latency > 0 else ""
    print(
        f"Infobip emulator on http://{host}:{port}/ccaas/1/{slow} — point convbot at it with\n"
        f"  export INFOBIP_BASE_URL=http://{host}:{port} INFOBIP_API_KEY={api_key}",
        flush=True,
    )
    asyncio.run(_serve(settings, host, port, api_key, database_url, latency))
    return 0


async def _serve(
    settings: Settings, host: str, port: int, api_key: str, database_url: str, latency: float
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        backend = LocalBackend(engine)
        await backend.seed(load_config(settings.convbot_config).local)
        app = create_emulator_app(backend, api_key, latency=latency)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        await server.serve()
    finally:
        await engine.dispose()
