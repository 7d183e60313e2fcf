"""A digest message redrawn after a press on one of its items: the item and the totals drawn
anew, every other block left as Slack sent it back, so one press never redraws what others see
changing under them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.digests.model import DigestItem
from bot.errors import InvalidInput
from bot.models import Priority
from bot.slack.blocks import limits, refs
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.digest import HEAD_BLOCK, HeadRef, head_block, read_head
from bot.slack.blocks.digest_item import digest_item_blocks, item_block_id


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
    head = read_head(_block_id(result[head_index])) if head_index is not None else HeadRef()
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
        result[head_index] = head_block(digest_totals, head.m, block_id).to_dict()
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
