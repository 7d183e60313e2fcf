"""The Slack side of `/conv escalate`, `/conv oncall` and `/conv escalations`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import Block, SectionBlock

from bot.commands.spec import EscalateCommand, OncallCommand
from bot.errors import ConvbotError, InvalidInput
from bot.models import Actor, Conversation, utcnow
from bot.oncall.rota import handoffs, on_call
from bot.slack.blocks.mrkdwn import md
from bot.slack.blocks.oncall import OnCallNow, escalated_text, escalations_blocks, oncall_blocks
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)
NEXT_HANDOFFS = 3


async def escalate_reply(
    deps: SlackDeps, actor: Actor, command: EscalateCommand
) -> tuple[str, list[Block], bool]:
    """`(text, blocks, for the whole channel?)`: a new escalation is news, a repeat is not."""
    started = await deps.escalations.escalate(
        actor, command.id, policy=command.policy, reason=command.reason
    )
    try:
        conversation: Conversation | None = await deps.service.get(command.id)
    except ConvbotError:
        conversation = None
    text = escalated_text(started, conversation, actor.id)
    return text, [SectionBlock(text=md(text))], not started.already


async def oncall_reply(
    deps: SlackDeps, user_id: str, command: OncallCommand, now: datetime | None = None
) -> tuple[str, list[Block]]:
    config = deps.runtime.config.oncall
    schedules = config.schedules
    if command.schedule is not None:
        found = config.schedule(command.schedule)
        if found is None:
            known = ", ".join(s.name for s in schedules) or "none are configured"
            raise InvalidInput(
                f"No on-call schedule named '{command.schedule}'. Schedules: {known}."
            )
        schedules = [found]
    moment = now or utcnow()
    if command.at is not None:
        zone = await viewer_zone(deps, user_id)
        moment = command.at.replace(tzinfo=zone).astimezone(UTC)
    entries = []
    for schedule in schedules:
        upcoming = handoffs(schedule, moment, NEXT_HANDOFFS)
        entries.append(
            OnCallNow(
                schedule=schedule,
                user=on_call(schedule, moment),
                until=upcoming[0].at if upcoming else None,
                next=upcoming,
            )
        )
    return oncall_blocks(entries, moment, now=command.at is None)


async def escalations_reply(deps: SlackDeps) -> tuple[str, list[Block]]:
    records = await deps.escalations.active()
    found = await asyncio.gather(
        *(deps.service.get(r.conversation_id) for r in records), return_exceptions=True
    )
    conversations = {c.id: c for c in found if isinstance(c, Conversation)}
    return escalations_blocks(records, conversations, deps.runtime.config.oncall)


async def viewer_zone(deps: SlackDeps, user_id: str) -> ZoneInfo:
    """The viewer's time zone from their Slack profile; UTC when Slack does not say."""
    try:
        answer = await deps.client.users_info(user=user_id)
        return ZoneInfo(str((answer.get("user") or {}).get("tz") or "UTC"))
    except (SlackClientError, ZoneInfoNotFoundError, ValueError):
        log.info("time zone of %s unknown; reading at: as UTC", user_id)
        return ZoneInfo("UTC")
