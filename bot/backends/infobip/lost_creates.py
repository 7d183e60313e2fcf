"""A create whose answer was lost: the conversation it may have made, looked for before anyone is
told to create it again (which would make a duplicate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot import deadlines
from bot.errors import BackendUnavailable
from bot.field_rules import LIMIT_MAX
from bot.models import Conversation, ConversationCreate, ConversationFilter, OrderBy, ResultPage

CREATE_CLOCK_SKEW = timedelta(minutes=2)  # between this host's clock and Infobip's
CREATE_LOOKS = 3  # looks for a create whose answer was lost, a second apart


async def created_since(
    data: ConversationCreate,
    sent_at: datetime,
    *,
    list_conversations: Callable[[ConversationFilter], Awaitable[ResultPage[Conversation]]],
    pause: Callable[[float], Awaitable[None]],
) -> Conversation | None:
    """The one conversation created since `sent_at` (less a clock skew) with this topic,
    summary and priority; None when there is none, or more than one to tell apart."""
    query = ConversationFilter(
        priorities=[data.priority] if "priority" in data.model_fields_set else [],
        createdAfter=sent_at - CREATE_CLOCK_SKEW,
        orderBy=OrderBy(field="createdAt", direction="desc"),
        limit=LIMIT_MAX,
    )
    for attempt in range(CREATE_LOOKS):
        left = deadlines.remaining()
        if left is not None and left <= (1.0 if attempt else 0.0):
            break  # the command's time is up: the person is told it may exist
        if attempt:
            await pause(1.0)  # it may still be being carried out
        try:
            page = await list_conversations(query)
        except BackendUnavailable:
            # Look again: whatever lost the answer may fail a list too, and giving up here
            # tells the person to create again what may well exist.
            continue
        same = [
            c
            for c in page.items
            if c.topic == data.topic and (c.summary or None) == (data.summary or None)
        ]
        if len(same) == 1:
            return same[0]
        if len(same) > 1:
            return None  # identical creates in the same moment: not ours to pick
    return None
