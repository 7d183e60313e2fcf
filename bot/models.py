"""The one set of models every layer speaks, with Infobip's field names.

Response models tolerate unknown fields (the API grows); request models are ours and strict.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.errors import InvalidInput
from bot.timestamps import Timestamp

TOPIC_MAX = 1000
SUMMARY_MAX = 4000
TAG_MAX = 100
LIMIT_MAX = 999  # the contract's page-size maximum
# What one command may ask for (bot/bounded.py says why): each tag costs a create and a link at
# Infobip, each filter value is a parameter of every request of a list.
TAGS_PER_COMMAND = 10
VALUES_PER_FILTER = 10
TAG_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A conversation id wherever one enters (commands, button values, form metadata): opaque, but
# one word that starts with a letter or digit, so `.`, `..` and empty never reach a URL path.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$"
# Use fullmatch: with re.match, `$` would also accept a trailing newline.
CONVERSATION_ID = re.compile(CONVERSATION_ID_PATTERN)
# Control characters break terminals and storage (tab and line breaks are text); lone surrogates
# cannot be encoded as UTF-8. The command parser refuses them in what is typed; the request
# models refuse them too, so that a Slack form cannot store what `/conv` would refuse.
BAD_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, object]) -> M:
    """Build `model` from user-supplied values; a violation becomes one readable InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"] if isinstance(part, str))
            if problem["type"] == "value_error":  # our own messages name their subject
                problems.append(problem["msg"].removeprefix("Value error, "))
            elif problem["type"] == "string_too_long":
                limit = problem.get("ctx", {}).get("max_length")
                length = len(str(problem["input"]))
                problems.append(f"{field} is {length} characters; the limit is {limit}")
            else:
                problems.append(f"{field or 'value'}: {problem['msg']}")
        raise InvalidInput("; ".join(problems) + ".") from None


class Actor(BaseModel):
    """Who is acting: a Slack user id or `cli:<os user>`, the surface, and their agent if known."""

    id: str
    surface: str
    agent_id: str | None = None


# --- shared validation -------------------------------------------------------------------------


def check_tag_name(name: str) -> str:
    """For pydantic validators: a ValueError naming the rule."""
    if not TAG_NAME.fullmatch(name):
        raise ValueError(
            f"tag '{name[:40]!s}' is not valid: use 1-{TAG_MAX} letters, digits, '.', '_' or '-'"
        )
    return name


def require_tag_name(name: str) -> str:
    """For callers outside pydantic: the same rule as an InvalidInput sentence."""
    try:
        return check_tag_name(name)
    except ValueError as error:
        raise InvalidInput(f"T{str(error)[1:]}.") from None


TagName = Annotated[str, BeforeValidator(lambda v: check_tag_name(str(v)))]


def too_many_tags(count: int) -> str:
    """The sentence for a command naming more tags than TAGS_PER_COMMAND (no final period)."""
    return (
        f"{count} tags are more than one command or form may give at once: the limit is"
        f" {TAGS_PER_COMMAND}; add the rest with another `tag`"
    )


def check_tag_count(names: list[str]) -> list[str]:
    """For pydantic validators: a ValueError when `names` holds more tags than one command may."""
    count = len(dict.fromkeys(names))
    if count > TAGS_PER_COMMAND:
        raise ValueError(too_many_tags(count))
    return names


def require_tag_count(names: list[str]) -> None:
    """For callers outside pydantic: the same rule as an InvalidInput sentence."""
    try:
        check_tag_count(names)
    except ValueError as error:
        raise InvalidInput(f"{error}.") from None


TagNames = Annotated[list[TagName], AfterValidator(check_tag_count)]
ConversationId = Annotated[str, Field(pattern=CONVERSATION_ID_PATTERN)]


def check_characters(field: str | None, value: str | None) -> str | None:
    """For pydantic validators: a ValueError naming the field that holds a control character."""
    if value is not None and BAD_CHARACTERS.search(value):
        raise ValueError(f"the {field or 'text'} contains a control character; remove it")
    return value


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
