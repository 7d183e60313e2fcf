"""The digest message: totals, then one entry per open high-priority conversation, with controls.

Layout (at most 50 blocks and `limits.MESSAGE_TEXT_BUDGET` characters, whatever the backlog):

- the head section (block_id `dhead…`): "7 open high-priority conversations — 2 URGENT, 5 HIGH",
  led by the digest's user-group mention while anything is URGENT;
- a context line of counts per queue (block_id `dqueues`): "Billing 3 · VIP 2 · unqueued 1";
- per item a section (block_id `dsec|<conversation id>`) and, unless it is closed, an actions
  block (block_id `ditem|<DigestItemRef>`) with Take, Escalate, Close and a Snooze menu;
- "…and N more — `/conv list …`" (block_id `dmore`) for what was counted but not drawn.

The block_ids let `replace_item` find one item and the head in the message Slack sends back with
a press, so a press redraws that item and the totals and leaves every other item as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    InteractiveElement,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.digests.model import Digest, DigestItem
from bot.errors import InvalidInput
from bot.field_rules import CONVERSATION_ID
from bot.models import Priority, Status
from bot.slack.blocks import buttons, limits, refs
from bot.slack.blocks.card import (
    PRIORITY_EMOJI,
    CardContext,
    agent_label,
    close_button,
    label,
    take_confirm,
)
from bot.slack.blocks.mrkdwn import clip, escape, md, plain, slack_date, subteam_mention, user_text

EMPTY = "No open high-priority conversations. :tada:"
UNQUEUED = ""  # the `Digest.queue_counts` key of conversations that are in no queue
UNQUEUED_LABEL = "unqueued"
NO_TOPIC = "(no topic)"

HEAD_BLOCK = "dhead"  # the head section's block_id, or its prefix when it carries `|{"d","m"}`
QUEUES_BLOCK = "dqueues"
MORE_BLOCK = "dmore"
ITEM_BLOCK_PREFIX = "dsec|"  # + the conversation id
_ITEM_HASH_PREFIX = "dsec#"  # + a hash of the id, for ids too long for a block_id

TOPIC_MAX = 200
NAME_MAX = 100  # queue and agent names
TAGS_MAX = 500
ID_MAX = 255
MENTION_MAX = 100
COMMAND_MAX = 500
_SUMMARY_RESERVE = 64
MORE_LINE_RESERVE = COMMAND_MAX + 40  # the "…and N more — `/conv list …`" line's text


# --- the head: totals and the mention -----------------------------------------------------------


def totals_text(totals: Mapping[Priority, int], mention: str | None = None) -> str:
    """ "7 open high-priority conversations — 2 URGENT, 5 HIGH", mrkdwn; also the fallback text.

    Only priorities with a count are named, URGENT first. `mention` (a user group id) leads the
    line while at least one conversation is URGENT.
    """
    counted = [
        (priority, count)
        for priority in sorted(Priority, key=lambda p: p.rank, reverse=True)
        if (count := totals.get(priority, 0)) > 0
    ]
    total = sum(count for _, count in counted)
    if total == 0:
        return EMPTY
    noun = "conversation" if total == 1 else "conversations"
    parts = ", ".join(f"{count} {priority.value}" for priority, count in counted)
    text = f"{total} open high-priority {noun} — {parts}"
    if mention and mention.strip() and totals.get(Priority.URGENT, 0) > 0:
        text = f"{clip(subteam_mention(mention.strip()), MENTION_MAX)} {text}"
    return text


class _Head(BaseModel):
    """What the head's block_id remembers for `replace_item`: the digest name and mention."""

    model_config = ConfigDict(frozen=True)

    d: str | None = None
    m: str | None = None


def _head_block_id(digest_name: str, mention: str | None) -> str:
    for head in (_Head(d=digest_name, m=mention), _Head(m=mention)):
        block_id = f"{HEAD_BLOCK}|{head.model_dump_json(exclude_none=True)}"
        if len(block_id) <= limits.BLOCK_ID:
            return block_id
    return HEAD_BLOCK


def _read_head(block_id: str) -> _Head:
    if not block_id.startswith(HEAD_BLOCK + "|"):
        return _Head()
    try:
        return _Head.model_validate_json(block_id.removeprefix(HEAD_BLOCK + "|"))
    except ValidationError:
        return _Head()


def _head_block(totals: Mapping[Priority, int], mention: str | None, block_id: str) -> Block:
    return SectionBlock(block_id=block_id, text=md(totals_text(totals, mention)))


# --- counts per queue ---------------------------------------------------------------------------


def _queue_name(queue_id: str | None, context: CardContext) -> str:
    """The queue's name, else its id, else "unqueued"; escaped and clipped mrkdwn."""
    if queue_id is None or queue_id == UNQUEUED:
        return UNQUEUED_LABEL
    return user_text(context.queue_names.get(queue_id) or queue_id, NAME_MAX)


def queue_counts_text(queue_counts: Mapping[str, int], context: CardContext) -> str | None:
    """ "Billing 3 · VIP 2 · unqueued 1": largest first; None when nothing is counted.

    Within a context element's 3,000 characters: queues that do not fit are summed up as
    "+N more queues".
    """
    counted = [
        (_queue_name(queue_id, context), count, queue_id == UNQUEUED)
        for queue_id, count in queue_counts.items()
        if count > 0
    ]
    if not counted:
        return None
    counted.sort(key=lambda entry: (-entry[1], entry[2], entry[0].casefold()))
    parts = [f"{name} {count}" for name, count, _ in counted]
    # Room is kept for what `_summary_text` puts around the counts.
    room = limits.SECTION_TEXT - _SUMMARY_RESERVE - len(f" · +{len(parts)} more queues")
    shown: list[str] = []
    length = 0
    for part in parts:
        extra = len(part) + (len(" · ") if shown else 0)
        if length + extra > room:
            break
        shown.append(part)
        length += extra
    text = " · ".join(shown)
    if len(shown) < len(parts):
        text += f" · +{len(parts) - len(shown)} more queues"
    return text


