"""The thread as the reply box (issue 18 item 4): in a channel whose `thread_replies` is
`customer` (or `note`), each person's message in a conversation's thread is sent to the
customer (or saved as an internal note) in their agent's name, with every rule the Reply and
Note forms have (bot/service/transcripts.py), and marked with a reaction: sent, saved, or
failed with the reason told to its author alone, in the thread.

- Which messages: Slack's `message` event (message.channels, message.groups) for a reply in a
  thread whose root is a conversation's thread (bot/state/threads.py) in such a channel, written
  by a person: not a bot's, not the bot's own, not a channel join or any other subtype.
- Once: a message is claimed before it is sent (bot/state/thread_replies.py), so a redelivery,
  even under another event id or on another replica, sends nothing; the Infobip message id the
  reply got is recorded, so the thread mirror does not post it back as new.
- Not sent: files (the text alone would arrive without what it speaks of), edits (the customer
  has the message as it was sent) and deletions (they cannot take it back); the author is told
  once for each message.
- Bounded: the service refuses a reply over Infobip's 4,096 characters or a note over 4,000
  with the reason; the mentions resolved are bounded (message_text.py); the whole send runs
  under one deadline (SEND_SECONDS).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from bot import deadlines
from bot.errors import ConvbotError
from bot.service.conversations import ConversationService
from bot.slack.blocks.messages import error_blocks, error_mrkdwn
from bot.slack.blocks.mrkdwn import Mrkdwn
from bot.slack.failures import SLACK_FAILURES
from bot.slack.identity import SlackIdentity
from bot.slack.message_text import display_names, mentioned_users, plain_text
from bot.slack.threads import OPENING, SlackThreads
from bot.state.thread_replies import State, ThreadReplyRecords
from bot.state.threads import SlackThread
from bot.threads_config import ThreadReplies

log = logging.getLogger(__name__)

SEND_SECONDS = deadlines.COMMAND_SECONDS
# Slack's own limit on a message's text (chat.postMessage: "truncated at 40,000 characters");
# anything longer is not a person's message, and the service refuses far less anyway.
TEXT_MAX = 40_000
SENT, SAVED, FAILED = "white_check_mark", "memo", "warning"

EventKind = Literal["new", "file", "edit", "deleted"]
# Subtypes that are a person writing in the thread; any other (a join, a bot's post, a topic
# change…) is not theirs to send. thread_broadcast: a reply also shown in the channel.
_WRITTEN = (None, "thread_broadcast")

_NOT_SENT: dict[tuple[EventKind, ThreadReplies], str] = {
    ("file", "customer"): "Files are not sent to the customer from a thread, so this message"
    " was not sent. Write the text alone, or send the file from Infobip.",
    ("file", "note"): "Files are not saved in notes from a thread, so this message was not"
    " saved. Write the text alone, or add the file in Infobip.",
    ("edit", "customer"): "Edits are not sent to the customer: they have the message as it"
    " was first sent. Write a new message in the thread instead.",
    ("edit", "note"): "Edits do not change the note saved from your message; write a new"
    " message for a new note.",
    ("deleted", "customer"): "Deleting your message here does not take it back: the customer"
    " already has it.",
    ("deleted", "note"): "Deleting your message here does not delete the note saved from it.",
}
_FAILED: dict[ThreadReplies, str] = {
    "customer": "*Not sent to the customer.*",
    "note": "*Not saved as a note.*",
}


@dataclass(frozen=True)
class ThreadMessage:
    """A person's message in a thread, as a `message` event carries it."""

    kind: EventKind
    channel: str
    ts: str  # the message's own ts (for an edit or deletion, the message edited or deleted)
    thread_ts: str
    user: str
    text: str


def thread_message(event: Mapping[str, Any], bot_user_id: str | None) -> ThreadMessage | None:
    """The person's message in a thread this event is about, or None when it is none: not a
    reply in a thread, a bot's, or a subtype nobody writes (Slack's `message` event and its
    subtypes: docs.slack.dev/reference/events/message)."""
    if event.get("type") != "message":
        return None
    subtype = event.get("subtype")
    kind: EventKind
    if subtype in _WRITTEN:
        message, kind = event, "file" if event.get("files") else "new"
    elif subtype == "file_share":
        message, kind = event, "file"
    elif subtype == "message_changed":
        # Slack sends message_changed for an unfurl too, without `edited`: that is no edit.
        # What the edited message leaves out (its ts, in Slack's own sample) is the previous's.
        edited, before = event.get("message"), event.get("previous_message")
        if not isinstance(edited, Mapping) or not edited.get("edited"):
            return None
        message = {**(before if isinstance(before, Mapping) else {}), **edited}
        kind = "edit"
    elif subtype == "message_deleted":
        message, kind = event.get("previous_message") or {}, "deleted"
    else:
        return None
    if not isinstance(message, Mapping):
        return None
    user, ts, thread_ts = message.get("user"), message.get("ts"), message.get("thread_ts")
    channel = event.get("channel")
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return None
    if not all(isinstance(v, str) and v for v in (user, ts, thread_ts, channel)):
        return None
    if user == bot_user_id or ts == thread_ts:  # the bot's own; a thread's root, not a reply
        return None
    text = message.get("text")
    return ThreadMessage(
        kind=kind,
        channel=str(channel),
        ts=str(ts),
        thread_ts=str(thread_ts),
        user=str(user),
        text=text[: TEXT_MAX + 1] if isinstance(text, str) else "",
    )


