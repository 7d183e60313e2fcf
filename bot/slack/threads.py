"""Conversations' transcripts in Slack threads (issue 18): opening one under a card, the links
cards draw to it, and the older pages a reader asks for.

A thread is one per (conversation, channel), remembered in the state database
(bot/state/threads.py): the press that inserts the row posts the transcript, any other press
(a second one, on another replica) is answered with a link. New messages are posted afterwards
by the mirror (bot/slack/thread_mirror.py), from the cursor set here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import deadlines
from bot.errors import InvalidInput
from bot.messages import Message, Note
from bot.models import Actor, Conversation, ResultPage
from bot.service.conversations import ConversationService
from bot.slack.blocks.refs import OlderRef
from bot.slack.blocks.transcript import (
    Authors,
    Post,
    closed_post,
    older_posts,
    transcript_posts,
)
from bot.slack.channels import INVITE, join_channel
from bot.slack.client_policy import retry_after
from bot.slack.drawing import CardDrawing
from bot.slack.failures import SLACK_FAILURES
from bot.slack.thread_posting import POST_SECONDS, post_metadata
from bot.state.threads import SlackThread, ThreadStore
from bot.threads_config import ThreadsConfig
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
# While its transcript is being posted, a new thread is not mirrored, so nothing the mirror
# posts lands between the transcript's replies; past this, the mirror goes on regardless.
OPENING_HOLD = timedelta(seconds=60)


_REFUSED = {
    "not_in_channel": (
        f"convbot is not in this channel, so it cannot open a thread here: invite it with"
        f" `{INVITE}` and press Thread again."
    ),
    "channel_not_found": (
        f"convbot cannot see this channel, so it cannot open a thread here: invite it with"
        f" `{INVITE}` and press Thread again."
    ),
    "is_archived": "This channel is archived, so no thread can open here.",
}
_REFUSED_ANY = "Slack refused the thread's first message ({code}); press Thread again later."


# Recorded as a thread's `posting_id` while its transcript waits for Slack's pace in the
# channel (a burst of cards outran it): the mirror posts it when the channel allows.
OPENING = "convbot:opening"


class Throttled(Exception):
    """Slack refused a thread's first post for the channel's pace, past the client's retries."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"Slack asks to wait {wait}")
        self.wait = wait


class Pace(Protocol):
    """A channel's turn to post, as the mirror keeps it (thread_posting.Pacer, the lease)."""

    async def turn(self) -> None: ...

    def posted(self) -> None: ...


@dataclass(frozen=True)
class Opened:
    thread: SlackThread
    created: bool  # this call opened it; False: it was open already
    permalink: str | None


def cursor_of(messages: Sequence[Message]) -> tuple[datetime | None, list[str]]:
    """Where the mirror starts after these (oldest first): the newest instant, and the ids of
    the messages at it (`createdAfter` includes that instant, so they come back)."""
    dated = [m for m in messages if m.createdAt is not None]
    if not dated:
        return None, []
    newest = max(m.createdAt for m in dated if m.createdAt is not None)
    return newest, [m.id for m in dated if m.createdAt == newest]


def cursor_after(
    cursor_at: datetime | None, cursor_ids: list[str], message: Message
) -> tuple[datetime | None, list[str]]:
    """The cursor once `message` is posted: its instant, with the ids posted at it."""
    if message.createdAt is None:
        return cursor_at, cursor_ids
    if message.createdAt == cursor_at:
        return cursor_at, [*cursor_ids, message.id]
    return message.createdAt, [message.id]


