"""`convbot check-config`: is convbot.yml valid, the environment consistent, the Slack token
accepted by Slack, the backend answering, and can the bot post in each digest's channel.

One line per check, `ok` on stdout or `error` on stderr, each error saying what to do. A check
that depends on a failed one is skipped rather than failing again for the same reason.

Slack is asked before the backend: a refused or unreachable Slack is what usually keeps a new
install from working, and the digest channels are only asked of a Slack that took the token.
"""

from __future__ import annotations

import sys
from collections.abc import Sized
from dataclasses import dataclass
from pathlib import Path

from bot.config import OpsConfig
from bot.config_file import DEFAULTS, config_path, load_settings_config
from bot.errors import ConvbotError
from bot.redact import hide_url_password
from bot.settings import Settings

# How long asking Slack about the token may take in all, retries included: a person is waiting.
SLACK_CHECK_SECONDS = 10.0

# Exit codes: a configuration mistake, or something that does not answer.
MISTAKE, UNREACHABLE = 1, 2


async def check_config(settings: Settings) -> int:
    """Print one line per check; exit 1 for a config error (a token Slack refuses and a digest
    channel the bot cannot post in included), 2 when the backend or Slack does not answer."""
    # The file and the environment first. A mistake there is all that is printed, one line
    # each: an "ok" beside it would read as if things were fine, and Slack and the backend
    # would only be asked with the wrong settings.
    config, file_line = _check_file(settings)
    backend_line = _check_backend_settings(settings)
    mistakes = [line for line in (file_line, backend_line) if not line.ok]
    if config is None or mistakes:
        for line in mistakes:
            _fail(line.text)
        return MISTAKE
    _ok(file_line.text)
    _ok(backend_line.text)
    slack = await _check_slack_token(settings)
    backend = await _check_backend(settings, config)
    digests = await _check_digest_channels(settings, config) if slack == 0 else 0
    return max(backend, slack, digests)


@dataclass(frozen=True)
class _Line:
    ok: bool
    text: str


def _check_file(settings: Settings) -> tuple[OpsConfig | None, _Line]:
    """convbot.yml, or None and why it cannot be used."""
    try:
        config = load_settings_config(settings)
    except ConvbotError as error:
        return None, _Line(False, str(error))
    file, named = config_path(settings)
    if not named and not file.is_file():  # only the default file may be absent
        return config, _Line(
            True,
            f"{file}: not in {Path.cwd()}, and CONVBOT_CONFIG is not set: running on the"
            f" defaults ({DEFAULTS})",
        )
    return config, _Line(
        True,
        f"{file}: valid ({_count(config.local.agents, 'local agent')},"
        f" {_count(config.local.queues, 'queue')}, {_count(config.local.routing, 'routing rule')},"
        f" {_count(config.digests, 'digest')})",
    )


def _check_backend_settings(settings: Settings) -> _Line:
    """Which backend the environment picks, or what is missing when it is half-set."""
    problem = settings.half_set_infobip()
    if problem:
        return _Line(False, problem)
    url = hide_url_password(str(settings.infobip_base_url)) if settings.infobip_base_url else None
    backend_name = f"Infobip at {url}" if settings.uses_infobip else "embedded"
    database = hide_url_password(settings.database_url)
    return _Line(True, f"backend: {backend_name}; state database: {database}")


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


async def _check_slack_token(settings: Settings) -> int:
    """Ask Slack (auth.test, through the bot's own client and SLACK_API_URL) whether
    SLACK_BOT_TOKEN works; 0 when it does or is not set."""
    if not settings.slack_bot_token:
        _ok("Slack: not asked (SLACK_BOT_TOKEN is not set)")
        return 0
    from bot.cli.slack_token import ask_slack

    verdict = await ask_slack(settings, SLACK_CHECK_SECONDS)
    if verdict.ok:
        _ok(f"Slack: {verdict.sentence}")
        return 0
    _fail(f"Slack: {verdict.sentence}")
    return UNREACHABLE if verdict.unreachable else MISTAKE


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
    from bot.slack.client import slack_client
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
                code = MISTAKE
    except SLACK_FAILURES as error:
        slack = hide_url_password(settings.slack_api_url)
        _fail(
            f"digest channels: Slack at {slack} does not answer "
            f"({type(error).__name__}); check SLACK_API_URL and the network"
        )
        return UNREACHABLE
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
    return code


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


# Flushed: stdout and stderr often go to one terminal or file, where the lines must stay in order.
def _ok(message: str) -> None:
    print(f"ok    {message}", flush=True)


def _fail(message: str) -> None:
    print(f"error {message}", file=sys.stderr, flush=True)
