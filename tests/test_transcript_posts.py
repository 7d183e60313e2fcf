"""How a transcript is cut into posts and what its "Older messages" carries
(bot/slack/blocks/transcript.py): drawn without Slack, checked against the rules the mirror's
read-back and the page before rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.messages import Direction, Message, Note
from bot.models import ResultPage
from bot.slack.blocks import buttons
from bot.slack.blocks.refs import OlderRef
from bot.slack.blocks.transcript import POST_MESSAGES_MAX, Authors, transcript_posts
from bot.slack.thread_polling import PER_THREAD

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NO_NOTES: ResultPage[Note] = ResultPage(items=[], totalItems=0)


def _message(n: int, at: datetime) -> Message:
    return Message(
        id=f"m-{n}", direction=Direction.INBOUND, createdAt=at, content={"text": f"line {n}"}
    )


def test_a_transcript_post_holds_no_more_messages_than_one_poll_returns() -> None:
    # Short lines fit Slack's limits by the dozen: the cap, not the block count, cuts the
    # posts, so one whose answer never came is found by its record in one poll of the thread.
    messages = [_message(n, NOW + timedelta(seconds=n)) for n in range(50)]
    page = ResultPage(items=messages, page=0, limit=50, totalItems=50)
    posts = transcript_posts("c-1", page, NO_NOTES, Authors(), "1.000001")
    assert POST_MESSAGES_MAX <= PER_THREAD
    assert all(0 < len(post.holds) <= POST_MESSAGES_MAX for post in posts), [
        len(p.holds) for p in posts
    ]
    assert [m for post in posts for m in post.holds] == [m.id for m in messages]


def test_older_messages_carries_the_ids_shown_at_the_oldest_instant() -> None:
    at = NOW
    messages = [_message(1, at), _message(2, at), _message(3, at + timedelta(seconds=1))]
    page = ResultPage(items=messages, page=0, limit=3, totalItems=9)
    posts = transcript_posts("c-1", page, NO_NOTES, Authors(), "1.000001")
    values = [
        element.value
        for post in posts
        for block in post.blocks
        for element in getattr(block, "elements", None) or []
        if getattr(element, "action_id", None) == buttons.OLDER.id
    ]
    [value] = values
    ref = OlderRef.decode(value)
    assert (ref.b, ref.s) == (at, ("m-1", "m-2"))