class ThreadReplyBox:
    """What a person's message in a conversation's thread becomes."""

    def __init__(
        self,
        client: AsyncWebClient,
        service: ConversationService,
        threads: SlackThreads,
        identity: SlackIdentity,
        records: ThreadReplyRecords,
    ) -> None:
        self._client = client
        self._service = service
        self._threads = threads
        self._identity = identity
        self.records = records

    async def take(self, message: ThreadMessage) -> None:
        """Send, save or answer `message`, if its channel says so and its thread is a
        conversation's; anything else is left alone."""
        configured = self._threads.config.channel(message.channel).thread_replies
        if configured == "off":
            return
        thread = await self._threads.store.by_root(message.channel, message.thread_ts)
        if thread is None or thread.posting_id == OPENING:
            # A thread people started under some other message; or one whose transcript (and
            # its heading, saying what writing here does) Slack's pace has not let out yet.
            return
        # The bolder of the two never wins: a thread that opened saying its messages stay
        # among colleagues keeps them there after the channel is switched to `customer`.
        mode = _weaker(configured, thread.thread_replies)
        if mode == "off":
            return
        if message.kind == "new":
            await self._deliver(message, thread, mode)
        else:
            await self._not_sent(message, thread, mode)

    async def _deliver(
        self, message: ThreadMessage, thread: SlackThread, mode: ThreadReplies
    ) -> None:
        conversation_id = thread.conversation_id
        state: State
        first = await self.records.claim(
            message.channel, message.ts, "message", conversation_id, "sending"
        )
        if not first:
            return  # taken already: Slack delivered it again
        try:
            with deadlines.within(SEND_SECONDS):
                actor = await self._identity.actor(message.user)
                names = await display_names(self._client, mentioned_users(message.text))
                text = plain_text(message.text, names)
                if mode == "customer":
                    sent = await self._service.transcripts.reply(actor, conversation_id, text)
                    state, message_id, reaction = "sent", sent.message.id, SENT
                else:
                    await self._service.transcripts.note(actor, conversation_id, text)
                    state, message_id, reaction = "saved", None, SAVED
        except Exception as error:
            if not isinstance(error, ConvbotError):
                log.exception("a thread message in %s could not be sent", message.channel)
            await self.records.settle(message.channel, message.ts, "failed")
            await self._react(message, FAILED)
            reason = Mrkdwn(f"{_FAILED.get(mode, '')} {error_mrkdwn(error)}")
            await self._tell(message, thread, reason)
            return
        await self.records.settle(message.channel, message.ts, state, message_id)
        await self._react(message, reaction)

    async def _not_sent(
        self, message: ThreadMessage, thread: SlackThread, mode: ThreadReplies
    ) -> None:
        """A file, an edit or a deletion: not sent, and its author told once."""
        sentence = _NOT_SENT.get((message.kind, mode))
        if sentence is None:
            return
        conversation_id = thread.conversation_id
        if message.kind == "file":
            if not await self.records.claim(
                message.channel, message.ts, "message", conversation_id, "told"
            ):
                return
            await self._react(message, FAILED)
        else:
            if message.kind == "deleted":
                done = await self.records.state(message.channel, message.ts)
                if done not in ("sent", "saved"):
                    return  # nothing went out, so nothing is to be taken back
            if not await self.records.claim(
                message.channel, message.ts, "edit", conversation_id, "told"
            ):
                return  # told already
        await self._tell(message, thread, Mrkdwn(sentence))

    async def _react(self, message: ThreadMessage, name: str) -> None:
        """Mark the message; a mark Slack refuses is logged: what was done is done."""
        try:
            await self._client.reactions_add(
                channel=message.channel, timestamp=message.ts, name=name
            )
        except SLACK_FAILURES:
            log.warning("could not mark %s in %s", message.ts, message.channel, exc_info=True)

    async def _tell(self, message: ThreadMessage, thread: SlackThread, text: Mrkdwn) -> None:
        """One sentence to the author alone, in the thread."""
        try:
            await self._client.chat_postEphemeral(
                channel=message.channel,
                user=message.user,
                thread_ts=thread.root_ts,
                text=text,
                blocks=error_blocks(text),
            )
        except SLACK_FAILURES:
            log.warning("could not tell %s in %s", message.user, message.channel, exc_info=True)


_BOLDNESS: dict[str | None, int] = {None: 0, "off": 0, "note": 1, "customer": 2}


def _weaker(configured: ThreadReplies, announced: str | None) -> ThreadReplies:
    """The mode the channel has now or the one the thread's first post announced, whichever
    reaches fewer people (off < note < customer)."""
    if _BOLDNESS.get(announced, 0) < _BOLDNESS[configured]:
        return "note" if announced == "note" else "off"
    return configured
