"""What a parsed command means, independent of where it was typed (Slack `/conv` or the CLI).

The models validate again what the parser already checked, so a command built by hand (tests,
other callers) cannot carry values the parser would have refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime

from bot.field_rules import SUMMARY_MAX, TOPIC_MAX, VALUES_PER_FILTER, ConversationId, TagNames
from bot.identifiers import CONFIG_NAME_PATTERN
from bot.messages import MESSAGE_TEXT_MAX, NOTE_MAX
from bot.models import Channel, OrderBy, Priority, Status
from bot.service.transcripts import TRANSCRIPT_MAX

LIST_LIMIT_MAX = 100  # one chat message; the API allows more but nobody reads 999 rows in Slack

Topic = Annotated[str, Field(min_length=1, max_length=TOPIC_MAX)]
Summary = Annotated[str, Field(min_length=1, max_length=SUMMARY_MAX)]
AgentRef = Annotated[str, Field(min_length=1, max_length=255)]
# Named as in convbot.yml (`digests[].name`, `oncall.policies`, `oncall.schedules`).
DigestName = Annotated[str, Field(pattern=CONFIG_NAME_PATTERN)]
PolicyName = Annotated[str, Field(pattern=CONFIG_NAME_PATTERN)]
ScheduleName = Annotated[str, Field(pattern=CONFIG_NAME_PATTERN)]
REASON_MAX = 500
Reason = Annotated[str, Field(min_length=1, max_length=REASON_MAX)]
NoteText = Annotated[str, Field(min_length=1, max_length=NOTE_MAX)]
TRANSCRIPT_LIMIT_MAX = TRANSCRIPT_MAX  # a transcript's page, as the service bounds it
ReplyText = Annotated[str, Field(min_length=1, max_length=MESSAGE_TEXT_MAX)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateCommand(_Spec):
    kind: Literal["create"] = "create"
    topic: Topic
    summary: Summary | None = None
    priority: Priority | None = None
    status: Status | None = None
    channel: Channel | None = None
    queue: str | None = None
    agent: AgentRef | None = None
    tags: TagNames = Field(default_factory=list)


class ListCommand(_Spec):
    kind: Literal["list"] = "list"
    statuses: list[Status] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list, max_length=VALUES_PER_FILTER)
    agent: str | None = None  # "me", "none" or an agent id
    tags: TagNames = Field(default_factory=list)
    channel: Channel | None = None
    since: AwareDatetime | None = None
    sort: OrderBy | None = None
    limit: int | None = Field(default=None, ge=1, le=LIST_LIMIT_MAX)
    page: int | None = Field(default=None, ge=1)  # 1-based, as people count pages


class ShowCommand(_Spec):
    kind: Literal["show"] = "show"
    id: ConversationId


class UpdateCommand(_Spec):
    kind: Literal["update"] = "update"
    id: ConversationId
    topic: Topic | None = None
    summary: Summary | None = None
    status: Status | None = None
    priority: Priority | None = None
    queue: str | None = None


class AssignCommand(_Spec):
    kind: Literal["assign"] = "assign"
    id: ConversationId
    agent: AgentRef  # "me" or an agent id / Slack mention, resolved by the service


class TakeCommand(_Spec):
    kind: Literal["take"] = "take"
    id: ConversationId


class UnassignCommand(_Spec):
    kind: Literal["unassign"] = "unassign"
    id: ConversationId


class RouteCommand(_Spec):
    kind: Literal["route"] = "route"
    id: ConversationId


class TagCommand(_Spec):
    kind: Literal["tag"] = "tag"
    id: ConversationId
    tags: TagNames = Field(min_length=1)


class UntagCommand(_Spec):
    kind: Literal["untag"] = "untag"
    id: ConversationId
    tags: TagNames = Field(min_length=1)


class CloseCommand(_Spec):
    kind: Literal["close"] = "close"
    id: ConversationId


class NoteCommand(_Spec):
    """Save an internal note on a conversation (colleagues see it; the customer does not)."""

    kind: Literal["note"] = "note"
    id: ConversationId
    text: NoteText | None = None  # Slack's form asks for it when absent


class MessagesCommand(_Spec):
    """Read a conversation's latest messages and notes."""

    kind: Literal["messages"] = "messages"
    id: ConversationId
    limit: int | None = Field(default=None, ge=1, le=TRANSCRIPT_LIMIT_MAX)


class ReplyCommand(_Spec):
    """Answer the customer. Slack opens a form to check and send it (the text may come later,
    in the form); the CLI sends the text at once."""

    kind: Literal["reply"] = "reply"
    id: ConversationId
    text: ReplyText | None = None


class DigestCommand(_Spec):
    """Post a configured digest (default: the first) in the channel, now. Slack only."""

    kind: Literal["digest"] = "digest"
    name: DigestName | None = None


class SchedulesCommand(_Spec):
    """List the digests, when they run and how they last went. Slack only."""

    kind: Literal["schedules"] = "schedules"


class EscalateCommand(_Spec):
    """Page whoever is on call for a conversation, step by step, by a policy. Slack only."""

    kind: Literal["escalate"] = "escalate"
    id: ConversationId
    policy: PolicyName | None = None  # None: the configured default policy
    reason: Reason | None = None


class OncallCommand(_Spec):
    """Who is on call, for one schedule (default: every one), now or at a time. Slack only."""

    kind: Literal["oncall"] = "oncall"
    schedule: ScheduleName | None = None
    # A wall time in the viewer's time zone, which only the surface knows: kept naive on
    # purpose. None means now (`at:now` parses to None too).
    at: NaiveDatetime | None = None


class EscalationsCommand(_Spec):
    """List the escalations still running. Slack only."""

    kind: Literal["escalations"] = "escalations"


class HelpCommand(_Spec):
    kind: Literal["help"] = "help"
    subcommand: str | None = None


# Every model has one entry in bot/commands/registry.py, which checks at import that they agree.
Command = Annotated[
    CreateCommand
    | ListCommand
    | ShowCommand
    | UpdateCommand
    | AssignCommand
    | TakeCommand
    | UnassignCommand
    | RouteCommand
    | TagCommand
    | UntagCommand
    | CloseCommand
    | NoteCommand
    | ReplyCommand
    | MessagesCommand
    | DigestCommand
    | SchedulesCommand
    | EscalateCommand
    | OncallCommand
    | EscalationsCommand
    | HelpCommand,
    Field(discriminator="kind"),
]
