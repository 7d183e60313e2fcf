"""Draws command results for a terminal: a card for one conversation, a table for a page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.commands.executor import CommandResult
from bot.models import Conversation, Page

_TOPIC_WIDTH = 48


def render_text(result: CommandResult, queue_names: Mapping[str, str]) -> str:
    if result.kind == "help":
        return result.text or ""
    if result.kind == "page" and result.page is not None:
        return render_table(result.page, queue_names) + "\n" + result.headline
    assert result.conversation is not None
    return result.headline + "\n\n" + render_card(result.conversation, queue_names)


def render_card(conversation: Conversation, queue_names: Mapping[str, str]) -> str:
    tags = " ".join(f"#{t}" for t in conversation.tags or []) or "-"
    rows = [
        ("Status", conversation.status.value),
        ("Priority", conversation.priority.value),
        ("Queue", _queue(conversation.queueId, queue_names)),
        ("Agent", conversation.agentId or "unassigned"),
        # None: Infobip's conversations carry no channel (README, "Infobip notes").
        ("Channel", conversation.channel.value if conversation.channel else "(not reported)"),
        ("Tags", tags if conversation.tags is not None else "(not loaded)"),
        ("Created", _when(conversation.createdAt)),
        ("Updated", _when(conversation.updatedAt)),
    ]
    if conversation.closedAt:
        rows.append(("Closed", _when(conversation.closedAt)))
    rows.append(("Id", conversation.id))
    lines = [conversation.topic or "(no topic)"]
    if conversation.summary:
        lines.append(conversation.summary)
    lines.append("")
    lines.extend(f"  {label:<9} {value}" for label, value in rows)
    return "\n".join(lines)


def render_table(page: Page[Conversation], queue_names: Mapping[str, str]) -> str:
    header = ("ID", "PRIORITY", "STATUS", "TOPIC", "QUEUE", "AGENT", "UPDATED")
    rows = [
        (
            c.id,
            c.priority.value,
            c.status.value,
            _clip(c.topic or "", _TOPIC_WIDTH),
            _queue(c.queueId, queue_names),
            c.agentId or "-",
            _when(c.updatedAt),
        )
        for c in page.items
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def render_json(result: CommandResult) -> str:
    """Infobip's own shapes: a conversation object, or `conversations` plus `pagination`."""
    payload: Any
    if result.kind == "help":
        payload = {"help": result.text}
    elif result.kind == "page" and result.page is not None:
        page = result.page
        payload = {
            "conversations": [c.model_dump(mode="json") for c in page.items],
            "pagination": {
                "totalItems": page.totalItems,
                "page": page.page,
                "limit": page.limit,
                "orderBy": page.orderBy,
            },
        }
    else:
        assert result.conversation is not None
        payload = result.conversation.model_dump(mode="json")
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _queue(queue_id: str | None, names: Mapping[str, str]) -> str:
    if queue_id is None:
        return "-"
    return names.get(queue_id, queue_id)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
