"""One item of the digest message: a section describing an open high-priority conversation
(block_id `dsec|<conversation id>`, which `digest_redraw.replace_item` looks for) and, unless it
is closed, its actions block: Take, Escalate, Close and a Snooze menu. Also what an item says
that others read too: its queue's name (`queue_name`, the digest's counts per queue) and its age
(`age`, the CLI's digest).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    InteractiveElement,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.digests.model import DigestItem
from bot.field_rules import CONVERSATION_ID
from bot.models import Status
from bot.slack.blocks import buttons, limits, refs
from bot.slack.blocks.card import (
    PRIORITY_EMOJI,
    CardContext,
    agent_label,
    close_button,
    label,
    take_confirm,
)
from bot.slack.blocks.mrkdwn import clip, escape, md, plain, slack_date, user_text

UNQUEUED = ""  # the `Digest.queue_counts` key of conversations that are in no queue
UNQUEUED_LABEL = "unqueued"
NO_TOPIC = "(no topic)"

ITEM_BLOCK_PREFIX = "dsec|"  # + the conversation id
_ITEM_HASH_PREFIX = "dsec#"  # + a hash of the id, for ids too long for a block_id

TOPIC_MAX = 200
NAME_MAX = 100  # queue and agent names
TAGS_MAX = 500
ID_MAX = 255


def queue_name(queue_id: str | None, context: CardContext) -> str:
    """The queue's name, else its id, else "unqueued"; escaped and clipped mrkdwn."""
    if queue_id is None or queue_id == UNQUEUED:
        return UNQUEUED_LABEL
    return user_text(context.queue_names.get(queue_id) or queue_id, NAME_MAX)


def age(since: datetime | None, now: datetime) -> str:
    """How long ago `since` was, coarsely: "5 min", "3 h", "2 d" ("—" when unknown)."""
    if since is None:
        return "—"
    seconds = max(0, int((_aware(now) - _aware(since)).total_seconds()))
    if seconds < 60:
        return "under 1 min"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def item_block_id(conversation_id: str) -> str:
    """The block_id of an item's section: `dsec|<id>`, or a hash of the id if that is too long."""
    block_id = ITEM_BLOCK_PREFIX + conversation_id
    if len(block_id) <= limits.BLOCK_ID:
        return block_id
    return _ITEM_HASH_PREFIX + hashlib.sha256(conversation_id.encode()).hexdigest()


def digest_item_blocks(
    item: DigestItem, context: CardContext, *, now: datetime, digest_name: str
) -> list[Block]:
    """The section describing one item and, unless it is closed, its actions block."""
    blocks: list[Block] = [
        SectionBlock(
            block_id=item_block_id(item.conversation.id), text=md(_item_text(item, context, now))
        )
    ]
    actions = _item_actions(item, context, digest_name)
    if actions is not None:
        blocks.append(actions)
    return blocks


def _item_text(item: DigestItem, context: CardContext, now: datetime) -> str:
    """`:rotating_light: *Topic*` then "open 3 h · Billing · @ana · #vip · `id`"."""
    conversation = item.conversation
    topic = user_text(conversation.topic, TOPIC_MAX, empty=NO_TOPIC)
    facts: list[str] = []
    if conversation.is_closed:
        facts.append("closed")
    else:
        facts.append(f"open {age(conversation.createdAt, now)}")
        if conversation.status is not Status.OPEN:
            facts.append(label(conversation.status.value))
    facts.append(queue_name(conversation.queueId, context))
    facts.append(agent_label(conversation.agentId, context))
    if conversation.tags:
        facts.append(clip(" ".join(f"#{escape(tag)}" for tag in conversation.tags), TAGS_MAX))
    facts.append(f"`{user_text(conversation.id, ID_MAX)}`")
    text = f"{PRIORITY_EMOJI[conversation.priority]} *{topic}*\n" + " · ".join(facts)
    if item.snoozed_until is not None and not conversation.is_closed:
        text += f"\n:zzz: snoozed until {slack_date(item.snoozed_until)}"
    return text  # bounded by the limits above, far below 3,000


def _item_actions(item: DigestItem, context: CardContext, digest_name: str) -> ActionsBlock | None:
    """Take (unless it is the viewer's), Escalate, Close, and Snooze unless already snoozed."""
    conversation = item.conversation
    if conversation.is_closed or not CONVERSATION_ID.fullmatch(conversation.id):
        return None  # an id a press may not carry would only make a broken button
    value = refs.DigestItemRef(d=digest_name, id=conversation.id, v=conversation.updatedAt).encode()
    if len(value) > limits.BUTTON_VALUE:
        return None
    elements: list[InteractiveElement] = []
    if context.viewer_agent_id is None or conversation.agentId != context.viewer_agent_id:
        confirm = None
        if conversation.agentId is not None:  # taking it takes it from someone: ask first
            confirm = take_confirm(conversation.agentId, context)
        elements.append(buttons.DIGEST_TAKE.draw(value, confirm=confirm))
    elements.append(buttons.DIGEST_ESCALATE.draw(value))
    elements.append(close_button(conversation, value, button=buttons.DIGEST_CLOSE))
    block_id = refs.DIGEST_ITEM_BLOCK_PREFIX + value
    if len(block_id) > limits.BLOCK_ID:
        # JSON cannot be cut, and without the block_id the select could not say which item.
        return ActionsBlock(elements=elements)
    if item.snoozed_until is None:
        elements.append(snooze_select())
    return ActionsBlock(block_id=block_id, elements=elements)


def _duration_label(duration: timedelta) -> str:
    hours = int(duration.total_seconds() // 3600)
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def snooze_select() -> StaticSelectElement:
    """Snooze for 1 h, 4 h or 24 h; option values are `refs.DIGEST_SNOOZE_CHOICES` keys."""
    options = [
        Option(value=value, text=plain(_duration_label(duration), limits.OPTION_TEXT))
        for value, duration in refs.DIGEST_SNOOZE_CHOICES.items()
    ]
    return StaticSelectElement(
        action_id=buttons.DIGEST_SNOOZE.id,
        placeholder=plain(buttons.DIGEST_SNOOZE.label, limits.OPTION_TEXT),
        options=options,
    )
