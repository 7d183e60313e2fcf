"""The App Home tab: what is assigned to you, and what is urgent and nobody's."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConvbotError
from bot.models import ACTIVE_STATUSES, Conversation, ConversationFilter, OrderBy, Page, Priority
from bot.slack.blocks.home import home_view
from bot.slack.blocks.messages import error_mrkdwn
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)
HOME_ROWS = 10
_URGENT_FIRST = OrderBy(field="priority", direction="desc")


async def publish_home(
    deps: SlackDeps,
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
        assigned, unassigned = await asyncio.gather(
            _mine(deps, actor.agent_id), _urgent_and_unassigned(deps)
        )
    except ConvbotError as error:  # the tab still draws, saying why the lists are missing
        problem = error_mrkdwn(error)
    context = await deps.card_context(actor.agent_id)
    view = home_view(
        assigned,
        unassigned,
        context,
        linked=actor.agent_id is not None,
        problem=problem,
        notice=notice,
    )
    await client.views_publish(user_id=user_id, view=view)


async def _urgent_and_unassigned(deps: SlackDeps) -> Page[Conversation]:
    return await deps.service.list(
        ConversationFilter(
            statuses=list(ACTIVE_STATUSES),
            priorities=[Priority.URGENT, Priority.HIGH],
            unassigned=True,
            orderBy=_URGENT_FIRST,
            limit=HOME_ROWS,
        )
    )


async def _mine(deps: SlackDeps, agent_id: str | None) -> Page[Conversation] | None:
    if agent_id is None:
        return None
    return await deps.service.list(
        ConversationFilter(
            statuses=list(ACTIVE_STATUSES), agentId=agent_id, orderBy=_URGENT_FIRST, limit=HOME_ROWS
        )
    )
