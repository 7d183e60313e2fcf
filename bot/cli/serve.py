"""`convbot serve`: the Slack bot, over HTTP (default) or Socket Mode (SLACK_APP_TOKEN set)."""

from __future__ import annotations

import sys

import uvicorn

from bot.settings import Settings

MISSING = (
    "convbot serve needs Slack credentials, and {missing} {verb} not set. Create the Slack app "
    "from manifest.yml (api.slack.com/apps → Create New App → From an app manifest), install it "
    "to your workspace, then set SLACK_BOT_TOKEN (OAuth & Permissions → Bot User OAuth Token, "
    "xoxb-…) and SLACK_SIGNING_SECRET (Basic Information → Signing Secret) for HTTP mode, or "
    "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (an app-level token with connections:write, xapp-…) "
    "for Socket Mode. A .env file in the working directory is read too."
)


def missing_credentials(settings: Settings) -> list[str]:
    if settings.slack_app_token:  # Socket Mode: no public URL, so no signatures to verify
        needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    else:
        needed = {
            "SLACK_BOT_TOKEN": settings.slack_bot_token,
            "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        }
    return [name for name, value in needed.items() if not value]


def serve(settings: Settings) -> int:
    missing = missing_credentials(settings)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        print(MISSING.format(missing=" and ".join(missing), verb=verb), file=sys.stderr)
        return 2
    problem = settings.half_set_infobip()
    if problem:
        print(f"error {problem}", file=sys.stderr)
        return 1
    from bot.config_file import load_settings_config
    from bot.errors import ConvbotError
    from bot.http_limits import server_options
    from bot.server import create_http_app

    # Read here first: a mistake found in the server's start-up would end in uvicorn's traceback
    # ("Application startup failed") instead of the sentence check-config gives.
    try:
        load_settings_config(settings)
    except ConvbotError as error:
        print(f"error {error}", file=sys.stderr)
        return error.exit_code
    uvicorn.run(
        create_http_app(settings, freeze_heap=True),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep convbot's logging set-up (text or JSON)
        access_log=False,
        lifespan="on",
        **server_options(),  # a request is read within a deadline (bot/http_limits.py)
    )
    return 0
