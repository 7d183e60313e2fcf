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

This module draws the head, the counts and the whole message; one item is digest_item.py's, the
redraw after a press digest_redraw.py's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError
from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.digests.model import Digest, DigestItem
from bot.models import Priority
from bot.slack.blocks import limits
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.digest_item import UNQUEUED, digest_item_blocks, queue_name
from bot.slack.blocks.mrkdwn import clip, md, subteam_mention, user_text

EMPTY = "No open high-priority conversations. :tada:"

HEAD_BLOCK = "dhead"  # the head section's block_id, or its prefix when it carries `|{"d","m"}`
QUEUES_BLOCK = "dqueues"
MORE_BLOCK = "dmore"

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


class HeadRef(BaseModel):
    """What the head's block_id remembers for `replace_item`: the digest name and mention."""

    model_config = ConfigDict(frozen=True)

    d: str | None = None
    m: str | None = None


def _head_block_id(digest_name: str, mention: str | None) -> str:
    for head in (HeadRef(d=digest_name, m=mention), HeadRef(m=mention)):
        block_id = f"{HEAD_BLOCK}|{head.model_dump_json(exclude_none=True)}"
        if len(block_id) <= limits.BLOCK_ID:
            return block_id
    return HEAD_BLOCK


def read_head(block_id: str) -> HeadRef:
    if not block_id.startswith(HEAD_BLOCK + "|"):
        return HeadRef()
    try:
        return HeadRef.model_validate_json(block_id.removeprefix(HEAD_BLOCK + "|"))
    except ValidationError:
        return HeadRef()


def head_block(totals: Mapping[Priority, int], mention: str | None, block_id: str) -> Block:
    return SectionBlock(block_id=block_id, text=md(totals_text(totals, mention)))


# --- counts per queue ---------------------------------------------------------------------------


def queue_counts_text(queue_counts: Mapping[str, int], context: CardContext) -> str | None:
    """ "Billing 3 · VIP 2 · unqueued 1": largest first; None when nothing is counted.

    Within a context element's 3,000 characters: queues that do not fit are summed up as
    "+N more queues".
    """
    counted = [
        (queue_name(queue_id, context), count, queue_id == UNQUEUED)
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
    head = head_block(digest.totals, digest.mention, _head_block_id(digest.name, digest.mention))
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
