"""Does SLACK_BOT_TOKEN work? Slack's `auth.test` answers, through the bot's own Web API client
(SLACK_API_URL, retries), within a deadline; the answer is one sentence, never with the token."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.redact import hide_url_password
from bot.settings import Settings

# Slack's auth.test errors for a token (api.slack.com/methods/auth.test), and what to do.
REINSTALL = "reinstall the app (OAuth & Permissions) and set SLACK_BOT_TOKEN to its new xoxb- token"
_REFUSALS = {
    "not_authed": "SLACK_BOT_TOKEN is empty; set it to the Bot User OAuth Token (xoxb-…)",
    "invalid_auth": (
        "SLACK_BOT_TOKEN is not a valid token (a typo, or a token of another workspace);"
        " copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions again"
    ),
    "token_revoked": f"SLACK_BOT_TOKEN was revoked (the app was uninstalled?); {REINSTALL}",
    "token_expired": f"SLACK_BOT_TOKEN has expired; {REINSTALL}",
    "account_inactive": "the app's bot user or its workspace is deactivated",
    "not_allowed_token_type": (
        "SLACK_BOT_TOKEN is not a bot token (an app-level xapp- token belongs in"
        " SLACK_APP_TOKEN); use the Bot User OAuth Token (xoxb-…)"
    ),
}


@dataclass(frozen=True)
class TokenVerdict:
    ok: bool
    sentence: str
    unreachable: bool = False  # Slack did not answer, as opposed to refusing the token


async def ask_slack(settings: Settings, seconds: float) -> TokenVerdict:
    """What Slack says of the token, within `seconds` in all."""
    from bot.slack.client import slack_client
    from bot.slack.failures import SLACK_FAILURES

    slack = hide_url_password(settings.slack_api_url)
    client = slack_client(settings)
    try:
        async with asyncio.timeout(seconds):
            answer = await client.auth_test()
    except TimeoutError:
        return TokenVerdict(
            False,
            f"Slack at {slack} did not answer auth.test within {seconds:g} s; check"
            " SLACK_API_URL and the network",
            unreachable=True,
        )
    except SlackApiError as refusal:
        return _refused(refusal, slack)
    except SLACK_FAILURES as error:
        return TokenVerdict(
            False,
            f"Slack could not be reached at {slack} ({type(error).__name__}); check"
            " SLACK_API_URL and the network",
            unreachable=True,
        )
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
    return _accepted(answer.data if isinstance(answer.data, Mapping) else {})


def _accepted(answer: Mapping[str, object]) -> TokenVerdict:
    team = f"{answer.get('team')} ({answer.get('team_id')}, {answer.get('url')})"
    user = f"@{answer.get('user')} ({answer.get('user_id')})"
    if not answer.get("bot_id"):  # a user's xoxp- token: the bot would act as that person
        return TokenVerdict(
            False,
            f"SLACK_BOT_TOKEN works but belongs to the person {user}, not to a bot; use the"
            " Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
        )
    return TokenVerdict(True, f"the token works: bot {user} in the workspace {team}")


def _refused(refusal: SlackApiError, slack: str) -> TokenVerdict:
    status = getattr(refusal.response, "status_code", None)
    data = getattr(refusal.response, "data", None)
    code = data.get("error") if status == 200 and isinstance(data, Mapping) else None
    if code in _REFUSALS:
        return TokenVerdict(False, f"Slack said {code}: {_REFUSALS[str(code)]}")
    if code:
        return TokenVerdict(False, f"Slack said {code} to auth.test, asked at {slack}")
    # Not Slack's JSON: a proxy's error page, or SLACK_API_URL pointing somewhere else.
    return TokenVerdict(
        False,
        f"{slack} answered auth.test with HTTP {status}, not as Slack's Web API does; check"
        " SLACK_API_URL (normally https://slack.com/api/)",
        unreachable=True,
    )