def _summary_text(digest: Digest, context: CardContext) -> str | None:
    """The counts per queue (of the items drawn, when not all are) and how many are snoozed."""
    parts: list[str] = []
    queues = queue_counts_text(digest.queue_counts, context)
    if queues is not None:
        parts.append(f"Shown, by queue: {queues}" if digest.hidden > 0 else queues)
    if digest.snoozed > 0:
        parts.append(f":zzz: {digest.snoozed} snoozed")
    return " · ".join(parts) if parts else None


# --- one item -----------------------------------------------------------------------------------


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
    facts.append(_queue_name(conversation.queueId, context))
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


# --- the whole message --------------------------------------------------------------------------


def digest_blocks(
    digest: Digest, context: CardContext, *, now: datetime
) -> tuple[str, list[Block]]:
    """`(fallback text, blocks)`: the head, counts per queue, as many items as fit, "…and N more".

    Items keep the digest's order; those that would pass 50 blocks, or Slack's budget of text
    per message, are counted into "…and N more" with `digest.hidden`. An item listed twice is
    drawn once (block_ids must be unique).
    """
    text = totals_text(digest.totals, digest.mention)
    head = _head_block(digest.totals, digest.mention, _head_block_id(digest.name, digest.mention))
    if digest.total <= 0 and not digest.items:
        return EMPTY, [head]
    blocks: list[Block] = [head]
    summary = _summary_text(digest, context)
    if summary is not None:
        blocks.append(ContextBlock(block_id=QUEUES_BLOCK, elements=[md(summary)]))
    items = _unique(digest.items)
    shown = 0
    text_used = sum(limits.text_length(block) for block in blocks) + MORE_LINE_RESERVE
    for index, item in enumerate(items):
        drawn = digest_item_blocks(item, context, now=now, digest_name=digest.name)
        untold = len(items) - index - 1 + digest.hidden  # still to come after this item
        reserve = 1 if untold > 0 else 0  # room for the "…and N more" line
        item_text = sum(limits.text_length(block) for block in drawn)
        too_many = len(blocks) + len(drawn) + reserve > limits.MESSAGE_BLOCKS
        if too_many or text_used + item_text > limits.MESSAGE_TEXT_BUDGET:
            break
        blocks.extend(drawn)
        text_used += item_text
        shown += 1
    more = digest.hidden + len(items) - shown
    if more > 0:
        command = user_text(digest.more_command, COMMAND_MAX, empty="/conv list")
        line = f"…and {more} more — `{command}`"
        blocks.append(ContextBlock(block_id=MORE_BLOCK, elements=[md(line)]))
    return text, blocks


def _unique(items: Sequence[DigestItem]) -> list[DigestItem]:
    seen: set[str] = set()
    unique: list[DigestItem] = []
    for item in items:
        if item.conversation.id not in seen:
            seen.add(item.conversation.id)
            unique.append(item)
    return unique


# --- redrawing one item after a press -----------------------------------------------------------


def replace_item(
    blocks: list[dict[str, Any]],
    item: DigestItem,
    digest_totals: Mapping[Priority, int] | None,
    context: CardContext,
    *,
    now: datetime,
    digest_name: str | None = None,
) -> list[dict[str, Any]]:
    """The message's blocks (JSON, as Slack sends them with a press) with `item` and the head
    redrawn; every other block is returned as it was (the same dicts, none is modified).

    The mention and digest name come from the head's block_id (`digest_name` overrides the
    name). An item that is not drawn (counted in "…and N more") leaves only the head redrawn;
    `digest_totals` None leaves the head as it was.
    """
    result = list(blocks)
    head_index = next(
        (i for i, block in enumerate(result) if _block_id(block).startswith(HEAD_BLOCK)), None
    )
    head = _read_head(_block_id(result[head_index])) if head_index is not None else _Head()
    name = digest_name or head.d or _digest_name_from(result) or ""
    start = next(
        (
            i
            for i, block in enumerate(result)
            if _block_id(block) == item_block_id(item.conversation.id)
        ),
        None,
    )
    if start is not None:
        end = start + 1
        if end < len(result) and result[end].get("type") == "actions":
            end += 1
        drawn = [
            block.to_dict()
            for block in digest_item_blocks(item, context, now=now, digest_name=name)
        ]
        room = limits.MESSAGE_BLOCKS - (len(result) - (end - start))
        result[start:end] = drawn[: max(1, room)]
    if head_index is not None and digest_totals is not None:
        block_id = _block_id(result[head_index])
        result[head_index] = _head_block(digest_totals, head.m, block_id).to_dict()
    return result


def _block_id(block: Mapping[str, Any]) -> str:
    block_id = block.get("block_id")
    return block_id if isinstance(block_id, str) else ""


def _digest_name_from(blocks: Sequence[Mapping[str, Any]]) -> str | None:
    """The digest name any item's actions block_id carries (a head too long to carry it)."""
    for block in blocks:
        block_id = _block_id(block)
        if block_id.startswith(refs.DIGEST_ITEM_BLOCK_PREFIX):
            try:
                return refs.digest_ref_from_block_id(block_id).d
            except InvalidInput:
                continue
    return None
