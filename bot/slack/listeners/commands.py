"""`/conv`: ack at once, run the grammar, answer through response_url."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.commands.registry import REGISTRY, SUBCOMMANDS
from bot.commands.result import CommandResult
from bot.commands.spec import (
    Command,
    CreateCommand,
    DigestCommand,
    EscalateCommand,
    EscalationsCommand,
    HelpCommand,
    NoteCommand,
    OncallCommand,
    ReplyCommand,
    SchedulesCommand,
)
from bot.commands.subcommand import Surface
from bot.commands.subcommands.assigning import assigned_to
from bot.errors import ConvbotError, InvalidInput
from bot.models import Actor, Conversation
from bot.service.conversation_ids import with_full_id
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.messages import result_blocks
from bot.slack.blocks.modals import CREATE_MODAL, create_modal, loading_modal
from bot.slack.blocks.mrkdwn import Mrkdwn, escape, md, mention
from bot.slack.channels import post_joining
from bot.slack.context import SlackContext
from bot.slack.digests import post_digest_now, schedules_reply
from bot.slack.failures import SLACK_FAILURES
from bot.slack.forms import fill_in
from bot.slack.handovers import tell_previous_agent
from bot.slack.listeners.answering import observed, tell
from bot.slack.listeners.talk import open_note_form, open_reply_form
from bot.slack.oncall import escalate_reply, escalations_reply, oncall_reply
from bot.slack.text import from_slack

log = logging.getLogger(__name__)
READS = ("help", "text", "transcript", "page")
SLASH_COMMAND = "/conv"


Reply = tuple[str, list[Block], bool]  # text, blocks, for the whole channel?
_C = TypeVar("_C", bound=Command)


@dataclass(frozen=True)
class Asked:
    """Who asked, where: what a Slack-only subcommand's handler needs besides the command."""

    deps: SlackContext
    actor: Actor
    user_id: str
    channel_id: str
    trigger_id: str = ""  # opens a form; it lives 3 s from when Slack sent the command


# A Slack-only subcommand's handler; None when it posted its answer in the channel itself.
SlackHandler = Callable[[_C, Asked], Awaitable[Reply | None]]


async def _digest(command: DigestCommand, asked: Asked) -> Reply:
    done = await post_digest_now(asked.deps, asked.channel_id, asked.actor, command.name)
    return done, [SectionBlock(text=md(escape(done)))], False


async def _schedules(command: SchedulesCommand, asked: Asked) -> Reply:
    fallback, blocks = await schedules_reply(asked.deps)
    return fallback, blocks, False


async def _escalate(command: EscalateCommand, asked: Asked) -> Reply | None:
    # None: posted in the channel, to be redrawn when the escalation ends.
    return await with_full_id(
        command,
        asked.deps.service.ids.complete,
        lambda c: escalate_reply(asked.deps, asked.actor, c, asked.channel_id),
    )


async def _oncall(command: OncallCommand, asked: Asked) -> Reply:
    fallback, blocks = await oncall_reply(asked.deps, asked.user_id, command)
    return fallback, blocks, False


async def _reply(command: ReplyCommand, asked: Asked) -> None:
    # In Slack a reply is sent from its form, which shows whom it goes to: never from the
    # command line alone, where a note meant for colleagues is one word away.
    deps = asked.deps
    await open_reply_form(deps, deps.client, asked.trigger_id, asked.user_id, command)


async def _note(command: NoteCommand, asked: Asked) -> Reply | None:
    # A note is internal: with its text it is saved at once; without, a form asks for it.
    if command.text is not None:
        fallback, blocks, shared, _ = await _executed(
            asked.deps, command, asked.actor, "", asked.channel_id
        )
        return fallback, blocks, shared
    deps = asked.deps
    await open_note_form(deps, deps.client, asked.trigger_id, asked.user_id, command)
    return None


async def _escalations(command: EscalationsCommand, asked: Asked) -> Reply:
    fallback, blocks = await escalations_reply(asked.deps)
    return fallback, blocks, False


def _handles(model: type[_C], handler: SlackHandler[_C]) -> tuple[type[Any], SlackHandler[Any]]:
    """One entry of SLACK_HANDLERS; the type checker sees that the handler takes the model."""
    return model, handler


