"""The demo's customers: each demo conversation starts with what its customer wrote, and while
`convbot dev` runs one of them writes again now and then, so transcripts, threads and the Reply
form have a customer to show and to answer.

They write straight into the embedded store (LocalBackend.receive_message), as Infobip threads a
customer's message into a conversation; the bot learns of them the way it would from Infobip.
"""

from __future__ import annotations

import asyncio
import logging
import random

from bot.backends.local import LocalBackend
from bot.errors import ConvbotError, InvalidInput
from bot.messages import (
    SENDABLE_CHANNELS,
    Direction,
    ListOrder,
    Message,
    MessageCreate,
    MessageFilter,
)
from bot.models import ACTIVE_STATUSES, Channel, Conversation, ConversationFilter, OrderBy

log = logging.getLogger(__name__)

# Ours, per kind of address: what the customer writes to.
_OUR_ADDRESS = {"EMAIL": "support@example.com", "LIVE_CHAT": "convbot-demo-widget"}
_OUR_NUMBER = "+38515550100"
OPENERS = (
    "Hi, {topic}. Can you help?",
    "Hello — {topic}. This is the second time I'm writing.",
    "Good morning, {topic}; what should I do?",
)
FOLLOW_UPS = (
    "Any news on this?",
    "I'm still waiting for an answer.",
    "Here is a photo of the problem.",
    "Could someone call me back today?",
    "Thanks, that helps — one more question though.",
    "Is there anything else you need from me?",
)
# The open demo conversations a customer is picked from (the demo has about 40).
_READ_MAX = 100


def address_of(channel: Channel, n: int) -> tuple[str, str]:
    """(the customer's address, ours) on a channel, the same for one customer every time."""
    if channel is Channel.EMAIL:
        return f"customer{n}@example.net", _OUR_ADDRESS["EMAIL"]
    if channel is Channel.LIVE_CHAT:
        return f"visitor-{n}", _OUR_ADDRESS["LIVE_CHAT"]
    return f"+38591{n:07d}", _OUR_NUMBER


class Customers:
    """The customers of the demo's conversations, writing into the store."""

    def __init__(self, store: LocalBackend, seed: int = 11) -> None:
        self._store = store
        self._random = random.Random(seed)

    async def opening(self, conversation: Conversation, n: int) -> Message | None:
        """The customer's first message, about the conversation's topic (None on a channel no
        message can be sent on: there is no customer to answer there)."""
        if conversation.channel not in SENDABLE_CHANNELS:
            return None
        topic = (conversation.topic or "something is wrong").rstrip(".")
        opener = OPENERS[n % len(OPENERS)].format(topic=topic[0].lower() + topic[1:])
        return await self._write(conversation, n, opener)

    async def write_once(self) -> Message | None:
        """One customer of an open conversation writes again (None when none is open). The
        same `n` as their opening (the order of creation) keeps each customer's address."""
        conversations = await self._open()
        if not conversations:
            return None
        n = self._random.randrange(len(conversations))
        return await self._write(conversations[n], n, self._random.choice(FOLLOW_UPS))

    async def write_as(self, conversation_id: str, text: str) -> Message:
        """The customer of `conversation_id` writes `text` (the person at the page playing
        them): from the address of their last message, to ours, as Infobip keeps a customer on
        one address; a conversation they never wrote in gets the first demo customer's."""
        conversation = await self._store.get(conversation_id)
        if conversation.channel not in SENDABLE_CHANNELS:
            channel = conversation.channel.value if conversation.channel else "no"
            raise InvalidInput(
                f"Conversation {conversation_id} is on the {channel} channel, where no customer"
                " writes; try one on e-mail, SMS, WhatsApp or live chat."
            )
        last = await self._store.list_messages(
            conversation_id,
            MessageFilter(
                direction=Direction.INBOUND, orderBy=ListOrder(direction="desc"), limit=1
            ),
        )
        if last.items and last.items[0].from_ and last.items[0].to:
            return await self._send(conversation, last.items[0].from_, last.items[0].to, text)
        return await self._write(conversation, 0, text)

    async def keep_writing(self, every: float) -> None:
        """Until cancelled: a customer writes about every `every` seconds (jittered)."""
        while True:
            await asyncio.sleep(every * self._random.uniform(0.5, 1.5))
            try:
                await self.write_once()
            except ConvbotError:
                log.warning("a demo customer could not write", exc_info=True)

    async def _open(self) -> list[Conversation]:
        query = ConversationFilter(
            statuses=list(ACTIVE_STATUSES), orderBy=OrderBy(direction="asc"), limit=_READ_MAX
        )
        page = await self._store.list(query)
        return [c for c in page.items if c.channel in SENDABLE_CHANNELS]

    async def _write(self, conversation: Conversation, n: int, text: str) -> Message:
        assert conversation.channel is not None  # callers keep sendable channels only
        customer, ours = address_of(conversation.channel, n)
        return await self._send(conversation, customer, ours, text)

    async def _send(
        self, conversation: Conversation, customer: str, ours: str, text: str
    ) -> Message:
        message = MessageCreate.model_validate(
            {
                "from": customer,
                "to": ours,
                "channel": conversation.channel,
                "contentType": "TEXT",
                "content": {"text": text},
            }
        )
        return await self._store.receive_message(conversation.id, message)
