"""New messages arrive by themselves (issue 18 item 3): every `threads.poll_interval`, each
replica mirrors the channels it holds a lease on, asking once per open thread for the messages
after the thread's cursor and posting them into the thread in order, each once.

- One request per open thread per pass: `list_messages(createdAfter=cursor)`, or, every
  STATUS_EVERY-th pass of a thread, the conversation itself (closed?) instead. A close made
  through convbot marks its threads at once (`ThreadStore.closing`); they get a last poll, the
  line "Conversation closed", and retire.
- Once each, across restarts and replicas: a channel is mirrored by the replica holding its
  lease (bot/state/threads.py ChannelLeases), renewed before every post, so a replica that lost
  it stops. The cursor moves only after the post; the message being posted is recorded first
  (`posting_id`), and a thread whose record is still set on a later pass (a stop between the
  post and the cursor) is read back from Slack (conversations.replies with
  include_all_metadata): each post carries its Infobip message id in its metadata, so a post
  that reached Slack is not made again, and one that did not is.
- Paced: about one post per second per channel, Slack's chat.postMessage limit ("1 message per
  second to a specific channel", docs.slack.dev/apis/web-api/rate-limits), in the one replica
  that holds the channel. A burst waits its turn, in order; nothing is dropped: what a pass
  could not post is asked for again by the next, from the cursor. On Slack's 429 the same
  message is retried after its Retry-After.
- Infobip's 429 or 5xx backs that thread off, exponentially up to BACKOFF_MAX, or for the
  Retry-After it gave; its cursor stays where it was.
- Never an echo: a reply written in the thread itself (`thread_replies`, bot/slack/
  thread_replies.py) comes back from Infobip as an OUTBOUND message; its Infobip id is recorded
  against the thread (bot/state/thread_replies.py), so it is passed over, not posted again. While
  such a reply is still being sent (its id not known yet), the thread's outbound messages wait
  for the next pass.
- Bounded: CHANNELS_PER_PASS channels, THREADS_PER_CHANNEL threads each, PER_THREAD messages
  per thread and POSTS_PER_CHANNEL posts per channel in one pass (a pass that posts for a
  while asks again, between posts, the threads whose interval has passed: see `_mirror`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import deadlines
from bot.errors import BackendUnavailable, NotFound, RateLimited
from bot.messages import Direction, Message
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.slack.blocks.transcript import Authors, Post, closed_post, live_post
from bot.slack.failures import SLACK_FAILURES
from bot.slack.threads import SlackThreads
from bot.state.thread_replies import ThreadReplyRecords
from bot.state.threads import ChannelLeases, SlackThread, ThreadStore
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

CHANNELS_PER_PASS = 50
THREADS_PER_CHANNEL = 100
PER_THREAD = 20  # messages asked for per thread per pass
POSTS_PER_CHANNEL = 30  # ~30 s of posting at Slack's pace; the rest waits for the next pass
POST_INTERVAL = 1.0  # seconds between two posts in one channel (Slack: 1 per second)
SLACK_RETRIES = 3  # a post still refused after these waits is left for the next pass
RETRY_WAIT_MAX = 5.0  # a longer Retry-After leaves the post for a later pass, lease renewed
POLL_SECONDS = 5.0  # one thread's request, its client's retries included
STATUS_EVERY = 12  # every 12th pass of a thread asks whether its conversation closed
BACKOFF_MAX = timedelta(minutes=5)
EVENT_TYPE = "convbot_conversation_message"  # the posts' metadata: which message each is
REPLIES_READ_MAX = 1000  # replies read back to find an unrecorded post (one page)


class _Sent(Enum):
    SENT = "sent"
    REFUSED = "refused"  # by Slack, or the call failed: this thread backs off
    LEASE_LOST = "lease lost"  # another replica has the channel now: this pass stops


@dataclass
class Pacer:
    """One channel's posts, at most one per `interval` seconds."""

    interval: float
    monotonic: Callable[[], float]
    sleep: Callable[[float], Awaitable[object]]
    next_at: float = 0.0

    async def turn(self) -> None:
        """Wait until the channel may take the next post."""
        wait = self.next_at - self.monotonic()
        if wait > 0:
            await self.sleep(wait)

    def posted(self) -> None:
        """A post's call returned: the next waits a whole interval from now. From the answer,
        not the request: Slack may take a post any time before it answers (and the client's
        own retries, a 429 waited out inside it, may have sent it only just now), so two posts
        a second apart at the answers are never less than a second apart at Slack."""
        self.next_at = self.monotonic() + self.interval


