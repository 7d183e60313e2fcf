"""The "Add to conversation as note" form (a message shortcut) and reading it back.

The conversation is named in one of two inputs: its id typed (a prefix is completed as
everywhere, bot/service/conversation_ids.py) or one of the person's assigned open conversations
picked from a select. The note's text is prefilled from the message and its permalink. Each
input's block_id and action_id are the same `FIELD_*` name, as in modals.py, so an error for a
field is keyed by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.messages import NOTE_MAX
from bot.models import Conversation
from bot.slack.blocks import limits
from bot.slack.blocks.mrkdwn import clip, md, plain
from bot.slack.blocks.refs import MessageRef

NOTE_FORM = "conv.note_from_message"
FIELD_ID = "conversation_id"
FIELD_MINE = "assigned"
FIELD_NOTE = "note"
# Slack's plain_text_input holds at most 3000 characters; a note may hold 4000.
NOTE_INPUT_MAX = min(NOTE_MAX, limits.TEXT_INPUT)
ASSIGNED_SHOWN = limits.SELECT_OPTIONS  # a static select's 100 options
_TOPIC_SHOWN = 60


def note_form(
    text: str, assigned: Sequence[Conversation] | None, ref: MessageRef, *, why_none: str = ""
) -> View:
    """The form, `text` prefilled; `assigned` newest first (None: the person has no agent,
    `why_none` says so in place of the select)."""
    blocks: list[Block] = [
        InputBlock(
            block_id=FIELD_ID,
            label=plain("Conversation id", 2000),
            element=PlainTextInputElement(
                action_id=FIELD_ID,
                max_length=255,
                placeholder=plain("The whole id, or its first 8 characters", 150),
            ),
            optional=True,
            hint=plain("Or pick one of yours below.", 2000),
        ),
        *_assigned_blocks(assigned, why_none),
        InputBlock(
            block_id=FIELD_NOTE,
            label=plain("Note (colleagues only, never sent to the customer)", 2000),
            element=PlainTextInputElement(
                action_id=FIELD_NOTE,
                multiline=True,
                max_length=NOTE_INPUT_MAX,
                initial_value=clip(text, NOTE_INPUT_MAX) if text else None,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=NOTE_FORM,
        title=plain("Add as note", limits.VIEW_TITLE),
        submit=plain("Save note", limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        blocks=blocks,
        private_metadata=ref.model_dump_json(exclude_none=True),
    )


def _assigned_blocks(assigned: Sequence[Conversation] | None, why_none: str) -> list[Block]:
    if assigned is None:
        return [ContextBlock(elements=[md(why_none or "No conversations of yours to pick.")])]
    usable = [c for c in assigned if len(c.id) <= limits.OPTION_VALUE][:ASSIGNED_SHOWN]
    if not usable:
        return [SectionBlock(text=md("No open conversations are assigned to you."))]
    options = [Option(value=c.id, text=plain(_option_text(c), limits.OPTION_TEXT)) for c in usable]
    return [
        InputBlock(
            block_id=FIELD_MINE,
            label=plain("Or one of your open conversations", 2000),
            element=StaticSelectElement(
                action_id=FIELD_MINE, placeholder=plain("Choose…", 150), options=options
            ),
            optional=True,
            hint=plain(f"Newest first; {len(usable)} shown.", 2000),
        )
    ]


def _option_text(conversation: Conversation) -> str:
    topic = (conversation.topic or "(no topic)").strip() or "(no topic)"
    return f"{clip(topic, _TOPIC_SHOWN)} · {conversation.id[:8]}"


class NoteAnswer(BaseModel):
    """The form as submitted: the conversation as typed or picked, and the note's text."""

    typed: str | None
    picked: str | None
    text: str


def read_note_form(values: Mapping[str, Any] | None) -> tuple[NoteAnswer | None, dict[str, str]]:
    """The submitted form, or the errors to show beside its inputs."""
    state = values if isinstance(values, Mapping) else {}
    typed = _value(state, FIELD_ID, "value")
    picked = _value(state, FIELD_MINE, "selected_option")
    text = _value(state, FIELD_NOTE, "value") or ""
    errors: dict[str, str] = {}
    if typed and picked and typed != picked:
        errors[FIELD_ID] = "Give an id or pick a conversation below, not both."
    elif not typed and not picked:
        errors[FIELD_ID] = "Give the conversation's id, or pick one of yours below."
    if not text.strip():
        errors[FIELD_NOTE] = "The note is empty; write something to save."
    if errors:
        return None, errors
    return NoteAnswer(typed=typed, picked=picked, text=text), {}


def _value(state: Mapping[str, Any], field: str, key: str) -> str | None:
    block = state.get(field)
    element = block.get(field) if isinstance(block, Mapping) else None
    found = element.get(key) if isinstance(element, Mapping) else None
    if isinstance(found, Mapping):  # a select's option
        found = found.get("value")
    return found.strip() or None if isinstance(found, str) else None
