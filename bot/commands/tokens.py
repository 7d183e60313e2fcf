"""Words from what was typed: whitespace splits, `"…"` groups, as Slack's clients send it."""

from __future__ import annotations

import re

from bot.errors import InvalidInput

# Slack turns typed quotes into “smart” ones and clients slip in zero-width characters.
_NORMALISE = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u200b": None, "\ufeff": None}
)
_NON_SPACE = re.compile(r"\S")
_BREAK = re.compile(r'[\s"]')
# Bounded so a long token full of quotes cannot make the prefix check quadratic.
_KEY_PREFIX = re.compile(r"[A-Za-z]{1,20}:")


def tokenize(text: str) -> list[str]:
    """Split on whitespace; `"…"` groups words at a token's start or right after `key:`."""
    text = text.translate(_NORMALISE)
    tokens: list[str] = []
    position = 0
    while found := _NON_SPACE.search(text, position):
        token, position = _read_token(text, found.start())
        tokens.append(token)
    return tokens


def _read_token(text: str, start: int) -> tuple[str, int]:
    parts: list[str] = []
    i = start
    while i < len(text) and not text[i].isspace():
        if text[i] == '"' and (i == start or _KEY_PREFIX.fullmatch(text, start, i)):
            end = text.find('"', i + 1)
            if end < 0:
                raise InvalidInput('A double quote (") is not closed; close it or remove it.')
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            # A quote inside a word (5" screen) is just a character.
            stop = _BREAK.search(text, i + 1)
            end = stop.start() if stop else len(text)
            parts.append(text[i:end])
            i = end
    return "".join(parts), i
