"""The App Home tab: whether you are on call, what is assigned to you, and what is urgent and
nobody's, each list the most urgent first (bot/service/triage.py) with its true total."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.bounded import one_budget
from bot.errors import ConvbotError
from bot.models import ACTIVE_STATUSES, Conversation, ConversationFilter, Priority, ResultPage
from bot.oncall.config import OncallSchedule
from bot.oncall.rota import HANDOFF_HORIZON, handoffs, on_call
from bot.service.triage import triage_page
from bot.slack.blocks.home import OnCallShift, OnCallStatus, home_view
from bot.slack.blocks.messages import error_mrkdwn
from bot.slack.context import SlackContext
from bot.timestamps import utcnow

log = logging.getLogger(__name__)
HOME_ROWS = 10
NEXT_SHIFT_WITHIN = timedelta(days=60)  # a later shift is "not on call" on the Home tab
_HANDOFF_BATCH = 20  # handoffs read at a time while looking for the viewer's next shift


async def publish_home(
    deps: SlackContext,
    client: AsyncWebClient,
    user_id: str,
    *,
    notice: str | None = None,
) -> None:
    """Draw `user_id`'s Home tab; `notice` (mrkdwn if `Mrkdwn`) goes above the lists."""
    actor = await deps.identity.actor(user_id)
    assigned = unassigned = None
    problem: str | None = None
    try:
        # Both lists at once, one list per priority each: one budget of backend calls for all.
        with one_budget():
            assigned, unassigned = await asyncio.gather(
                _mine(deps, actor.agent_id), _urgent_and_unassigned(deps)
            )
    except ConvbotError as error:  # the tab still draws, saying why the lists are missing
        problem = error_mrkdwn(error)
    context = await deps.card_context(actor.agent_id)
    oncall = await oncall_status(deps, user_id)
    view = home_view(
        assigned,
        unassigned,
        context,
        linked=actor.agent_id is not None,
        problem=problem,
        notice=notice,
        oncall=oncall,
    )
    await client.views_publish(user_id=user_id, view=view)


async def _urgent_and_unassigned(deps: SlackContext) -> ResultPage[Conversation]:
    return await triage_page(
        deps.service,
        ConversationFilter(
            statuses=list(ACTIVE_STATUSES),
            priorities=[Priority.URGENT, Priority.HIGH],
            unassigned=True,
            limit=HOME_ROWS,
        ),
    )


async def _mine(deps: SlackContext, agent_id: str | None) -> ResultPage[Conversation] | None:
    if agent_id is None:
        return None
    return await triage_page(
        deps.service,
        ConversationFilter(statuses=list(ACTIVE_STATUSES), agentId=agent_id, limit=HOME_ROWS),
    )


async def oncall_status(
    deps: SlackContext, user_id: str, now: datetime | None = None
) -> OnCallStatus | None:
    """`user_id`'s shifts and who has each schedule now; None when no schedules are configured.

    The rota is pure and the escalation count is one state-DB query, so this costs no backend
    call; a failing query leaves the count out rather than the Home tab.
    """
    schedules = deps.config.oncall.schedules
    if not schedules:
        return None
    moment = now or utcnow()
    mine: list[OnCallShift] = []
    others: list[tuple[str, str | None]] = []
    upcoming: list[OnCallShift] = []
    for schedule in schedules:
        user = on_call(schedule, moment)
        if user == user_id:
            ending = handoffs(schedule, moment, 1)  # the first change is away from the viewer
            mine.append(OnCallShift(schedule.name, ending[0].at if ending else None))
            continue
        others.append((schedule.name, user))
        starts = _next_shift(schedule, user_id, moment)
        if starts is not None:
            upcoming.append(OnCallShift(schedule.name, starts))
    try:
        escalations: int | None = len(await deps.escalations.active())
    except SQLAlchemyError:
        log.warning("active escalations unavailable for the Home tab", exc_info=True)
        escalations = None
    return OnCallStatus(
        on_call=mine,
        next_shift=min(upcoming, key=lambda shift: shift.at or moment, default=None),
        others=others,
        escalations=escalations,
    )


def _next_shift(schedule: OncallSchedule, user_id: str, now: datetime) -> datetime | None:
    """When `user_id` next goes on call for `schedule`, if within NEXT_SHIFT_WITHIN of `now`."""
    listed = {*schedule.rotation.users, *(override.user for override in schedule.overrides)}
    if user_id not in listed:
        return None  # most viewers are on no rota: no need to walk it
    end = now + NEXT_SHIFT_WITHIN
    after = now
    while after < end:
        batch = handoffs(schedule, after, _HANDOFF_BATCH)
        for handoff in batch:
            if handoff.at > end:
                return None
            if handoff.user == user_id:
                return handoff.at
        if len(batch) == _HANDOFF_BATCH:
            after = batch[-1].at
        else:  # every change up to its look-ahead was in the batch
            after += HANDOFF_HORIZON
    return None
