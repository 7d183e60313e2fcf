"""How the thread mirror (bot/slack/thread_mirror.py) puts one post into a thread: at the
channel's pace, under the channel's lease, recorded before it is made, and read back after a
stop.

- Pace: Slack takes about one chat.postMessage a second in a channel ("1 message per second to
  a specific channel", docs.slack.dev/apis/web-api/rate-limits). `Pacer` spaces a channel's
  posts a second apart from each answer; Slack's 429 is waited out by the client itself
  (bot/slack/client_policy.py) within POST_SECONDS, and a longer Retry-After makes the channel
  wait that long (THROTTLED), across passes.
- Lease: renewed after the pace's wait and just before the post, and the post (retries
  included) ends within POST_SECONDS, shorter than any lease: no other replica can take the
  channel while a post of this one may still land.
- Record: the last message a post holds is recorded (`posting_id`) before the post (a closing
  line as CLOSED), and the post names all it holds in its metadata (EVENT_TYPE); after a stop
  between the post and the
  cursor, `recovered` reads the thread back (conversations.replies with include_all_metadata,
  the replies since the message was written) and tells which messages Slack already has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import deadlines
from bot.messages import Message
from bot.slack.blocks.transcript import Post
from bot.slack.client_policy import retry_after
from bot.slack.failures import SLACK_FAILURES
from bot.state.threads import ChannelLeases, SlackThread, ThreadStore
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

POST_INTERVAL = 1.0  # seconds between two posts in one channel (Slack: 1 per second)
# One post, the Slack client's own 429 and 5xx retries included: well inside the channel's
# lease (15 s at least).
POST_SECONDS = 8.0
EVENT_TYPE = "convbot_conversation_message"  # the posts' metadata: which messages each holds
REPLIES_READ_MAX = 1000  # replies read back to find an unrecorded post (one page)
READ_BACK_MARGIN = timedelta(minutes=10)  # Infobip's clock and Slack's may differ this much
CLOSED = "convbot:closed"  # what is recorded, and read back, for a thread's closing line


def post_metadata(
    conversation_id: str, message_ids: Sequence[str], *, closing: bool = False
) -> dict[str, Any] | None:
    """A post's message metadata: the Infobip messages it holds (or that it is the thread's
    closing line), read back by `ThreadPoster.recovered`; None for a post holding neither."""
    if not message_ids and not closing:
        return None
    payload = {"conversation_id": conversation_id, "message_ids": list(message_ids)}
    return {"event_type": EVENT_TYPE, "event_payload": payload | {"closed": closing}}


class Sent(Enum):
    SENT = "sent"
    REFUSED = "refused"  # by Slack, or the call failed: this thread backs off
    THROTTLED = "throttled"  # Slack's 429 outlasted the client's retries: the channel waits
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
        wait = self.waiting()
        if wait > 0:
            await self.sleep(wait)

    def posted(self, wait: float | None = None) -> None:
        """A post's call returned: the next waits a whole interval from now (or Slack's
        Retry-After). From the answer, not the request: Slack may take a post any time before
        it answers (and the client's own retries, a 429 waited out inside it, may have sent it
        only just now), so two posts a second apart at the answers are never less than a second
        apart at Slack."""
        self.next_at = self.monotonic() + max(self.interval, wait or 0.0)

    def waiting(self) -> float:
        return self.next_at - self.monotonic()


class LeaseLost(Exception):
    """Another replica holds the channel now: this pass stops."""


@dataclass
class LeasedTurn:
    """A post's turn in its channel outside ThreadPoster (a put-off transcript): the channel's
    pace, under its lease, renewed before each post as before the mirror's own."""

    pacer: Pacer
    leases: ChannelLeases
    channel: str

    async def turn(self) -> None:
        await self.pacer.turn()
        if not await self.leases.hold(self.channel):
            raise LeaseLost(self.channel)

    def posted(self) -> None:
        self.pacer.posted()