@dataclass
class _Polls:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def next(self, thread: SlackThread) -> int:
        key = (thread.conversation_id, thread.channel_id)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def forget(self, key: tuple[str, str]) -> None:
        """A retired thread is polled no more: its count goes, so the map holds open threads
        only (it would otherwise grow with every thread this process ever mirrored)."""
        self.counts.pop(key, None)


class ThreadMirror:
    def __init__(
        self,
        client: AsyncWebClient,
        service: ConversationService,
        threads: SlackThreads,
        leases: ChannelLeases,
        poll_interval: timedelta,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utcnow,
        replies: ThreadReplyRecords | None = None,
    ) -> None:
        self._client = client
        self._replies = replies
        self._service = service
        self._threads = threads
        self._store: ThreadStore = threads.store
        self._leases = leases
        self._base = poll_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        self._pacers: dict[str, Pacer] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._polls = _Polls()
        self._actor = Actor(id="convbot:threads", surface="slack")

    async def conversation_closed(self, actor: Actor, conversation_id: str) -> None:
        """The service's close hook: the conversation's threads get their last poll."""
        await self._store.closing(conversation_id)

    async def run_pass(self) -> int:
        """One pass over the channels this replica holds; how many messages it posted."""
        channels = await self._store.open_channels(CHANNELS_PER_PASS)
        done = await asyncio.gather(*(self._channel(c) for c in channels), return_exceptions=True)
        posted = 0
        for channel, result in zip(channels, done, strict=True):
            if isinstance(result, BaseException):
                log.error("mirroring threads in %s failed", channel, exc_info=result)
            else:
                posted += result
        return posted

    async def release(self) -> None:
        """On a clean stop: the channels this replica held pass to another at once."""
        for channel in list(self._pacers):
            await self._leases.release(channel)

    async def _channel(self, channel: str) -> int:
        # Two passes of this replica (the job's, one run by hand) take turns on a channel: the
        # lease is the replica's, so it cannot tell them apart.
        async with self._locks.setdefault(channel, asyncio.Lock()):
            return await self._mirror(channel)

    async def _mirror(self, channel: str) -> int:
        if not await self._leases.hold(channel):
            return 0  # another replica mirrors it
        pacer = self._pacers.setdefault(channel, Pacer(POST_INTERVAL, self._monotonic, self._sleep))
        budget = POSTS_PER_CHANNEL
        authors: Authors | None = None
        asked: dict[tuple[str, str], float] = {}  # thread → when this pass last polled it
        news: dict[tuple[str, str], _News] = {}  # polled, not yet posted
        # Posting is paced (a second a post) and a pass may post for a while: between two
        # posts, every thread whose poll interval has passed since it was last asked is asked
        # again, and the thread with the oldest unposted message goes next. A message waits
        # for its thread's next poll and the older messages ahead of it, not for a whole pass.
        # At most one request per thread per interval; the pass ends when nothing is left.
        while budget > 0:
            for thread in await self._store.open_in(channel, THREADS_PER_CHANNEL):
                key = (thread.conversation_id, thread.channel_id)
                last = asked.get(key)
                if key in news or (
                    last is not None and self._monotonic() - last < self._base.total_seconds()
                ):
                    continue
                asked[key] = self._monotonic()
                messages = await self._poll(thread)
                if not messages:
                    continue
                echoes = await self._echoes(thread, messages)
                if echoes is None:
                    continue  # a reply from the thread is being sent: its id comes next pass
                news[key] = (thread, messages, echoes)
            if not news:
                break
            thread, messages, echoes = news.pop(min(news, key=lambda k: _oldest_news(news[k])))
            if authors is None:
                authors = await self._threads.authors()
            posted = await self._post(thread, messages, authors, pacer, budget, echoes)
            if posted is None:
                break  # the lease was lost, or Slack would not take a post: stop here
            budget -= posted
        return POSTS_PER_CHANNEL - budget

    async def _poll(self, thread: SlackThread) -> list[Message] | None:
        """The thread's messages after its cursor (its one request), or None when it was not
        asked this pass (backing off, retired, or its status asked instead)."""
        polls = self._polls.next(thread)
        key = thread.conversation_id, thread.channel_id
        try:
            # The Infobip client's own retries (a 429's Retry-After, a 5xx) stay within this,
            # so one throttled thread cannot hold up its channel's others for long: past it,
            # the thread backs off instead.
            with deadlines.within(POLL_SECONDS):
                if thread.closed_at is None and polls % STATUS_EVERY == 0:
                    conversation = await self._service.get(thread.conversation_id)
                    if conversation.is_closed:
                        await self._store.closing(thread.conversation_id)
                    return None
                page = await self._service.transcripts.since(
                    thread.conversation_id, thread.cursor_at, PER_THREAD
                )
        except NotFound:
            await self._retire(key)  # the conversation is gone: nothing will come
            return None
        except BackendUnavailable as error:
            await self._back_off(thread, error)
            return None
        new = [m for m in page.items if not _posted(thread, m)]
        if thread.closed_at is not None and len(page.items) < PER_THREAD:
            new.append(_CLOSING)  # the last of them: then the closing line and retirement
        return new

    async def _echoes(self, thread: SlackThread, messages: list[Message]) -> frozenset[str] | None:
        """The replies among `messages` that were written in the thread itself (not to be
        posted), or None when one is still being sent and may be among them. Read after the
        poll: a reply the poll saw was claimed before it was sent, so it is on record here."""
        outbound = [m for m in messages if m.direction is Direction.OUTBOUND]
        if not outbound or self._replies is None:
            return frozenset()
        echoes = await self._replies.echoes(thread.channel_id, thread.conversation_id)
        if echoes.pending and any(m.id not in echoes.message_ids for m in outbound):
            return None
        return echoes.message_ids

    async def _back_off(self, thread: SlackThread, error: BackendUnavailable) -> None:
        failures = thread.failures + 1
        wait = min(self._base * 2 ** min(failures - 1, 16), BACKOFF_MAX)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, min(timedelta(seconds=error.retry_after), BACKOFF_MAX))
        log.warning("threads: %s backs off %s after: %s", thread.conversation_id, wait, error)
        await self._store.back_off(
            thread.conversation_id, thread.channel_id, failures, self._clock() + wait
        )

    async def _post(
        self,
        thread: SlackThread,
        messages: list[Message],
        authors: Authors,
        pacer: Pacer,
        budget: int,
        echoes: frozenset[str] = frozenset(),
    ) -> int | None:
        """Post `messages` in order, the cursor after each; how many were posted, or None
        when the channel's pass must stop (lease lost, Slack refusing). `echoes`: replies
        written in the thread itself, passed over."""
        key = thread.conversation_id, thread.channel_id
        try:
            already = await self._recovered(thread, messages) | echoes
        except SLACK_FAILURES as error:
            # Whether the last post reached Slack is unknown: nothing more goes into this
            # thread until it can be read back; the channel's other threads go on.
            await self._slack_back_off(thread, error)
            return 0
        cursor_at, cursor_ids = thread.cursor_at, list(thread.cursor_ids)
        posted = 0
        for message in messages:
            if message is _CLOSING:
                sent = await self._send(thread, closed_post(), None, pacer)
                if sent is not _Sent.SENT:
                    return await self._not_sent(thread, sent, posted)
                await self._retire(key)
                return posted + 1
            if posted >= budget:
                break
            if message.id not in already:
                if not await self._leases.hold(thread.channel_id):
                    return None
                await self._store.posting(*key, message.id)
                sent = await self._send(thread, live_post(message, authors), message, pacer)
                if sent is not _Sent.SENT:
                    return await self._not_sent(thread, sent, posted)
                posted += 1
            cursor_at, cursor_ids = _after(cursor_at, cursor_ids, message)
            await self._store.advance(*key, cursor_at, cursor_ids)
        return posted

    async def _retire(self, key: tuple[str, str]) -> None:
        await self._store.retire(*key)
        self._polls.forget(key)

    async def _not_sent(self, thread: SlackThread, sent: _Sent, posted: int) -> int | None:
        """After a post that did not go out: None stops the channel's pass (its lease is
        lost); a refusal backs off this thread alone (an archived channel, a deleted card, a
        post Slack will not take) so the channel's other threads go on."""
        if sent is _Sent.LEASE_LOST:
            return None
        await self._slack_back_off(thread, None)
        return posted

    async def _slack_back_off(self, thread: SlackThread, error: BaseException | None) -> None:
        failures = thread.failures + 1
        wait = min(self._base * 2 ** min(failures - 1, 16), BACKOFF_MAX)
        log.warning("threads: %s backs off %s after Slack: %s", thread.root_ts, wait, error)
        await self._store.back_off(
            thread.conversation_id, thread.channel_id, failures, self._clock() + wait
        )

    async def _send(
        self, thread: SlackThread, post: Post, message: Message | None, pacer: Pacer
    ) -> _Sent:
        """One post into the thread, at the channel's pace; Slack's 429 waited out and the same
        post retried. REFUSED: Slack would not take it (left for a later pass)."""
        metadata = None
        if message is not None:
            metadata = {
                "event_type": EVENT_TYPE,
                "event_payload": {
                    "conversation_id": thread.conversation_id,
                    "message_id": message.id,
                },
            }
        for attempt in range(SLACK_RETRIES + 1):
            await pacer.turn()
            # Held again before each attempt: a wait out of a 429 may outlast the lease, and a
            # replica that took the channel over meanwhile may be posting this very message.
            if attempt and not await self._leases.hold(thread.channel_id):
                return _Sent.LEASE_LOST
            try:
                await self._client.chat_postMessage(
                    channel=thread.channel_id,
                    thread_ts=thread.root_ts,
                    text=post.text,
                    blocks=post.blocks,
                    metadata=metadata,
                )
                pacer.posted()
                return _Sent.SENT
            except SlackApiError as error:
                pacer.posted()
                wait = _retry_after(error)
                if wait is None or attempt == SLACK_RETRIES or wait > RETRY_WAIT_MAX:
                    log.warning("threads: Slack refused a post in %s: %s", thread.root_ts, error)
                    return _Sent.REFUSED
                pacer.next_at = max(pacer.next_at, self._monotonic() + wait)
            except SLACK_FAILURES:
                pacer.posted()
                log.warning("threads: a post in %s failed", thread.root_ts, exc_info=True)
                return _Sent.REFUSED
        return _Sent.REFUSED

    async def _recovered(self, thread: SlackThread, messages: list[Message]) -> set[str]:
        """The message a stop left unrecorded, if Slack has it: read back from the thread."""
        pending = thread.posting_id
        if pending is None or all(m.id != pending for m in messages):
            return set()
        answer = await self._client.conversations_replies(
            channel=thread.channel_id,
            ts=thread.root_ts,
            include_all_metadata=True,
            limit=REPLIES_READ_MAX,
        )
        for reply in answer.get("messages") or []:
            metadata = reply.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == EVENT_TYPE and payload.get("message_id") == pending:
                return {pending}
        return set()


