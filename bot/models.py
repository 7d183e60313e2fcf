"""The one set of models every layer speaks, with Infobip's field names.

Response models tolerate unknown fields (the API grows); request models are ours and strict.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.field_rules import (
    LIMIT_MAX,
    SUMMARY_MAX,
    TOPIC_MAX,
    TagNames,
    check_characters,
)
from bot.timestamps import Timestamp


class Status(StrEnum):
    OPEN = "OPEN"
    WAITING = "WAITING"
    SOLVED = "SOLVED"
    CLOSED = "CLOSED"


# Conversations someone still has to act on: what lists and digests show by default.
ACTIVE_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.WAITING)


class Priority(StrEnum):
    """Ordered: URGENT outranks HIGH outranks NORMAL outranks LOW."""

    URGENT = "URGENT"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank >= other.rank


_PRIORITY_RANK = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 3, Priority.URGENT: 4}


class Channel(StrEnum):
    """A conversation's channel, as the first contract extract's ConversationChannel listed
    them, in its order. The contract's ConversationApiModel has no `channel` at all (README,
    "Infobip notes"); its messages' MessageChannel lacks NO_CHANNEL and MULTICHANNEL."""

    SMS = "SMS"
    VIBER = "VIBER"
    FACEBOOK_MESSENGER = "FACEBOOK_MESSENGER"
    WHATSAPP = "WHATSAPP"
    RCS = "RCS"
    UNKNOWN = "UNKNOWN"
    EMAIL = "EMAIL"
    MULTICHANNEL = "MULTICHANNEL"
    NO_CHANNEL = "NO_CHANNEL"
    LIVE_CHAT = "LIVE_CHAT"
    UNUSED = "UNUSED"
    VOICE = "VOICE"
    VIDEO = "VIDEO"
    APPLE_BUSINESS_CHAT = "APPLE_BUSINESS_CHAT"
    LINE = "LINE"
    GOOGLE_BUSINESS_MESSAGES = "GOOGLE_BUSINESS_MESSAGES"
    TELEGRAM = "TELEGRAM"
    CALLS = "CALLS"
    INTERNAL = "INTERNAL"
    FACEBOOK_POST = "FACEBOOK_POST"
    INSTAGRAM_POST = "INSTAGRAM_POST"
    TWITTER_POST = "TWITTER_POST"
    VIBER_BOT = "VIBER_BOT"
    INSTAGRAM_MESSAGING = "INSTAGRAM_MESSAGING"
    GOOGLE_PLAY = "GOOGLE_PLAY"
    KAKAO_SANGDAM = "KAKAO_SANGDAM"
    TWITTER_DM = "TWITTER_DM"
    WHATSAPP_CALLS = "WHATSAPP_CALLS"
    VIBER_CALLS = "VIBER_CALLS"
    OPEN_CHANNEL = "OPEN_CHANNEL"
    TIKTOK = "TIKTOK"
    ZALO = "ZALO"


class AgentStatus(StrEnum):
    ACTIVE = "ACTIVE"
    BUSY = "BUSY"
    INVISIBLE = "INVISIBLE"
    AWAY = "AWAY"


class AgentRole(StrEnum):
    AGENT = "AGENT"
    SUPERVISOR = "SUPERVISOR"


class AutoAssignment(StrEnum):
    LOAD_BALANCING = "LOAD_BALANCING"
    ROUND_ROBIN = "ROUND_ROBIN"
    PERFORMANCE_BASED = "PERFORMANCE_BASED"


class Actor(BaseModel):
    """Who is acting: a Slack user id or `cli:<os user>`, the surface, and their agent if known."""

    id: str
    surface: str
    agent_id: str | None = None


