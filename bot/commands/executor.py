"""Runs a parsed command against the service: the one place the grammar meets the rules.

The Slack listeners and the CLI both call `execute` and only differ in how they draw the result.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from bot.commands.parser import USAGE, help_text
from bot.commands.spec import (
    AssignCommand,
    CloseCommand,
    Command,
    CreateCommand,
    DigestCommand,
    EscalateCommand,
    EscalationsCommand,
    HelpCommand,
    ListCommand,
    OncallCommand,
    RouteCommand,
    SchedulesCommand,
    ShowCommand,
    TagCommand,
    TakeCommand,
    UnassignCommand,
    UntagCommand,
    UpdateCommand,
)
from bot.errors import InvalidInput
from bot.models import (
    ACTIVE_STATUSES,
    Actor,
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Page,
    validated,
)
from bot.service.conversation_ids import with_full_id
from bot.service.conversations import Change, ConversationService
from bot.service.triage import OLDEST_FIRST, TRIAGE_ORDER, triage_page

DEFAULT_LIST_LIMIT = 20


class CommandResult(BaseModel):
    """What a command produced, for a surface to draw."""

    kind: Literal["conversation", "page", "help"]
    headline: str
    conversation: Conversation | None = None
    before: Conversation | None = None  # the conversation before a change, when it changed
    page: Page[Conversation] | None = None
    query: ConversationFilter | None = None
    changed: bool = False
    text: str | None = None
    agent: Agent | None = None  # whom `assign` gave it to, for a surface to mention


async def execute(command: Command, service: ConversationService, actor: Actor) -> CommandResult:
    # The id as typed first (a whole id costs nothing more); a prefix is completed only when
    # no conversation has it as its id (bot/service/conversation_ids.py).
    return await with_full_id(
        command, lambda typed: service.ids.complete(typed), lambda c: _run(c, service, actor)
    )


async def _run(command: Command, service: ConversationService, actor: Actor) -> CommandResult:
    match command:
        case HelpCommand(subcommand=subcommand):
            return CommandResult(kind="help", headline="convbot help", text=help_text(subcommand))
        case ShowCommand(id=conversation_id):
            found = await service.get(conversation_id)
            return CommandResult(
                kind="conversation", headline=found.topic or found.id, conversation=found
            )
        case ListCommand():
            query = await list_filter(command, service, actor)
            # Without `sort:`, the most urgent work first (bot/service/triage.py).
            page = await (service.list(query) if command.sort else triage_page(service, query))
            return CommandResult(kind="page", headline=_page_headline(page), page=page, query=query)
        case CreateCommand():
            data = await _create_data(command, service, actor)
            change = await service.create(actor, data)
            return _changed(change, f"Created conversation {change.conversation.id}.")
        case UpdateCommand():
            patch = await _patch(command, service)
            return _changed(await service.update(actor, command.id, patch), "Updated.")
        case AssignCommand(id=conversation_id, agent=agent):
            return await _assign(service, actor, conversation_id, agent)
        case TakeCommand(id=conversation_id):
            agent_id = await service.resolve_agent(actor, "me")
            change = await service.assign(actor, conversation_id, agent_id)
            return _changed(change, await _taken_headline(change, service))
        case UnassignCommand(id=conversation_id):
            return _changed(await service.unassign(actor, conversation_id), "Unassigned.")
        case RouteCommand(id=conversation_id):
            return _changed(await service.route(actor, conversation_id), "Routed.")
        case TagCommand(id=conversation_id, tags=tags):
            return _changed(await service.tag(actor, conversation_id, list(tags)), "Tagged.")
        case UntagCommand(id=conversation_id, tags=tags):
            return _changed(await service.untag(actor, conversation_id, list(tags)), "Untagged.")
        case CloseCommand(id=conversation_id):
            return _changed(await service.close(actor, conversation_id), "Closed.")
        case (
            DigestCommand()
            | SchedulesCommand()
            | EscalateCommand()
            | OncallCommand()
            | EscalationsCommand()
        ):
            # They post to and read from Slack, which this surface-independent layer cannot.
            raise InvalidInput(slack_only(command.kind))
    raise InvalidInput(f"Unsupported command {command.kind}.")  # pragma: no cover - exhaustive


# What a shell can do instead, where something truly exists (bot/cli/).
_IN_A_SHELL = {
    "digest": " In a shell, `convbot digest <name>` posts a configured digest now"
    " (`--dry-run` prints it).",
    "schedules": " The digests and when they run are under `digests:` in convbot.yml.",
    "oncall": " The rota is under `oncall.schedules:` in convbot.yml.",
}


def slack_only(name: str) -> str:
    """The refusal for a command that posts to or reads from Slack, from another surface."""
    return f"`{name}` works in Slack: type `/conv {USAGE[name]}` there." + _IN_A_SHELL.get(name, "")


async def _assign(
    service: ConversationService, actor: Actor, conversation_id: str, agent: str
) -> CommandResult:
    """Named as a person would say it: "Assigned to Ben Kovac.", or "to you"."""
    found: Agent | None = None
    if agent.strip().lower() == "me":
        agent_id, who = await service.resolve_agent(actor, "me"), "you"
    else:
        found = await service.find_agent(agent)
        agent_id, who = found.id, found.displayName
    result = _changed(await service.assign(actor, conversation_id, agent_id), assigned_to(who))
    return result.model_copy(update={"agent": found})


def assigned_to(who: str) -> str:
    return f"Assigned to {who}."


async def list_filter(
    command: ListCommand, service: ConversationService, actor: Actor
) -> ConversationFilter:
    """The backend filter a `list` command asks for; open and waiting unless a status is given.

    Without `sort:` the list is in the triage order, which reads each priority oldest first."""
    queue_ids = [queue.id for queue in await service.resolve_queues(list(command.queues))]
    agent = command.agent
    agent_id = None if agent in (None, "none") else await service.resolve_agent(actor, str(agent))
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


async def _create_data(
    command: CreateCommand, service: ConversationService, actor: Actor
) -> ConversationCreate:
    fields: dict[str, object] = {"topic": command.topic, "tags": list(dict.fromkeys(command.tags))}
    for name in ("summary", "priority", "status", "channel"):
        value = getattr(command, name)
        if value is not None:
            fields[name] = value
    if command.queue is not None:
        fields["queueId"] = (await service.resolve_queue(command.queue)).id
    if command.agent is not None:
        fields["agentId"] = await service.resolve_agent(actor, command.agent)
    return validated(ConversationCreate, fields)


async def _patch(command: UpdateCommand, service: ConversationService) -> ConversationPatch:
    fields: dict[str, object] = {
        name: getattr(command, name)
        for name in ("topic", "summary", "status", "priority")
        if getattr(command, name) is not None
    }
    if command.queue is not None:
        fields["queueId"] = (await service.resolve_queue(command.queue)).id
    if not fields:
        raise InvalidInput(
            "Nothing to update: give topic:, summary:, status:, priority: or queue:."
        )
    return validated(ConversationPatch, fields)


def _changed(change: Change, headline: str) -> CommandResult:
    if not change.changed:  # a second press or a no-op: why, as a person would say it
        headline = change.note or "It is already so: nothing changed."
    return CommandResult(
        kind="conversation",
        headline=headline,
        conversation=change.conversation,
        changed=change.changed,
        before=change.before,
    )


async def _taken_headline(change: Change, service: ConversationService) -> str:
    """ "It is yours now." — and whose it was, when it was someone's."""
    previous = change.before.agentId if change.before is not None else None
    if previous is None:
        return "It is yours now."
    return f"It is yours now (it was with {await service.agent_name(previous)})."


def _page_headline(page: Page[Conversation]) -> str:
    if page.totalItems == 0:
        return "No conversations match."
    if page.totalItems == 1 and page.page == 0:
        return "1 conversation."
    first = page.page * page.limit + 1
    last = first + len(page.items) - 1
    if not page.items:
        return f"Page {page.page + 1} is past the end: {page.totalItems} conversations match."
    return (
        f"{first}-{last} of {page.totalItems} conversations (page {page.page + 1} of"
        f" {page.pages}){_order_words(page)}."
    )


def _order_words(page: Page[Conversation]) -> str:
    """The triage order in words; a `sort:` someone typed they know already."""
    if page.orderBy != TRIAGE_ORDER:
        return ""
    return ", most urgent and oldest first"
