"""`convbot check-config`: is the environment sane, convbot.yml valid, the backend answering,
and can the bot post in each digest's channel."""

from __future__ import annotations

import sys

from bot.config import OpsConfig, load_settings_config
from bot.errors import ConvbotError
from bot.redact import hide_url_password
from bot.settings import Settings


async def check_config(settings: Settings) -> int:
    """Print one line per check; exit 1 for a config error (a digest channel the bot cannot
    post in included), 2 when the backend or Slack does not answer."""
    problems = 0
    if bool(settings.infobip_base_url) != bool(settings.infobip_api_key):
        _fail(
            "INFOBIP_BASE_URL and INFOBIP_API_KEY go together: set both to use Infobip, "
            "or neither to use the embedded backend."
        )
        problems += 1
    backend_name = (
        "Infobip at " + hide_url_password(str(settings.infobip_base_url))
        if settings.uses_infobip
        else "embedded"
    )
    _ok(f"backend: {backend_name}; state database: {hide_url_password(settings.database_url)}")
    try:
        config = load_settings_config(settings)
        _ok(
            f"{settings.convbot_config}: valid ({len(config.local.agents)} local agents, "
            f"{len(config.local.queues)} queues, {len(config.local.routing)} routing rules)"
        )
    except ConvbotError as error:
        _fail(str(error))
        return 1
    if problems:
        return 1
    backend = await _check_backend(settings, config)
    digests = await _check_digest_channels(settings, config)
    return max(backend, digests)


async def _check_backend(settings: Settings, config: OpsConfig) -> int:
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


# Looking a DM up needs im:read, which the manifest does not ask for: the bot reads no DMs.
DM_UNCHECKED = "looked up: that needs im:read, which convbot does not ask for"


async def _check_digest_channels(settings: Settings, config: OpsConfig) -> int:
    """One line per digest: can the bot post in its channel? 1 if one cannot, 2 if Slack does
    not answer (one line for all of them)."""
    if not config.digests:
        return 0
    if not settings.slack_bot_token:
        _ok("digest channels: not checked (SLACK_BOT_TOKEN is not set)")
        return 0
    from bot.slack.channels import is_direct_message, posting_problem
    from bot.slack.deps import slack_client
    from bot.slack.failures import SLACK_FAILURES

    client = slack_client(settings)
    found: dict[str, str | None] = {}  # by channel: digests may share one
    code = 0
    try:
        for digest in config.digests:
            if digest.channel not in found:
                found[digest.channel] = await posting_problem(client, digest.channel)
            problem = found[digest.channel]
            if problem is None and is_direct_message(digest.channel):
                dm = digest.channel
                _ok(f"digest {digest.name}: posts in the direct message {dm} (not {DM_UNCHECKED})")
            elif problem is None:
                _ok(f"digest {digest.name}: can post in {digest.channel}")
            else:
                _fail(f"digest {digest.name}: {problem}")
                code = 1
    except SLACK_FAILURES as error:
        slack = hide_url_password(settings.slack_api_url)
        _fail(
            f"digest channels: Slack at {slack} does not answer "
            f"({type(error).__name__}); check SLACK_API_URL and the network"
        )
        return 2
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
    return code


def _ok(message: str) -> None:
    print(f"ok    {message}")


def _fail(message: str) -> None:
    print(f"error {message}", file=sys.stderr)
