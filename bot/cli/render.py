"""Draws command results for a terminal: a card for one conversation, a table for a page.

Every sentence from the shared layer goes through `plain` (it is written for Slack); data from
the backend (topics, names) is printed as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.cli.terminal_text import clip, pad, plain, width
from bot.commands.result import CommandResult
from bot.field_rules import BAD_CHARACTERS
from bot.messages import AuthorType, Direction, Message, Note
from bot.models import Conversation, ResultPage

_NO_NOTES: ResultPage[Note] = ResultPage(items=[], totalItems=0)

_TOPIC_WIDTH = 48
SHORT_ID = 8  # the id prefix a table shows; the commands take a unique prefix this long


def render_text(
    result: CommandResult, queue_names: Mapping[str, str], *, short_ids: bool = True
) -> str:
    """`short_ids`: the table may show ids by a prefix, which only a backend that can search
    every id completes (not Infobip: see bot/service/conversation_ids.py)."""
    if result.kind in ("help", "text"):
        return plain(result.text or result.headline)
    if result.kind == "page" and result.page is not None:
        table = render_table(result.page, queue_names, short_ids=short_ids)
        return table + "\n" + plain(result.headline)
    if result.kind == "transcript" and result.messages is not None:
        return render_transcript(plain(result.headline), result.messages, result.notes)
    assert result.conversation is not None
    card = render_card(result.conversation, queue_names)
    # `show` heads its answer with the topic, which the card's first line already is.
    if result.headline in (result.conversation.topic, result.conversation.id):
        return card
    return plain(result.headline) + "\n\n" + card


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


def render_table(
    page: ResultPage[Conversation], queue_names: Mapping[str, str], *, short_ids: bool = True
) -> str:
    header = ("ID", "PRIORITY", "STATUS", "TOPIC", "QUEUE", "AGENT", "UPDATED")
    every = [c.id for c in page.items]
    ids = shortest_ids(every) if short_ids else dict(zip(every, every, strict=True))
    rows = [
        (
            ids[c.id],
            c.priority.value,
            c.status.value,
            clip(c.topic or "", _TOPIC_WIDTH),
            _queue(c.queueId, queue_names),
            c.agentId or "-",
            _when(c.updatedAt),
        )
        for c in page.items
    ]
    widths = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(pad(cell, columns) for cell, columns in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def shortest_ids(ids: list[str]) -> dict[str, str]:
    """Each id's first SHORT_ID characters, or more where another id in `ids` shares them."""
    unique = set(ids)
    shown: dict[str, str] = {}
    for conversation_id in unique:
        length = SHORT_ID
        while length < len(conversation_id) and any(
            other != conversation_id and other.startswith(conversation_id[:length])
            for other in unique
        ):
            length += 1
        shown[conversation_id] = conversation_id[:length]
    return shown


def render_json(result: CommandResult) -> str:
    """Infobip's own shapes: a conversation object, or `conversations` plus `pagination`."""
    payload: Any
    if result.kind == "help":
        payload = {"help": plain(result.text or "")}
    elif result.kind == "text":
        payload = {"text": plain(result.text or result.headline)}
    elif result.kind == "transcript" and result.messages is not None:
        # Infobip's own shapes: MessageApiResponse and NoteApiResponse items with their paging.
        payload = {
            "messages": [message.wire() for message in result.messages.items],
            "pagination": _pagination(result.messages),
            "notes": [n.model_dump(mode="json") for n in (result.notes or _NO_NOTES).items],
        }
    elif result.kind == "page" and result.page is not None:
        page = result.page
        payload = {
            "conversations": [c.model_dump(mode="json") for c in page.items],
            "pagination": _pagination(page),
        }
    else:
        assert result.conversation is not None
        payload = result.conversation.model_dump(mode="json")
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _pagination(page: ResultPage[Any]) -> dict[str, Any]:
    return {
        "totalItems": page.totalItems,
        "page": page.page,
        "limit": page.limit,
        "orderBy": page.orderBy,
    }


def render_transcript(
    headline: str, messages: ResultPage[Message], notes: ResultPage[Note] | None
) -> str:
    """One line per message, oldest first: when, who, what (attachments as their address);
    then the notes apart, marked internal."""
    lines = [headline]
    for message in messages.items:
        said = _inert(f"{_author(message)}: {_said(message)}")
        lines.append(f"{_when(message.createdAt)}  {said}")
    if notes is not None and notes.items:
        lines += ["", f"Internal notes (the latest {len(notes.items)} of {notes.totalItems}):"]
        for note in notes.items:
            said = _inert(f"{note.agentId or 'an agent'}: {note.text}")
            lines.append(f"{_when(note.createdAt)}  {said}")
    return "\n".join(lines)


def _inert(text: str) -> str:
    """A customer's text as a terminal shows it harmlessly: control characters (a terminal's
    escape sequences among them) replaced, each further line indented under the first."""
    return BAD_CHARACTERS.sub("\ufffd", text).replace("\r", "").replace("\n", "\n" + " " * 22)


def _author(message: Message) -> str:
    kind = message.authorType
    if kind is AuthorType.BOT or kind is AuthorType.SYSTEM:
        return kind.value.capitalize()
    if kind is AuthorType.CUSTOMER or (kind is None and message.direction is Direction.INBOUND):
        return f"Customer ({message.from_})" if message.from_ else "Customer"
    return f"Agent {message.authorId}" if message.authorId else "Agent"


def _said(message: Message) -> str:
    parts = [message.text] if message.text else []
    parts += [f"[{message.contentType.lower()}: {url}]" for url in message.links]
    return " ".join(parts) or f"[a {message.contentType} message]"


def _queue(queue_id: str | None, names: Mapping[str, str]) -> str:
    if queue_id is None:
        return "-"
    return names.get(queue_id, queue_id)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
