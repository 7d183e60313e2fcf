"""What a button carries back to the bot: the reference it was drawn with, encoded in its
value or its actions block's block_id, and decoded (and checked) when it is pressed.

A card's button carries the conversation id and the version (`updatedAt`) of the card it was
drawn on, so a press on a stale card can be recognised and refused. The action ids themselves,
and what a press does, are in bot/slack/blocks/buttons.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import InvalidInput
from bot.field_rules import ConversationId
from bot.slack.intake import usable_response_url
from bot.timestamps import Timestamp


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


# The priority select's options carry the priority, so the card it belongs to travels in the
# actions block's block_id instead: `card|{"id":…,"v":…}`.
CARD_BLOCK_PREFIX = "card|"


def card_ref_from_block_id(block_id: str | None) -> CardRef:
    """The CardRef from a card's actions block_id; InvalidInput when it is not one."""
    if block_id is None or not block_id.startswith(CARD_BLOCK_PREFIX):
        return CardRef.decode(None)  # raises the "broken button" InvalidInput
    return CardRef.decode(block_id.removeprefix(CARD_BLOCK_PREFIX))


# A card's second actions block, of the buttons that talk (Thread; Reply and Note next): the
# same CardRef as the first's, under its own prefix, since block_ids are unique in a message.
TALK_BLOCK_PREFIX = "talk|"


# Ids carried beside an "Older messages" moment: messages sharing the oldest shown instant
# (createdAt has milliseconds), within the 2,000 characters of a button's value.
OLDER_SHOWN_MAX = 20
OLDER_ID_MAX = 64  # Infobip's ids are UUIDs; a longer one is not carried (its instant skipped)


class OlderRef(BaseModel):
    """What a transcript's "Older messages" carries: the conversation, the moment before which
    to read (the oldest message shown), the ids shown at that moment (`s`: another message of
    the same millisecond is still to come), and the thread's root, where the page is shown."""

    model_config = ConfigDict(frozen=True)

    id: ConversationId
    b: Timestamp | None = None
    s: tuple[Annotated[str, Field(max_length=OLDER_ID_MAX)], ...] | None = Field(
        default=None, max_length=OLDER_SHOWN_MAX
    )
    t: str

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, value: str | None) -> OlderRef:
        try:
            return cls.model_validate_json(value or "")
        except ValidationError:
            raise InvalidInput(
                "That button is broken; press Thread on the conversation's card again."
            ) from None


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


class MessageRef(BaseModel):
    """A message shortcut's form remembers its message (the view's private_metadata, at most
    3000 characters): where it is, its link, and where to answer once the form is closed."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=64)
    ts: str = Field(max_length=32)
    response_url: str | None = Field(default=None, max_length=1000)
    permalink: str | None = Field(default=None, max_length=1000)

    @field_validator("response_url")
    @classmethod
    def _usable(cls, value: str | None) -> str | None:
        if value is not None and not usable_response_url(value):
            raise ValueError("not an http(s) URL to answer on")
        return value

    @field_validator("permalink")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        # Kept in the conversation and drawn as a link: only what bot/slack/permalinks.py gives.
        if value is not None and (not value.startswith("https://") or set("<>| ") & set(value)):
            raise ValueError("not a Slack permalink")
        return value

    @classmethod
    def decode(cls, value: str | None) -> MessageRef | None:
        """The form's reference; None for a form opened without a message (`/conv create`)."""
        if not value:
            return None
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            raise InvalidInput(
                "This form is from an older version of convbot; close it and use the shortcut "
                "again."
            ) from None


# Digest items' buttons carry a DigestItemRef as their value; the Snooze select carries it in
# its actions block's block_id, `ditem|{"d":…,"id":…,"v":…}`, and its option values are
# DIGEST_SNOOZE_CHOICES keys.
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
