"""A conversation's messages and notes, with Infobip's field names and the contract's limits
(`contracts/infobip-conversations-openapi.json`: MessageApiResponse, CreateMessageApiRequest,
NoteApiResponse, CreateNoteApiRequest).

Read models tolerate what the API adds (unknown fields and content types are kept); the models
we send are strict. `from` is a Python keyword: the field is `from_`, its alias `from`, and the
models are dumped `by_alias` on the wire.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.field_rules import LIMIT_MAX, check_characters
from bot.models import Channel
from bot.timestamps import Timestamp

# The contract's limits: "size cannot be longer than 4096 characters" (CreateMessageApiRequest's
# 400 example), "any text up to 4000 characters" (NoteApiResponse.content), agentId's maxLength.
MESSAGE_TEXT_MAX = 4096
NOTE_MAX = 4000
AGENT_ID_MAX = 255
ADDRESS_MAX = 255  # ours: a phone number, e-mail address or chat user id fits


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class AuthorType(StrEnum):
    CUSTOMER = "CUSTOMER"
    AGENT = "AGENT"
    SYSTEM = "SYSTEM"
    BOT = "BOT"


class ContentType(StrEnum):
    """The content types convbot reads for what they are; the contract lists over a hundred, and
    a message of any other is kept with its content as sent (`Message.content` a dict)."""

    TEXT = "TEXT"
    IMAGE = "IMAGE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"
    FILE = "FILE"
    LOCATION = "LOCATION"


# The attachment kinds: their content is a link (`url`), with an optional caption.
MEDIA_TYPES = frozenset(
    {ContentType.IMAGE, ContentType.AUDIO, ContentType.VIDEO, ContentType.DOCUMENT}
    | {ContentType.FILE}
)
# CreateMessageApiRequest.channel: the channels a message can be sent on.
SENDABLE_CHANNELS = frozenset(
    {Channel.SMS, Channel.VIBER, Channel.FACEBOOK_MESSENGER, Channel.WHATSAPP, Channel.RCS}
    | {Channel.LIVE_CHAT, Channel.LINE, Channel.APPLE_BUSINESS_CHAT, Channel.EMAIL}
    | {Channel.TELEGRAM, Channel.INSTAGRAM_MESSAGING, Channel.KAKAO_SANGDAM, Channel.VIBER_BOT}
)


class _Read(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Sent(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- content --------------------------------------------------------------------------------


class TextContent(_Read):
    text: str = ""


class MediaContent(_Read):
    url: str
    caption: str | None = None


class LocationContent(_Read):
    latitude: float
    longitude: float
    locationName: str | None = None
    address: str | None = None


Content = TextContent | MediaContent | LocationContent | dict[str, Any]


def read_content(content_type: str, content: object) -> Content:
    """The content as its type says, or as sent when the type is one convbot does not read
    (or the content is not the shape its type promises: a message must never fail to load)."""
    if not isinstance(content, dict):
        return {}
    kind: type[TextContent | MediaContent | LocationContent] | None = None
    if content_type == ContentType.TEXT:
        kind = TextContent
    elif content_type in MEDIA_TYPES:
        kind = MediaContent
    elif content_type == ContentType.LOCATION:
        kind = LocationContent
    if kind is not None:
        try:
            return kind.model_validate(content)
        except ValueError:
            pass
    return dict(content)


def content_json(content: Content) -> dict[str, Any]:
    if isinstance(content, BaseModel):
        return content.model_dump(mode="json", exclude_none=True)
    return dict(content)


# --- messages -------------------------------------------------------------------------------


class Message(_Read):
    """MessageApiResponse. `contentType` is text, not an enum: the API has many more than
    ContentType names, and grows."""

    id: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    channel: Channel | None = None
    direction: Direction
    conversationId: str | None = None
    authorId: str | None = None
    authorType: AuthorType | None = None
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None
    contentType: str = ContentType.TEXT.value
    # Read by `_typed_content`, by its type: validating it again as the union would take any
    # object for a TextContent (whose fields all have defaults).
    content: Annotated[Content, SkipValidation] = Field(default_factory=dict)

    @field_validator("channel", mode="before")
    @classmethod
    def _unknown_channel(cls, value: object) -> object:
        # As for conversations: a channel Infobip adds later is UNKNOWN, not a failure.
        if value is None or isinstance(value, Channel):
            return value
        if isinstance(value, str) and value in Channel.__members__:
            return Channel(value)
        return Channel.UNKNOWN

    @field_validator("authorType", mode="before")
    @classmethod
    def _unknown_author(cls, value: object) -> object:
        return value if value is None or value in AuthorType.__members__ else None

    @model_validator(mode="before")
    @classmethod
    def _typed_content(cls, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("content"), BaseModel):
            kind = str(data.get("contentType") or ContentType.TEXT.value)
            data = {**data, "content": read_content(kind, data.get("content"))}
        return data

    @property
    def text(self) -> str | None:
        """What a person reads: a text's text, an attachment's caption."""
        if isinstance(self.content, TextContent):
            return self.content.text
        if isinstance(self.content, MediaContent):
            return self.content.caption
        return None

    @property
    def links(self) -> list[str]:
        """An attachment's link (none for other kinds)."""
        return [self.content.url] if isinstance(self.content, MediaContent) else []

    def wire(self) -> dict[str, Any]:
        """As MessageApiResponse carries it: `from`, content as JSON, unset fields absent."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"content"})
        return {**body, "content": content_json(self.content)}


class MessageCreate(_Sent):
    """CreateMessageApiRequest: every field required. Text (TEXT) or a link (an attachment kind)
    is what convbot sends; `content` is checked against `contentType`."""

    from_: str = Field(alias="from", min_length=1, max_length=ADDRESS_MAX)
    to: str = Field(min_length=1, max_length=ADDRESS_MAX)
    channel: Channel
    contentType: Literal["TEXT", "IMAGE", "AUDIO", "VIDEO", "DOCUMENT"] = "TEXT"
    content: TextContent | MediaContent

    @field_validator("channel")
    @classmethod
    def _sendable(cls, value: Channel) -> Channel:
        if value not in SENDABLE_CHANNELS:
            raise ValueError(f"a message cannot be sent on the {value.value} channel")
        return value

    @model_validator(mode="before")
    @classmethod
    def _content_of_its_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("content"), dict):
            kind = TextContent if data.get("contentType", "TEXT") == "TEXT" else MediaContent
            data = {**data, "content": kind.model_validate(data["content"])}
        return data

    @model_validator(mode="after")
    def _content_checked(self) -> MessageCreate:
        content = self.content
        if self.contentType == "TEXT":
            if not isinstance(content, TextContent):
                raise ValueError("a TEXT message's content is its text")
            text = content.text
            if not text.strip():
                raise ValueError("the message is empty; write something to send")
            if len(text) > MESSAGE_TEXT_MAX:
                raise ValueError(
                    f"the message is {len(text)} characters; the limit is {MESSAGE_TEXT_MAX}"
                )
            check_characters("message", text)
        elif not isinstance(content, MediaContent) or not content.url.strip():
            raise ValueError(f"a {self.contentType} message's content is a link (url)")
        if content.model_extra:
            raise ValueError(f"unknown content fields: {', '.join(sorted(content.model_extra))}")
        return self

    def wire(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", by_alias=True, exclude={"content"})
        return {**body, "content": content_json(self.content)}


# --- notes ----------------------------------------------------------------------------------


class NoteType(StrEnum):
    """The kinds convbot reads; the contract's NoteType lists more (authentication events, Jira
    comments), kept as text by `Note.type`."""

    INTERNAL = "INTERNAL"
    ATTACHMENT = "ATTACHMENT"


class NoteAttachment(_Read):
    id: str | None = None
    fileName: str | None = None
    contentType: str | None = None
    fileSize: int | None = None
    publicLink: str | None = None


class AttachmentNoteContent(_Read):
    """An ATTACHMENT note's content (the contract's example): text and files with links."""

    text: str | None = None
    attachments: list[NoteAttachment] = Field(default_factory=list)


class Note(_Read):
    """NoteApiResponse. The schema types `content` as text (up to 4000 characters); its
    ATTACHMENT example carries an object, read as AttachmentNoteContent."""

    id: str
    conversationId: str | None = None
    agentId: str | None = None
    type: str = NoteType.INTERNAL.value
    content: str | AttachmentNoteContent = ""
    createdAt: Timestamp | None = None
    updatedAt: Timestamp | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return self.content.text or ""

    @property
    def links(self) -> list[str]:
        if isinstance(self.content, str):
            return []
        return [a.publicLink for a in self.content.attachments if a.publicLink]

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class NoteCreate(_Sent):
    """CreateNoteApiRequest for an internal note: its text and, optionally, its author."""

    type: Literal["INTERNAL"] = "INTERNAL"
    content: str = Field(min_length=1, max_length=NOTE_MAX)
    agentId: str | None = Field(default=None, min_length=1, max_length=AGENT_ID_MAX)

    @field_validator("content")
    @classmethod
    def _text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("the note is empty; write something to save")
        return check_characters("note", value) or value

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# --- listing --------------------------------------------------------------------------------

# "Possible ordering fields are properties" (of MessageApiResponse / NoteApiResponse); these are
# the ones that order a transcript.
ListOrderField = Literal["id", "createdAt", "updatedAt"]


class ListOrder(_Sent):
    field: ListOrderField = "createdAt"
    direction: Literal["asc", "desc"] = "asc"

    def __str__(self) -> str:
        return f"{self.field}:{self.direction}"

    @classmethod
    def parse(cls, text: str) -> ListOrder:
        field, _, direction = text.partition(":")
        return cls.model_validate({"field": field, "direction": (direction or "asc").lower()})


class NoteFilter(_Sent):
    """GET …/notes: paging and order (oldest first unless told)."""

    orderBy: ListOrder = Field(default_factory=ListOrder)
    page: int = Field(default=0, ge=0)
    limit: int = Field(default=20, ge=1, le=LIMIT_MAX)


class MessageFilter(NoteFilter):
    """GET …/messages: a direction, a time window (`createdAfter` includes its instant, as the
    conversation list's does), paging and order."""

    direction: Direction | None = None
    createdAfter: Timestamp | None = None
    createdBefore: Timestamp | None = None
