"""Text as Slack sends it: `&`, `<` and `>` arrive HTML-escaped in commands."""

from __future__ import annotations


def from_slack(text: str) -> str:
    """Undo Slack's escaping of a slash command's text, so the grammar sees what was typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
