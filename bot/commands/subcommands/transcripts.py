"""`note` and `reply`: an internal note for colleagues, and an answer to the customer.

They answer in text, which Slack shows only to whoever asked. In Slack `reply` opens a form that
shows whom it goes to before anything is sent (bot/slack/listeners/talk.py); elsewhere typing
`reply` with its text is the confirmation.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import take_id
from bot.commands.result import CommandResult
from bot.commands.spec import NoteCommand, ReplyCommand
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import checked_text
from bot.errors import InvalidInput
from bot.messages import MESSAGE_TEXT_MAX, NOTE_MAX
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.service.transcripts import Sent


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
