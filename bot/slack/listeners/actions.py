"""Buttons on cards, lists and the Home tab. A press redraws the message it was pressed on.

Which button is which, and what it applies, is the table in bot/slack/blocks/buttons.py; what a
press carries arrives decoded in the Bolt context (bot/slack/listeners/press_context.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.executor import execute
from bot.commands.parser import parse_tokens
from bot.commands.spec import ListCommand
from bot.commands.tokens import tokenize
from bot.errors import InvalidInput
from bot.models import Actor, Conversation
from bot.service import effects
from bot.service.effects import ConversationEffect
from bot.service.presses import Drawn, Pressed, Presses
from bot.slack.blocks.card import (
    CardContext,
    agent_label,
    ago_words,
    card_text,
    conversation_card,
    done_line,
)
from bot.slack.blocks.messages import error_mrkdwn, result_blocks
from bot.slack.blocks.modals import EDIT_MODAL, edit_modal, loading_modal, problem_modal
from bot.slack.blocks.mrkdwn import Mrkdwn, md, user_text
from bot.slack.blocks.refs import BROKEN_PAGE_BUTTON, CardRef, EditRef, PageRef
from bot.slack.context import SlackContext
from bot.slack.forms import fill_in
from bot.slack.handovers import tell_previous_agent
from bot.slack.home import publish_home
from bot.slack.listeners.answering import answering, observed, tell
from bot.slack.listeners.press_context import Listener, press_of
from bot.slack.listeners.press_notes import last_change, made_it, press_note
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
EDIT_TITLE = "Edit conversation"


def card_press(deps: SlackContext, presses: Presses) -> Listener:
    """Take, Route, Close, Escalate and the Priority select on a card."""

    async def pressed(
        ack: AsyncAck,
        context: AsyncBoltContext,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        await press_card(deps, presses, context, body, respond, client)

    return pressed


def show(deps: SlackContext) -> Listener:
    """A list row's View: the card, to the presser alone."""

    async def shown(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        await ack()
        press = press_of(context)
        async with answering(deps.metrics, press.button.metric, respond):
            ref = press.reference(CardRef)
            actor = await press.actor()
            found = await deps.service.get(ref.id)
            card_context = await deps.card_context(actor.agent_id)
            await respond(
                text=card_text(found),
                blocks=conversation_card(found, card_context),
                response_type="ephemeral",
                replace_original=False,
            )

    return shown


def list_page(deps: SlackContext) -> Listener:
    """Previous and Next under a list: the list command run again for that page."""

    async def paged(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
        await ack()
        press = press_of(context)
        async with answering(deps.metrics, press.button.metric, respond):
            ref = press.reference(PageRef)
            tokens = [t for t in tokenize(ref.q) if not t.lower().startswith("page:")]
            command = parse_tokens([*tokens, f"page:{ref.p}"])
            if not isinstance(command, ListCommand):
                # A paging button replays a list and nothing else: a value that says `close …`
                # or `create …` (an old message, a forged one) must not act on its behalf.
                raise InvalidInput(BROKEN_PAGE_BUTTON)
            actor = await press.actor()
            result = await execute(command, deps.service, actor)
            card_context = await deps.card_context(actor.agent_id)
            fallback, blocks = result_blocks(result, card_context, command_text=ref.q)
            await respond(text=fallback, blocks=blocks, replace_original=True)

    return paged


def home_refresh(deps: SlackContext) -> Listener:
    async def refresh(ack: AsyncAck, context: AsyncBoltContext, client: AsyncWebClient) -> None:
        await ack()
        press = press_of(context)
        async with observed(deps.metrics, "action", press.button.metric):
            await publish_home(deps, client, press.user)

    return refresh


def edit_form(deps: SlackContext) -> Listener:
    async def edit(
        ack: AsyncAck,
        context: AsyncBoltContext,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        await open_edit_modal(deps, context, body, client, respond)

    return edit


async def press_card(
    deps: SlackContext,
    presses: Presses,
    context: AsyncBoltContext,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """Apply a card button once, on the version it was drawn from, and redraw that card
    with who did what."""
    press = press_of(context)
    button, user = press.button, press.user
    effect = button.conversation_effect
    on_home = _on_home(body)
    try:
        async with observed(deps.metrics, "action", button.metric):
            actor = await press.actor()
            ref = press.reference(CardRef)
            pressed = await presses.press(actor, Drawn(ref.id, ref.v), effect, press.choice)
            note = await press_note(deps, pressed)
    except Exception as error:
        if on_home:
            warning = Mrkdwn(":warning: " + error_mrkdwn(error))
            await publish_home(deps, client, user, notice=warning)
        else:
            await tell(respond, error)  # beside the card: the card may be someone else's redraw
        return
    shown = pressed.conversation
    previous = pressed.taken_from
    where = (body.get("container") or {}) if not on_home else {}
    if previous is not None:
        await tell_previous_agent(
            deps,
            client,
            previous,
            actor,
            shown,
            channel=None if where.get("is_ephemeral") else where.get("channel_id"),
            message_ts=None if where.get("is_ephemeral") else where.get("message_ts"),
        )
    if on_home:
        info = Mrkdwn(":information_source: " + user_text(note, 2900)) if note else None
        await publish_home(deps, client, user, notice=info)
        return
    shared = not where.get("is_ephemeral", False)
    if effect is effects.TAKE and pressed.taken_meanwhile(actor):
        await _offer_fresh_card(deps, respond, actor, shown)
        return
    card_context = await deps.card_context(
        None if shared else actor.agent_id, [shown.id], channel=where.get("channel_id")
    )
    done = _done(effect, actor, pressed, card_context) if pressed.changed else None
    await respond(
        text=card_text(shown),
        blocks=conversation_card(shown, card_context, note=note, done=done),
        replace_original=True,
    )


async def _offer_fresh_card(
    deps: SlackContext, respond: AsyncRespond, actor: Actor, current: Conversation
) -> None:
    """Take on a card drawn before someone else took the conversation: nothing is taken.

    Taking it anyway would take it from someone the presser never saw had it, which is the
    silent stealing the confirm dialog exists to prevent. The presser alone is told who has it,
    with the card as it is now (its Take asks before taking it from them), and the shared card
    is left as it is: nobody else asked for anything.
    """
    context = await deps.card_context(actor.agent_id, [current.id])
    who = agent_label(current.agentId, context)
    entry = await last_change(deps, current.id)
    if entry is not None and entry.action == "assign" and made_it(entry, current):
        what = f"{who} took it {ago_words(entry.at, utcnow())}, after this card was drawn"
    else:  # who gave it to them is not known here (a change made in Infobip itself)
        what = f"{who} has it now and this card was out of date"
    sentence = Mrkdwn(f"{what}, so nothing was done. To take it from them, press Take below.")
    blocks = [SectionBlock(text=md(sentence)), *conversation_card(current, context)]
    await respond(
        text=sentence,
        blocks=blocks,
        response_type="ephemeral",
        replace_original=False,
    )


def _done(effect: ConversationEffect, actor: Actor, pressed: Pressed, context: CardContext) -> str:
    """The card's "Taken by @ana just now" line."""
    shown, before = pressed.conversation, pressed.before
    what, name = effect.done, effect.name
    if name == effects.TAKE.name and before is not None and before.agentId is not None:
        what = f"Taken from {agent_label(before.agentId, context)}"
    elif name == effects.PRIORITY.name:
        what = f"Priority set to {shown.priority.value}"
    now = utcnow()
    return done_line(what, actor.id, now, now)


async def open_edit_modal(
    deps: SlackContext,
    context: AsyncBoltContext,
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """Open at once (trigger_id lives 3 s), then fill in the conversation and queues.

    A failure after the modal opened is shown in the modal, which would otherwise keep saying
    "Loading…"; before that, in an ephemeral message (when there is one to answer: not on Home).
    """
    opened: dict[str, Any] | None = None
    try:
        press = press_of(context)
        async with observed(deps.metrics, "action", press.button.metric):
            ref = press.reference(CardRef)
            answer = await client.views_open(
                trigger_id=body.get("trigger_id") or "",
                view=loading_modal(EDIT_TITLE, EDIT_MODAL),
            )
            opened = answer["view"]
            filled = await _edit_view(deps, ref, body)
            await fill_in(client, opened["id"], filled, hash=opened.get("hash"))
    except Exception as error:
        await _tell(client, respond, opened, error)


async def _edit_view(deps: SlackContext, ref: CardRef, body: dict[str, Any]) -> View:
    current = await deps.service.get(ref.id)
    queues = await deps.queues()
    metadata = EditRef(
        card=CardRef(id=current.id, v=current.updatedAt),
        response_url=body.get("response_url"),
        home=_on_home(body),
    )
    return edit_modal(current, queues, private_metadata=metadata.model_dump_json())


async def _tell(
    client: AsyncWebClient,
    respond: AsyncRespond,
    modal: dict[str, Any] | None,
    error: BaseException,
) -> None:
    """Say what went wrong where the person is looking: the open modal, else the message."""
    if modal is not None:
        view = problem_modal(EDIT_TITLE, error_mrkdwn(error))
        await fill_in(client, modal["id"], view)
    elif respond.response_url is not None:
        await tell(respond, error)


def _on_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view"
