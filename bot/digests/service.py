"""DigestService: one digest from the backend, at a cost that does not grow with the backlog.

Per priority value it asks for one page of the oldest matches; the page's pagination gives that
priority's total. On Infobip each status is one more single-value query, so a default digest
(OPEN and WAITING by URGENT and HIGH) is four requests whether 10 or 1,000,000 conversations match.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from bot.digests.model import Digest, DigestItem
from bot.models import Conversation, ConversationFilter, OrderBy, Priority
from bot.service.conversations import ConversationService
from bot.timestamps import utcnow

_OLDEST_FIRST = OrderBy(field="createdAt", direction="asc")
PAGE_LIMIT = 999  # Infobip's largest page
SNOOZE_ALLOWANCE = 200  # beyond this many snoozes, a snoozed match may be counted in a total


class DigestService:
    def __init__(
        self, conversations: ConversationService, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._conversations = conversations
        self._clock = clock

    async def build(
        self,
        name: str,
        query: ConversationFilter,
        *,
        max_items: int,
        mention: str | None = None,
    ) -> Digest:
        """URGENT first, oldest first within a priority; totals for everything that matches."""
        priorities = sorted(set(query.priorities) or set(Priority), reverse=True)
        # Snoozed conversations are left out: each page is longer by the number of snoozes, so
        # it still holds `max_items` others, and the snoozed ones found in it leave the totals.
        snoozed = await self._conversations.snoozed()
        limit = min(max_items + min(len(snoozed), SNOOZE_ALLOWANCE), PAGE_LIMIT)
        pages = await asyncio.gather(
            *(
                self._conversations.find(
                    query.model_copy(
                        update={
                            "priorities": [priority],
                            "orderBy": _OLDEST_FIRST,
                            "page": 0,
                            "limit": limit,
                        }
                    )
                )
                for priority in priorities
            )
        )
        totals: dict[Priority, int] = {}
        shown: list[Conversation] = []
        hidden = 0
        for priority, page in zip(priorities, pages, strict=True):
            awake = [c for c in page.items if c.id not in snoozed]
            hidden += len(page.items) - len(awake)
            totals[priority] = max(0, page.totalItems - (len(page.items) - len(awake)))
            shown.extend(awake)
        shown = shown[:max_items]
        return Digest(
            name=name,
            generated_at=self._clock(),
            totals=totals,
            queue_counts=dict(Counter(c.queueId or "" for c in shown)),
            items=[DigestItem(conversation=c) for c in shown],
            snoozed=hidden,
            more_command=more_command(query, priorities),
            mention=mention,
        )


def more_command(query: ConversationFilter, priorities: list[Priority]) -> str:
    """The `/conv list` that shows what a digest only counted."""
    words = ["/conv list"]
    if query.statuses:
        words.append("status:" + ",".join(s.value.lower() for s in query.statuses))
    words.append("priority:" + ",".join(p.value.lower() for p in priorities))
    if query.queueIds:
        words.append("queue:" + ",".join(query.queueIds))
    if query.tags:
        words.append("tag:" + ",".join(query.tags))
    words.append("sort:created:asc")
    return " ".join(words)
