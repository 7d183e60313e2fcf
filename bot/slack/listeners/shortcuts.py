"""Message shortcuts (issue 18): "Create conversation from message" and "Add to conversation as
note", each opening a form prefilled from the message.

Both open a "Loading…" form at once (the trigger_id lives 3 s) and fill it in after: the
message's markup made plain (bot/slack/message_text.py, mentions looked up by name), the link
back to it (chat.getPermalink) and the choices the form needs. The create form is the `/conv
create` form, prefilled: its submission is the one in views.py, so its rules, its checks and
its answer hold. The note form's submission is here: the conversation is resolved and checked
before the ack, so a wrong id or a closed conversation is shown beside the id; what is not the
form's fault (no linked agent, no permission, a backend that failed) is one ephemeral sentence
beside the message, through the shortcut's response_url.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConvbotError, ConversationNotFound, InvalidInput
from bot.field_rules import TOPIC_MAX
from bot.models import ACTIVE_STATUSES, Conversation, ConversationFilter, OrderBy
from bot.slack.blocks.messages import error_reply, sentence_for
from bot.slack.blocks.modals import (
    CREATE_MODAL,
    SUMMARY_INPUT_MAX,
    create_modal,
    loading_modal,
    problem_modal,
)
from bot.slack.blocks.mrkdwn import md, user_text
from bot.slack.blocks.note_form import (
    ASSIGNED_SHOWN,
    FIELD_ID,
    NOTE_FORM,
    NOTE_INPUT_MAX,
    note_form,
    read_note_form,
)
from bot.slack.blocks.refs import MessageRef
from bot.slack.context import SlackContext
from bot.slack.failures import SLACK_FAILURES
from bot.slack.forms import fill_in
from bot.slack.listeners.answering import observed, tell
from bot.slack.message_text import (
    cut_at_word,
    display_names,
    first_line,
    mentioned_users,
    plain_text,
)
from bot.slack.permalinks import permalink
from bot.slack.redeliveries import first_submission
from bot.slack.respond import RetryingRespond

log = logging.getLogger(__name__)

# The shortcuts' callback_ids, as manifest.yml declares them.
CREATE_SHORTCUT = "conv.create_from_message"
NOTE_SHORTCUT = "conv.note_from_message"
SHORTCUTS: tuple[str, ...] = (CREATE_SHORTCUT, NOTE_SHORTCUT)
# How long the note form's checks (the id resolved, the conversation read) may take before the
# ack: Slack waits 3 s for it. Checks that take longer finish after the ack, answered aside.
FORM_CHECKS = 2.0


def register(app: AsyncApp, deps: SlackContext) -> None:
    @app.shortcut(CREATE_SHORTCUT)
    async def create_from_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await _open_form(deps, client, shortcut, respond, "create-from-message")

    @app.shortcut(NOTE_SHORTCUT)
    async def note_from_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await _open_form(deps, client, shortcut, respond, "note-from-message")

    @app.view(NOTE_FORM)
    async def note_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await _save_note(deps, ack, body, client)


# --- opening a form -----------------------------------------------------------------------------


async def _open_form(
    deps: SlackContext,
    client: AsyncWebClient,
    shortcut: dict[str, Any],
    respond: AsyncRespond,
    name: str,
) -> None:
    creating = name == "create-from-message"
    title = "New conversation" if creating else "Add as note"
    try:
        async with observed(deps.metrics, "shortcut", name):
            opened = await client.views_open(
                trigger_id=str(shortcut.get("trigger_id") or ""),
                view=loading_modal(title, CREATE_MODAL if creating else NOTE_FORM),
            )
            view = opened["view"]
            ref, text = await _read_message(client, shortcut)
            try:
                form = await (_create_form if creating else _note_form)(deps, shortcut, ref, text)
            except Exception as error:  # the form says why instead of loading for ever
                if not isinstance(error, ConvbotError):
                    log.exception("the %s form could not be filled in", name)
                form = problem_modal(title, sentence_for(error))
            await fill_in(client, view["id"], form, hash=view.get("hash"))
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        await tell(respond, InvalidInput(f"Slack did not open the form ({code}); try again."))


async def _read_message(client: AsyncWebClient, shortcut: dict[str, Any]) -> tuple[MessageRef, str]:
    """Where the message is, its link, and its text made plain."""
    message = shortcut.get("message") or {}
    channel = str((shortcut.get("channel") or {}).get("id") or "")
    ts = str(shortcut.get("message_ts") or message.get("ts") or "")
    text = message.get("text")
    raw = text if isinstance(text, str) else ""
    link, names = await asyncio.gather(
        permalink(client, channel, ts), display_names(client, mentioned_users(raw))
    )
    url = shortcut.get("response_url")
    ref = MessageRef(
        channel=channel[:64],
        ts=ts[:32],
        response_url=url if isinstance(url, str) and len(url) <= 1000 else None,
        permalink=link,
    )
    return ref, plain_text(raw, names)


async def _create_form(
    deps: SlackContext, shortcut: dict[str, Any], ref: MessageRef, text: str
) -> Any:
    try:
        queues = await deps.queues()
    except Exception:
        queues = []  # the form still opens; a queue can be set later
    topic = cut_at_word(first_line(text), TOPIC_MAX)
    summary = cut_at_word(text, SUMMARY_INPUT_MAX)
    return create_modal(
        queues,
        topic=topic,
        summary=summary if summary != topic else None,
        private_metadata=ref.model_dump_json(exclude_none=True),
    )


async def _note_form(
    deps: SlackContext, shortcut: dict[str, Any], ref: MessageRef, text: str
) -> Any:
    user = str((shortcut.get("user") or {}).get("id") or "")
    actor = await deps.identity.actor(user)
    link = f"\n\nFrom Slack: {ref.permalink}" if ref.permalink else ""
    # A message of files alone has no text: the note then starts with its link.
    note = (cut_at_word(text, NOTE_INPUT_MAX - len(link)) + link).strip()
    if actor.agent_id is None:
        why = "You are not linked to an agent, so there are no conversations of yours to pick."
        return note_form(note, None, ref, why_none=why)
    mine = await deps.service.find(
        ConversationFilter(
            statuses=list(ACTIVE_STATUSES),
            agentId=actor.agent_id,
            orderBy=OrderBy(field="createdAt", direction="desc"),
            limit=ASSIGNED_SHOWN,
        )
    )
    return note_form(note, mine.items, ref)


# --- saving the note ----------------------------------------------------------------------------


async def _save_note(
    deps: SlackContext, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    user = str((body.get("user") or {}).get("id") or "")
    view = body.get("view") or {}
    try:
        ref = MessageRef.decode(view.get("private_metadata"))
    except InvalidInput as error:
        ref = None
        problem = error.message
    else:
        problem = "" if ref is not None else _OLD_FORM
    if ref is None:
        await ack(response_action="errors", errors={FIELD_ID: problem})
        return
    answer, errors = read_note_form((view.get("state") or {}).get("values"))
    if answer is None:
        await ack(response_action="errors", errors=errors)
        return
    typed = answer.typed or answer.picked or ""
    conversation: Conversation | None = None
    try:
        async with asyncio.timeout(FORM_CHECKS):
            conversation = await _resolved(deps, typed)
    except TimeoutError:
        pass  # checked again after the ack, by the note itself
    except ConvbotError as error:
        await ack(response_action="errors", errors={FIELD_ID: sentence_for(error)[:300]})
        return
    if not await first_submission(deps.slack_events, view.get("id")):
        await ack()  # the same submission again: its first delivery saves the note, once
        return
    await ack()
    aside = RetryingRespond(response_url=ref.response_url, session=client.session)
    try:
        async with observed(deps.metrics, "view", "note-from-message"):
            conversation_id = conversation.id if conversation else (await _resolved(deps, typed)).id
            actor = await deps.identity.actor(user)
            await deps.service.transcripts.note(actor, conversation_id, answer.text)
    except Exception as error:
        text, blocks = error_reply(error)
        await _answer(aside, client, ref, user, text, blocks)
        return
    said = f":memo: Note saved on conversation `{user_text(conversation_id, 255)}`."
    await _answer(aside, client, ref, user, said, [SectionBlock(text=md(said))])


_OLD_FORM = "This form is from an older version of convbot; close it and use the shortcut again."


async def _resolved(deps: SlackContext, typed: str) -> Conversation:
    """The conversation `typed` names (a whole id, else a prefix completed); a closed one is
    refused here, where the person can pick another."""
    try:
        conversation = await deps.service.get(typed)
    except ConversationNotFound as missing:
        if missing.conversation_id != typed:
            raise
        conversation = await deps.service.get(await deps.service.ids.complete(typed))
    if conversation.is_closed:
        raise InvalidInput(
            f"Conversation {conversation.id} is closed and takes no notes; pick an open one."
        )
    return conversation


async def _answer(
    aside: RetryingRespond,
    client: AsyncWebClient,
    ref: MessageRef,
    user: str,
    text: str,
    blocks: list[Any],
) -> None:
    """Ephemeral, beside the message; by DM when the shortcut gave no response_url."""
    try:
        if aside.response_url:
            await aside(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        else:
            await client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SLACK_FAILURES:
        log.warning("could not tell %s how their note went", user, exc_info=True)