class _ApiModel(BaseModel):
    """Models the API sends us: unknown fields are kept, never rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, use_enum_values=False)


class _RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- conversations -----------------------------------------------------------------------------


class Conversation(_ApiModel):
    id: str
    topic: str | None = None
    summary: str | None = None
    status: Status = Status.OPEN
    priority: Priority = Priority.NORMAL
    queueId: str | None = None
    agentId: str | None = None
    # None means "not reported": the contract's conversations carry no channel (the embedded
    # store always knows it; Infobip's answers say it only if Infobip sends more than the
    # contract promises).
    channel: Channel | None = Channel.NO_CHANNEL
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None
    closedAt: Timestamp | None = None
    # None means "not loaded": Infobip's list answers carry no tags, and loading them would
    # cost one request per row.
    tags: list[str] | None = None

    @field_validator("channel", mode="before")
    @classmethod
    def _unknown_channel(cls, value: object) -> object:
        # A channel outside our enum (one Infobip adds later, or a message channel's spelling)
        # must not break reading a conversation: it is UNKNOWN, which the contract's channel
        # lists have too.
        if value is None or isinstance(value, Channel):
            return value
        if isinstance(value, str) and value in Channel.__members__:
            return Channel(value)
        return Channel.UNKNOWN

    @property
    def is_closed(self) -> bool:
        return self.status is Status.CLOSED


class ConversationCreate(_RequestModel):
    topic: str = Field(min_length=1, max_length=TOPIC_MAX)
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX)
    status: Status = Status.OPEN
    priority: Priority = Priority.NORMAL
    channel: Channel = Channel.NO_CHANNEL
    queueId: str | None = None
    agentId: str | None = None
    tags: TagNames = Field(default_factory=list)

    @field_validator("topic", "summary")
    @classmethod
    def _printable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_characters(info.field_name, value)

    @field_validator("status")
    @classmethod
    def _not_closed(cls, value: Status) -> Status:
        if value is Status.CLOSED:
            raise ValueError("a new conversation cannot start CLOSED")
        return value


class ConversationPatch(_RequestModel):
    """Only the fields that are set are sent (PATCH), so nothing is reset by omission."""

    topic: str | None = Field(default=None, min_length=1, max_length=TOPIC_MAX)
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX)
    status: Status | None = None
    priority: Priority | None = None
    queueId: str | None = None
    agentId: str | None = None

    @field_validator("topic", "summary")
    @classmethod
    def _printable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_characters(info.field_name, value)

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_unset=True, mode="json")


# --- listing -----------------------------------------------------------------------------------

# The contract's orderBy: "Possible ordering fields are properties" (of ConversationApiModel).
OrderField = Literal[
    "id",
    "topic",
    "summary",
    "status",
    "priority",
    "queueId",
    "agentId",
    "createdAt",
    "updatedAt",
    "closedAt",
]


class OrderBy(_RequestModel):
    field: OrderField = "createdAt"
    direction: Literal["asc", "desc"] = "desc"

    def __str__(self) -> str:
        return f"{self.field}:{self.direction}"

    @classmethod
    def parse(cls, text: str) -> OrderBy:
        """Infobip's `field:asc|desc` (direction case-insensitive, ascending when omitted)."""
        field, _, direction = text.partition(":")
        return cls.model_validate({"field": field, "direction": (direction or "asc").lower()})


class ConversationFilter(_RequestModel):
    conversationIds: list[str] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    queueIds: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    agentId: str | None = None
    unassigned: bool = False
    channel: Channel | None = None
    createdAfter: Timestamp | None = None
    createdBefore: Timestamp | None = None
    updatedAfter: Timestamp | None = None
    updatedBefore: Timestamp | None = None
    closedAfter: Timestamp | None = None
    closedBefore: Timestamp | None = None
    orderBy: OrderBy = Field(default_factory=OrderBy)
    page: int = Field(default=0, ge=0)
    limit: int = Field(default=20, ge=1, le=LIMIT_MAX)


T = TypeVar("T")


class ResultPage(BaseModel, Generic[T]):
    """One page of a list's results (Infobip's paging); not an escalation's page, which is
    bot.service.paging.Page."""

    items: list[T]
    totalItems: int
    page: int = 0
    limit: int = 20
    orderBy: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.totalItems // self.limit))

    @property
    def has_next(self) -> bool:
        return (self.page + 1) * self.limit < self.totalItems


# --- other resources ---------------------------------------------------------------------------


class Tag(_ApiModel):
    name: str
    id: str | None = None
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None


class Agent(_ApiModel):
    id: str
    displayName: str
    email: str | None = None
    status: AgentStatus | None = None
    availability: AgentStatus | None = None
    role: AgentRole = AgentRole.AGENT
    enabled: bool = True
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None


def same_email(first: str | None, second: str | None) -> bool:
    """Whether two e-mail addresses are the same one, whatever their case (people type them
    either way, and Slack keeps what they typed); an empty address matches none. The one rule
    of the embedded store and the emulator; Infobip's own is not documented (README)."""
    a, b = (first or "").strip().casefold(), (second or "").strip().casefold()
    return bool(a) and a == b


class Queue(_ApiModel):
    id: str
    name: str
    isAutoAssignmentEnabled: bool = False
    autoAssignmentAlgorithm: AutoAssignment | None = None
    enabledAgentsCount: int | None = None
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None


class RuleMatch(_RequestModel):
    """What a conversation must have for a routing rule to apply; empty lists match anything."""

    channels: list[Channel] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    def matches(self, conversation: Conversation) -> bool:
        if self.channels and conversation.channel not in self.channels:
            return False
        if self.priorities and conversation.priority not in self.priorities:
            return False
        if self.tags and not set(self.tags) & set(conversation.tags or []):
            return False
        if self.keywords:
            topic = (conversation.topic or "").casefold()
            if not any(word.casefold() in topic for word in self.keywords):
                return False
        return True


class RoutingRule(_ApiModel):
    id: str
    name: str
    order: int
    queueId: str
    priority: Priority | None = None
    enabled: bool = True
    match: RuleMatch = Field(default_factory=RuleMatch)


# A conversation's metadata (Infobip's `…/conversations/{id}/metadata`): a free key/value map
# that Infobip keeps and shows with the conversation, for whatever a client wants to remember.
Metadata = dict[str, object]
# The key under which a conversation made from a Slack message keeps that message's permalink.
SLACK_MESSAGE = "slackMessage"
