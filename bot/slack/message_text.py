"""A Slack message's text as plain text: what a message shortcut copies into a conversation.

A message's `text` is Slack's markup (https://docs.slack.dev/messaging/formatting-message-text):
`<@U123>` a user, `<#C123|name>` a channel, `<!subteam^S123|@team>` a user group,
`<!here>`/`<!channel>`/`<!everyone>` a broadcast, `<!date^…|fallback>` a date, `<url|label>` or
`<url>` a link, and `&amp;`, `&lt;`, `&gt;` for the three characters markup uses. Copied as it
is, a topic would ping a channel wherever the card is drawn and a link could show one address
while pointing at another; so each becomes what a reader saw: a name, `@channel`, the link's
label followed by its real address. The result is plain text; wherever it is drawn again it is
escaped as any user text is (bot/slack/blocks/mrkdwn.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.failures import SLACK_FAILURES

_MARKUP = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"^@([UW][A-Z0-9]+)(?:\|([^<>]*))?$")
MENTIONS_RESOLVED = 20  # users looked up per message (users.info each): a bound, not a guess
_ELLIPSIS = "…"


def mentioned_users(text: str) -> list[str]:
    """The user ids `<@U…>` mentions name, first seen first, at most MENTIONS_RESOLVED."""
    found: dict[str, None] = {}
    for match in _MARKUP.finditer(text):
        user = _USER.match(match.group(1))
        if user is not None:
            found.setdefault(user.group(1), None)
        if len(found) >= MENTIONS_RESOLVED:
            break
    return list(found)


def plain_text(text: str, names: Mapping[str, str]) -> str:
    """`text` with Slack's markup replaced by what it shows; `names`: user id → display name
    (an unknown user reads as `@user`, never as an id a reader cannot place)."""

    def shown(match: re.Match[str]) -> str:
        return _shown(match.group(1), names)

    return _unescape(_MARKUP.sub(shown, text))


def _shown(inner: str, names: Mapping[str, str]) -> str:
    user = _USER.match(inner)
    if user is not None:
        name = names.get(user.group(1)) or _label(user.group(2)) or "user"
        return "@" + name.removeprefix("@")
    target, _, label = inner.partition("|")
    if target.startswith("#"):  # <#C123|general>; without a label Slack shows the name too
        return "#" + (_label(label) or "channel").removeprefix("#")
    if target.startswith("!subteam^"):
        return "@" + (_label(label) or "group").removeprefix("@")
    if target.startswith("!date^"):
        return _label(label) or "a date"
    if target.startswith("!"):  # <!here>, <!channel>, <!everyone>: the word, without the ping
        word = target[1:].split("^", 1)[0]
        return "@" + (_label(label).removeprefix("@") if label else word)
    url = _unescape(target)
    text = _label(label)
    # A label that is not the address itself is shown with the address, so a link written
    # `<https://evil.example|bank.com>` reads "bank.com (https://evil.example)".
    if not text or text == url:
        return url
    if text == url.removeprefix("mailto:"):
        return text
    return f"{text} ({url})"


def _label(label: str | None) -> str:
    return _unescape(label or "").strip()


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def first_line(text: str) -> str:
    """The first line with any text on it."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def cut_at_word(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole if it fits, else cut at the last space
    before the limit (or mid-word when one word is longer) and ended with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = text[: limit - len(_ELLIPSIS)]
    if not text[len(room)].isspace():  # the cut falls inside a word: back to its start
        space = max(room.rfind(" "), room.rfind("\n"))
        if space > limit // 2:  # unless that throws away more than it keeps tidy
            room = room[:space]
    return room.rstrip() + _ELLIPSIS


async def display_names(client: AsyncWebClient, user_ids: list[str]) -> dict[str, str]:
    """Display names of the mentioned users (at most MENTIONS_RESOLVED lookups, at once); one
    Slack will not give reads as `@user`."""

    async def name_of(user_id: str) -> tuple[str, str | None]:
        try:
            user = (await client.users_info(user=user_id)).get("user") or {}
        except SLACK_FAILURES:
            return user_id, None
        profile = user.get("profile") or {}
        found = profile.get("display_name") or user.get("real_name") or user.get("name")
        return user_id, found if isinstance(found, str) and found.strip() else None

    found = await asyncio.gather(*(name_of(user_id) for user_id in user_ids))
    return {user_id: name for user_id, name in found if name}
