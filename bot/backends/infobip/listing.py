"""Listing through an API that filters on one status and one priority at a time.

A filter with several of either becomes one sub-query per combination, run concurrently and
merged here in `orderBy` order. What the API cannot filter on at all (unassigned, channel) is
filtered here over every page of each sub-query.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

from bot.backends.infobip import wire
from bot.backends.infobip.errors import unreadable
from bot.bounded import all_of, throttled
from bot.errors import InvalidInput
from bot.field_rules import LIMIT_MAX
from bot.models import Conversation, ConversationFilter, OrderBy, Priority, ResultPage, Status
from bot.timestamps import format_timestamp

# Requests one sub-query may spend on pages of LIMIT_MAX before the user is asked to narrow the
# filter, instead of us paging for minutes: for the client-side filters (unassigned, channel),
# which read whole result sets, and for deep pages of a merged list, which read each sub-query
# from its start.
CLIENT_SIDE_PAGE_CAP = 20
CONVERSATIONS = "/conversations"
NO_CHANNELS = (
    "Infobip does not say which channel a conversation is on (its conversations carry no "
    "channel), so `channel:` cannot filter a list there; leave it out."
)
DATE_FILTERS = (
    "createdAfter",
    "createdBefore",
    "updatedAfter",
    "updatedBefore",
    "closedAfter",
    "closedBefore",
)

Json = Any
# GET `path` with query parameters; the decoded body.
Fetch = Callable[[str, Mapping[str, Any]], Awaitable[Json]]
Part = tuple[list[Conversation], int]  # one sub-query's conversations and its total
T = TypeVar("T")


async def gather_all(*calls: Awaitable[T]) -> list[T]:
    """Every result; on a failure, the first one, raised only once all calls have ended, so that
    no request is left running unobserved. The fetches are throttled (`throttled`), not this."""
    return await all_of(calls, limit=len(calls) or 1)


async def fetch_page(
    fetch: Fetch, path: str, key: str, params: Mapping[str, Any], page: int, limit: int
) -> tuple[list[Json], int | None]:
    answer = await fetch(path, {**params, "page": page, "limit": limit})
    items = wire.dig(answer, key)
    if not isinstance(items, list):
        raise unreadable(f"the {key} list")
    total = wire.dig(answer, "pagination", "totalItems")
    return items, total if isinstance(total, int) else None


async def fetch_all(
    fetch: Fetch, path: str, key: str, params: Mapping[str, Any], *, cap: bool = False
) -> list[Json]:
    """Every item of a paged resource: the first page tells the total, the rest at once (at
    most CALLS_PER_COMMAND at a time; wrapping a `fetch` throttled already changes nothing, as
    the outer budget still holds and every call takes the two slots in the same order)."""
    fetch = throttled(fetch)
    first, total = await fetch_page(fetch, path, key, params, 0, LIMIT_MAX)
    pages = pages_for(total) if total is not None else 1
    if cap and pages > CLIENT_SIDE_PAGE_CAP:
        raise InvalidInput(
            f"That filter matches {total} conversations at Infobip, too many to check "
            "'unassigned' or 'channel' here; narrow it with status, priority or queue."
        )
    rest = await gather_all(
        *(fetch_page(fetch, path, key, params, n, LIMIT_MAX) for n in range(1, pages))
    )
    return first + [item for items, _ in rest for item in items]


async def list_conversations(fetch: Fetch, query: ConversationFilter) -> ResultPage[Conversation]:
    # Up to 16 sub-queries, each possibly several pages: one budget of requests in flight for
    # the whole list, however the gathers below nest (bot/bounded.py).
    fetch = throttled(fetch)
    combos = combinations(query)
    params = list_params(query)
    if query.unassigned or query.channel is not None:
        parts = await gather_all(*(_filtered(fetch, _with(params, *c), query) for c in combos))
    elif len(combos) == 1:  # the API pages it: one request for any page
        return await _one_page(fetch, _with(params, *combos[0]), query)
    else:
        need = (query.page + 1) * query.limit
        parts = await gather_all(*(_prefix(fetch, _with(params, *c), need) for c in combos))
    return merge(parts, query)


def combinations(query: ConversationFilter) -> list[tuple[Status | None, Priority | None]]:
    """One (status, priority) per sub-query, in the order given. Repeated values are dropped:
    each would be fetched, and its total counted, once more."""
    statuses: list[Status | None] = [*dict.fromkeys(query.statuses)] or [None]
    priorities: list[Priority | None] = [*dict.fromkeys(query.priorities)] or [None]
    return list(itertools.product(statuses, priorities))


async def _one_page(
    fetch: Fetch, params: Mapping[str, Any], query: ConversationFilter
) -> ResultPage[Conversation]:
    items, total = await fetch_page(
        fetch, CONVERSATIONS, "conversations", params, query.page, query.limit
    )
    return ResultPage[Conversation](
        items=[wire.conversation(item) for item in items],
        totalItems=total if total is not None else query.page * query.limit + len(items),
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


async def _prefix(fetch: Fetch, params: Mapping[str, Any], need: int) -> Part:
    """The first `need` conversations of one sub-query (in API order) and its total."""
    first, total = await fetch_page(
        fetch, CONVERSATIONS, "conversations", params, 0, min(LIMIT_MAX, need)
    )
    known = total if total is not None else len(first)
    pages = pages_for(min(need, known)) if need > LIMIT_MAX else 1
    if pages > CLIENT_SIDE_PAGE_CAP:
        raise InvalidInput(
            "That page lies too deep in a list over several statuses or priorities: each of "
            f"them is read from its start, at most {CLIENT_SIDE_PAGE_CAP * LIMIT_MAX} "
            "conversations. Narrow the filter to one status and one priority (paged by Infobip "
            "itself), or add queue, agent, tag or date filters."
        )
    rest = await gather_all(
        *(
            fetch_page(fetch, CONVERSATIONS, "conversations", params, n, LIMIT_MAX)
            for n in range(1, pages)
        )
    )
    items = first + [item for page_items, _ in rest for item in page_items]
    return [wire.conversation(item) for item in items[:need]], known


async def _filtered(fetch: Fetch, params: Mapping[str, Any], query: ConversationFilter) -> Part:
    """Everything one sub-query matches, filtered here on what the API cannot filter."""
    items = await fetch_all(fetch, CONVERSATIONS, "conversations", params, cap=True)
    seen: set[str] = set()
    kept = []
    for conversation in (wire.conversation(item) for item in items):
        if conversation.id in seen:  # rows may shift between pages read concurrently
            continue
        seen.add(conversation.id)
        if query.unassigned and conversation.agentId is not None:
            continue
        if query.channel is not None and conversation.channel is None:
            # Skipping it would answer "none on that channel" when the truth is "not known".
            raise InvalidInput(NO_CHANNELS)
        if query.channel is not None and conversation.channel is not query.channel:
            continue
        kept.append(conversation)
    return kept, len(kept)


def pages_for(total: int) -> int:
    return max(1, -(-total // LIMIT_MAX))


def list_params(query: ConversationFilter) -> dict[str, Any]:
    params: dict[str, Any] = {"orderBy": str(query.orderBy)}
    if query.conversationIds:
        params["conversationIds"] = list(query.conversationIds)  # repeated, as queueIds
    if query.queueIds:
        params["queueIds"] = list(query.queueIds)  # repeated: form style, exploded
    if query.tags:
        params["tagNames"] = list(query.tags)
    if query.agentId is not None:
        params["agentId"] = query.agentId
    for name in DATE_FILTERS:
        value = getattr(query, name)
        if value is not None:
            params[name] = format_timestamp(value)
    return params


def _with(
    params: Mapping[str, Any], status: Status | None, priority: Priority | None
) -> dict[str, Any]:
    extra = {"status": status, "priority": priority}
    return {**params, **{key: value.value for key, value in extra.items() if value is not None}}


def merge(parts: Sequence[Part], query: ConversationFilter) -> ResultPage[Conversation]:
    """Sub-query results, each already in `orderBy` order, merged into the requested page.

    heapq.merge is stable: equal keys keep each sub-list's own order, earlier sub-lists first.
    Ties therefore come out as the server ordered them, the same way on every page.
    """
    key = functools.cmp_to_key(functools.partial(compare, order=query.orderBy))
    merged = heapq.merge(*(items for items, _ in parts), key=key)
    start = query.page * query.limit
    return ResultPage[Conversation](
        items=list(itertools.islice(merged, start, start + query.limit)),
        totalItems=sum(total for _, total in parts),
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


def compare(a: Conversation, b: Conversation, order: OrderBy) -> int:
    """On `order.field` alone, in `order.direction`, missing values last either way.

    No tie-break (on id or anything else): the server breaks ties its own way, and a key that
    disagreed with it would hand heapq.merge sub-lists that are not sorted by that key.
    """
    x, y = _sort_value(a, order.field), _sort_value(b, order.field)
    if x is None or y is None:
        return (x is None) - (y is None)
    if x == y:
        return 0
    result = 1 if x > y else -1
    return -result if order.direction == "desc" else result


def _sort_value(conversation: Conversation, name: str) -> Any:
    value = getattr(conversation, name)
    if isinstance(value, Priority):
        return value.rank  # URGENT > HIGH > NORMAL > LOW, not alphabetical
    if isinstance(value, Enum):
        return value.value
    return value
