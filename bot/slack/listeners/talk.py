"""Reply and Note from Slack: the card's buttons and `/conv reply` open a form; Send (or Save)
sends it. Everything the service refuses is said in the form, text kept, so nothing typed is lost.

The form opens at once (a trigger_id lives 3 s) and is filled in when the service has checked who
may answer whom (`Transcripts.reply_plan`): a closed conversation, an unlinked person or someone
else's customer is refused before a word is written. Send is acked with a "Sending…" view and the
message goes out after, so a slow Infobip never turns into Slack's "We had some trouble…".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.backends.infobip.errors import MaybeDone
from bot.commands.spec import NoteCommand, ReplyCommand
from bot.commands.subcommands.transcripts import sent_line
from bot.errors import InvalidInput
from bot.messages import MESSAGE_TEXT_MAX, NOTE_MAX
from bot.models import Actor, Channel
from bot.service.conversation_ids import with_full_id
from bot.service.transcripts import ReplyTargetChanged
from bot.slack.blocks.messages import error_mrkdwn
from bot.slack.blocks.modals import loading_modal, problem_modal
from bot.slack.blocks.mrkdwn import Mrkdwn
from bot.slack.blocks.refs import CardRef
from bot.slack.blocks.talk_forms import (
    FIELD_NOTE,
    FIELD_REPLY,
    FORM_TEXT_MAX,
    NOTE_MODAL,
    NOTE_TITLE,
    REPLY_MODAL,
    REPLY_TITLE,
    TalkRef,
    done_modal,
    note_modal,
    note_ref,
    read_text,
    reply_modal,
    reply_ref,
    working_modal,
)
from bot.slack.context import SlackContext
from bot.slack.forms import fill_in
from bot.slack.listeners.answering import observed, tell
from bot.slack.listeners.press_context import Listener, press_of
from bot.slack.redeliveries import first_submission

log = logging.getLogger(__name__)
# Fills a form that opened as "Loading…": what the person asked for, or why not.
Filling = Callable[[Actor], Awaitable[View]]


# Opens a form: (client, trigger_id, who pressed, the conversation id).
Opener = Callable[[AsyncWebClient, str, str, str], Awaitable[None]]


def reply_form(deps: SlackContext) -> Listener:
    """The Reply button, on a card or in a thread."""

    async def opener(client: AsyncWebClient, trigger: str, user: str, conversation: str) -> None:
        await open_reply_form(deps, client, trigger, user, ReplyCommand(id=conversation))

    return _form_press(deps, opener)


def note_form(deps: SlackContext) -> Listener:
    """The Note button, on a card or in a thread."""

    async def opener(client: AsyncWebClient, trigger: str, user: str, conversation: str) -> None:
        await open_note_form(deps, client, trigger, user, NoteCommand(id=conversation))

    return _form_press(deps, opener)


def _form_press(deps: SlackContext, opener: Opener) -> Listener:
    async def pressed(
        ack: AsyncAck,
        context: AsyncBoltContext,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        press = press_of(context)
        async with observed(deps.metrics, "action", press.button.metric):
            try:
                conversation_id = press.reference(CardRef).id
            except InvalidInput as error:
                await tell(respond, error)
                return
            await opener(client, body.get("trigger_id") or "", press.user, conversation_id)

    return pressed


async def open_reply_form(
    deps: SlackContext, client: AsyncWebClient, trigger_id: str, user: str, command: ReplyCommand
) -> None:
    """The reply form for a conversation (its id may be a typed prefix), with the text to check
    when `/conv reply <id> <text>` gave one. A text longer than the form holds is refused before
    anything opens."""
    text = command.text or ""
    if len(text) > FORM_TEXT_MAX:
        raise InvalidInput(
            f"The reply is {len(text):,} characters; Slack's form holds {FORM_TEXT_MAX:,}."
            " Shorten it, or send it from a shell: `convbot conv reply <id> <text>`."
        )

    async def form(actor: Actor) -> View:
        plan = await with_full_id(
            command,
            deps.service.ids.complete,
            lambda typed: deps.service.transcripts.reply_plan(actor, typed.id),
        )
        return reply_modal(reply_ref(plan), text, last_inbound=plan.last_inbound)

    await _open(deps, client, trigger_id, user, REPLY_TITLE, REPLY_MODAL, form)


async def open_note_form(
    deps: SlackContext, client: AsyncWebClient, trigger_id: str, user: str, command: NoteCommand
) -> None:
    """The note form for a conversation (its id may be a typed prefix)."""

    async def form(actor: Actor) -> View:
        conversation = await with_full_id(
            command,
            deps.service.ids.complete,
            lambda typed: deps.service.transcripts.note_target(actor, typed.id),
        )
        return note_modal(note_ref(conversation), command.text or "")

    await _open(deps, client, trigger_id, user, NOTE_TITLE, NOTE_MODAL, form)


async def _open(
    deps: SlackContext,
    client: AsyncWebClient,
    trigger_id: str,
    user: str,
    title: str,
    callback_id: str,
    form: Filling,
) -> None:
    """Open "Loading…" at once, then the form, or the sentence saying why there is none."""
    opened = await client.views_open(trigger_id=trigger_id, view=loading_modal(title, callback_id))
    view = opened["view"]
    try:
        filled = await form(await deps.identity.actor(user))
    except Exception as error:
        filled = problem_modal(title, error_mrkdwn(error))
    await fill_in(client, view["id"], filled, hash=view.get("hash"))


def register(app: AsyncApp, deps: SlackContext) -> None:
    @app.view(REPLY_MODAL)
    async def reply_sent(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view, user = body.get("view") or {}, str((body.get("user") or {}).get("id") or "")
        text = read_text(view, FIELD_REPLY)
        if problem := _text_problem("reply", text, MESSAGE_TEXT_MAX):
            await ack(response_action="errors", errors={FIELD_REPLY: problem})
            return
        try:
            ref = TalkRef.decode(view.get("private_metadata"))
        except InvalidInput as error:
            await ack(response_action="errors", errors={FIELD_REPLY: str(error)})
            return
        await ack(response_action="update", view=working_modal(REPLY_TITLE, "Sending…"))
        if not await first_submission(deps.slack_events, _submission(view)):
            return  # the same submission again: its first delivery sends it, once
        async with observed(deps.metrics, "view", "reply"):
            try:
                actor = await deps.identity.actor(user)
                sent = await deps.service.transcripts.reply(actor, ref.id, text, shown=_shown(ref))
                after = done_modal("Reply sent", sent_line(sent), text)
            except ReplyTargetChanged as changed:
                # Drawn again with the new address and channel: Send now goes where it says.
                new = changed.plan
                after = reply_modal(
                    reply_ref(new), text, last_inbound=new.last_inbound, problem=str(changed)
                )
            except MaybeDone as error:
                # Infobip may have taken it: Send again could reach the customer twice.
                after = problem_modal(REPLY_TITLE, _maybe_sent(ref.id, error))
            except Exception as error:
                after = reply_modal(ref, text, problem=_not_done("sent", error))
            await _show(client, view, after)

    @app.view(NOTE_MODAL)
    async def note_saved(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view, user = body.get("view") or {}, str((body.get("user") or {}).get("id") or "")
        text = read_text(view, FIELD_NOTE)
        if problem := _text_problem("note", text, NOTE_MAX):
            await ack(response_action="errors", errors={FIELD_NOTE: problem})
            return
        try:
            ref = TalkRef.decode(view.get("private_metadata"))
        except InvalidInput as error:
            await ack(response_action="errors", errors={FIELD_NOTE: str(error)})
            return
        await ack(response_action="update", view=working_modal(NOTE_TITLE, "Saving…"))
        if not await first_submission(deps.slack_events, _submission(view)):
            return  # the same submission again: its first delivery saves it, once
        async with observed(deps.metrics, "view", "note"):
            try:
                actor = await deps.identity.actor(user)
                await deps.service.transcripts.note(actor, ref.id, text)
                line = f"Note saved on conversation {ref.id}; the customer does not see it."
                after = done_modal("Note saved", line, text)
            except Exception as error:
                after = note_modal(ref, text, problem=_not_done("saved", error))
            await _show(client, view, after)


def _shown(ref: TalkRef) -> tuple[str, Channel] | None:
    """The address and channel the form showed (None from a form that showed neither)."""
    if ref.customer is None or ref.channel is None or ref.channel not in Channel.__members__:
        return None
    return ref.customer, Channel(ref.channel)


def _submission(view: dict[str, Any]) -> str:
    """One submission of one drawing of the form: a form redrawn after a refusal (a new hash)
    may be sent again; the same submission delivered twice may not."""
    return f"{view.get('id')}:{view.get('hash')}"


def _maybe_sent(conversation_id: str, error: BaseException) -> Mrkdwn:
    return Mrkdwn(
        f"*It may have been sent.* {error_mrkdwn(error)} Look at the conversation's thread or"
        f" `/conv messages {conversation_id}` before sending it again."
    )


def _text_problem(what: str, text: str, limit: int) -> str | None:
    if not text.strip():
        return f"The {what} is empty."
    if len(text) > limit:
        return f"The {what} is {len(text):,} characters; the limit is {limit:,}."
    return None


def _not_done(done: str, error: BaseException) -> str:
    return f"*Not {done}.* {error_mrkdwn(error)}"


async def _show(client: AsyncWebClient, view: dict[str, Any], after: View) -> None:
    """Replace the "Sending…" view; the person may have closed it (then there is no one to
    show), and Slack may refuse: what was done is done, so either is logged, not raised."""
    view_id = view.get("id")
    if not view_id:
        return
    try:
        await fill_in(client, str(view_id), after)
    except SlackApiError:
        log.warning("could not show the outcome of form %s", view_id, exc_info=True)
