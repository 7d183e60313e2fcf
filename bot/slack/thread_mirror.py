"""New messages arrive by themselves (issue 18 item 3): each replica runs a worker per channel
with open threads (started by the scheduler's job, `keep_up`, every `threads.poll_interval`);
the worker of the replica holding the channel's lease asks each open thread, once per
interval, for the messages after its cursor and posts them into the thread in order, each once.

- One request per open thread per interval: `list_messages(createdAfter=cursor)`, the due
  threads of a channel asked POLLS_AT_ONCE at a time (bot/slack/thread_polling.py). Whether
  conversations closed in Infobip itself is one more request per channel every STATUS_EVERY
  intervals (the list filtered by the threads' conversation ids and CLOSED), not one per
  thread. A close made through convbot marks its threads at once (`ThreadStore.closing`); they
  get a last poll, the line "Conversation closed", and retire.
- Once each, across restarts and replicas: a channel is mirrored by the replica holding its
  lease (bot/state/threads.py ChannelLeases), renewed before every post, so a replica that lost
  it stops; a thread whose cursor moved since it was polled (another replica posted meanwhile)
  waits for its next poll. The cursor moves only after the post; a post is recorded before it
  is made and read back after a stop (bot/slack/thread_posting.py), so a post that reached
  Slack is not made again, and one that did not is.
- Paced: about one post per second per channel (Slack's limit; thread_posting.py), in the one
  replica that holds the channel. A thread's waiting messages share a post (up to LIVE_BATCH,
  bot/slack/blocks/transcript.py), so a burst costs one turn and a backlog drains fast; the
  channel's threads take turns oldest news first. Nothing is dropped: what a pass could not post
  is asked for again by the next, from the cursor; a thread whose opening Slack's pace put off
  (OPENING, bot/slack/threads.py) has its transcript posted first, at the same pace.
- Infobip's 429 or 5xx backs that thread off, exponentially up to BACKOFF_MAX, or for the
  Retry-After it gave; its cursor stays where it was. So does anything unexpected that one
  thread meets: its channel's other threads go on.
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
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BackendUnavailable, InvalidInput, NotFound
from bot.messages import Message
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.slack.blocks.transcript import Authors, closed_post, live_posts
from bot.slack.failures import SLACK_FAILURES
from bot.slack.thread_polling import CLOSING, News, ThreadPolls, oldest_news
from bot.slack.thread_posting import (
    CLOSED,
    POST_INTERVAL,
    POST_SECONDS,
    LeasedTurn,
    LeaseLost,
    Pacer,
    Sent,
    ThreadPoster,
)
from bot.slack.threads import OPENING, SlackThreads, Throttled, cursor_after
from bot.state.thread_replies import ThreadReplyRecords
from bot.state.threads import ChannelLeases, SlackThread, ThreadStore
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

CHANNELS_PER_PASS = 200  # channels with open threads mirrored (a worker each)
THREADS_PER_CHANNEL = 100
POSTS_PER_CHANNEL = 30  # ~30 s of posting at Slack's pace; the rest waits for the next pass
WORKER_PREFIX = "convbot-threads:"  # a channel worker's task name, then its channel
WORKER_REST = 1.0  # seconds at least between a channel worker's passes
_OPENING_FAILURES: tuple[type[BaseException], ...] = (*SLACK_FAILURES, BackendUnavailable)
STATUS_EVERY = 12  # poll intervals between two "which of these closed?" of a channel


@dataclass(frozen=True)
class _Place:
    """Where a thread's cursor is, as this pass moves it: the version it read."""

    cursor_at: datetime | None
    cursor_ids: list[str]
    version: int


