"""Who an escalation step pages, and what a page carries to the Slack side (the `Pager` port).

A step names targets (users, channels, schedules, user groups); `recipients` resolves them at a
moment to the people and channels to page, each once: a schedule to whoever is on call then, a
user group to its members.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from bot.models import Conversation
from bot.oncall.config import OncallConfig, PolicyStep
from bot.oncall.rota import on_call
from bot.service.permissions import GroupDirectory
from bot.state.escalations import EscalationRecord, PageRecord

log = logging.getLogger(__name__)


class Recipient(BaseModel):
    """One place a page goes: a user's DM or a channel, and the policy target it came from."""

    kind: Literal["user", "channel"]
    id: str
    target: str


class Page(BaseModel):
    """What a page says: the conversation, why, who started it, and which step it is."""

    escalation: EscalationRecord
    conversation: Conversation
    step: int  # 1-based
    steps: int
    round: int  # 0-based
    recipient: Recipient


class Pager(Protocol):
    async def send(self, page: Page) -> tuple[str, str]:
        """Deliver one page; the (channel, ts) of the message, to update it later."""
        ...

    async def settle(
        self, escalation: EscalationRecord, pages: list[PageRecord], conversation: Conversation
    ) -> None:
        """Redraw every page of an escalation that has ended (acknowledged, resolved...)."""
        ...


def recipient_of(page: PageRecord) -> Recipient:
    """Where a recorded page went, as the recipient it was sent to."""
    kind, _, ref = page.target.partition(":")
    return Recipient(kind="channel" if kind == "channel" else "user", id=ref, target=page.target)


async def resolve_recipients(
    step: PolicyStep, at: datetime, config: OncallConfig, groups: GroupDirectory | None
) -> list[Recipient]:
    """Everyone a step pages at `at`, each once: schedules resolve to who is on call then,
    user groups to their members."""
    found: dict[tuple[str, str], Recipient] = {}
    for target in step.notify:
        text = str(target)
        ids: list[tuple[Literal["user", "channel"], str]] = []
        if target.kind == "user":
            ids = [("user", target.ref)]
        elif target.kind == "channel":
            ids = [("channel", target.ref)]
        elif target.kind == "schedule":
            schedule = config.schedule(target.ref)
            user = on_call(schedule, at) if schedule is not None else None
            ids = [("user", user)] if user else []
        elif target.kind == "usergroup" and groups is not None:
            try:
                members = await groups.members(target.ref)
            except Exception:  # an unreadable group pages nobody, which is recorded
                log.warning("members of %s unavailable", target.ref, exc_info=True)
                members = set()
            ids = [("user", member) for member in sorted(members)]
        for kind, ref in ids:
            found.setdefault((kind, ref), Recipient(kind=kind, id=ref, target=text))
    return list(found.values())