class SlackThreads:
    def __init__(
        self,
        client: AsyncWebClient,
        service: ConversationService,
        store: ThreadStore,
        drawing: CardDrawing,
        config: ThreadsConfig,
    ) -> None:
        self._client = client
        self._service = service
        self.store = store
        self._drawing = drawing
        self.config = config

    async def authors(self) -> Authors:
        """Agents as mentions (linked) or names; cosmetic, as a card's names are."""
        context = await self._drawing.context(None, [])
        return Authors(agent_users=context.agent_users, agent_names=context.agent_names)

    async def open(
        self, actor: Actor, conversation: Conversation, channel: str, root_ts: str
    ) -> Opened:
        """Open the conversation's thread in `channel` under the message `root_ts` and post its
        transcript, unless the conversation has a thread there already."""
        existing = await self.store.find(conversation.id, channel)
        if existing is not None:
            return Opened(existing, False, await self.permalink(existing))
        page, notes = await self._latest(actor, conversation.id)
        cursor_at, cursor_ids = cursor_of(page.items)
        thread, created = await self.store.open(
            conversation.id,
            channel,
            root_ts,
            actor.id,
            cursor_at=cursor_at,
            cursor_ids=cursor_ids,
            hold_until=utcnow() + OPENING_HOLD,
            thread_replies=self.config.channel(channel).thread_replies,
        )
        if not created:  # another press, or replica, opened it a moment ago
            return Opened(thread, False, await self.permalink(thread))
        await self._post_transcript(conversation, thread, page, notes)
        return Opened(thread, True, await self.permalink(thread))

    async def post_due(self, thread: SlackThread, pace: Pace) -> None:
        """The transcript of a thread whose opening Slack's pace put off (OPENING), posted now
        by the mirror at the channel's pace; the latest messages as they are now. Throttled
        again: recorded as before, and raised, so the channel waits for Slack."""
        actor = Actor(id=thread.opened_by, surface="slack")
        with deadlines.within(POST_SECONDS):  # the worker's lease is short: so are its reads
            conversation = await self._service.get(thread.conversation_id)
            page, notes = await self._latest(actor, conversation.id)
        # Under the lease (renewed by the turn), and still as it was listed: a replica that
        # had the channel while these were read may have opened it already.
        await pace.turn()
        now = await self.store.find(thread.conversation_id, thread.channel_id)
        if now is None or now.posting_id != OPENING or now.cursor_version != thread.cursor_version:
            return
        await self._post_transcript(conversation, now, page, notes, pace)

    async def _latest(
        self, actor: Actor, conversation_id: str
    ) -> tuple[ResultPage[Message], ResultPage[Note]]:
        """What a transcript shows: the latest messages and notes (`threads.latest` of each)."""
        transcripts = self._service.transcripts
        page = await transcripts.messages(actor, conversation_id, self.config.latest)
        return page, await transcripts.notes(actor, conversation_id, self.config.latest)

    async def _post_transcript(
        self,
        conversation: Conversation,
        thread: SlackThread,
        page: ResultPage[Message],
        notes: ResultPage[Note],
        pace: Pace | None = None,
    ) -> None:
        """Post the transcript into the thread and hand it to the mirror. `pace`: the mirror's
        turn before each post (a put-off opening); a press posts at once."""
        channel, root_ts = thread.channel_id, thread.root_ts
        posts = transcript_posts(
            conversation.id,
            page,
            notes,
            await self.authors(),
            root_ts,
            talk=not conversation.is_closed,
            replies=self.config.channel(channel).thread_replies,
        )
        if conversation.is_closed:
            posts.append(closed_post())
        try:
            # The first post, all or nothing: its heading says what writing in the thread does
            # (sent to the customer, or a note), so a thread is open only once Slack answered
            # that it has it. Any failure (no answer included) leaves no thread behind, but
            # Slack's pace: then the mirror posts the transcript when the channel allows.
            await self._paced(
                pace, partial(self._first, channel, root_ts, posts[0], conversation.id)
            )
        except Throttled as throttled:
            log.info("the thread of %s in %s waits for Slack's pace", conversation.id, channel)
            await self.store.posting(conversation.id, channel, OPENING)
            await self.store.back_off(conversation.id, channel, 0, utcnow() + throttled.wait)
            if pace is None:
                return
            raise  # the mirror's turn: its channel waits as long
        except BaseException as error:
            if pace is None or isinstance(error, InvalidInput):
                await self.store.forget(conversation.id, channel)  # nothing in Slack: not open
            # Put off, and not refused: the mirror backs it off and tries again. (A heading
            # that got no answer but reached Slack is then posted twice: it has no record.)
            raise
        if pace is not None:
            # The heading is out: what people write in the thread is taken from now on, and a
            # stop before the hand-over leaves the mirror going on from the cursor, not the
            # transcript posted again.
            await self.store.posting(conversation.id, channel, None)
        posted = set(posts[0].holds)
        # The last message of the post being made, as the mirror records its own before each
        # post: if no answer comes (a timeout, a stop), Slack may have it, and the mirror reads
        # the thread back before posting those messages again.
        pending: str | None = None
        try:
            for post in posts[1:]:
                pending = post.holds[-1] if post.holds else None
                try:
                    await self._paced(
                        pace, partial(self._post, channel, root_ts, post, conversation.id)
                    )
                except SlackApiError:
                    pending = None  # Slack answered: refused, not posted
                    raise
                pending = None
                posted.update(post.holds)
        except SLACK_FAILURES:
            # The thread is open: the mirror posts what this did not, from its cursor.
            log.warning("the transcript in %s stopped at a failed post", root_ts)
        finally:
            await self._hand_over(conversation, channel, thread, page.items, posted, pending)

    @staticmethod
    async def _paced(pace: Pace | None, post: Callable[[], Awaitable[None]]) -> None:
        """One post, after the channel's turn when paced (the mirror's), which is then taken."""
        if pace is None:
            await post()
            return
        await pace.turn()
        try:
            await post()
        finally:
            pace.posted()

    async def _hand_over(
        self,
        conversation: Conversation,
        channel: str,
        thread: SlackThread,
        shown: Sequence[Message],
        posted: set[str],
        pending: str | None,
    ) -> None:
        """The mirror takes over from the transcript's newest message (and its hold ends);
        after a post that failed, from the first message it did not show."""
        cursor_at, cursor_ids = cursor_of(shown)
        unposted = [m for m in shown if m.id not in posted and m.createdAt is not None]
        if unposted:
            cursor_at = unposted[0].createdAt
            cursor_ids = [m.id for m in shown if m.createdAt == cursor_at and m.id in posted]
        # From the cursor the thread opened with: a mirror that went on after a slow opening's
        # hold has the newer one, and keeps it.
        moved = await self.store.advance(
            conversation.id,
            channel,
            cursor_at,
            cursor_ids,
            was=thread.cursor_version,
            posting_id=pending,
        )
        if conversation.is_closed and (unposted or not moved):
            await self.store.closing(conversation.id)  # the rest, then the closing line
        elif conversation.is_closed:
            await self.store.retire(conversation.id, channel)
        if pending is not None and moved:
            # Slack was slow enough not to answer: its post may still land after a read-back
            # made now, so the mirror looks once that post's time has surely passed.
            until = utcnow() + timedelta(seconds=POST_SECONDS)
            await self.store.back_off(conversation.id, channel, 0, until)

    async def permalink(self, thread: SlackThread) -> str | None:
        """The thread's link (asked of Slack once, then kept); None when Slack will not say."""
        if thread.permalink is not None:
            return thread.permalink
        try:
            answer = await self._client.chat_getPermalink(
                channel=thread.channel_id, message_ts=thread.root_ts
            )
        except SLACK_FAILURES:
            log.warning("no permalink for the thread %s", thread.root_ts, exc_info=True)
            return None
        permalink = str(answer.get("permalink") or "") or None
        if permalink is not None:
            await self.store.set_permalink(thread.conversation_id, thread.channel_id, permalink)
        return permalink

    async def links(self, channel: str, conversation_ids: Sequence[str]) -> dict[str, str]:
        return await self.store.links(channel, conversation_ids)

    async def show_older(self, actor: Actor, pressed: OlderRef, channel: str, user: str) -> None:
        """The page of messages before the pressed button's instant (and those at it it had not
        shown), to `user` alone, in the thread."""
        page = await self._service.transcripts.messages(
            actor, pressed.id, self.config.latest, before=pressed.b, shown=pressed.s or ()
        )
        posts = older_posts(pressed.id, page, await self.authors(), pressed.t, pressed)
        for post in posts:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=pressed.t, text=post.text, blocks=post.blocks
            )

    async def _first(self, channel: str, root_ts: str, post: Post, conversation_id: str) -> None:
        """The thread's first reply: a public channel the bot is not in (a card answered
        through response_url needs no membership) is joined first; any other refusal is told
        as what to do."""
        try:
            await self._post(channel, root_ts, post, conversation_id)
            return
        except SlackApiError as refusal:
            code = str((refusal.response or {}).get("error") or "")
            if code == "ratelimited":  # after the client's own retries: the channel is busy
                wait = retry_after((refusal.response.headers if refusal.response else None) or {})
                raise Throttled(timedelta(seconds=max(wait or 1, 1))) from None
            if code != "not_in_channel" or not await join_channel(self._client, channel):
                raise InvalidInput(_REFUSED.get(code, _REFUSED_ANY).format(code=code)) from None
        await self._post(channel, root_ts, post, conversation_id)

    async def _post(self, channel: str, root_ts: str, post: Post, conversation_id: str) -> None:
        """A transcript post, naming the messages it holds as the mirror's posts do, so a post
        whose answer never came is found in Slack rather than posted again. Bounded as the
        mirror's posts are (POST_SECONDS, the client's own retries included)."""
        async with asyncio.timeout(POST_SECONDS):
            with deadlines.within(POST_SECONDS):
                await self._client.chat_postMessage(
                    channel=channel,
                    thread_ts=root_ts,
                    text=post.text,
                    blocks=post.blocks,
                    metadata=post_metadata(conversation_id, post.holds),
                )
