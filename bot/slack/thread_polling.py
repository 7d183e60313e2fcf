"""How the thread mirror (bot/slack/thread_mirror.py) asks Infobip: each due thread's new
messages (one request per thread per interval, POLLS_AT_ONCE at a time), which of a channel's
conversations closed in Infobip itself (one request per CONVERSATION_IDS_MAX threads), and a
thread's back-off when Infobip throttles or fails it (exponential up to BACKOFF_MAX, or its
Retry-After) or when something unexpected happens to it, so its channel's other threads go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot import deadlines
from bot.errors import (
    BackendUnavailable,
    ConversationClosed,
    InvalidInput,
    NotFound,
    RateLimited,
)
from bot.field_rules import CONVERSATION_IDS_MAX
from bot.messages import Direction, Message
from bot.models import ConversationFilter, Status
from bot.service.conversations import ConversationService
from bot.slack.blocks.transcript import POST_MESSAGES_MAX
from bot.state.thread_replies import ThreadReplyRecords
from bot.state.threads import SlackThread, ThreadStore
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

# Messages asked for per thread per pass: a whole transcript post's, so the record of one
# whose answer never came is among them (bot/slack/threads.py).
PER_THREAD = POST_MESSAGES_MAX
POLLS_AT_ONCE = 5  # a channel's due threads asked concurrently (one HTTP connection each)
POLL_SECONDS = 5.0  # one thread's request, its client's retries included
BACKOFF_MAX = timedelta(minutes=5)
THREADS_ASKED_MAX = 100  # a channel's threads asked which closed, per check

# Stands for "the conversation closed" at the end of a closing thread's last messages.
CLOSING = Message(id="", direction=Direction.INBOUND)


class ThreadPolls:
    def __init__(
        self,
        service: ConversationService,
        store: ThreadStore,
        poll_interval: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
        replies: ThreadReplyRecords | None = None,
    ) -> None:
        self._service = service
        self._store = store
        self._base = poll_interval
        self._clock = clock
        self._replies = replies

    async def closed_elsewhere(self, channel: str) -> None:
        """Which of the channel's conversations closed in Infobip itself: one list request per
        CONVERSATION_IDS_MAX threads, not one per thread. Those get their last poll now."""
        threads = await self._store.open_in(channel, THREADS_ASKED_MAX)
        ids = [t.conversation_id for t in threads if t.closed_at is None]
        for start in range(0, len(ids), CONVERSATION_IDS_MAX):
            chunk = ids[start : start + CONVERSATION_IDS_MAX]
            query = ConversationFilter(
                conversationIds=chunk, statuses=[Status.CLOSED], limit=len(chunk)
            )
            try:
                with deadlines.within(POLL_SECONDS):
                    page = await self._service.find(query)
            except BackendUnavailable as error:
                log.warning("threads: could not ask which closed in %s: %s", channel, error)
                return  # asked again on the channel's next status pass
            for conversation in page.items:
                if conversation.id in chunk and conversation.is_closed:
                    await self._store.closing(conversation.id)

    async def poll_all(
        self, threads: Sequence[SlackThread]
    ) -> list[tuple[list[Message], frozenset[str]] | None]:
        """Each thread's new messages and echoes (None: nothing to post now), POLLS_AT_ONCE
        threads at a time."""
        gate = asyncio.Semaphore(POLLS_AT_ONCE)

        async def one(thread: SlackThread) -> tuple[list[Message], frozenset[str]] | None:
            async with gate:
                try:
                    messages = await self.poll(thread)
                    if not messages:
                        return None
                    echoes = await self.echoes(thread, messages)
                except Exception as error:
                    await self.isolated(thread, error)
                    return None
                if echoes is None:
                    return None  # a reply from the thread is being sent: its id comes next pass
                return messages, echoes

        return list(await asyncio.gather(*(one(thread) for thread in threads)))

    async def poll(self, thread: SlackThread) -> list[Message] | None:
        """The thread's messages after its cursor (its one request), or None when it could not
        be asked (backing off now, or gone)."""
        try:
            # The Infobip client's own retries (a 429's Retry-After, a 5xx) stay within this,
            # so one throttled thread cannot hold up its channel's others for long: past it,
            # the thread backs off instead.
            with deadlines.within(POLL_SECONDS):
                page = await self._service.transcripts.since(
                    thread.conversation_id, thread.cursor_at, PER_THREAD
                )
        except NotFound:  # the conversation is gone: nothing will come
            await self._store.retire(thread.conversation_id, thread.channel_id)
            return None
        except (BackendUnavailable, InvalidInput, ConversationClosed) as error:
            await self.back_off(thread, error)
            return None
        new = [m for m in page.items if not _posted(thread, m)]
        if thread.closed_at is not None and len(page.items) < PER_THREAD:
            new.append(CLOSING)  # the last of them: then the closing line and retirement
        return new

    async def echoes(self, thread: SlackThread, messages: list[Message]) -> frozenset[str] | None:
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

    async def back_off(self, thread: SlackThread, error: BaseException | str) -> None:
        """An exponential wait for this thread alone (Infobip's Retry-After honoured)."""
        failures = thread.failures + 1
        wait = min(self._base * 2 ** min(failures - 1, 16), BACKOFF_MAX)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, min(timedelta(seconds=error.retry_after), BACKOFF_MAX))
        log.warning("threads: %s backs off %s after: %s", thread.conversation_id, wait, error)
        await self._store.back_off(
            thread.conversation_id, thread.channel_id, failures, self._clock() + wait
        )

    async def isolated(self, thread: SlackThread, error: BaseException) -> None:
        """Something this thread met that nothing expected (a backend's 400, a bug): it backs
        off alone, so its channel's other threads go on."""
        log.error("threads: mirroring %s failed", thread.conversation_id, exc_info=error)
        try:
            await self.back_off(thread, "an unexpected error")
        except Exception:
            log.exception("threads: %s could not back off", thread.conversation_id)


def _posted(thread: SlackThread, message: Message) -> bool:
    """Posted already: at the cursor's instant and among its ids (`createdAfter` includes it)."""
    return message.createdAt == thread.cursor_at and message.id in thread.cursor_ids


# A thread's poll that found something: the thread as polled, its messages, its echoes.
News = tuple[SlackThread, list[Message], frozenset[str]]


def oldest_news(due: News) -> datetime:
    """When a thread's oldest new message was written (none, or only the closing line: last)."""
    times = [m.createdAt for m in due[1] if m is not CLOSING and m.createdAt is not None]
    return min(times, default=datetime.max.replace(tzinfo=UTC))