@dataclass(frozen=True)
class _Done:
    """What one thread's turn posted: messages drawn (and closing lines), Slack posts made."""

    messages: int = 0
    posts: int = 0


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
        self._poster = ThreadPoster(client, threads.store, leases, clock=clock)
        self._polls = ThreadPolls(
            service, threads.store, poll_interval, clock=clock, replies=replies
        )
        self._threads = threads
        self._store: ThreadStore = threads.store
        self._leases = leases
        self._base = poll_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._clock = clock
        # Per channel this replica mirrors; channels with no open thread left are forgotten.
        self._pacers: dict[str, Pacer] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._asked: dict[str, dict[tuple[str, str], float]] = {}
        self._stopping = False
        self._status_at: dict[str, float] = {}  # channel → when to ask which closed
        self._held: set[str] = set()

    async def conversation_closed(self, actor: Actor, conversation_id: str) -> None:
        """The service's close hook: the conversation's threads get their last poll."""
        await self._store.closing(conversation_id)

    async def keep_up(self) -> int:
        """The scheduler's job, every poll interval: each channel with open threads gets a
        worker unless it has one (a new channel, or one whose worker stopped); how many were
        started. A worker runs its channel's passes back to back, each thread asked once per
        interval, so a channel that is posting a burst never delays another's polls, and a
        pass that ran long is followed at once by the next, not at the scheduler's next tick."""
        if self._stopping:
            return 0  # a tick that ran into the stop: no worker after release()
        channels = await self._channels()
        started = 0
        for channel in channels:
            worker = self._workers.get(channel)
            if worker is None or worker.done():
                self._workers[channel] = asyncio.create_task(
                    self._work(channel), name=f"{WORKER_PREFIX}{channel}"
                )
                started += 1
        return started

    async def run_pass(self) -> int:
        """One pass over the channels this replica holds, each until nothing is left to post;
        how many messages it posted (a closing line counts as one)."""
        channels = await self._channels()
        self._asked.clear()  # by hand: every thread is asked, whenever it last was
        done = await asyncio.gather(*(self._channel(c) for c in channels), return_exceptions=True)
        posted = 0
        for channel, result in zip(channels, done, strict=True):
            if isinstance(result, BaseException):
                log.error("mirroring threads in %s failed", channel, exc_info=result)
            else:
                posted += result
        return posted

    async def release(self) -> None:
        """On a clean stop: the workers stop and the channels this replica held pass to
        another at once."""
        self._stopping = True
        workers = [w for w in self._workers.values() if not w.done()]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        for channel in list(self._held):
            await self._leases.release(channel)

    async def _channels(self) -> list[str]:
        """The channels with open threads (at most CHANNELS_PER_PASS); what this replica kept
        for channels with none left is forgotten, and their leases released."""
        channels = await self._store.open_channels(CHANNELS_PER_PASS)
        for gone in set(self._pacers) - set(channels):
            lock = self._locks.get(gone)
            if lock is not None and lock.locked():
                continue  # mid-pass (its last thread retiring): forgotten next time
            self._status_at.pop(gone, None)
            self._asked.pop(gone, None)
            self._pacers.pop(gone, None)
            self._locks.pop(gone, None)
            worker = self._workers.get(gone)
            if worker is not None and worker.done():
                self._workers.pop(gone)
            if gone in self._held:
                self._held.discard(gone)
                await self._leases.release(gone)  # nothing left to mirror there
        return channels

    async def _work(self, channel: str) -> None:
        """A channel's worker: a pass, then the next when its first thread is due again (a
        poll interval after it was last asked, at least WORKER_REST later). It stops when
        another replica holds the channel or no thread there is due; `keep_up` starts it
        again when there is work."""
        interval = self._base.total_seconds()
        while True:
            try:
                await self._channel(channel)
                if channel not in self._held or not await self._store.open_in(channel, 1):
                    return
            except Exception:
                log.exception("mirroring threads in %s failed", channel)
                return
            now = self._monotonic()
            due = min(self._asked.get(channel, {}).values(), default=now) + interval
            await self._sleep(max(WORKER_REST, due - now))

    async def _channel(self, channel: str) -> int:
        # Two passes of this replica (the job's, one run by hand) take turns on a channel: the
        # lease is the replica's, so it cannot tell them apart.
        async with self._locks.setdefault(channel, asyncio.Lock()):
            return await self._mirror(channel)

    async def _mirror(self, channel: str) -> int:
        pacer = self._pacers.setdefault(channel, Pacer(POST_INTERVAL, self._monotonic, self._sleep))
        if pacer.waiting() > POST_SECONDS:
            return 0  # Slack asked this channel to wait longer than a pass would
        if not await self._leases.hold(channel):
            self._held.discard(channel)
            return 0  # another replica mirrors it
        self._held.add(channel)
        now, every = self._monotonic(), self._base.total_seconds() * STATUS_EVERY
        if now >= self._status_at.setdefault(channel, now + every):
            self._status_at[channel] = now + every
            await self._polls.closed_elsewhere(channel)
        budget = POSTS_PER_CHANNEL
        posted = 0
        opened = await self._openings(channel, pacer, budget)
        if opened is None:
            return 0  # the lease was lost, or Slack throttles the channel
        budget -= opened
        authors: Authors | None = None
        asked = self._asked.setdefault(channel, {})  # thread → when it was last polled
        news: dict[tuple[str, str], News] = {}  # polled, not yet posted
        # Posting is paced (a second a post) and a pass may post for a while: between two
        # posts, every thread whose poll interval has passed since it was last asked is asked
        # again, and the thread with the oldest unposted message goes next. A message waits
        # for its thread's next poll and the older messages ahead of it, not for a whole pass.
        # At most one request per thread per interval; the pass ends when nothing is left.
        while budget > 0:
            threads = await self._store.open_in(channel, THREADS_PER_CHANNEL)
            for gone in set(asked) - {_key(t) for t in threads}:
                del asked[gone]  # retired, or backing off: asked as soon as it is due again
            due = [
                thread
                for thread in threads
                if thread.posting_id != OPENING  # its transcript first (`_openings`)
                and _key(thread) not in news
                and self._monotonic() - asked.get(_key(thread), -1e9) >= self._base.total_seconds()
            ]
            for thread in due:
                asked[_key(thread)] = self._monotonic()
            for thread, found in zip(due, await self._polls.poll_all(due), strict=True):
                if found is not None:
                    news[_key(thread)] = (thread, *found)
            if not news:
                break
            thread, messages, echoes = news.pop(min(news, key=lambda k: oldest_news(news[k])))
            if authors is None:
                authors = await self._threads.authors()
            try:
                done = await self._post(thread, messages, authors, pacer, budget, echoes)
            except Exception as error:
                await self._polls.isolated(thread, error)
                continue
            if done is None:
                break  # the lease was lost, or Slack throttles the channel: stop here
            budget -= done.posts
            posted += done.messages
        return posted

    async def _openings(self, channel: str, pacer: Pacer, budget: int) -> int | None:
        """Post the transcripts Slack's pace put off (a burst of cards in an auto channel), at
        the channel's pace; how many threads had a turn, None when the pass must stop."""
        threads = await self._store.open_in(channel, THREADS_PER_CHANNEL)
        due = [thread for thread in threads if thread.posting_id == OPENING][:budget]
        for thread in due:
            try:
                await self._threads.post_due(thread, LeasedTurn(pacer, self._leases, channel))
            except LeaseLost:
                return None
            except Throttled as throttled:
                pacer.posted(throttled.wait.total_seconds())  # recorded; the channel waits
                return None
            except NotFound:
                await self._store.retire(*_key(thread))  # the conversation is gone
            except InvalidInput as refused:  # Slack refused the channel: not open (forgotten)
                log.info("threads: %s not opened: %s", thread.conversation_id, refused)
            except _OPENING_FAILURES as error:
                await self._polls.back_off(thread, error)  # Slack's or Infobip's: tried later
            except Exception as error:
                await self._polls.isolated(thread, error)
        return len(due)

    async def _post(
        self,
        polled: SlackThread,
        messages: list[Message],
        authors: Authors,
        pacer: Pacer,
        budget: int,
        echoes: frozenset[str] = frozenset(),
    ) -> _Done | None:
        """Post `messages` in order, the cursor after each post; what was posted, or None when
        the channel's pass must stop (lease lost, Slack throttling it). `echoes`: replies
        written in the thread itself, passed over."""
        key = _key(polled)
        if not await self._leases.hold(polled.channel_id):
            return None
        thread = await self._store.find(*key)
        if thread is None or thread.retired or _cursor(thread) != _cursor(polled):
            return _Done()  # moved since the poll (another replica posted): asked again later
        try:
            closing = bool(messages) and messages[-1] is CLOSING
            already = await self._poster.recovered(thread, messages, closing=closing) | echoes
        except SLACK_FAILURES as error:
            # Whether the last post reached Slack is unknown: nothing more goes into this
            # thread until it can be read back; the channel's other threads go on.
            await self._polls.back_off(thread, f"Slack, reading the thread back: {error}")
            return _Done()
        new = [m for m in messages if m is not CLOSING]
        place = _Place(thread.cursor_at, list(thread.cursor_ids), thread.cursor_version)
        done = _Done()
        passed = 0  # new[:passed] are behind the cursor
        drawn = [n for n, m in enumerate(new) if m.id not in already]  # positions in `new`
        start = 0
        for post, group in live_posts([new[n] for n in drawn], authors):
            first, last = drawn[start], drawn[start + len(group) - 1]
            start += len(group)
            if done.posts >= budget:
                return done
            if passed < first:
                # Past what Slack has already (recovered) or needs not (echoes) first: the
                # next post's record replaces the one that found them.
                skipped = await self._advance(thread, place, new[passed:first])
                if skipped is None:
                    return done
                place, passed = skipped, first
            sent = await self._poster.send(thread, post, group, pacer)
            if sent is not Sent.SENT:
                return await self._not_sent(thread, sent, done)
            done = _Done(done.messages + len(group), done.posts + 1)
            moved = await self._advance(thread, place, new[passed : last + 1])
            if moved is None:
                return done
            place, passed = moved, last + 1
        # Echoes and recovered posts after the last post.
        if passed < len(new) and await self._advance(thread, place, new[passed:]) is None:
            return done
        if closing and CLOSED in already:
            await self._store.retire(*key)  # its closing line reached Slack before a stop
        elif closing and done.posts < budget:
            sent = await self._poster.send(thread, closed_post(), [], pacer, closing=True)
            if sent is not Sent.SENT:
                return await self._not_sent(thread, sent, done)
            await self._store.retire(*key)
            done = _Done(done.messages + 1, done.posts + 1)
        return done

    async def _advance(
        self, thread: SlackThread, place: _Place, past: list[Message]
    ) -> _Place | None:
        """The cursor moved past `past` (in order) from `place`, and stored; None when it had
        moved meanwhile (another replica posted): this thread stops until its next poll."""
        cursor_at, cursor_ids = place.cursor_at, place.cursor_ids
        for message in past:
            cursor_at, cursor_ids = cursor_after(cursor_at, cursor_ids, message)
        if not await self._store.advance(*_key(thread), cursor_at, cursor_ids, was=place.version):
            log.warning("threads: %s moved meanwhile; left to its next poll", thread.root_ts)
            return None
        return _Place(cursor_at, cursor_ids, place.version + 1)

    async def _not_sent(self, thread: SlackThread, sent: Sent, done: _Done) -> _Done | None:
        """After a post that did not go out: None stops the channel's pass (its lease is lost,
        or Slack throttles the channel); a refusal backs off this thread alone (an archived
        channel, a deleted card, a post Slack will not take) so the channel's other threads go
        on."""
        if sent is Sent.LEASE_LOST or sent is Sent.THROTTLED:
            return None
        await self._polls.back_off(thread, "Slack did not take a post")
        return done


def _key(thread: SlackThread) -> tuple[str, str]:
    return thread.conversation_id, thread.channel_id


def _cursor(thread: SlackThread) -> tuple[datetime | None, list[str]]:
    return thread.cursor_at, list(thread.cursor_ids)
