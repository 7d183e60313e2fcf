"""The Reply and Note forms: what the person sees before a message reaches the customer (or a note
reaches colleagues), and what they see after.

A reply is never sent by a button alone: the form names the customer's address and channel, and
says that the customer receives exactly this text, so a note meant for colleagues cannot slip out
(issue 18). The form's header travels in its private_metadata, so a refusal at Send redraws the
form — text kept — without asking the backend again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock
from slack_sdk.models.views import View

from bot.errors import InvalidInput
from bot.field_rules import CONVERSATION_ID
from bot.messages import Message
from bot.models import Conversation
from bot.service.transcripts import ReplyPlan
from bot.slack.blocks import limits
from bot.slack.blocks.card import label
from bot.slack.blocks.modals import text_input
from bot.slack.blocks.mrkdwn import Mrkdwn, clip, md, plain, slack_date, user_text

REPLY_MODAL = "conv.reply_modal"
NOTE_MODAL = "conv.note_modal"
FIELD_REPLY = "reply_text"
FIELD_NOTE = "note_text"
REPLY_TITLE = "Reply to the customer"
NOTE_TITLE = "Internal note"
# Slack's plain_text_input holds at most 3,000 characters
# (https://api.slack.com/reference/block-kit/block-elements#input): less than Infobip takes
# (4,096 for a message, 4,000 for a note), so a form holds at most this much.
FORM_TEXT_MAX = limits.TEXT_INPUT
_TOPIC_MAX = 150
_QUOTE_MAX = 500


class TalkRef(BaseModel):
    """A Reply or Note form's private_metadata: the conversation, and the header drawn, so a
    refusal redraws the form without reading the backend again."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=CONVERSATION_ID.pattern, max_length=255)
    topic: str = Field(default="", max_length=_TOPIC_MAX)
    customer: str | None = Field(default=None, max_length=255)
    channel: str | None = Field(default=None, max_length=40)
    unassigned: bool = False

    def encode(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def decode(cls, value: str | None) -> TalkRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput(
                "That form is broken; open it again from the card or with `/conv reply <id>`."
            ) from None


def reply_ref(plan: ReplyPlan) -> TalkRef:
    return TalkRef(
        id=plan.conversation.id,
        topic=clip(plan.conversation.topic or "", _TOPIC_MAX),
        customer=plan.customer,
        channel=plan.channel.value,
        unassigned=plan.agent_id is None,
    )


def note_ref(conversation: Conversation) -> TalkRef:
    return TalkRef(id=conversation.id, topic=clip(conversation.topic or "", _TOPIC_MAX))


def reply_modal(
    ref: TalkRef,
    text: str = "",
    *,
    last_inbound: Message | None = None,
    problem: str | None = None,
) -> View:
    """The customer, the channel and the text, sent only by Send."""
    to = f"*To* {user_text(ref.customer, 255)} on *{label(ref.channel or '')}*"
    blocks: list[Block] = [
        *_problem(problem),
        SectionBlock(text=md(f"{to}\n{_about(ref)}")),
    ]
    if last_inbound is not None:
        said = user_text(last_inbound.text or "(no text)", _QUOTE_MAX)
        when = slack_date(last_inbound.createdAt)
        blocks.append(ContextBlock(elements=[md(f"They wrote {when}: “{said}”")]))
    blocks.append(
        text_input(
            FIELD_REPLY,
            "Message to the customer",
            FORM_TEXT_MAX,
            multiline=True,
            initial=text or None,
            placeholder="What the customer will read",
        )
    )
    warning = ":warning: The customer receives exactly this. For colleagues, use *Note*."
    if ref.unassigned:
        warning += " It carries no agent's name: the conversation is unassigned."
    blocks.append(ContextBlock(elements=[md(warning)]))
    return View(
        type="modal",
        callback_id=REPLY_MODAL,
        title=plain(REPLY_TITLE, limits.VIEW_TITLE),
        submit=plain("Send", limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        private_metadata=ref.encode(),
        blocks=blocks,
    )


def note_modal(ref: TalkRef, text: str = "", *, problem: str | None = None) -> View:
    """A note for colleagues; the form says the customer never sees it."""
    blocks: list[Block] = [
        *_problem(problem),
        SectionBlock(text=md(_about(ref))),
        text_input(
            FIELD_NOTE,
            "Note for colleagues",
            FORM_TEXT_MAX,
            multiline=True,
            initial=text or None,
            placeholder="Only colleagues see this",
        ),
        ContextBlock(elements=[md(":lock: Internal: the customer never sees a note.")]),
    ]
    return View(
        type="modal",
        callback_id=NOTE_MODAL,
        title=plain(NOTE_TITLE, limits.VIEW_TITLE),
        submit=plain("Save note", limits.VIEW_TITLE),
        close=plain("Cancel", limits.VIEW_TITLE),
        private_metadata=ref.encode(),
        blocks=blocks,
    )


def working_modal(title: str, doing: str) -> View:
    """Shown from Send until the backend answers (the submission is acked at once)."""
    return View(
        type="modal",
        title=plain(title, limits.VIEW_TITLE),
        close=plain("Close", limits.VIEW_TITLE),
        blocks=[SectionBlock(text=md(f":hourglass_flowing_sand: {doing}"))],
    )


def done_modal(title: str, line: str, text: str) -> View:
    """What was sent or saved, and the text itself."""
    quoted = user_text(text, limits.SECTION_TEXT - 10)
    return View(
        type="modal",
        title=plain(title, limits.VIEW_TITLE),
        close=plain("Done", limits.VIEW_TITLE),
        blocks=[
            SectionBlock(text=md(":white_check_mark: " + user_text(line, limits.FIELD_TEXT))),
            SectionBlock(text=md(f">>> {quoted}")),
        ],
    )


def read_text(view: Mapping[str, Any], field: str) -> str:
    """The text typed into the form's one input ('' when absent)."""
    values = (view.get("state") or {}).get("values")
    block = values.get(field) if isinstance(values, dict) else None
    element = block.get(field) if isinstance(block, dict) else None
    value = element.get("value") if isinstance(element, dict) else None
    return value if isinstance(value, str) else ""


def _about(ref: TalkRef) -> str:
    topic = user_text(ref.topic or "(no topic)", _TOPIC_MAX)
    return f"*Conversation* {topic} (`{user_text(ref.id, 255)}`)"


def _problem(problem: str | None) -> list[Block]:
    if not problem:
        return []
    text = ":warning: " + user_text(Mrkdwn(problem), limits.SECTION_TEXT - 20)
    return [SectionBlock(text=md(text))]
