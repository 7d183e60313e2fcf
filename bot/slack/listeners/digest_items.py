"""Buttons on digest items: Take, Escalate, Close and Snooze, each redrawing its item in place.

A press acts once on the version of the conversation the item was drawn from (the same claims
as card buttons), then redraws that item and the digest's totals with a debounced `chat.update`.
What the presser alone needs to know (a stale item, a refusal) is said ephemerally.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from sqlalchemy.exc import SQLAlchemyError

from bot.digests.model import DigestItem
from bot.errors import ConvbotError
from bot.models import Conversation, utcnow
from bot.slack.blocks import ids
from bot.slack.blocks.digest import replace_item, totals_text
from bot.slack.blocks.ids import CardRef, DigestItemRef
from bot.slack.blocks.mrkdwn import user_text
from bot.slack.context import SlackContext
from bot.slack.digests import current_totals
from bot.slack.handovers import tell_previous_agent
from bot.slack.listeners.actions import (
    Apply,
    card_actions,
    first_action,
    out_of_date,
    press_once,
    user_of,
)
from bot.slack.listeners.outcome import observed, tell
from bot.state.digest_posts import DigestPost

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: SlackContext) -> None:
    applies = card_actions(deps.service, deps.escalations)
    for action_id, name in (
        (ids.DIGEST_TAKE, "take"),
        (ids.DIGEST_ESCALATE, "escalate"),
        (ids.DIGEST_CLOSE, "close"),
    ):
        app.action(action_id)(_item_button(deps, name, applies[name]))

    @app.action(ids.DIGEST_SNOOZE)
    async def snooze(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            async with observed(deps.metrics, "action", "digest-snooze"):
                action = first_action(body)
                ref = ids.digest_ref_from_block_id(action.get("block_id"))
                duration = ids.snooze_duration((action.get("selected_option") or {}).get("value"))
                actor = await deps.identity.actor(user_of(body))
                await deps.service.authorize(actor, "update", ref.id)
                current = await deps.service.get(ref.id)
                until: datetime | None
                if ref.is_current(current.updatedAt):
                    current, until = await deps.service.snooze(actor, ref.id, duration)
                    note = None
                else:
                    until = (await deps.service.snoozed([ref.id])).get(ref.id)
                    note = out_of_date(current)
        except Exception as error:
            await tell(respond, error)
            return
        item = DigestItem(conversation=current, snoozed_until=until)
        await _redraw(deps, body, ref, item, respond, "snooze")
        if note:
            await _note(respond, note)


def _item_button(deps: SlackContext, name: str, apply: Apply) -> Callable[..., Awaitable[None]]:
    async def pressed(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            async with observed(deps.metrics, "action", f"digest-{name}"):
                ref = DigestItemRef.decode(first_action(body).get("value"))
                actor = await deps.identity.actor(user_of(body))
                pressed = await press_once(deps, actor, CardRef(id=ref.id, v=ref.v), name, apply)
        except Exception as error:
            await tell(respond, error)
            return
        note, shown = pressed.note, pressed.conversation
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
        await _redraw(deps, body, ref, item, respond, name)
        if note:
            await _note(respond, note)

    pressed.__name__ = f"digest_{name}"
    return pressed


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
