"""Which `message` events are a person's message in a thread (bot/slack/thread_replies.py
`thread_message`), by Slack's subtypes (docs.slack.dev/reference/events/message): what is
written, a file, an edit or a deletion, and everything else left alone."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devtools.fakeslack import StoredMessage, message_changed, message_deleted, message_event
from bot.slack.thread_replies import TEXT_MAX, thread_message

BOT, ANA, CHANNEL, ROOT = "U0BOT0001", "UANA00001", "C0SUPPORT1", "1700000000.000100"


def reply(text: str = "On its way", user: str = ANA, thread_ts: str | None = ROOT) -> StoredMessage:
    return StoredMessage(CHANNEL, "1700000000.000200", text, [], user, thread_ts=thread_ts)


def kind_of(event: dict[str, Any]) -> str | None:
    found = thread_message(event, BOT)
    return None if found is None else found.kind


def test_a_reply_in_a_thread_is_read_with_its_author_and_root() -> None:
    found = thread_message(message_event(reply()), BOT)
    assert found is not None
    assert (found.kind, found.channel, found.thread_ts, found.user, found.text) == (
        "new",
        CHANNEL,
        ROOT,
        ANA,
        "On its way",
    )


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({}, "new"),
        ({"subtype": "thread_broadcast"}, "new"),  # also sent to the channel: still theirs
        ({"subtype": "file_share", "files": [{"id": "F1"}]}, "file"),
        ({"files": [{"id": "F1"}]}, "file"),
        ({"subtype": "bot_message", "bot_id": "B0OTHER01"}, None),
        ({"bot_id": "B0OTHER01"}, None),
        ({"user": BOT}, None),  # the bot's own
        ({"subtype": "channel_join"}, None),
        ({"subtype": "thread_broadcast", "bot_id": "B1"}, None),
        ({"thread_ts": None}, None),  # not in a thread
        ({"thread_ts": "1700000000.000200"}, None),  # the root of a thread, not a reply
        ({"user": None}, None),
        ({"type": "app_mention"}, None),
    ],
)
def test_what_a_message_event_is(changes: dict[str, Any], kind: str | None) -> None:
    event = message_event(reply()) | changes
    event = {k: v for k, v in event.items() if v is not None}
    assert kind_of(event) == kind


def test_an_edit_is_one_only_with_edited_and_a_deletion_names_the_message() -> None:
    edited = message_changed(reply(), "On its way now")
    assert kind_of(edited) == "edit"
    found = thread_message(edited, BOT)
    assert found is not None and found.ts == "1700000000.000200"
    del edited["message"]["edited"]  # an unfurl: Slack's message_changed, no edit
    assert kind_of(edited) is None
    deleted = message_deleted(reply())
    assert kind_of(deleted) == "deleted"
    assert kind_of(message_deleted(reply(thread_ts=None))) is None


def test_a_text_longer_than_slack_allows_is_cut_past_every_limit() -> None:
    found = thread_message(message_event(reply("x" * (TEXT_MAX + 500))), BOT)
    assert found is not None and len(found.text) == TEXT_MAX + 1  # still over: refused
