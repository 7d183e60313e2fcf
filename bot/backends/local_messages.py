"""The embedded store's messages and notes, with Infobip's rules: an unknown conversation is
not found, a closed one takes no message, and the sending agent (Infobip's `x-agent-id`) is
required when the conversation is assigned — the assignee or a supervisor — and refused when
it is not (https://www.infobip.com/docs/conversations-api/messages). LocalBackend opens the
connection or transaction; these functions do the SQL on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.backends.local_queries import conversation_row, row_exists
from bot.errors import ConversationClosed, InvalidInput, NotFound
from bot.messages import (
    AuthorType,
    Direction,
    ListOrder,
    Message,
    MessageCreate,
    MessageFilter,
    Note,
    NoteCreate,
    NoteFilter,
    content_json,
    read_content,
)
from bot.models import AgentRole, ResultPage, Status
from bot.state.local_tables import local_agents, local_messages, local_notes

M = local_messages.c
N = local_notes.c


@dataclass(frozen=True)
class Stamp:
    """A new row's id and time, from the backend's id maker and clock."""

    id: str
    at: datetime


# --- messages -------------------------------------------------------------------------------


async def list_messages(
    conn: AsyncConnection, conversation_id: str, query: MessageFilter
) -> ResultPage[Message]:
    await conversation_row(conn, conversation_id)
    where: list[ColumnElement[bool]] = [M.conversation_id == conversation_id]
    if query.direction is not None:
        where.append(M.direction == query.direction.value)
    if query.createdAfter is not None:
        where.append(M.created_at >= query.createdAfter)
    if query.createdBefore is not None:
        where.append(M.created_at < query.createdBefore)
    rows, total = await _page(conn, local_messages, where, query)
    return ResultPage[Message](
        items=[_message(row) for row in rows],
        totalItems=total,
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


async def add_message(
    conn: AsyncConnection,
    conversation_id: str,
    message: MessageCreate,
    direction: Direction,
    author: tuple[str | None, AuthorType | None],
    stamp: Stamp,
) -> Message:
    row = await conversation_row(conn, conversation_id)
    if row["status"] == Status.CLOSED.value:
        raise ConversationClosed(conversation_id)
    author_id, author_type = author
    values = {
        "id": stamp.id,
        "conversation_id": conversation_id,
        "direction": direction.value,
        "channel": message.channel.value,
        "from_address": message.from_,
        "to_address": message.to,
        "author_id": author_id,
        "author_type": author_type.value if author_type else None,
        "content_type": message.contentType,
        "content": content_json(message.content),
        "created_at": stamp.at,
        "updated_at": stamp.at,
    }
    await conn.execute(insert(local_messages).values(values))
    return _message(values)


async def sender(
    conn: AsyncConnection, conversation_id: str, agent_id: str | None
) -> tuple[str | None, AuthorType | None]:
    """Who sends an outbound message, by Infobip's rule for `x-agent-id`; InvalidInput (the
    API's 400) when the rule refuses it."""
    row = await conversation_row(conn, conversation_id)
    if row["status"] == Status.CLOSED.value:
        raise ConversationClosed(conversation_id)
    assignee = row["agent_id"]
    if assignee is None:
        if agent_id is not None:
            raise InvalidInput(
                f"Conversation {conversation_id} is not assigned, so a message to it names no "
                f"agent (x-agent-id '{agent_id}'); assign it first, or send without one."
            )
        return None, None
    if agent_id is None:
        raise InvalidInput(
            f"Conversation {conversation_id} is assigned to {assignee}: a message to it must "
            "name the sending agent (x-agent-id), the assignee or a supervisor."
        )
    if agent_id != assignee and not await row_exists(
        conn,
        (local_agents.c.id == agent_id) & (local_agents.c.role == AgentRole.SUPERVISOR.value),
    ):
        raise InvalidInput(
            f"Agent {agent_id} may not send messages to conversation {conversation_id}, which is "
            f"assigned to {assignee}: only the assignee or a supervisor may."
        )
    return agent_id, AuthorType.AGENT


def _message(row: Any) -> Message:
    return Message.model_validate(
        {
            "id": row["id"],
            "from": row["from_address"],
            "to": row["to_address"],
            "channel": row["channel"],
            "direction": row["direction"],
            "conversationId": row["conversation_id"],
            "authorId": row["author_id"],
            "authorType": row["author_type"],
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
            "contentType": row["content_type"],
            "content": read_content(row["content_type"], row["content"]),
        }
    )


# --- notes ----------------------------------------------------------------------------------


async def list_notes(
    conn: AsyncConnection, conversation_id: str, query: NoteFilter
) -> ResultPage[Note]:
    await conversation_row(conn, conversation_id)
    rows, total = await _page(conn, local_notes, [N.conversation_id == conversation_id], query)
    return ResultPage[Note](
        items=[_note(row) for row in rows],
        totalItems=total,
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


async def add_note(
    conn: AsyncConnection, conversation_id: str, note: NoteCreate, stamp: Stamp
) -> Note:
    # A closed conversation takes a note here: the contract and the docs name no such rule
    # (the service refuses notes on closed conversations itself).
    await conversation_row(conn, conversation_id)
    if note.agentId is not None and not await row_exists(conn, local_agents.c.id == note.agentId):
        raise NotFound(f"Agent {note.agentId} was not found.")
    values = {
        "id": stamp.id,
        "conversation_id": conversation_id,
        "agent_id": note.agentId,
        "type": note.type,
        "content": note.content,
        "created_at": stamp.at,
        "updated_at": stamp.at,
    }
    await conn.execute(insert(local_notes).values(values))
    return _note(values)


def _note(row: Any) -> Note:
    return Note(
        id=row["id"],
        conversationId=row["conversation_id"],
        agentId=row["agent_id"],
        type=row["type"],
        content=row["content"],
        createdAt=row["created_at"],
        updatedAt=row["updated_at"],
    )


# --- paging ---------------------------------------------------------------------------------


async def _page(
    conn: AsyncConnection, table: Table, where: list[ColumnElement[bool]], query: NoteFilter
) -> tuple[list[dict[str, Any]], int]:
    """One page in `query.orderBy` order. Ties break by time, then by the order of storing
    (`seq`), so that pages never overlap or skip."""
    total = (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
    stmt = (
        select(table)
        .where(*where)
        .order_by(*_order(table, query.orderBy))
        .limit(query.limit)
        .offset(query.page * query.limit)
    )
    return [dict(row) for row in (await conn.execute(stmt)).mappings()], total


def _order(table: Table, order: ListOrder) -> list[Any]:
    columns = {"id": table.c.id, "createdAt": table.c.created_at, "updatedAt": table.c.updated_at}
    first = columns[order.field]
    key = [first, table.c.seq] if order.field == "createdAt" else [first, table.c.created_at]
    if order.field != "createdAt":
        key.append(table.c.seq)
    return [col.desc() if order.direction == "desc" else col.asc() for col in key]
