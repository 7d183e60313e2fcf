"""A link to a Slack message (chat.getPermalink), safe to put in mrkdwn and in a conversation.

https://docs.slack.dev/reference/methods/chat.getPermalink: needs no scope, answers
`{"channel", "permalink"}`, and refuses a message it cannot find (`message_not_found`,
`channel_not_found`). A link is only a nicety beside what it links to, so a refusal (or a link
that is not a plain https URL) gives None rather than an error.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.failures import SLACK_FAILURES

PERMALINK_MAX = 1000  # Slack's are ~70 characters; anything longer is not one of them


async def permalink(client: AsyncWebClient, channel: str | None, ts: str | None) -> str | None:
    """The message's permalink, or None when there is none to give."""
    if not channel or not ts:
        return None
    try:
        answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SLACK_FAILURES:
        return None
    link = answer.get("permalink")
    # A link goes into mrkdwn as `<url|text>`: only an https URL without those characters.
    if (
        isinstance(link, str)
        and link.startswith("https://")
        and len(link) <= PERMALINK_MAX
        and not set("<>| ") & set(link)
    ):
        return link
    return None
