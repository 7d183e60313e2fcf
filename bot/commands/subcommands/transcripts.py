"""`note` and `reply`: an internal note for colleagues, and an answer to the customer.

They answer in text, which Slack shows only to whoever asked. In Slack `reply` opens a form that
shows whom it goes to before anything is sent (bot/slack/listeners/talk.py); elsewhere typing
`reply` with its text is the confirmation.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.commands.grammar import Option, read_options, take_id, unexpected
from bot.commands.result import CommandResult
from bot.commands.spec import TRANSCRIPT_LIMIT_MAX, MessagesCommand, NoteCommand, ReplyCommand
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import checked_text, whole_number
from bot.errors import InvalidInput
from bot.messages import MESSAGE_TEXT_MAX, NOTE_MAX
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.service.transcripts import TRANSCRIPT_DEFAULT, Sent


def _note_grammar(words: list[str], now: datetime) -> NoteCommand:
    conversation, rest = take_id("note", words)
    if not rest:
        return NoteCommand(id=conversation)  # Slack's form asks for the text
    # The note is free text (the entry's `free_text_after`): a `key:value` word is just a word.
    return NoteCommand(id=conversation, text=checked_text("note", " ".join(rest), NOTE_MAX))


async def _note(command: NoteCommand, service: ConversationService, actor: Actor) -> CommandResult:
    if command.text is None:
        raise InvalidInput(
            f"`note` needs the note's text after the conversation id: `note {command.id} <text …>`."
        )
    await service.transcripts.note(actor, command.id, command.text)
    headline = f"Note saved on conversation {command.id} (internal: the customer does not see it)."
    return CommandResult(kind="text", headline=headline)


NOTE = Subcommand(
    name="note",
    model=NoteCommand,
    grammar=_note_grammar,
    usage="note <id> [text …]",
    summary="Save an internal note on a conversation.",
    explanation="Saves an internal note on an open conversation in your agent's name:"
    " colleagues see it, the customer never does. Everything after the id is the note, as"
    f" typed, up to {NOTE_MAX:,} characters; in Slack, without a text it opens a form to write"
    " it. You must be linked to an agent.",
    examples=("note 8f3a2c1d Called the customer back; waiting for the invoice", "note 8f3a2c1d"),
    section=Section.TALK,
    surfaces=EVERYWHERE,
    run=_note,
    free_text_after=1,
)


def _reply_grammar(words: list[str], now: datetime) -> ReplyCommand:
    conversation, rest = take_id("reply", words)
    if not rest:
        return ReplyCommand(id=conversation)  # Slack's form asks for the text
    text = checked_text("reply", " ".join(rest), MESSAGE_TEXT_MAX)
    return ReplyCommand(id=conversation, text=text)


async def _reply(
    command: ReplyCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    if command.text is None:
        raise InvalidInput(
            f"`reply` needs the text to send after the conversation id: `reply {command.id}"
            " <text …>`."
        )
    sent = await service.transcripts.reply(actor, command.id, command.text)
    return CommandResult(kind="text", headline=sent_line(sent))


def sent_line(sent: Sent) -> str:
    """What every surface says of a sent reply: to whom, on which channel, whether accepted."""
    plan = sent.plan
    line = (
        f"Sent to the customer ({plan.customer}) on {plan.channel.value}; Infobip accepted it"
        f" (message {sent.message.id})."
    )
    if plan.agent_id is None:
        # Infobip names no agent on an unassigned conversation's messages (x-agent-id refused).
        line += " It carries no agent's name: the conversation is unassigned."
    return line


REPLY = Subcommand(
    name="reply",
    model=ReplyCommand,
    grammar=_reply_grammar,
    usage="reply <id> [text …]",
    summary="Answer the customer, on the channel they wrote on.",
    explanation="Sends a message to the customer of an open conversation, on the channel and"
    " to the address of their last message, in your agent's name. In Slack it opens a form"
    " showing who receives it and on which channel, with the text to check or write, and sends"
    " only when you press Send; in a shell the text is sent at once. Only the assignee or a"
    f" supervisor may answer an assigned conversation. Up to {MESSAGE_TEXT_MAX:,} characters;"
    " for colleagues, use `note`.",
    examples=("reply 8f3a2c1d Your parcel left the depot this morning.", "reply 8f3a2c1d"),
    section=Section.TALK,
    surfaces=EVERYWHERE,
    run=_reply,
    free_text_after=1,
)


_MESSAGES_OPTIONS = {
    "limit": Option("limit", whole_number("limit", TRANSCRIPT_LIMIT_MAX), "limit:50"),
}


def _messages_grammar(words: list[str], now: datetime) -> MessagesCommand:
    conversation, rest = take_id("messages", words)
    values, extra = read_options(rest, _MESSAGES_OPTIONS, now)
    if extra:
        raise unexpected("messages", extra[0], _MESSAGES_OPTIONS)
    return MessagesCommand.model_validate({"id": conversation, **values})


async def _messages(
    command: MessagesCommand, service: ConversationService, actor: Actor
) -> CommandResult:
    limit = command.limit or TRANSCRIPT_DEFAULT
    # Two independent reads at once; the messages' unknown id is raised first (a typed prefix
    # is then completed by the executor).
    messages, notes = await asyncio.gather(
        service.transcripts.messages(actor, command.id, limit),
        service.transcripts.notes(actor, command.id, limit),
        return_exceptions=True,
    )
    for failed in (messages, notes):
        if isinstance(failed, BaseException):
            raise failed
    assert not isinstance(messages, BaseException) and not isinstance(notes, BaseException)
    shown, total = len(messages.items), messages.totalItems
    headline = (
        f"Conversation {command.id}: no messages yet."
        if total == 0
        else f"Conversation {command.id}: the latest {shown} of {total} messages, oldest first."
    )
    return CommandResult(
        kind="transcript",
        headline=headline,
        conversation_id=command.id,
        messages=messages,
        notes=notes,
    )


MESSAGES = Subcommand(
    name="messages",
    model=MessagesCommand,
    grammar=_messages_grammar,
    usage="messages <id> [limit:N]",
    summary="Read its latest messages and internal notes.",
    explanation="Shows the conversation's latest messages (20 unless `limit:` says, at most"
    f" {TRANSCRIPT_LIMIT_MAX}), oldest first, each with who wrote it and when, then its latest"
    " internal notes apart. Only you see it; in Slack, press *Thread* on the card to follow"
    " the conversation live in a thread.",
    examples=("messages 8f3a2c1d", "messages 8f3a2c1d limit:50"),
    section=Section.TALK,
    surfaces=EVERYWHERE,
    run=_messages,
)