# The handlers of the registry's Slack-only entries (bot/commands/registry.py), by model: they
# post to Slack, which the commands layer below cannot reach.
SLACK_HANDLERS: dict[type[Any], SlackHandler[Any]] = dict(
    [
        _handles(DigestCommand, _digest),
        _handles(SchedulesCommand, _schedules),
        _handles(EscalateCommand, _escalate),
        _handles(OncallCommand, _oncall),
        _handles(EscalationsCommand, _escalations),
        _handles(ReplyCommand, _reply),
        _handles(NoteCommand, _note),
    ]
)


def unhandled() -> list[str]:
    """The registry entries that run in Slack but have no handler there."""
    return [
        entry.name
        for entry in REGISTRY
        if Surface.SLACK in entry.surfaces
        and entry.run is None
        and entry.model not in SLACK_HANDLERS
    ]


def register(app: AsyncApp, deps: SlackContext) -> None:
    if missing := unhandled():
        raise RuntimeError(f"No Slack handler for the subcommands {missing}.")

    @app.command(SLASH_COMMAND)
    async def conv(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # Slack allows 3 s; the answer may need a slow backend, so it goes via response_url.
        await ack()
        text = from_slack(command.get("text") or "")
        if text.strip().lower() == "create":
            await open_create_modal(deps, client, command.get("trigger_id") or "", respond)
            return
        user_id, channel_id = command.get("user_id") or "", command.get("channel_id") or ""
        trigger_id = command.get("trigger_id") or ""
        await answer(deps, text, user_id, respond, channel_id=channel_id, trigger_id=trigger_id)


async def answer(
    deps: SlackContext,
    text: str,
    user_id: str,
    respond: AsyncRespond,
    *,
    channel_id: str = "",
    trigger_id: str = "",
) -> None:
    blocks: list[Block]
    try:
        async with observed(deps.metrics, "command", _metric_name(text)):
            command = parse(text)
            if isinstance(command, HelpCommand):
                # Help needs nobody's identity and no backend: a slow or stalled Infobip must
                # not hold up the one answer that says how to work around it.
                result = await execute(command, deps.service, Actor(id=user_id, surface="slack"))
                fallback, blocks = result_blocks(result, CardContext(), command_text=text)
                await respond(text=fallback, blocks=blocks, response_type="ephemeral")
                return
            actor = await deps.identity.actor(user_id)
            # Slack-only commands: the executor cannot post to Slack, so they are answered here.
            handler = SLACK_HANDLERS.get(type(command))
            if handler is None:
                fallback, blocks, shared, card = await _executed(
                    deps, command, actor, text, channel_id
                )
                threaded = shared and card is not None and not card.is_closed
                if threaded and deps.config.threads.is_auto(channel_id):
                    assert card is not None
                    if await post_with_thread(deps, actor, card, channel_id, fallback, blocks):
                        return
            else:
                asked = Asked(deps, actor, user_id, channel_id, trigger_id)
                reply = await handler(command, asked)
                if reply is None:
                    return
                fallback, blocks, shared = reply
    except Exception as error:
        await tell(respond, error)
        return
    visible = "in_channel" if shared else "ephemeral"
    await respond(text=fallback, blocks=blocks, response_type=visible)


async def _executed(
    deps: SlackContext, command: Command, actor: Actor, text: str, channel_id: str
) -> tuple[str, list[Block], bool, Conversation | None]:
    """A grammar command run by the executor: `(text, blocks, for the whole channel?, the
    conversation its card shows)`."""
    result = _mentioning(await execute(command, deps.service, actor), deps)
    shared = _for_channel(result, command.kind)
    # A card the whole channel sees is drawn for no one in particular: Take must stay for
    # everyone, even when it is already the presser's.
    context = await deps.card_context(
        None if shared else actor.agent_id,
        _shown(result, command),
        channel=channel_id or None,
    )
    # `show` draws one conversation: worth the one request that finds the Slack message it
    # came from. Lists and changes are not, so their cards go without the link.
    link = await _slack_message(deps, result) if command.kind == "show" else None
    fallback, blocks = result_blocks(result, context, command_text=text, slack_message=link)
    before, after = result.before, result.conversation
    if result.changed and before is not None and before.agentId is not None and after:
        # Taken or reassigned from someone by `take`/`assign`/`unassign`: they are told.
        await tell_previous_agent(deps, deps.client, before.agentId, actor, after)
    return fallback, blocks, shared, result.conversation


async def post_with_thread(
    deps: SlackContext,
    actor: Actor,
    conversation: Conversation,
    channel_id: str,
    fallback: str,
    blocks: list[Block],
) -> bool:
    """In a `threads: auto` channel, the card is posted and its thread opened at once; False
    when Slack refused the post (answered through response_url instead, without a thread).

    A card posted through response_url has no ts the bot ever learns (Slack answers such a
    post with a bare "ok"), and a thread hangs under a ts: so here the card is posted with
    chat.postMessage, whose answer carries it.
    """
    try:
        posted = await post_joining(deps.client, channel_id, fallback, blocks)
    except SLACK_FAILURES:
        log.warning("could not post the card in %s to open its thread", channel_id, exc_info=True)
        return False
    try:
        await deps.threads.open(actor, conversation, channel_id, str(posted["ts"]))
    except Exception:  # the card is out; a thread that failed to open is opened by Thread
        log.exception("the thread of %s did not open in %s", conversation.id, channel_id)
    return True


async def _slack_message(deps: SlackContext, result: CommandResult) -> str | None:
    """The link to the Slack message the shown conversation came from; a metadata read that
    fails leaves the link out rather than the card."""
    if result.conversation is None:
        return None
    try:
        return await deps.service.sources.slack_message(result.conversation.id)
    except ConvbotError as error:
        log.info("no Slack message link for %s: %s", result.conversation.id, error)
        return None


def _mentioning(result: CommandResult, deps: SlackContext) -> CommandResult:
    """ "Assigned to Ben Kovac (@ben).": the mention notifies them, when they are linked."""
    agent = result.agent
    user_id = deps.identity.slack_users().get(agent.id) if agent is not None else None
    if agent is None or user_id is None or not result.changed:
        return result
    who = f"{escape(agent.displayName)} ({mention(user_id)})"
    # model_copy keeps the Mrkdwn type, which validation would turn into escaped text.
    return result.model_copy(update={"headline": Mrkdwn(assigned_to(who))})


def _shown(result: CommandResult, command: Command) -> list[str]:
    """The conversations a result draws, whose snoozes the card shows. One created a moment
    ago has none: reading them would cost every create a database query."""
    if isinstance(command, CreateCommand):
        return []
    if result.conversation is not None:
        return [result.conversation.id]
    return [item.id for item in result.page.items] if result.page is not None else []


def _metric_name(text: str) -> str:
    """The subcommand, or "unknown": a label per typo would grow the metrics without bound."""
    word = (text.split() or ["help"])[0].lower()
    return word if word in SUBCOMMANDS else "unknown"


def _for_channel(result: CommandResult, kind: str) -> bool:
    """Changes are news for the channel; reads, and changes that changed nothing, are not."""
    return result.kind not in READS and kind != "show" and result.changed


async def open_create_modal(
    deps: SlackContext, client: AsyncWebClient, trigger_id: str, respond: AsyncRespond
) -> None:
    """Open first (the trigger_id dies after 3 s), then fill in the backend's queues."""
    try:
        async with observed(deps.metrics, "command", "create-modal"):
            opened = await client.views_open(
                trigger_id=trigger_id, view=loading_modal("New conversation", CREATE_MODAL)
            )
            view = opened["view"]
            try:
                queues = await deps.queues()
            except Exception:
                queues = []
            await fill_in(client, view["id"], create_modal(queues), hash=view.get("hash"))
    except SlackApiError as error:
        await tell(respond, _form_refused(error))


def _form_refused(error: SlackApiError) -> InvalidInput:
    code = error.response.get("error") if error.response is not None else None
    return InvalidInput(
        f"Slack did not open the form ({code or 'no reason given'}); run `/conv create` again, "
        "or give it all at once: `/conv create <topic words> priority:high #tag`."
    )
