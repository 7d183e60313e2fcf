"""Threads in the local Slack: what the page draws of them, and a person's message in one.

Slack shows a message with replies as "N replies" under it (its `reply_count`,
`latest_reply`, `reply_users`: docs.slack.dev/messaging/retrieving-messages#threads) and the
replies in a pane beside the channel; a message's `reactions` are a list of `{name, users,
count}` (docs.slack.dev/reference/methods/reactions.get). A person's message in a thread
reaches an app as a `message` event with `thread_ts` (docs.slack.dev/reference/events/
message.channels), which this builds as Slack sends it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.devtools.fakeslack import FakeSlack, StoredMessage
from bot.state.tables import slack_threads

Json = dict[str, Any]
REPLY_USERS_MAX = 5  # Slack lists at most five of the people who replied
THREAD_TEXT_MAX = 4000  # what a person may type in one message here (Slack's own is 40,000)


def is_reply(message: StoredMessage) -> bool:
    """A reply in a thread, not the thread's root nor a channel message."""
    return message.thread_ts is not None and message.thread_ts != message.ts


def drawn(fake: FakeSlack, message: StoredMessage) -> Json:
    """A stored message as the page draws it (without its replies)."""
    return {
        "channel": message.channel,
        "ts": message.ts,
        "thread_ts": message.thread_ts,
        "text": message.text,
        "blocks": message.blocks,
        "user": message.user,
        "bot": message.bot_id is not None or message.user == fake.bot_user_id,
        "edited": message.edited,
        "ephemeral": False,
        "reactions": reactions_of(message),
    }


def reactions_of(message: StoredMessage) -> list[Json]:
    """The message's reactions as `{name, count, users}` ([] when it has none): from the
    message object the fake renders (Slack's shape, a list) or else from its record (a list,
    or a map of emoji name to the users who reacted)."""
    found: Any = message.as_slack().get("reactions") or getattr(message, "reactions", None)
    if isinstance(found, dict):
        found = [{"name": name, "users": users} for name, users in found.items()]
    out: list[Json] = []
    for reaction in found if isinstance(found, list) else []:
        if isinstance(reaction, dict) and reaction.get("name"):
            users = [str(u) for u in reaction.get("users") or []]
            count = reaction.get("count")
            out.append(
                {
                    "name": str(reaction["name"]),
                    "users": users,
                    "count": count if isinstance(count, int) else len(users),
                }
            )
    return out


def channel_messages(fake: FakeSlack, channel: str) -> list[Json]:
    """The channel's own messages (replies stay in their threads), each with what Slack shows
    of its thread: how many replies, the latest one's ts, who replied."""
    replies: dict[str, list[StoredMessage]] = defaultdict(list)
    roots: list[StoredMessage] = []
    for message in fake.messages_in(channel):  # oldest first: one pass, no scan per root
        if is_reply(message):
            replies[str(message.thread_ts)].append(message)
        else:
            roots.append(message)
    shown: list[Json] = []
    for root in roots:
        item = drawn(fake, root)
        under = replies.get(root.ts)
        if under:
            item["reply_count"] = len(under)
            item["latest_reply"] = under[-1].ts
            item["reply_users"] = list(dict.fromkeys(m.user for m in under))[:REPLY_USERS_MAX]
        shown.append(item)
    return shown


def thread(fake: FakeSlack, user: str, channel: str, ts: str) -> Json | None:
    """The thread under `ts` as `user` sees it: the root, then its replies and the ephemeral
    messages the bot showed them there, oldest first; None when there is no such message."""
    root = fake.message(channel, ts)
    if root is None or is_reply(root):
        return None
    messages = [drawn(fake, root)]
    under = [m for m in fake.messages_in(channel) if m.thread_ts == ts and m.ts != ts]
    messages += [drawn(fake, m) for m in under]
    messages += [
        {
            "channel": m.channel,
            "ts": m.ts,
            "thread_ts": m.thread_ts,
            "text": m.text,
            "blocks": m.blocks,
            "user": fake.bot_user_id,
            "bot": True,
            "edited": False,
            "ephemeral": True,
            "reactions": [],
        }
        for m in fake.ephemeral_for(user, channel)
        if m.thread_ts == ts
    ]
    replies = sorted(messages[1:], key=lambda message: float(message["ts"]))
    return {"channel": channel, "ts": ts, "messages": [messages[0], *replies]}


def write(fake: FakeSlack, user: str, channel: str, thread_ts: str, text: str) -> StoredMessage:
    """Store what `user` typed in the thread, as Slack keeps a person's message: its text and
    the rich_text block Slack's composer makes of it."""
    return fake.store_message(
        channel, text=text, blocks=[_rich_text(text)], user=user, thread_ts=thread_ts
    )


def message_event(fake: FakeSlack, message: StoredMessage) -> Json:
    """The `message` event Slack sends an app subscribed to `message.channels` (or
    `message.groups`, `message.im`) for a person's message, as in Slack's example."""
    channel = fake.channels.get(message.channel)
    kind = "channel"
    if channel is not None and channel.is_im:
        kind = "im"
    elif channel is not None and channel.is_private:
        kind = "group"
    event: Json = {
        "type": "message",
        "client_msg_id": str(uuid.uuid4()),
        "channel": message.channel,
        "user": message.user,
        "text": message.text,
        "blocks": message.blocks,
        "team": fake.team_id,
        "ts": message.ts,
        "event_ts": message.ts,
        "channel_type": kind,
    }
    if message.thread_ts is not None:
        event["thread_ts"] = message.thread_ts
        # Slack adds `parent_user_id` to a reply: who wrote the thread's root.
        parent = fake.message(message.channel, message.thread_ts)
        if parent is not None:
            event["parent_user_id"] = parent.user
    return event


def _rich_text(text: str) -> Json:
    return {
        "type": "rich_text",
        "block_id": uuid.uuid4().hex[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


async def conversation_of(engine: AsyncEngine, channel: str, root_ts: str) -> str | None:
    """The conversation whose thread is under `root_ts` in `channel` (the bot's own record of
    the threads it opened), or None."""
    async with engine.connect() as conn:
        found = await conn.execute(
            select(slack_threads.c.conversation_id)
            .where(slack_threads.c.channel_id == channel, slack_threads.c.root_ts == root_ts)
            .limit(1)
        )
        return found.scalar_one_or_none()
