"""What a digest says, independent of how Slack draws it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bot.models import Conversation, Priority


class DigestItem(BaseModel):
    conversation: Conversation
    snoozed_until: datetime | None = None


class Digest(BaseModel):
    """One digest at one moment: totals from the backend's pagination, the top items drawn."""

    name: str
    generated_at: datetime
    totals: dict[Priority, int] = Field(default_factory=dict)  # every match, per priority
    queue_counts: dict[str, int] = Field(default_factory=dict)  # queue id → matches shown
    items: list[DigestItem] = Field(default_factory=list)  # URGENT first, oldest first
    snoozed: int = 0  # matches left out because they are snoozed
    more_command: str = "/conv list"  # shows everything the digest only counted
    mention: str | None = None  # a user group to ping when URGENT items exist

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def hidden(self) -> int:
        return max(0, self.total - len(self.items))
