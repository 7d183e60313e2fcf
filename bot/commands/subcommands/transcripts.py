"""`note`: saving an internal note on a conversation.

It answers in text (the `help` kind of result, which every surface draws as plain text and
Slack shows only to whoever asked): a note is for colleagues, not news for the channel.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.grammar import take_id
from bot.commands.result import CommandResult
from bot.commands.spec import NoteCommand
from bot.commands.subcommand import EVERYWHERE, Section, Subcommand
from bot.commands.values import checked_text
from bot.errors import InvalidInput
from bot.messages import NOTE_MAX
from bot.models import Actor
from bot.service.conversations import ConversationService


def _note_grammar(words: list[str], now: datetime) -> NoteCommand:
    conversation, rest = take_id("note", words)
    if not rest:
        raise InvalidInput("`note` needs the note's text after the conversation id.")
    # The note is free text: a `key:value` word in it is just a word.
    return NoteCommand(id=conversation, text=checked_text("note", " ".join(rest), NOTE_MAX))


async def _note(command: NoteCommand, service: ConversationService, actor: Actor) -> CommandResult:
    await service.transcripts.note(actor, command.id, command.text)
    headline = f"Note saved on conversation {command.id} (internal: the customer does not see it)."
    return CommandResult(kind="help", headline=headline, text=headline)


NOTE = Subcommand(
    name="note",
    model=NoteCommand,
    grammar=_note_grammar,
    usage="note <id> <text …>",
    summary="Save an internal note on a conversation.",
    explanation="Saves an internal note on an open conversation in your agent's name:"
    " colleagues see it, the customer never does. The words after the id are the note, up to"
    f" {NOTE_MAX:,} characters. You must be linked to an agent.",
    examples=("note 8f3a2c1d Called the customer back; waiting for the invoice",),
    section=Section.WORK,
    surfaces=EVERYWHERE,
    run=_note,
)
