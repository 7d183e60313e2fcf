"""Slack mrkdwn as terminal text, and text measured in terminal columns.

The shared layer (executor, service, errors, help) writes each sentence once, for Slack: `code`,
*bold*, _italic_, `<@U123>` mentions, `<https://x|links>`, `:emoji:` codes. A terminal would show
those marks literally, so the CLI passes everything it prints from that layer through `plain`.
Tables pad by `width`, not `len`: an emoji or a CJK character takes two columns, a combining
accent none.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

__all__ = ["clip", "pad", "plain", "width"]

# Code keeps its content as typed (`<id>` is a placeholder there, `*` a literal star).
_CODE = re.compile(r"```(.*?)```|`([^`\n]+)`", re.DOTALL)
# Slack's own tokens: mentions, channels, special mentions, dates and links.
_SLACK_TOKEN = re.compile(r"<([@#!])([^<>|\s]+)(?:\|([^<>\n]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|\s]+)(?:\|([^<>\n]*))?>")
# An emoji code stands alone between spaces, so `sort:updated:desc` is never one.
_EMOJI = re.compile(r"(?<!\S):[a-z0-9_+-]+:(?!\S) ?")
# Emphasis opens after a space (or at a line's start) and closes before one or a punctuation
# mark: our sentences write it so, and a quoted value ('#_ops_', '*/5 * * * *') stays as typed.
_EMPHASIS = [
    re.compile(rf"(?<![^\s(]){mark}(?=[^\s{mark}])([^{mark}\n]*?\S){mark}(?![^\s.,;:!?)])")
    for mark in (r"\*", "_", "~")
]
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def plain(text: str) -> str:
    """`text` as a terminal shows it best: marks removed, mentions and links spelt out."""
    parts: list[str] = []
    position = 0
    for code in _CODE.finditer(text):
        parts.append(_prose(text[position : code.start()]))
        parts.append(code[1] if code[1] is not None else code[2])
        position = code.end()
    parts.append(_prose(text[position:]))
    return "".join(parts)


def _prose(text: str) -> str:
    text = _SLACK_TOKEN.sub(_token, text)
    text = _LINK.sub(_link, text)
    text = _EMOJI.sub("", text)
    for emphasis in _EMPHASIS:
        text = emphasis.sub(r"\1", text)
    return text


def _token(found: re.Match[str]) -> str:
    sigil, value, label = found[1], found[2], found[3]
    if label:
        # `<!subteam^S1|@support>` and `<@U1|ana>` carry their name; a date its fallback text.
        return label if sigil == "!" or label.startswith(("@", "#")) else sigil + label
    if sigil != "!":
        return sigil + value
    kind, _, rest = value.partition("^")
    if kind == "date":
        return _date(rest.partition("^")[0]) or value
    return _SPECIAL.get(kind, "@" + (rest or kind))


def _date(seconds: str) -> str | None:
    """`<!date^…>` without its fallback text: the moment in UTC, as the CLI writes times."""
    if not seconds.isdigit() or len(seconds) > 11:
        return None
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _link(found: re.Match[str]) -> str:
    url, label = found[1], found[2]
    target = url.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != target else target


# --- columns -----------------------------------------------------------------------------------

_EMOJI_PRESENTATION = "\ufe0f"  # makes the character before it a two-column emoji


def _columns(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _widths(text: str) -> list[int]:
    """Columns per character; a variation selector widens a one-column character before it."""
    widths: list[int] = []
    for char in text:
        if char == _EMOJI_PRESENTATION and widths and widths[-1] == 1:
            widths[-1] = 2
        widths.append(_columns(char))
    return widths


def width(text: str) -> int:
    """How many terminal columns `text` takes."""
    return sum(_widths(text))


def pad(text: str, columns: int) -> str:
    """`text` with spaces after it up to `columns` columns."""
    return text + " " * max(0, columns - width(text))


def clip(text: str, columns: int) -> str:
    """`text` on one line in at most `columns` columns, with `…` where it was cut."""
    text = " ".join(text.split())
    widths = _widths(text)
    if sum(widths) <= columns:
        return text
    used, end = 0, 0
    while used + widths[end] <= columns - 1:  # one column is kept for the `…`
        used += widths[end]
        end += 1
    # A cut must not strand a combining mark or selector on the next line's start.
    while end < len(text) and widths[end] == 0:
        end += 1
    return text[:end] + "…"
