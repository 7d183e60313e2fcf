"""The Slack side of `/conv escalate`, `/conv oncall` and `/conv escalations`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import Block, SectionBlock
from sqlalchemy.exc import SQLAlchemyError

from bot.commands.spec import EscalateCommand, OncallCommand
from bot.errors import ConvbotError, InvalidInput
from bot.models import Actor, Conversation
from bot.oncall.rota import handoffs, on_call
from bot.service.escalations import Started
from bot.slack.blocks.mrkdwn import md
from bot.slack.blocks.oncall import (
    OnCallNow,
    escalated_text,
    escalations_blocks,
    oncall_blocks,
    paging_text,
)
from bot.slack.channels import post_joining
from bot.slack.context import SlackContext
from bot.slack.failures import SLACK_FAILURES
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
_REDRAW_FAILURES: tuple[type[BaseException], ...] = (*SLACK_FAILURES, SQLAlchemyError, ConvbotError)
NEXT_HANDOFFS = 3


async def escalate_reply(
    deps: SlackContext, actor: Actor, command: EscalateCommand, channel_id: str = ""
) -> tuple[str, list[Block], bool] | None:
    """`(text, blocks, for the whole channel?)`: a new escalation is news, a repeat is not.

    None when a new escalation was announced in `channel_id` by the bot itself: a message the
    bot posts has a ts it can redraw (with "Acknowledged by @ben …") when the escalation ends,
    which an answer through response_url has not.
    """
    started = await deps.escalations.escalate(
        actor, command.id, policy=command.policy, reason=command.reason
    )
    try:
        conversation: Conversation | None = await deps.service.get(command.id)
    except ConvbotError:
        conversation = None
    text = escalated_text(started, conversation, actor.id)
    blocks: list[Block] = [SectionBlock(text=md(text))]
    if started.already:
        return text, blocks, False
    first_line = escalated_text(started, conversation, actor.id, paging=False)
    if channel_id and await _announce(deps, started, channel_id, text, blocks, first_line):
        return None
    return text, blocks, True


async def _announce(
    deps: SlackContext,
    started: Started,
    channel_id: str,
    text: str,
    blocks: list[Block],
    first_line: str,
) -> bool:
    """Post the escalation in the channel and remember where; False when Slack refused the post
    (a DM, a private channel without the bot: the answer then goes by response_url)."""
    try:
        posted = await post_joining(deps.client, channel_id, text, blocks)
    except SLACK_FAILURES:
        log.info("escalation not announced in %s; answering by response_url", channel_id)
        return False
    record = started.escalation
    channel, ts = str(posted["channel"]), str(posted["ts"])
    try:
        await deps.escalation_notices.remember(record.id, channel, ts, first_line)
        current = await deps.escalations.get(record.id)
    except (SQLAlchemyError, ConvbotError):
        log.warning("escalation notice %s/%s not recorded", channel, ts, exc_info=True)
        return True
    if not current.is_active:  # it ended before the notice was recorded: redraw it now
        await deps.escalations.redraw(current)
    elif (current.round, current.step) != (record.round, record.step):
        # A later step paged before the notice was recorded, so its progress never reached
        # the notice (the pager redraws the notices it finds): say it now.
        try:
            drawn = f"{first_line} {paging_text(await deps.escalations.progress(current))}"
            await deps.client.chat_update(
                channel=channel, ts=ts, text=drawn, blocks=[SectionBlock(text=md(drawn))]
            )
            current = await deps.escalations.get(record.id)
        except _REDRAW_FAILURES:
            log.warning("escalation notice %s/%s not redrawn", channel, ts, exc_info=True)
            return True
        if not current.is_active:  # it ended while that was drawn: the outcome stays, not this
            await deps.escalations.redraw(current)
    return True


async def oncall_reply(
    deps: SlackContext, user_id: str, command: OncallCommand, now: datetime | None = None
) -> tuple[str, list[Block]]:
    config = deps.config.oncall
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


async def escalations_reply(deps: SlackContext) -> tuple[str, list[Block]]:
    records = await deps.escalations.active()
    found = await asyncio.gather(
        *(deps.service.get(r.conversation_id) for r in records), return_exceptions=True
    )
    conversations = {c.id: c for c in found if isinstance(c, Conversation)}
    return escalations_blocks(records, conversations, deps.config.oncall)


async def viewer_zone(deps: SlackContext, user_id: str) -> ZoneInfo:
    """The viewer's time zone from their Slack profile; UTC when Slack does not say."""
    try:
        answer = await deps.client.users_info(user=user_id)
        return ZoneInfo(str((answer.get("user") or {}).get("tz") or "UTC"))
    except (SlackClientError, ZoneInfoNotFoundError, ValueError):
        log.info("time zone of %s unknown; reading at: as UTC", user_id)
        return ZoneInfo("UTC")
