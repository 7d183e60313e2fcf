"""A Slack message's markup made plain for the message shortcuts (bot/slack/message_text.py):
what a reader saw, with nothing left that pings or links somewhere it does not say."""

from __future__ import annotations

import pytest

from bot.slack.message_text import (
    MENTIONS_RESOLVED,
    cut_at_word,
    first_line,
    mentioned_users,
    plain_text,
)


@pytest.mark.parametrize(
    ("markup", "plain"),
    [
        ("<@U0ANA> asked", "@ana asked"),
        ("<@W0NOBODY> asked", "@user asked"),  # a user Slack would not name
        ("<@U0X|old-label> asked", "@old-label asked"),
        ("<!channel> <!here> <!everyone>", "@channel @here @everyone"),
        ("<!subteam^S0OPS|@ops> <!subteam^S0OPS>", "@ops @group"),
        ("<#C0GEN|general> <#C0GEN>", "#general #channel"),
        ("<!date^1392734382^{date_num}|2014-02-18> call", "2014-02-18 call"),
        ("<https://evil.example/pay|bank.com>", "bank.com (https://evil.example/pay)"),
        ("<https://example.com/a?b=1&amp;c=2>", "https://example.com/a?b=1&c=2"),
        ("<https://example.com|https://example.com>", "https://example.com"),
        ("<mailto:ana@example.com|ana@example.com>", "ana@example.com"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("&amp;lt;", "&lt;"),  # unescaped once, as Slack escaped it once
    ],
)
def test_markup_reads_as_what_a_person_saw(markup: str, plain: str) -> None:
    assert plain_text(markup, {"U0ANA": "ana"}) == plain


def test_nothing_that_pings_or_pretends_is_left() -> None:
    hostile = "<!channel> <https://evil.example|https://bank.com> <@U1> <!subteam^S1|@all>"
    made_plain = plain_text(hostile, {})
    assert "<" not in made_plain and ">" not in made_plain
    assert "https://bank.com (https://evil.example)" in made_plain


def test_mentions_are_listed_once_and_bounded() -> None:
    text = " ".join(f"<@U{n:04d}>" for n in range(MENTIONS_RESOLVED + 5)) + " <@U0000>"
    found = mentioned_users(text)
    assert len(found) == MENTIONS_RESOLVED and found[0] == "U0000" and len(set(found)) == len(found)


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("short", 10, "short"),
        ("  padded  ", 10, "padded"),
        ("hello wonderful world", 16, "hello wonderful…"),  # the cut falls between words
        ("hello wonderful world", 20, "hello wonderful…"),  # inside "world": back to its start
        ("hello wonderful world", 12, "hello wonde…"),  # back to "hello" would lose too much
        ("x" * 30, 10, "x" * 9 + "…"),  # one long word: cut inside it
    ],
)
def test_text_is_cut_at_a_word(text: str, limit: int, cut: str) -> None:
    assert cut_at_word(text, limit) == cut
    assert len(cut_at_word(text, limit)) <= limit


def test_the_first_line_with_text() -> None:
    assert first_line("\n  \n  Printer on fire  \nmore") == "Printer on fire"
    assert first_line("") == ""
