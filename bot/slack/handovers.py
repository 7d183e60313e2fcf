"""Telling an agent that someone took their conversation.

Taking a conversation someone has moves it silently in Infobip; the agent who had it may be in
the middle of answering. So whoever loses it gets a DM saying who took which conversation, with
a link to the card it was taken on when there is one. The take is done either way: a DM Slack
refuses (an agent linked to nobody in Slack, DMs it will not open) is logged, not raised.
"""

from __future__ import annotations

import logging

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import Actor, Conversation
from bot.slack.blocks import limits
from bot.slack.blocks.card import ID_MAX, actor_label, card_text
from bot.slack.blocks.mrkdwn import md, user_text
from bot.slack.context import SlackContext
from bot.slack.failures import SLACK_FAILURES
from bot.slack.permalinks import permalink

log = logging.getLogger(__name__)


async def tell_previous_agent(
    deps: SlackContext,
    client: AsyncWebClient,
    previous_agent_id: str,
    actor: Actor,
    conversation: Conversation,
    *,
    channel: str | None = None,
    message_ts: str | None = None,
) -> None:
    """DM the agent who had `conversation` that `actor` took it (or gave it to someone else);
    not when it was their own doing. `channel`/`message_ts`: the message it was taken on, for a
    link."""
    if previous_agent_id in (actor.agent_id, conversation.agentId):
        return
    user = deps.identity.slack_users().get(previous_agent_id)
    if user is None:
        log.info("agent %s lost %s but is linked to no Slack user", previous_agent_id, actor.id)
        return
    topic = user_text(conversation.topic, 150, empty="a conversation")
    ref = f"*{topic}* (`{user_text(conversation.id, ID_MAX)}`)"
    now_with = conversation.agentId
    if now_with is not None and now_with == actor.agent_id:
        text = f"{actor_label(actor.id)} took {ref} from you: it is assigned to them now."
    elif now_with is not None:
        name = user_text(await deps.service.directory.agent_name(now_with), 100)
        text = f"{actor_label(actor.id)} reassigned {ref} from you to {name}."
    else:
        text = f"{actor_label(actor.id)} unassigned {ref} from you."
    link = await permalink(client, channel, message_ts)
    if link:
        text += f" <{link}|See the card>"
    try:
        await client.chat_postMessage(
            channel=user,
            text=f"Taken from you: {card_text(conversation)}",
            blocks=[SectionBlock(text=md(text[: limits.SECTION_TEXT]))],
        )
    except SLACK_FAILURES:
        log.warning("could not tell %s that %s took %s", user, actor.id, conversation.id)
