"""Slack mrkdwn helpers: everything user-typed passes through `escape` before it is drawn.

Slack parses `<…>` as mentions, links and commands (`<!channel>`, `<@U123>`, `<https://x|y>`),
and `&` starts an entity; escaping those three characters is all Slack asks for, and all it
decodes again, so nothing else is touched. `plain_text` objects (headers, buttons, options,
inputs) are never parsed for mentions, and Slack would show `&lt;` there literally, so they get
raw text, only clipped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject

from bot.identifiers import USER_ID, USERGROUP_ID

ELLIPSIS = "…"
NOTHING = "—"  # shown where a value is absent, so an empty field never looks like a bug

_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_ENTITY_MAX = len("&amp;")


def escape(text: str) -> str:
    """`&`, `<`, `>` as entities; `&` first so the other entities are not escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in `…` when cut; never cuts through `&amp;` & co.

    Half an entity (`&am…`) would render as garbage, so the cut moves back before its `&`.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[: max(limit, 0)]
    cut = limit - len(ELLIPSIS)
    ampersand = text.rfind("&", max(0, cut - _ENTITY_MAX + 1), cut)
    if ampersand != -1:
        entity = _ENTITY.match(text, ampersand)
        if entity is not None and entity.end() > cut:
            cut = ampersand
    return text[:cut].rstrip() + ELLIPSIS


class Mrkdwn(str):
    """Text that is mrkdwn already (escaped, holding only our own tokens): drawn as it is."""


def user_text(text: str | None, limit: int, *, empty: str = NOTHING) -> str:
    """User-typed text, escaped then clipped (clipping after escaping keeps within `limit`).

    `Mrkdwn` is clipped only: it was escaped when it was built.
    """
    if text is None or not text.strip():
        return empty
    body = text.strip()
    return clip(body if isinstance(text, Mrkdwn) else escape(body), limit)


def slack_date(moment: datetime | None, fallback: str | None = None) -> str:
    """A date every viewer sees in their own time zone; `fallback` is for clients that cannot.

    The fallback defaults to the moment in UTC. A missing moment draws as `—`.
    """
    if moment is None:
        return NOTHING
    if moment.tzinfo is None:  # our models are always aware; a naive value means UTC here
        moment = moment.replace(tzinfo=UTC)
    text = (
        fallback if fallback is not None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    # `|` would end the token early; it cannot be escaped, so it is replaced.
    text = escape(text).replace("|", "/")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{text}>"


def mention(user_id: str) -> str:
    """`<@U…>`; anything that is not a Slack user id is shown as escaped text, never parsed."""
    if USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def subteam_mention(group_id: str) -> str:
    """`<!subteam^S…>` for a user group; anything else is shown as escaped text."""
    if USERGROUP_ID.fullmatch(group_id):
        return f"<!subteam^{group_id}>"
    return escape(group_id)


def md(text: str) -> MarkdownTextObject:
    """A mrkdwn text object Slack draws as written.

    `verbatim` stops Slack's own pre-parsing, which would turn a tag `#billing` into a link to a
    channel and a bare `@here` in a topic into a mention; our own `<@U…>` and `<!date…>` tokens
    still work.
    """
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    """A plain_text object (raw text, see the module docstring), clipped to `limit`."""
    return PlainTextObject(text=clip(text.strip() or NOTHING, limit), emoji=True)
