"""`list` and `show`: reading conversations, changing nothing."""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import Option, id_only, read_options, unexpected
from bot.commands.result import CommandResult
from bot.commands.spec import LIST_LIMIT_MAX, ListCommand, ShowCommand
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import (
    PAGE_MAX,
    agent_filter,
    one_of,
    queue_names,
    since_moment,
    some_of,
    sort_order,
    tag_list,
    whole_number,
)
from bot.models import (
    ACTIVE_STATUSES,
    Actor,
    Channel,
    Conversation,
    ConversationFilter,
    Priority,
    ResultPage,
    Status,
)
from bot.service.conversations import ConversationService
from bot.service.triage import OLDEST_FIRST, TRIAGE_ORDER, triage_page

DEFAULT_LIST_LIMIT = 20

_LIST_OPTIONS = {
    "status": Option("statuses", some_of(Status), "status:open,waiting"),
    "priority": Option("priorities", some_of(Priority), "priority:high,urgent"),
    "queue": Option("queues", queue_names, "queue:billing"),
    "agent": Option("agent", agent_filter, "agent:me"),
    "tag": Option("tags", tag_list, "tag:vip"),
    "channel": Option("channel", one_of(Channel), "channel:sms"),
    "since": Option("since", since_moment, "since:3d"),
    "sort": Option("sort", sort_order, "sort:updated:desc"),
    "limit": Option("limit", whole_number("limit", LIST_LIMIT_MAX), "limit:50"),
    "page": Option("page", whole_number("page", PAGE_MAX), "page:2"),
}


def _list_grammar(words: list[str], now: datetime) -> ListCommand:
    values, rest = read_options(words, _LIST_OPTIONS, now)
    if rest:
        raise unexpected("list", rest[0], _LIST_OPTIONS)
    return ListCommand.model_validate(values)


async def _list(command: ListCommand, service: ConversationService, actor: Actor) -> CommandResult:
    query = await list_filter(command, service, actor)
    # Without `sort:`, the most urgent work first (bot/service/triage.py).
    page = await (service.find(query) if command.sort else triage_page(service, query))
    return CommandResult(kind="page", headline=_page_headline(page), page=page, query=query)


async def list_filter(
    command: ListCommand, service: ConversationService, actor: Actor
) -> ConversationFilter:
    """The backend filter a `list` command asks for; open and waiting unless a status is given.

    Without `sort:` the list is in the triage order, which reads each priority oldest first."""
    directory = service.directory
    queue_ids = [queue.id for queue in await directory.resolve_queues(list(command.queues))]
    agent = command.agent
    agent_id = None if agent in (None, "none") else await directory.resolve_agent(actor, str(agent))
    return ConversationFilter(
        statuses=command.statuses or list(ACTIVE_STATUSES),
        priorities=command.priorities,
        queueIds=queue_ids,
        tags=command.tags,
        agentId=agent_id,
        unassigned=agent == "none",
        channel=command.channel,
        createdAfter=command.since,
        orderBy=command.sort or OLDEST_FIRST,
        page=(command.page or 1) - 1,
        limit=command.limit or DEFAULT_LIST_LIMIT,
    )


def _page_headline(page: ResultPage[Conversation]) -> str:
    if page.totalItems == 0:
        return "No conversations match."
    if page.totalItems == 1 and page.page == 0:
        return "1 conversation."
    first = page.page * page.limit + 1
    last = first + len(page.items) - 1
    if not page.items:
        return f"ResultPage {page.page + 1} is past the end: {page.totalItems} conversations match."
    return (
        f"{first}-{last} of {page.totalItems} conversations (page {page.page + 1} of"
        f" {page.pages}){_order_words(page)}."
    )


def _order_words(page: ResultPage[Conversation]) -> str:
    """The triage order in words; a `sort:` someone typed they know already."""
    if page.orderBy != TRIAGE_ORDER:
        return ""
    return ", most urgent and oldest first"


async def _show(command: ShowCommand, service: ConversationService, actor: Actor) -> CommandResult:
    found = await service.get(command.id)
    return CommandResult(kind="conversation", headline=found.topic or found.id, conversation=found)


LIST = Subcommand(
    name="list",
    model=ListCommand,
    grammar=_list_grammar,
    usage="list [status:S[,S]] [priority:P[,P]] [queue:Q[,Q]] [agent:ID|me|none] [tag:T[,T]]"
    " [channel:C] [since:2h|3d|2026-11-01] [sort:FIELD[:asc|desc]] [limit:N] [page:N]",
    summary="List open and waiting conversations, most urgent first.",
    explanation="Lists the conversations that match every filter given, the most urgent first"
    " (URGENT, HIGH, NORMAL, LOW) and the oldest first within each priority. Separate several"
    " values with commas; `agent:me` is you and `agent:none` is unassigned. `since:` takes an age"
    " (`30m`, `2h`, `3d`, `1w`) or a date; `sort:` orders by created, updated, closed,"
    " priority, status, topic, id, queue or agent instead, optionally followed by `:asc` or"
    " `:desc`."
    f" `limit:` is 1-{LIST_LIMIT_MAX} and `page:` counts from 1.",
    examples=(
        "list status:open,waiting priority:urgent agent:me",
        "list since:3d sort:updated limit:50",
    ),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_list,
)

SHOW = Subcommand(
    name="show",
    model=ShowCommand,
    grammar=id_only("show", ShowCommand),
    usage="show <id>",
    summary="Show one conversation.",
    explanation="Shows one conversation with its details and tags.",
    examples=("show 8f3a2c1d",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_show,
)
