"""Modal submissions: field errors inline before the ack; the change itself after it."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConvbotError
from bot.models import Actor, Conversation, ConversationCreate, ConversationPatch
from bot.service import effects
from bot.service.effects import Applied
from bot.service.permissions import decided
from bot.service.presses import AnotherPress, Drawn, Pressed, Presses
from bot.slack.blocks.card import card_text, conversation_card, done_line
from bot.slack.blocks.messages import error_reply, sentence_for
from bot.slack.blocks.modals import (
    CREATE_MODAL,
    EDIT_MODAL,
    FIELD_TOPIC,
    field_errors,
    read_create,
    read_edit,
)
from bot.slack.blocks.refs import EditRef, MessageRef
from bot.slack.context import SlackContext
from bot.slack.failures import SLACK_FAILURES
from bot.slack.home import publish_home
from bot.slack.listeners.answering import observed
from bot.slack.redeliveries import first_submission
from bot.slack.respond import RetryingRespond
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
DONE = {"create": "Created", "edit": "Edited"}  # the card's "Edited by @ana just now"


def register(app: AsyncApp, deps: SlackContext, presses: Presses) -> None:
    @app.view(CREATE_MODAL)
    async def create_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        values = _values(body)
        asker = Actor(id=user, surface="slack")
        view = body.get("view") or {}
        source = _source(view)
        try:
            data, errors = field_errors(ConversationCreate, read_create(values))
            if not errors:
                # Checked before closing the modal, so a refusal shows where the person looks.
                await deps.service.authorize(asker, effects.CREATE.permission, None)
        except ConvbotError as error:
            errors = {FIELD_TOPIC: sentence_for(error)[:150]}
        if errors or not isinstance(data, ConversationCreate):
            await ack(response_action="errors", errors=errors)
            return
        if not await first_submission(deps.slack_events, view.get("id")):
            await ack()  # the same submission again: its first delivery creates it, once
            return
        await ack()
        link = source.permalink if source is not None else None
        with decided(asker, effects.CREATE.permission):  # allowed above: not asked again
            await _deliver(
                deps,
                client,
                user,
                "create",
                lambda actor: deps.service.create(actor, data),
                slack_message=link,
            )

    @app.view(EDIT_MODAL)
    async def edit_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        try:
            ref = EditRef.model_validate_json(
                (body.get("view") or {}).get("private_metadata") or ""
            )
            patch, errors = field_errors(ConversationPatch, read_edit(_values(body)))
        except (ConvbotError, ValidationError) as error:
            await ack(response_action="errors", errors={FIELD_TOPIC: sentence_for(error)[:150]})
            return
        if errors or not isinstance(patch, ConversationPatch):
            await ack(response_action="errors", errors=errors)
            return
        await ack()

        async def apply(actor: Actor) -> Pressed:
            async def change(current: Conversation) -> Applied:
                return Applied(await deps.service.update(actor, current.id, patch))

            # The same claim as a card press: an edit and a press (or two edits) of one
            # version cannot both apply, so nobody's change is silently overwritten.
            drawn = Drawn(ref.card.id, ref.card.v)
            try:
                pressed = await presses.once(actor, drawn, effects.EDIT, change)
            except AnotherPress:
                raise _Stale() from None
            if pressed.stale:
                raise _Stale()
            return pressed

        await _deliver(deps, client, user, "edit", apply, response_url=ref.response_url)
        if ref.home:
            await publish_home(deps, client, user)


def _source(view: dict[str, Any]) -> MessageRef | None:
    """The message a create form was opened on (the "Create conversation" shortcut). A form
    whose reference cannot be read is still created, only without the link back."""
    try:
        return MessageRef.decode(view.get("private_metadata"))
    except ConvbotError:
        log.info("create form %s: no readable message reference; no link kept", view.get("id"))
        return None


class _Stale(ConvbotError):
    def __init__(self) -> None:
        super().__init__(
            "Your edit was not applied: someone changed the conversation after you opened the "
            "form. Press Edit again to start from its current state."
        )


async def _deliver(
    deps: SlackContext,
    client: AsyncWebClient,
    user: str,
    name: str,
    work: Any,
    *,
    response_url: str | None = None,
    slack_message: str | None = None,
) -> None:
    """Do the change, then post the resulting card to the person (and redraw the source card).
    `slack_message`: the link to the Slack message a new conversation came from, kept in its
    metadata and shown on its card once kept."""
    try:
        async with observed(deps.metrics, "view", name):
            actor = await deps.identity.actor(user)
            change = await work(actor)
            if slack_message is not None:
                kept = await deps.service.sources.keep(actor, change.conversation.id, slack_message)
                slack_message = slack_message if kept else None
            context = await deps.card_context(actor.agent_id)
    except Exception as error:
        text, blocks = error_reply(error)
        await _tell_user(client, user, name, text, blocks)
        return
    conversation = change.conversation
    now = utcnow()
    done = DONE.get(name) if change.changed else None
    blocks = conversation_card(
        conversation,
        context,
        note=None if change.changed else change.note,  # "It already has that topic."
        done=done_line(done, actor.id, now, now) if done else None,
        slack_message=slack_message,
    )
    await _tell_user(client, user, name, card_text(conversation), blocks)
    if response_url:
        redraw = RetryingRespond(response_url=response_url, session=client.session)
        await redraw(text=card_text(conversation), blocks=blocks, replace_original=True)


async def _tell_user(
    client: AsyncWebClient, user: str, name: str, text: str, blocks: list[Block]
) -> None:
    """DM the outcome. Slack may refuse (a user it does not know, DMs it will not open): the
    work is done either way, so that is a warning, not an unhandled error."""
    try:
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SLACK_FAILURES:
        log.warning("could not DM %s the outcome of the %s form", user, name, exc_info=True)


def _values(body: dict[str, Any]) -> dict[str, Any]:
    state = ((body.get("view") or {}).get("state") or {}).get("values")
    return state if isinstance(state, dict) else {}
