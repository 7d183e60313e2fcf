"""One segment of an Infobip path: an id or a tag name travels as exactly one encoded path
segment (DESIGN.md), whatever characters it holds."""

from __future__ import annotations

from urllib.parse import quote

from bot.errors import InvalidInput


def segment(value: str) -> str:
    """`value` as exactly one path segment (DESIGN.md: ids travel as one encoded segment).

    `quote` leaves `.` alone (it is unreserved), and a segment that is `.` or `..` would be
    resolved by httpx as a dot segment: `/conversations/..` becomes `/ccaas/1`, and a tag named
    `..` turns `DELETE …/tags/..` into `DELETE /conversations/{id}`. Percent-encoded dots are the
    same characters to the server (RFC 3986 §2.3) but are not dot segments (§5.2.4)."""
    if not value:  # `/conversations/` is the list: an empty id must not turn a get into it
        raise InvalidInput("An empty id names nothing; give the conversation's id.")
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded
