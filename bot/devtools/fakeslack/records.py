"""What the fake Slack stores and records: calls, response_url posts, users, channels,
messages, views, and the rule violations a test fails on. Plain data, no behaviour of Slack's."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Errors that mean the app sent what Slack refuses by rule (not a state of the workspace, like a
# channel it is not in): a test whose bot meets one fails (see `violations`).
RULE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "msg_blocks_too_long",
        "msg_too_long",
        "invalid_arguments",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_name",
        "no_item_specified",
        "missing_scope",
        "no_text",
        "exchanged_trigger_id",
        "used_url",
        "invalid_payload",
    }
)


@dataclass(frozen=True)
class SlackCall:
    """One Web API call as the fake received it, and how it answered."""

    method: str
    args: JsonDict  # query string, form and JSON body merged; JSON-encoded blocks/views decoded
    token: str | None
    time: float
    ok: bool = True
    error: str | None = None
    status: int = 200
    faulted: bool = False  # refused by a fault rule (see `faults`): Slack did nothing


@dataclass(frozen=True)
class ResponsePost:
    """One post to a response_url the fake issued."""

    token: str
    channel: str
    user: str
    body: JsonDict
    time: float

    @property
    def response_type(self) -> str:
        return str(self.body.get("response_type") or "ephemeral")

    @property
    def replace_original(self) -> bool:
        return truthy(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        return truthy(self.body.get("delete_original"))

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "")

    @property
    def blocks(self) -> list[JsonDict]:
        blocks = self.body.get("blocks")
        return list(blocks) if isinstance(blocks, list) else []


@dataclass
class SlackUser:
    id: str
    name: str
    email: str | None = None
    is_bot: bool = False
    real_name: str = ""
    tz: str = "UTC"
    deleted: bool = False


@dataclass
class SlackChannel:
    id: str
    name: str
    is_im: bool = False
    is_mpim: bool = False
    is_private: bool = False
    is_member: bool = True  # whether the bot is in it (posting elsewhere is `not_in_channel`)
    is_archived: bool = False  # archived: posting and joining are `is_archived`
    members: set[str] | None = None  # None: everybody in the workspace
    user: str | None = None  # the other party of a DM
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class StoredMessage:
    channel: str
    ts: str
    text: str
    blocks: list[JsonDict]
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    attachments: list[JsonDict] = field(default_factory=list)
    metadata: JsonDict | None = None
    edited: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)  # emoji name → users

    def as_slack(self) -> JsonDict:
        """The message as Slack renders it in payloads (`message` of a block_actions payload)."""
        out: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return out


@dataclass
class EphemeralMessage:
    """A message only `user` sees; Slack keeps no copy the API can read back, the fake does."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JsonDict]
    thread_ts: str | None = None


@dataclass
class StoredView:
    """A modal or Home view as Slack last answered it (`view` is the full view object)."""

    id: str
    user_id: str | None
    view: JsonDict

    @property
    def hash(self) -> str:
        return str(self.view["hash"])

    @property
    def type(self) -> str:
        return str(self.view["type"])

    @property
    def blocks(self) -> list[JsonDict]:
        return list(self.view.get("blocks") or [])

    @property
    def external_id(self) -> str:
        return str(self.view.get("external_id") or "")


@dataclass
class ResponseUrl:
    token: str
    channel: str
    user: str
    message_ts: str | None  # the message the interaction came from, for replace/delete_original
    issued: float = field(default_factory=time.monotonic)
    uses: int = 0


@dataclass(frozen=True)
class Violation:
    """A call Slack refused because the app broke one of its rules (`RULE_ERRORS`)."""

    method: str
    error: str
    details: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method}: {self.error} {'; '.join(self.details)}".strip()


def truthy(value: Any) -> bool:
    """A flag as Slack reads it from JSON (`true`) or from a form (`"true"`, `"1"`)."""
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