# Stands for "the conversation closed" at the end of a closing thread's last messages.
_CLOSING = Message(id="", direction=Direction.INBOUND)


def _posted(thread: SlackThread, message: Message) -> bool:
    """Posted already: at the cursor's instant and among its ids (`createdAfter` includes it)."""
    return message.createdAt == thread.cursor_at and message.id in thread.cursor_ids


def _after(
    cursor_at: datetime | None, cursor_ids: list[str], message: Message
) -> tuple[datetime | None, list[str]]:
    if message.createdAt is None:
        return cursor_at, cursor_ids
    if message.createdAt == cursor_at:
        return cursor_at, [*cursor_ids, message.id]
    return message.createdAt, [message.id]


def _retry_after(error: SlackApiError) -> float | None:
    """Slack's Retry-After on a 429 (`ratelimited`), else None (not a throttle)."""
    response = error.response
    if response is None or response.get("error") != "ratelimited":
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    try:
        return float(value[0] if isinstance(value, list) else value)
    except ValueError:
        return 1.0


# A thread's poll that found something: the thread as polled, its messages, its echoes.
_News = tuple[SlackThread, list[Message], frozenset[str]]


def _oldest_news(due: _News) -> datetime:
    """When a thread's oldest new message was written (a thread with none, or only the closing
    line, sorts last)."""
    times = [m.createdAt for m in due[1] if m is not _CLOSING and m.createdAt is not None]
    return min(times, default=datetime.max.replace(tzinfo=UTC))
