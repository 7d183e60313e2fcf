"""Buttons on digest items: Take, Escalate, Close and Snooze, each redrawing its item in place.

A press acts once on the version of the conversation the item was drawn from (the same claims
as card buttons), then redraws that item and the digest's totals with a debounced `chat.update`.
What the presser alone needs to know (a stale item, a refusal) is said ephemerally.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.exc import SQLAlchemyError

from bot.digests.model import DigestItem
from bot.errors import ConvbotError
from bot.models import Conversation
from bot.service.presses import Drawn, Presses
from bot.slack.blocks.digest import totals_text
from bot.slack.blocks.digest_redraw import replace_item
from bot.slack.blocks.mrkdwn import user_text
from bot.slack.blocks.refs import DigestItemRef, snooze_duration
from bot.slack.context import SlackContext
from bot.slack.digests import current_totals
from bot.slack.handovers import tell_previous_agent
from bot.slack.listeners.answering import observed, tell
from bot.slack.listeners.press_context import Listener, press_of
from bot.slack.listeners.press_notes import out_of_date, press_note
from bot.state.digest_posts import DigestPost
from bot.timestamps import utcnow

log = logging.getLogger(__name__)


def item_press(deps: SlackContext, presses: Presses) -> Listener:
    """Take, Escalate and Close on a digest item."""

    async def pressed(
        ack: AsyncAck, context: AsyncBoltContext, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        press = press_of(context)
        effect = press.button.conversation_effect
        try:
            async with observed(deps.metrics, "action", press.button.metric):
                ref = press.reference(DigestItemRef)
                actor = await press.actor()
                pressed = await presses.press(actor, Drawn(ref.id, ref.v), effect)
                note = await press_note(deps, pressed)
        except Exception as error:
            await tell(respond, error)
            return
        shown = pressed.conversation
        if pressed.taken_from is not None:  # whoever had it hears who took it, with a link
            where = _mapping(body.get("container"))
            await tell_previous_agent(
                deps,
                deps.client,
                pressed.taken_from,
                actor,
                shown,
                channel=where.get("channel_id"),
                message_ts=where.get("message_ts"),
            )
        snoozed = await _snoozed_until(deps, shown)
        item = DigestItem(conversation=shown, snoozed_until=snoozed)
        await _redraw(deps, body, ref, item, respond, effect.name)
        if note:
            await _note(respond, note)

    return pressed


def item_snooze(deps: SlackContext, presses: Presses) -> Listener:
    """The Snooze select on a digest item."""

    async def snooze(
        ack: AsyncAck, context: AsyncBoltContext, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        press = press_of(context)
        try:
            async with observed(deps.metrics, "action", press.button.metric):
                ref = press.reference(DigestItemRef)
                duration = snooze_duration(press.choice)
                actor = await press.actor()
                snoozed = await presses.snooze(actor, Drawn(ref.id, ref.v), duration)
                note = out_of_date(snoozed.conversation) if snoozed.stale else None
        except Exception as error:
            await tell(respond, error)
            return
        item = DigestItem(conversation=snoozed.conversation, snoozed_until=snoozed.until)
        await _redraw(deps, body, ref, item, respond, "snooze")
        if note:
            await _note(respond, note)

    return snooze


async def _snoozed_until(deps: SlackContext, conversation: Conversation) -> datetime | None:
    if conversation.is_closed:
        return None
    return (await deps.service.snoozed([conversation.id])).get(conversation.id)


async def _redraw(
    deps: SlackContext,
    body: dict[str, Any],
    ref: DigestItemRef,
    item: DigestItem,
    respond: AsyncRespond,
    action: str,
) -> None:
    """Redraw the item and the totals in the digest message the press came from.

    The payload's channel and ts only say which message to look for: the bot redraws it only if
    it recorded posting that message as this digest (bot/state/digest_posts.py), and from the
    blocks it recorded, never from the payload's blocks or text (a signed press naming another
    message, a page in someone's DM, once had that message overwritten). Without a record (a
    digest posted before records were kept, or pruned by retention) the presser alone is told.
    """
    message, container, where = (
        _mapping(body.get(key)) for key in ("message", "container", "channel")
    )
    channel = str(where.get("id") or container.get("channel_id") or "")
    ts = str(message.get("ts") or container.get("message_ts") or "")
    post: DigestPost | None = None
    if channel and ts:
        try:
            post = await deps.digest_posts.find(channel, ts)
        except SQLAlchemyError:
            log.warning("digest posts unreadable; %s/%s not redrawn", channel, ts, exc_info=True)
    if post is None or post.digest != ref.d:
        await _note(respond, _not_redrawn(action, item))
        return
    try:
        totals = await current_totals(deps, ref.d, post.channel)
    except ConvbotError:
        totals = None  # the press is done; only the head's counts stay as they were
    context = await deps.card_context(None)
    now = utcnow()
    drawn: list[tuple[str, list[dict[str, Any]]]] = []

    def redraw(blocks: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        new = replace_item(blocks, item, totals, context, now=now, digest_name=ref.d)
        text = totals_text(totals) if totals is not None else post.text
        drawn.append((text, new))
        return text, new

    deps.updates.edit(post.channel, post.ts, list(post.blocks), redraw)
    if drawn:  # what later presses, on any replica, build on
        try:
            await deps.digest_posts.redrawn(post.channel, post.ts, *drawn[-1])
        except SQLAlchemyError:
            log.warning("digest %s/%s redrawn but not recorded", channel, ts, exc_info=True)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _not_redrawn(action: str, item: DigestItem) -> str:
    conversation = item.conversation
    return (
        f"Done ({action}): conversation {conversation.id} is {conversation.status.value}."
        " This digest message is not updated, as the bot has no record of posting it;"
        " type `/conv digest` for a current one."
    )


async def _note(respond: AsyncRespond, note: str) -> None:
    await respond(
        text=":information_source: " + user_text(note, 3000),  # escaped unless Mrkdwn
        response_type="ephemeral",
        replace_original=False,
    )
