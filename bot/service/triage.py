"""The triage order: the most urgent first (URGENT, HIGH, NORMAL, LOW), the oldest first within
each priority, paged like any other list.

No backend can be asked for that order in one query: Infobip's `orderBy` takes one field, and
the order it gives `priority` is not one to rely on (the contract says only that properties
may be ordered by; a string enum may well sort HIGH, LOW, NORMAL, URGENT). So each priority is
its own list, `createdAt:asc`, and the lists are laid end to end. The first round reads page 0
of every priority at once; their totals say where each priority's run starts in the whole list,
so they tell which runs a page overlaps. ResultPage 1 is answered by that round alone. A later page
also needs the page-aligned slices that round did not read: only the first run the page
overlaps can start past its own page 0 (the runs after it start inside the page), and a window
of `limit` rows spans at most two pages of size `limit` of it. So any page costs one list per
priority plus at most two, and never reads all the matches; with one priority, it is that
priority's list, paged by the backend.
"""

from __future__ import annotations

from bot.bounded import all_of, one_budget
from bot.models import Conversation, ConversationFilter, OrderBy, Priority, ResultPage
from bot.service.conversations import ConversationService

# What `ResultPage.orderBy` says for this order: Infobip's `field:direction`, most significant
# first.
TRIAGE_ORDER = "priority:desc,createdAt:asc"
OLDEST_FIRST = OrderBy(field="createdAt", direction="asc")

_Slice = tuple[int, int, int]  # (index of the priority, first row, row after the last) in its run


async def triage_page(
    service: ConversationService, query: ConversationFilter
) -> ResultPage[Conversation]:
    """ResultPage `query.page` of `query` in the triage order; `query.orderBy` is not used."""
    priorities = sorted(set(query.priorities) or set(Priority), reverse=True)
    limit = query.limit

    def run_page(index: int, page: int) -> ConversationFilter:
        return query.model_copy(
            update={
                "priorities": [priorities[index]],
                "orderBy": OLDEST_FIRST,
                "page": page,
                "limit": limit,
            }
        )

    if len(priorities) == 1:  # one run: the backend pages it itself, any page in one list
        page = await service.find(run_page(0, query.page))
        return page.model_copy(update={"orderBy": TRIAGE_ORDER})
    # The lists run at once, yet share one command's budget of requests (on Infobip each is
    # one request per status, throttled on its own).
    with one_budget():
        firsts = await all_of(service.find(run_page(i, 0)) for i in range(len(priorities)))
        totals = [page.totalItems for page in firsts]
        slices = _overlaps(totals, query.page * limit, limit)
        wanted = [(i, n) for i, first, end in slices for n in _pages(first, end, limit) if n > 0]
        more = await all_of(service.find(run_page(i, n)) for i, n in wanted)
    rows = {(i, 0): page.items for i, page in enumerate(firsts)}
    rows.update({key: page.items for key, page in zip(wanted, more, strict=True)})
    items: list[Conversation] = []
    for i, first, end in slices:
        for n in _pages(first, end, limit):
            start = n * limit
            items.extend(rows[(i, n)][max(first - start, 0) : end - start])
    return ResultPage[Conversation](
        items=items,
        totalItems=sum(totals),
        page=query.page,
        limit=limit,
        orderBy=TRIAGE_ORDER,
    )


def _overlaps(totals: list[int], start: int, limit: int) -> list[_Slice]:
    """Which rows of each priority's run the window [start, start + limit) of the whole list
    holds, for the runs it overlaps, in order."""
    slices: list[_Slice] = []
    offset = 0
    for index, total in enumerate(totals):
        first = max(start, offset) - offset
        end = min(start + limit, offset + total) - offset
        if first < end:
            slices.append((index, first, end))
        offset += total
    return slices


def _pages(first: int, end: int, limit: int) -> range:
    """The pages of size `limit` that rows [first, end) of a run lie on (at most two)."""
    return range(first // limit, (end - 1) // limit + 1)
