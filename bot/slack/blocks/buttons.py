"""Every button and select convbot draws, in one table: its action id, where it is drawn, what
a press carries back, which listener answers it, and what it applies (the service's effect,
with the permission the service checks for it).

The same entry draws the element (`Button.draw`, or `.id` for a select) and registers its
listener (bot/slack/listeners/__init__.py), so a button cannot be drawn without a listener and
a permission; tests/test_buttons_table.py checks the table is total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from slack_sdk.models.blocks import ButtonElement, ConfirmObject

from bot.config import Action
from bot.service import effects
from bot.service.effects import ConversationEffect, Effect
from bot.slack.blocks import limits
from bot.slack.blocks.mrkdwn import plain
from bot.slack.blocks.refs import (
    CardRef,
    DigestItemRef,
    EscalationRef,
    OlderRef,
    PageRef,
    card_ref_from_block_id,
)
from bot.slack.blocks.refs import digest_ref_from_block_id as digest_ref

Surface = Literal["card", "list", "home", "digest item", "page", "transcript"]


class Answer(Enum):
    """Which listener answers a press (bot/slack/listeners/__init__.py `listener_for`)."""

    CARD_PRESS = "a conversation effect, once per card version; the card redrawn"
    ITEM_PRESS = "a conversation effect, once per item version; the digest item redrawn"
    ITEM_SNOOZE = "the digest item snoozed and redrawn"
    PAGE_PRESS = "the page answered (acknowledged, or taken)"
    SHOW = "the conversation's card, to the presser"
    LIST_PAGE = "the list's command run again for another page"
    HOME_REFRESH = "the Home tab drawn again"
    EDIT_FORM = "the edit form opened"
    REPLY_FORM = "the reply form opened: the customer, the channel, the text; Send sends"
    NOTE_FORM = "the note form opened; Save saves an internal note"
    THREAD = "the conversation's thread opened under the card, or a link to it"
    OLDER = "the transcript's previous page, to the presser, in the thread"


# What a press carries back, read from its first action by the middleware
# (bot/slack/listeners/presses.py): from the element's value, or its actions block's block_id.
Reference = Callable[[Mapping[str, Any]], object]


def _value(decode: Callable[[str | None], object]) -> Reference:
    return lambda action: decode(action.get("value"))


def _block_id(decode: Callable[[str | None], object]) -> Reference:
    return lambda action: decode(action.get("block_id"))


def _nothing(action: Mapping[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Button:
    id: str  # the action_id Slack sends back
    label: str
    drawn_on: tuple[Surface, ...]  # empty: no longer drawn, answered for messages drawn before
    answer: Answer
    reference: Reference
    # What it applies and the permission the service checks; None: it only reads (its effect,
    # if any, is checked where it is applied: the edit form's on saving).
    effect: Effect | None
    metric: str  # its name in convbot_slack_seconds{kind="action"}
    style: Literal["primary", "danger"] | None = None

    @property
    def permission(self) -> Action | None:
        return None if self.effect is None else self.effect.permission

    def draw(
        self,
        value: str,
        *,
        style: Literal["primary", "danger"] | None = None,
        confirm: ConfirmObject | None = None,
        label: str | None = None,
    ) -> ButtonElement:
        """The button carrying `value`; `style` and `label` other than the table's when given."""
        return ButtonElement(
            text=plain(label or self.label, limits.BUTTON_TEXT),
            action_id=self.id,
            value=value,
            style=style or self.style,
            confirm=confirm,
        )

    @property
    def conversation_effect(self) -> ConversationEffect:
        """The effect a press on a card or a digest item applies once per version."""
        if not isinstance(self.effect, ConversationEffect):
            raise TypeError(f"{self.id} applies no effect to a conversation version")
        return self.effect


def _card(action_id: str, label: str, effect: ConversationEffect, **kwargs: Any) -> Button:
    return Button(
        action_id,
        label,
        ("card",),
        Answer.CARD_PRESS,
        _value(CardRef.decode),
        effect,
        metric=effect.name,
        **kwargs,
    )


def _item(action_id: str, label: str, effect: ConversationEffect, **kwargs: Any) -> Button:
    return Button(
        action_id,
        label,
        ("digest item",),
        Answer.ITEM_PRESS,
        _value(DigestItemRef.decode),
        effect,
        metric=f"digest-{effect.name}",
        **kwargs,
    )


def _list_page(action_id: str, label: str, drawn_on: tuple[Surface, ...]) -> Button:
    return Button(
        action_id, label, drawn_on, Answer.LIST_PAGE, _value(PageRef.decode), None, "page"
    )