class ThreadPoster:
    def __init__(
        self,
        client: AsyncWebClient,
        store: ThreadStore,
        leases: ChannelLeases,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._client = client
        self._store = store
        self._leases = leases
        self._clock = clock

    async def send(
        self,
        thread: SlackThread,
        post: Post,
        messages: list[Message],
        pacer: Pacer,
        *,
        closing: bool = False,
    ) -> Sent:
        """One post into the thread, at the channel's pace; the messages it holds named in its
        metadata and the last of them recorded first (`closing`: the thread's closing line,
        recorded as CLOSED)."""
        await pacer.turn()
        if not await self._leases.hold(thread.channel_id):
            return Sent.LEASE_LOST
        record = CLOSED if closing else messages[-1].id if messages else None
        if record is not None:
            await self._store.posting(thread.conversation_id, thread.channel_id, record)
        metadata = post_metadata(thread.conversation_id, [m.id for m in messages], closing=closing)
        try:
            async with asyncio.timeout(POST_SECONDS):
                with deadlines.within(POST_SECONDS):
                    await self._client.chat_postMessage(
                        channel=thread.channel_id,
                        thread_ts=thread.root_ts,
                        text=post.text,
                        blocks=post.blocks,
                        metadata=metadata,
                    )
        except SlackApiError as error:
            response = error.response
            if response is not None and response.get("error") == "ratelimited":
                wait = retry_after(response.headers or {})
                pacer.posted(float(wait or 1))
                log.warning("threads: Slack asks %s to wait %s s", thread.channel_id, wait)
                return Sent.THROTTLED
            pacer.posted()
            log.warning("threads: Slack refused a post in %s: %s", thread.root_ts, error)
            return Sent.REFUSED
        except SLACK_FAILURES:  # a timeout among them
            pacer.posted()
            log.warning("threads: a post in %s failed", thread.root_ts, exc_info=True)
            return Sent.REFUSED
        pacer.posted()
        return Sent.SENT

    async def recovered(
        self, thread: SlackThread, messages: list[Message], *, closing: bool = False
    ) -> set[str]:
        """The messages a stop left unrecorded, if Slack has their post: read back from the
        thread (the post holding the recorded message names all it holds); CLOSED among them
        when the thread's closing line is there already (`closing`: it is due)."""
        if closing and thread.posting_id == CLOSED:
            since = thread.closed_at or self._clock()
            return {CLOSED} if await self._find(thread, since, lambda p: p.get("closed")) else set()
        pending = next((m for m in messages if m.id and m.id == thread.posting_id), None)
        if pending is None:
            return set()
        # Its post came after it was written: the replies since then (a margin for the two
        # services' clocks), so a long thread's first page is not all that is looked at.
        written = pending.createdAt or self._clock()
        found = await self._find(thread, written, lambda p: pending.id in p.get("message_ids", []))
        return {str(message_id) for message_id in (found or {}).get("message_ids", [])}

    async def _find(
        self, thread: SlackThread, since: datetime, wanted: Callable[[dict[str, Any]], object]
    ) -> dict[str, Any] | None:
        """The payload of the thread's first post since `since` (less READ_BACK_MARGIN) whose
        metadata `wanted` accepts, or None."""
        with deadlines.within(POST_SECONDS):
            answer = await self._client.conversations_replies(
                channel=thread.channel_id,
                ts=thread.root_ts,
                oldest=f"{(since - READ_BACK_MARGIN).timestamp():.6f}",
                include_all_metadata=True,
                limit=REPLIES_READ_MAX,
            )
        for reply in answer.get("messages") or []:
            metadata = reply.get("metadata") or {}
            payload = metadata.get("event_payload")
            if not isinstance(payload, dict) or metadata.get("event_type") != EVENT_TYPE:
                continue  # not one of the mirror's posts
            if wanted(payload):
                return payload
        return None
