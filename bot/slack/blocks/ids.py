"""The ids that connect what is drawn to the listener that handles it, and button values.

A button carries the conversation id and the version (`updatedAt`) of the card it was drawn
on, so a press on a stale card can be recognised and refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.errors import InvalidInput
from bot.models import ConversationId, Timestamp
from bot.slack.intake import usable_response_url

# Card buttons (block_actions action_id).
TAKE = "conv.take"
ROUTE = "conv.route"
CLOSE = "conv.close"
ESCALATE = "conv.escalate"
PRIORITY = "conv.priority"  # static_select; selected option value is a Priority
EDIT = "conv.edit"
# List rows, list paging and the Home tab.
SHOW = "conv.show"  # a list row's "View" button (once "Open": the id stays); value: a CardRef
# Paging buttons: Slack refuses two elements with one action_id in a block (`invalid_blocks`),
# so Previous and Next differ; lists drawn before carry the old shared id, still answered.
PAGE_PREVIOUS = "conv.page.previous"
PAGE_NEXT = "conv.page.next"
PAGE = "conv.page"
PAGING = (PAGE_PREVIOUS, PAGE_NEXT, PAGE)
HOME_REFRESH = "home.refresh"


# Modals (view callback_id) and their inputs (block_id, action_id pairs share one name).
CREATE_MODAL = "conv.create_modal"
EDIT_MODAL = "conv.edit_modal"
FIELD_TOPIC = "topic"
FIELD_SUMMARY = "summary"
FIELD_PRIORITY = "priority"
FIELD_STATUS = "status"
FIELD_CHANNEL = "channel"
FIELD_QUEUE = "queue"
FIELD_TAGS = "tags"


class CardRef(BaseModel):
    """What a card button carries: which conversation, at which version."""

    model_config = ConfigDict(frozen=True)

    # Checked here, where a button's value enters: a forged `.` or `..` is a broken button,
    # never a path at Infobip.
    id: ConversationId
    v: Timestamp | None = None  # the conversation's updatedAt when the card was drawn

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, value: str | None) -> CardRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput("That button is broken; run `/conv show <id>` instead.") from None

    def is_current(self, updated_at: datetime | None) -> bool:
        return self.v == updated_at


BROKEN_PAGE_BUTTON = "That button is broken; run `/conv list` again."


class PageRef(BaseModel):
    """What a Next/Previous page button carries: the list command text and the page (1-based)."""

    model_config = ConfigDict(frozen=True)

    q: str
    p: int

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, value: str | None) -> PageRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput(BROKEN_PAGE_BUTTON) from None


class EditRef(BaseModel):
    """The edit modal's private_metadata: which conversation, at which version."""

    card: CardRef
    response_url: str | None = None  # the message the Edit button was on, redrawn after saving
    home: bool = False  # pressed on the Home tab, which is republished after saving

    @field_validator("response_url")
    @classmethod
    def _usable(cls, value: str | None) -> str | None:
        # Posted to after the change is saved: garbage here (a form of an older convbot, a
        # damaged one) raised in aiohttp after the ack; refused now with the form's sentence.
        if value is not None and not usable_response_url(value):
            raise ValueError("not an http(s) URL to redraw the card on")
        return value


# Digest items (block_actions action_id). Buttons carry a DigestItemRef as their value; the
# Snooze select carries it in its actions block's block_id, `ditem|{"d":…,"id":…,"v":…}`.
DIGEST_TAKE = "digest.take"
DIGEST_ESCALATE = "digest.escalate"
DIGEST_CLOSE = "digest.close"
DIGEST_SNOOZE = "digest.snooze"  # static_select; option values are DIGEST_SNOOZE_CHOICES keys

DIGEST_ITEM_BLOCK_PREFIX = "ditem|"
DIGEST_SNOOZE_CHOICES: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(hours=24),
}


class DigestItemRef(BaseModel):
    """What a digest item's controls carry: which digest, which conversation, which version."""

    model_config = ConfigDict(frozen=True)

    d: str  # the digest's name
    id: ConversationId  # checked as card buttons' ids are
    v: Timestamp | None = None  # the conversation's updatedAt when the item was drawn

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, value: str | None) -> DigestItemRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput(
                "That digest button is broken; run `/conv show <id>` instead."
            ) from None

    def is_current(self, updated_at: datetime | None) -> bool:
        return self.v == updated_at


def digest_ref_from_block_id(block_id: str | None) -> DigestItemRef:
    """The DigestItemRef from a digest item's actions block_id; InvalidInput when it is not one."""
    if block_id is None or not block_id.startswith(DIGEST_ITEM_BLOCK_PREFIX):
        return DigestItemRef.decode(None)  # raises the "broken button" InvalidInput
    return DigestItemRef.decode(block_id.removeprefix(DIGEST_ITEM_BLOCK_PREFIX))


def snooze_duration(value: str | None) -> timedelta:
    """The Snooze select's option value as a duration; InvalidInput for anything else."""
    duration = DIGEST_SNOOZE_CHOICES.get(value or "")
    if duration is None:
        choices = ", ".join(DIGEST_SNOOZE_CHOICES)
        raise InvalidInput(f"Snooze for one of {choices}; pick one from the menu again.")
    return duration


# Pages (escalation messages): Acknowledge, and Take (acknowledge and assign to me). Both carry
# an EscalationRef as their value.
PAGE_ACK = "page.ack"
PAGE_TAKE = "page.take"


class EscalationRef(BaseModel):
    """What a page's buttons carry: which escalation."""

    model_config = ConfigDict(frozen=True)

    e: str

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, value: str | None) -> EscalationRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput(
                "That page's button is broken; run `/conv escalations` to see what is active."
            ) from None
