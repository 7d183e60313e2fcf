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
from bot.models import ConversationFilter, OrderBy, Priority, utcnow
from bot.service.conversations import ConversationService

_OLDEST_FIRST = OrderBy(field="createdAt", direction="asc")


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
        pages = await asyncio.gather(
            *(
                self._conversations.list(
                    query.model_copy(
                        update={
                            "priorities": [priority],
                            "orderBy": _OLDEST_FIRST,
                            "page": 0,
                            "limit": max_items,
                        }
                    )
                )
                for priority in priorities
            )
        )
        shown = [c for page in pages for c in page.items][:max_items]
        return Digest(
            name=name,
            generated_at=self._clock(),
            totals={p: page.totalItems for p, page in zip(priorities, pages, strict=True)},
            queue_counts=dict(Counter(c.queueId or "" for c in shown)),
            items=[DigestItem(conversation=c) for c in shown],
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
