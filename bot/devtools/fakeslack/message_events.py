"""The `message` events Slack sends for a person's message in a channel (wrap each with
`payloads.event_callback`): written, edited, deleted.

Shapes from Slack's own: a message as tests/fixtures/slack/events/message.json (bolt-python)
carries it (`client_msg_id`, `type`, `text`, `user`, `ts`, `team`, `blocks` of `rich_text`,
`channel`, `event_ts`, `channel_type`), a thread's reply with `thread_ts` and `parent_user_id`
(docs.slack.dev/reference/events/message, "threaded messages"); an edit as
events/message_changed.json (the edited message, with `edited`, in `message`; the message before
in `previous_message`; `hidden: true`); a deletion as docs.slack.dev/reference/events/
message/message_deleted (`deleted_ts`, `previous_message`, `hidden: true`).
"""

from __future__ import annotations

import time
import uuid

from bot.devtools.fakeslack import defaults
from bot.devtools.fakeslack.records import JsonDict, StoredMessage


def _channel_type(channel: str) -> str:
    """message.channels sends `channel`, message.groups `group` (a private channel's G… id
    in this fake; Slack's private channels may start with C as well)."""
    return "group" if channel.startswith("G") else "channel"


def _rich_text(text: str) -> list[JsonDict]:
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": "rt1", "elements": [section]}]


def _written(message: StoredMessage, team_id: str, parent_user_id: str | None) -> JsonDict:
    event: JsonDict = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": message.text,
        "user": message.user,
        "ts": message.ts,
        "team": team_id,
        "blocks": _rich_text(message.text),
    }
    if message.thread_ts is not None:
        event["thread_ts"] = message.thread_ts
        if parent_user_id is not None:
            event["parent_user_id"] = parent_user_id
    return event


def message_event(
    message: StoredMessage,
    *,
    parent_user_id: str | None = defaults.BOT_USER_ID,
    team_id: str = defaults.TEAM_ID,
) -> JsonDict:
    """A person's message (in a thread when it has a `thread_ts`), as Slack sends it."""
    return {
        **_written(message, team_id, parent_user_id),
        "channel": message.channel,
        "event_ts": message.ts,
        "channel_type": _channel_type(message.channel),
    }


def message_changed(
    message: StoredMessage,
    new_text: str,
    *,
    parent_user_id: str | None = defaults.BOT_USER_ID,
    team_id: str = defaults.TEAM_ID,
) -> JsonDict:
    """`message` / `message_changed`: `message` edited to `new_text`."""
    now = f"{time.time():.6f}"
    before = _written(message, team_id, parent_user_id)
    after = {
        **before,
        "text": new_text,
        "blocks": _rich_text(new_text),
        "edited": {"user": message.user, "ts": now},
    }
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": after,
        "previous_message": before,
        "channel": message.channel,
        "hidden": True,
        "ts": now,
        "event_ts": now,
        "channel_type": _channel_type(message.channel),
    }


def message_deleted(
    message: StoredMessage,
    *,
    parent_user_id: str | None = defaults.BOT_USER_ID,
    team_id: str = defaults.TEAM_ID,
) -> JsonDict:
    """`message` / `message_deleted`: `message` deleted."""
    now = f"{time.time():.6f}"
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": message.channel,
        "ts": now,
        "deleted_ts": message.ts,
        "event_ts": now,
        "previous_message": _written(message, team_id, parent_user_id),
        "channel_type": _channel_type(message.channel),
    }
