"""`convbot check-config`: is the environment sane, convbot.yml valid, the backend answering."""

from __future__ import annotations

import sys

from bot.config import load_config
from bot.errors import ConvbotError
from bot.settings import Settings
from bot.state.db import hide_password


async def check_config(settings: Settings) -> int:
    """Print one line per check; exit 1 for a config error, 2 when the backend does not answer."""
    problems = 0
    if bool(settings.infobip_base_url) != bool(settings.infobip_api_key):
        _fail(
            "INFOBIP_BASE_URL and INFOBIP_API_KEY go together: set both to use Infobip, "
            "or neither to use the embedded backend."
        )
        problems += 1
    backend_name = (
        "Infobip at " + str(settings.infobip_base_url) if settings.uses_infobip else "embedded"
    )
    _ok(f"backend: {backend_name}; state database: {hide_password(settings.database_url)}")
    try:
        config = load_config(settings.convbot_config)
        _ok(
            f"{settings.convbot_config}: valid ({len(config.local.agents)} local agents, "
            f"{len(config.local.queues)} queues, {len(config.local.routing)} routing rules)"
        )
    except ConvbotError as error:
        _fail(str(error))
        return 1
    if problems:
        return 1
    from bot.bootstrap import build_runtime

    try:
        runtime = await build_runtime(settings, config)
        try:
            await runtime.backend.ping()
        finally:
            await runtime.aclose()
    except ConvbotError as error:
        _fail(str(error))
        return error.exit_code
    _ok("the backend answers")
    return 0


def _ok(message: str) -> None:
    print(f"ok    {message}")


def _fail(message: str) -> None:
    print(f"error {message}", file=sys.stderr)
