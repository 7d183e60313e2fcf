"""`assign`, `take` and `unassign`: who works on a conversation."""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import id_only, take_id
from bot.commands.result import CommandResult, changed
from bot.commands.spec import AssignCommand, TakeCommand, UnassignCommand
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import agent_ref
from bot.errors import InvalidInput
from bot.models import Actor, Agent
from bot.service.changes import Change
from bot.service.conversations import ConversationService


def _assign_grammar(words: list[str], now: datetime) -> AssignCommand:
    conversation, extra = take_id("assign", words)
    if not extra:
        raise InvalidInput(
            "`assign` needs an agent after the conversation id: a name, `@name`, an e-mail,"
            " an agent id or `me`."
        )
    # The rest is the agent: `assign 8f3a2c4e Ben Kovac` needs no quotes.
    return AssignCommand(id=conversation, agent=agent_ref(" ".join(extra)))


async def _assign(
    command: AssignCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    """Named as a person would say it: "Assigned to Ben Kovac.", or "to you"."""
    found: Agent | None = None
    if command.agent.strip().lower() == "me":
        agent_id, who = await service.directory.resolve_agent(actor, "me"), "you"
    else:
        found = await service.directory.find_agent(command.agent)
        agent_id, who = found.id, found.displayName
    result = changed(await service.assign(actor, command.id, agent_id), assigned_to(who))
    return result.model_copy(update={"agent": found})


def assigned_to(who: str) -> str:
    return f"Assigned to {who}."


async def _take(command: TakeCommand, service: ConversationService, actor: Actor) -> CommandResult:
    agent_id = await service.directory.resolve_agent(actor, "me")
    change = await service.assign(actor, command.id, agent_id)
    return changed(change, await _taken_headline(change, service))


async def _taken_headline(change: Change, service: ConversationService) -> str:
    """ "It is yours now." — and whose it was, when it was someone's."""
    previous = change.before.agentId if change.before is not None else None
    if previous is None:
        return "It is yours now."
    return f"It is yours now (it was with {await service.directory.agent_name(previous)})."


async def _unassign(
    command: UnassignCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    return changed(await service.unassign(actor, command.id), "Unassigned.")


ASSIGN = Subcommand(
    name="assign",
    model=AssignCommand,
    grammar=_assign_grammar,
    usage="assign <id> <name|@name|e-mail|agent-id|me>",
    summary="Give a conversation to an agent.",
    explanation="Assigns a conversation to an agent, named the way you would: their name or"
    " first name (case does not matter), `@name` or a Slack mention, their e-mail, their agent"
    " id, or `me` for yourself. An unknown name suggests the closest agents.",
    examples=("assign 8f3a2c1d me", "assign 8f3a2c1d @ben", "assign 8f3a2c1d Ben Kovac"),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_assign,
)

TAKE = Subcommand(
    name="take",
    model=TakeCommand,
    grammar=id_only("take", TakeCommand),
    usage="take <id>",
    summary="Take a conversation yourself.",
    explanation="Assigns a conversation to you, the same as `assign <id> me`.",
    examples=("take 8f3a2c1d",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_take,
)

UNASSIGN = Subcommand(
    name="unassign",
    model=UnassignCommand,
    grammar=id_only("unassign", UnassignCommand),
    usage="unassign <id>",
    summary="Remove its agent.",
    explanation="Removes the agent from a conversation.",
    examples=("unassign 8f3a2c1d",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_unassign,
)
