"""`create`, `update`, `tag`, `untag`, `route` and `close`: making and changing conversations."""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import (
    Option,
    id_and_tags,
    id_only,
    read_options,
    take_id,
    unexpected,
)
from bot.commands.result import CommandResult, changed
from bot.commands.spec import (
    CloseCommand,
    CreateCommand,
    RouteCommand,
    TagCommand,
    UntagCommand,
    UpdateCommand,
)
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import (
    agent_option,
    counted_tags,
    new_status,
    one_of,
    queue_name,
    summary_text,
    tag_name,
    topic_text,
)
from bot.errors import InvalidInput
from bot.field_rules import TAG_MAX, TAGS_PER_COMMAND, validated
from bot.models import Actor, Channel, ConversationCreate, ConversationPatch, Priority, Status
from bot.service.conversations import ConversationService

_CREATE_OPTIONS = {
    "summary": Option("summary", summary_text, 'summary:"what happened"'),
    "priority": Option("priority", one_of(Priority), "priority:high"),
    "status": Option("status", new_status, "status:waiting"),
    "channel": Option("channel", one_of(Channel), "channel:whatsapp"),
    "queue": Option("queue", queue_name, "queue:billing"),
    "agent": Option("agent", agent_option, "agent:me"),
}
_UPDATE_OPTIONS = {
    "topic": Option("topic", topic_text, 'topic:"new topic"'),
    "summary": Option("summary", summary_text, 'summary:"what happened"'),
    "status": Option("status", one_of(Status), "status:solved"),
    "priority": Option("priority", one_of(Priority), "priority:urgent"),
    "queue": Option("queue", queue_name, "queue:billing"),
}


def _create_grammar(words: list[str], now: datetime) -> CreateCommand:
    values, rest = read_options(words, _CREATE_OPTIONS, now)
    is_tag = [len(word) > 1 and word.startswith("#") for word in rest]
    tags = counted_tags(tag_name(word) for word, tag in zip(rest, is_tag, strict=True) if tag)
    topic = " ".join(word for word, tag in zip(rest, is_tag, strict=True) if not tag).strip()
    if not topic:
        raise InvalidInput("`create` needs a topic, e.g. `create Customer can't log in`.")
    return CreateCommand.model_validate({**values, "topic": topic_text(topic, now), "tags": tags})


async def _create(
    command: CreateCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    fields: dict[str, object] = {"topic": command.topic, "tags": list(dict.fromkeys(command.tags))}
    for name in ("summary", "priority", "status", "channel"):
        value = getattr(command, name)
        if value is not None:
            fields[name] = value
    if command.queue is not None:
        fields["queueId"] = (await service.directory.resolve_queue(command.queue)).id
    if command.agent is not None:
        fields["agentId"] = await service.directory.resolve_agent(actor, command.agent)
    change = await service.create(actor, validated(ConversationCreate, fields))
    return changed(change, f"Created conversation {change.conversation.id}.")


def _update_grammar(words: list[str], now: datetime) -> UpdateCommand:
    values, rest = read_options(words, _UPDATE_OPTIONS, now)
    conversation, extra = take_id("update", rest)
    if extra:
        raise unexpected("update", extra[0], _UPDATE_OPTIONS)
    if not values:
        raise InvalidInput(
            "`update` needs at least one change: topic:, summary:, status:, priority: or queue:."
        )
    return UpdateCommand.model_validate({**values, "id": conversation})


async def _update(
    command: UpdateCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    fields: dict[str, object] = {
        name: getattr(command, name)
        for name in ("topic", "summary", "status", "priority")
        if getattr(command, name) is not None
    }
    if command.queue is not None:
        fields["queueId"] = (await service.directory.resolve_queue(command.queue)).id
    if not fields:
        raise InvalidInput(
            "Nothing to update: give topic:, summary:, status:, priority: or queue:."
        )
    patch = validated(ConversationPatch, fields)
    return changed(await service.update(actor, command.id, patch), "Updated.")


async def _tag(command: TagCommand, service: ConversationService, actor: Actor) -> CommandResult:
    return changed(await service.tag(actor, command.id, list(command.tags)), "Tagged.")


async def _untag(
    command: UntagCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    return changed(await service.untag(actor, command.id, list(command.tags)), "Untagged.")


async def _route(
    command: RouteCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    return changed(await service.route(actor, command.id), "Routed.")


async def _close(
    command: CloseCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    return changed(await service.close(actor, command.id), "Closed.")


CREATE = Subcommand(
    name="create",
    model=CreateCommand,
    grammar=_create_grammar,
    usage='create <topic words> [summary:"…"] [priority:P] [status:S] [channel:C] [queue:Q]'
    " [agent:A] [#tag …]",
    summary="Open a new conversation.",
    explanation="Opens a new conversation. The free words are its topic (up to 1000"
    " characters); `key:value` words set options and `#words` add tags. Priority is URGENT,"
    " HIGH, NORMAL or LOW; status is OPEN, WAITING or SOLVED. Put values with spaces in quotes.",
    examples=(
        "create Customer can't log in priority:high #login",
        'create Refund request summary:"Charged twice for order 1234" queue:billing',
    ),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_create,
)

UPDATE = Subcommand(
    name="update",
    model=UpdateCommand,
    grammar=_update_grammar,
    usage='update <id> [topic:"…"] [summary:"…"] [status:S] [priority:P] [queue:Q]',
    summary="Change its topic, summary, status, priority or queue.",
    explanation="Changes a conversation's topic, summary, status, priority or queue; give at"
    " least one. Put values with spaces in quotes.",
    examples=(
        "update 8f3a2c1d priority:urgent status:waiting",
        'update 8f3a2c1d topic:"Login fails"',
    ),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_update,
)

ROUTE = Subcommand(
    name="route",
    model=RouteCommand,
    grammar=id_only("route", RouteCommand),
    usage="route <id>",
    summary="Let the routing rules pick its queue.",
    explanation="Runs the routing rules on a conversation, which picks its queue.",
    examples=("route 8f3a2c1d",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_route,
)

TAG = Subcommand(
    name="tag",
    model=TagCommand,
    grammar=id_and_tags("tag", TagCommand),
    usage="tag <id> <tag> [<tag> …]",
    summary="Add tags.",
    explanation=f"Adds tags to a conversation. A tag is 1-{TAG_MAX} letters, digits, `.`, `_`"
    f" or `-`; a leading `#` is ignored; at most {TAGS_PER_COMMAND} tags per command.",
    examples=("tag 8f3a2c1d billing vip",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_tag,
)

UNTAG = Subcommand(
    name="untag",
    model=UntagCommand,
    grammar=id_and_tags("untag", UntagCommand),
    usage="untag <id> <tag> [<tag> …]",
    summary="Remove tags.",
    explanation="Removes tags from a conversation.",
    examples=("untag 8f3a2c1d vip",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_untag,
)

CLOSE = Subcommand(
    name="close",
    model=CloseCommand,
    grammar=id_only("close", CloseCommand),
    usage="close <id>",
    summary="Close a conversation for good.",
    explanation="Closes a conversation. A closed conversation can no longer be changed.",
    examples=("close 8f3a2c1d",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_close,
)
