"""`threads:` in convbot.yml: which channels show conversations' transcripts in Slack threads
(issue 18), how often the open threads look for new messages, and how many are drawn first.

    threads:
      poll_interval: 5s          # 1s-60s: a new message shows at most about this late
      latest: 20                 # 1-50 messages drawn when a thread opens
      channels:
        C0123ABCD: {auto: true, thread_replies: off}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot.durations import Duration
from bot.identifiers import POSTABLE_CHANNEL_ID

POLL_MIN, POLL_MAX = timedelta(seconds=1), timedelta(seconds=60)
LATEST_MAX = 50  # a transcript's page (bot/service/transcripts.py TRANSCRIPT_MAX)

ThreadReplies = Literal["customer", "note", "off"]


def _channel_id(value: str) -> str:
    if not POSTABLE_CHANNEL_ID.fullmatch(value):
        hint = " (that is a name)" if value.startswith("#") else ""
        raise ValueError(
            f"'{value[:40]}' is not a Slack channel id{hint}; use the id that starts with C,"
            " G or D (channel details → About, at the bottom), e.g. C0123456789"
        )
    return value


ChannelId = Annotated[str, AfterValidator(_channel_id)]


class _Section(BaseModel):
    # As every section of convbot.yml: a misspelt key fails loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid")


class ThreadChannel(_Section):
    """One channel's threads."""

    # Every card the bot posts in this channel gets its thread at once (no Thread press).
    auto: bool = False
    # What a person's message in a thread becomes: a reply to the customer, an internal note,
    # or nothing (`off`, the default: a customer must never receive chatter meant for
    # colleagues unless the channel says so). The mode: bot/slack/thread_replies.py.
    thread_replies: ThreadReplies = "off"


class ThreadsConfig(_Section):
    channels: dict[ChannelId, ThreadChannel] = Field(default_factory=dict)
    # One backend request per open thread per interval: a new message shows at most this late.
    poll_interval: Duration = timedelta(seconds=5)
    latest: int = Field(default=20, ge=1, le=LATEST_MAX)

    @field_validator("poll_interval")
    @classmethod
    def _poll_range(cls, value: timedelta) -> timedelta:
        if not POLL_MIN <= value <= POLL_MAX:
            raise ValueError("must be between 1s and 60s, e.g. 5s")
        return value

    def channel(self, channel_id: str) -> ThreadChannel:
        """The channel's settings; a channel not listed opens threads on a press only."""
        return self.channels.get(channel_id) or ThreadChannel()

    def is_auto(self, channel_id: str) -> bool:
        return self.channel(channel_id).auto
