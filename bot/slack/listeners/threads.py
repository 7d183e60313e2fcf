"""A card's Thread button and a transcript's "Older messages" (issue 18).

Reading needs no permission beyond the channel, so unlinked people may open and read threads.
What a press opens is decided in bot/slack/threads.py; here it is acked, read and answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.blocks import SectionBlock

from bot.errors import InvalidInput
from bot.slack.blocks.card import card_text, conversation_card
from bot.slack.blocks.mrkdwn import Mrkdwn, escape, md
from bot.slack.blocks.refs import CardRef, OlderRef
from bot.slack.channels import post_joining
from bot.slack.context import SlackContext
from bot.slack.listeners.answering import answering
from bot.slack.listeners.press_context import Listener, press_of

NO_CHANNEL = (
    "A thread opens under a conversation's card in a channel; run `/conv show {id}` in one"
    " and press Thread there."
)


def _where(body: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """The channel and message a press came from, and whether that message is ephemeral."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts"), bool(container.get("is_ephemeral"))


def thread_press(deps: SlackContext) -> Listener:
    """Thread: open the conversation's thread under this card, or link to the one it has."""

    async def pressed(
        ack: AsyncAck, context: AsyncBoltContext, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        press = press_of(context)
        async with answering(deps.metrics, press.button.metric, respond):
            ref = press.reference(CardRef)
            channel, message_ts, ephemeral = _where(body)
            if channel is None or (message_ts is None and not ephemeral):
                raise InvalidInput(NO_CHANNEL.format(id=ref.id))
            actor = await press.actor()
            conversation = await deps.service.get(ref.id)
            found = await deps.threads.store.find(conversation.id, channel)
            if found is not None:
                await _tell_link(respond, conversation.id, await deps.threads.permalink(found))
                return
            if ephemeral or message_ts is None:
                # An ephemeral card (`/conv show`) cannot hold a thread: Slack keeps no copy
                # anyone else could open. The card is posted in the channel, and the thread
                # opens under that one.
                card_context = await deps.card_context(None, [conversation.id])
                posted = await post_joining(
                    deps.client,
                    channel,
                    card_text(conversation),
                    conversation_card(conversation, card_context),
                )
                message_ts = str(posted["ts"])
            opened = await deps.threads.open(actor, conversation, channel, message_ts)
            if not opened.created:  # opened a moment ago by another press
                await _tell_link(respond, conversation.id, opened.permalink)

    return pressed


async def _tell_link(respond: AsyncRespond, conversation_id: str, permalink: str | None) -> None:
    """The presser alone is pointed at the thread the conversation has in this channel."""
    where = f"<{escape(permalink)}|its thread>" if permalink else "its thread under its card"
    text = Mrkdwn(
        f":thread: Conversation `{escape(conversation_id)}` already has a thread in this"
        f" channel: open {where} to read it."
    )
    await respond(
        text=text,
        blocks=[SectionBlock(text=md(text))],
        response_type="ephemeral",
        replace_original=False,
    )


def older_press(deps: SlackContext) -> Listener:
    """Older messages: the page before, to the presser alone, in the thread."""

    async def pressed(
        ack: AsyncAck, context: AsyncBoltContext, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        press = press_of(context)
        async with answering(deps.metrics, press.button.metric, respond):
            ref = press.reference(OlderRef)
            channel, _, _ = _where(body)
            if channel is None:
                raise InvalidInput(NO_CHANNEL.format(id=ref.id))
            actor = await press.actor()
            await deps.threads.show_older(actor, ref, channel, press.user)

    return pressed
