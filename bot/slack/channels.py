"""Can the bot post in a channel, and joining one: for digests, which post where nobody typed.

`posting_problem` asks Slack (`conversations.info`) and answers in one sentence what an operator
must do, or None; `join_channel` joins a public channel, which a bot may do by itself (with the
`channels:join` scope). A private channel cannot be joined: someone in it must invite the bot.

Only Slack's refusals (`SlackApiError`) are turned into sentences. A Slack that cannot be
reached (slack_sdk's other `SlackClientError`s, aiohttp's and asyncio's errors; see
`bot.slack.failures`) propagates: whether that is a failure is the caller's decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger(__name__)

INVITE = "/invite @convbot"
# What conversations.info needs, public and private channels alike.
READ_SCOPES = "channels:read (public channels) and groups:read (private channels)"
# Scopes that let a bot post in a public channel it is not in: by joining it, or without.
_POSTS_ANYWHERE_PUBLIC = ("channels:join", "chat:write.public")
_TOKEN_HINTS = {
    "not_authed": "SLACK_BOT_TOKEN is empty",
    "invalid_auth": "SLACK_BOT_TOKEN is not a valid bot token for this workspace",
    "token_revoked": "SLACK_BOT_TOKEN was revoked; reinstall the app and use its new token",
    "token_expired": "SLACK_BOT_TOKEN has expired; reinstall the app and use its new token",
    "account_inactive": "the app's workspace or bot user is deactivated",
}


async def posting_problem(client: AsyncWebClient, channel_id: str) -> str | None:
    """None when the bot can post a message in `channel_id`; else one sentence saying why not
    and what to do about it.

    A public channel the bot is not in is no problem: the bot joins public channels by itself at
    its first post there (`join_channel`, with the `channels:join` scope). When Slack names the
    token's scopes (its `X-OAuth-Scopes` header) and neither `channels:join` nor
    `chat:write.public` is among them, that is reported instead.

    A direct message (`D…`) is not looked up: conversations.info needs `im:read` there, which
    convbot does not ask for, and the bot can post in its DM with a person with `chat:write`.

    Raises what the client raises when Slack cannot be reached (anything but `SlackApiError`).
    """
    if is_direct_message(channel_id):
        return None
    try:
        answer = await client.conversations_info(channel=channel_id)
    except SlackApiError as refusal:
        return _refused(refusal, channel_id)
    channel = answer.get("channel")
    if not isinstance(channel, Mapping):
        return f"Slack answered conversations.info for {channel_id} without the channel"
    where = _shown(channel, channel_id)
    if channel.get("is_archived"):
        return f"{where} is archived: unarchive it, or pick another channel for the digest"
    if channel.get("is_member") or channel.get("is_im") or channel.get("is_mpim"):
        return None
    if channel.get("is_private"):
        return f"the bot is not in the private channel {where}: invite it with {INVITE}"
    scopes = _granted_scopes(answer.headers)
    if scopes is not None and not scopes.intersection(_POSTS_ANYWHERE_PUBLIC):
        return (
            f"the bot is not in {where} and cannot join it by itself: add the channels:join "
            f"scope to the app (manifest.yml) and reinstall it, or invite the bot with {INVITE}"
        )
    return None


def is_direct_message(channel_id: str) -> bool:
    """A DM's id starts with D (a person's with the bot, for digests sent to one person)."""
    return channel_id.startswith("D")


async def join_channel(client: AsyncWebClient, channel_id: str) -> bool:
    """Join a public channel: True when the bot is in it now (also when it already was).

    False, logged, when Slack refuses: a private channel or a DM (an invite is needed), an
    archived or unknown channel, a token without `channels:join`. Never raises `SlackApiError`;
    a Slack that cannot be reached still raises.
    """
    try:
        await client.conversations_join(channel=channel_id)
    except SlackApiError as refusal:
        log.info("could not join channel %s: %s", channel_id, _code(refusal))
        return False
    return True


async def post_joining(
    client: AsyncWebClient, channel_id: str, text: str, blocks: Sequence[Block | dict[str, Any]]
) -> AsyncSlackResponse:
    """chat.postMessage; a public channel the bot is not in is joined, then posted in. A
    refusal that joining cannot cure is raised as it came."""
    try:
        return await client.chat_postMessage(channel=channel_id, text=text, blocks=blocks)
    except SlackApiError as refusal:
        if _code(refusal) != "not_in_channel" or not await join_channel(client, channel_id):
            raise
    log.info("joined %s to post there", channel_id)
    return await client.chat_postMessage(channel=channel_id, text=text, blocks=blocks)


def _refused(refusal: SlackApiError, channel_id: str) -> str:
    code = _code(refusal)
    if code == "channel_not_found":
        return (
            f"channel {channel_id} does not exist or the bot cannot see it: check the id "
            f"(channel details → About), and if the channel is private, invite the bot with "
            f"{INVITE}"
        )
    if code == "missing_scope":
        needed = refusal.response.get("needed") if refusal.response is not None else None
        scopes = f"the {needed} scope" if needed else READ_SCOPES
        return (
            f"the bot token may not look channels up: add {scopes} to the app (manifest.yml, "
            "oauth_config.scopes.bot) and reinstall it"
        )
    if code in _TOKEN_HINTS:
        return f"Slack said {code}: {_TOKEN_HINTS[code]}"
    return f"Slack said {code}"


def _code(refusal: SlackApiError) -> str:
    response = refusal.response
    code = response.get("error") if response is not None else None
    return str(code or "unknown_error")


def _shown(channel: Mapping[str, Any], channel_id: str) -> str:
    name = channel.get("name")
    return f"#{name} ({channel_id})" if name and name != channel_id else channel_id


def _granted_scopes(headers: Mapping[str, Any]) -> frozenset[str] | None:
    """The token's scopes, from Slack's `X-OAuth-Scopes` answer header; None if not sent."""
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            return frozenset(scope.strip() for scope in str(value).split(",") if scope.strip())
    return None