# Cards (in replies, lists' View, the Home tab). Take's and Close's confirm dialogs are drawn
# with the card (bot/slack/blocks/card.py): they name the conversation and who has it.
TAKE = _card("conv.take", "Take", effects.TAKE, style="primary")
ROUTE = _card("conv.route", "Route", effects.ROUTE)
CLOSE = _card("conv.close", "Close", effects.CLOSE, style="danger")
ESCALATE = _card("conv.escalate", "Escalate", effects.ESCALATE)
# A static_select: its options carry the priority, so the card travels in the block_id.
PRIORITY = Button(
    "conv.priority",
    "Priority",
    ("card",),
    Answer.CARD_PRESS,
    _block_id(card_ref_from_block_id),
    effects.PRIORITY,
    metric="priority",
)
EDIT = Button(
    "conv.edit", "Edit", ("card",), Answer.EDIT_FORM, _value(CardRef.decode), None, "edit"
)
# Talking: each opens a form, checked and sent (or saved) only from the form's own button, so
# no press alone reaches the customer. Permissions `reply` and `note` are checked when the form
# opens and again when it is sent (bot/service/transcripts.py).
# The thread's first post draws the same two (blocks/transcript.py `talk_block`), carrying the
# conversation alone: the forms need no card version.
REPLY = Button(
    "conv.reply",
    "Reply",
    ("card", "transcript"),
    Answer.REPLY_FORM,
    _value(CardRef.decode),
    None,
    "reply-form",
)
NOTE = Button(
    "conv.note",
    "Note",
    ("card", "transcript"),
    Answer.NOTE_FORM,
    _value(CardRef.decode),
    None,
    "note-form",
)
# List rows (once "Open": the id stays) and list paging. Slack refuses two elements with one
# action_id in a block (`invalid_blocks`), so Previous and Next differ; lists drawn before
# carry the old shared id, still answered.
SHOW = Button("conv.show", "View", ("list",), Answer.SHOW, _value(CardRef.decode), None, "show")
PAGE_PREVIOUS = _list_page("conv.page.previous", "Previous page", ("list",))
PAGE_NEXT = _list_page("conv.page.next", "Next page", ("list",))
PAGE = _list_page("conv.page", "Next page", ())
HOME_REFRESH = Button(
    "home.refresh",
    ":arrows_counterclockwise: Refresh",
    ("home",),
    Answer.HOME_REFRESH,
    _nothing,
    None,
    "home-refresh",
)
# Digest items: the same effects as a card's, each item redrawn in its digest.
DIGEST_TAKE = _item("digest.take", "Take", effects.TAKE, style="primary")
DIGEST_ESCALATE = _item("digest.escalate", "Escalate", effects.ESCALATE)
DIGEST_CLOSE = _item("digest.close", "Close", effects.CLOSE, style="danger")
# A static_select; its option values are refs.DIGEST_SNOOZE_CHOICES keys.
DIGEST_SNOOZE = Button(
    "digest.snooze",
    ":zzz: Snooze",
    ("digest item",),
    Answer.ITEM_SNOOZE,
    _block_id(digest_ref),
    effects.SNOOZE,
    "digest-snooze",
)
# Pages (escalation messages).
PAGE_ACK = Button(
    "page.ack",
    "Acknowledge",
    ("page",),
    Answer.PAGE_PRESS,
    _value(EscalationRef.decode),
    effects.ACKNOWLEDGE,
    "page-ack",
    style="primary",
)
PAGE_TAKE = Button(
    "page.take",
    "Take",
    ("page",),
    Answer.PAGE_PRESS,
    _value(EscalationRef.decode),
    effects.TAKE_PAGE,
    "page-take",
)

# Talking about the conversation: in the card's second actions block (card.py `talk_actions`).
# Reading needs no permission beyond the channel: unlinked people may open and read a thread.
THREAD = Button(
    "conv.thread",
    ":thread: Thread",
    ("card",),
    Answer.THREAD,
    _value(CardRef.decode),
    None,
    "thread",
)
OLDER = Button(
    "thread.older",
    "Older messages",
    ("transcript",),
    Answer.OLDER,
    _value(OlderRef.decode),
    None,
    "thread-older",
)

BUTTONS: tuple[Button, ...] = (
    TAKE,
    ROUTE,
    CLOSE,
    ESCALATE,
    PRIORITY,
    EDIT,
    REPLY,
    NOTE,
    SHOW,
    PAGE_PREVIOUS,
    PAGE_NEXT,
    PAGE,
    HOME_REFRESH,
    DIGEST_TAKE,
    DIGEST_ESCALATE,
    DIGEST_CLOSE,
    DIGEST_SNOOZE,
    PAGE_ACK,
    PAGE_TAKE,
    THREAD,
    OLDER,
)
BY_ID: Mapping[str, Button] = {button.id: button for button in BUTTONS}
