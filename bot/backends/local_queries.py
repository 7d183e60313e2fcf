"""The embedded backend's SQL: filters and order of a conversation list, the columns a patch
writes, tag look-ups, and rows read back as the models Infobip's API answers with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import ConversationNotFound
from bot.models import (
    Agent,
    AgentRole,
    AgentStatus,
    AutoAssignment,
    Channel,
    Conversation,
    ConversationFilter,
    Priority,
    Queue,
    RoutingRule,
    RuleMatch,
    Status,
    Tag,
)
from bot.state.local_tables import local_conversation_tags, local_conversations

C = local_conversations.c
ORDER_COLUMNS = {
    "id": C.id,
    "topic": C.topic,
    "summary": C.summary,
    "status": C.status,
    "priority": C.priority_rank,
    "queueId": C.queue_id,
    "agentId": C.agent_id,
    "createdAt": C.created_at,
    "updatedAt": C.updated_at,
    "closedAt": C.closed_at,
}


def order_by(column: Any, descending: bool) -> list[Any]:
    """Ties break by creation time, then id: a total order that the indexes can serve.

    Missing values sort last either way, as the Infobip client's page merge expects.
    """
    key = (
        [column, C.id] if column is C.created_at or column is C.id else [column, C.created_at, C.id]
    )
    ordered = [col.desc() if descending else col.asc() for col in key]
    if column.nullable:
        ordered[0] = ordered[0].nulls_last()
    return ordered


def conditions(query: ConversationFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.conversationIds:
        where.append(C.id.in_(query.conversationIds))
    if query.statuses:
        where.append(C.status.in_([s.value for s in query.statuses]))
    if query.priorities:
        where.append(C.priority_rank.in_([p.rank for p in query.priorities]))
    if query.queueIds:
        where.append(C.queue_id.in_(query.queueIds))
    if query.tags:
        # IN (…) lets the planner start from the few tagged rows instead of probing every row.
        tagged = select(local_conversation_tags.c.conversation_id).where(
            local_conversation_tags.c.tag_name.in_(query.tags)
        )
        where.append(C.id.in_(tagged))
    if query.agentId is not None:
        where.append(C.agent_id == query.agentId)
    if query.unassigned:
        where.append(C.agent_id.is_(None))
    if query.channel is not None:
        where.append(C.channel == query.channel.value)
    for column, after, before in (
        (C.created_at, query.createdAfter, query.createdBefore),
        (C.updated_at, query.updatedAfter, query.updatedBefore),
        (C.closed_at, query.closedAfter, query.closedBefore),
    ):
        if after is not None:
            where.append(column >= after)
        if before is not None:
            where.append(column < before)
    return where


def patch_values(changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"updated_at": now}
    for field, column in (
        ("topic", "topic"),
        ("summary", "summary"),
        ("queueId", "queue_id"),
        ("agentId", "agent_id"),
    ):
        if field in changes:
            values[column] = changes[field]
    if changes.get("priority") is not None:
        priority = Priority(changes["priority"])
        values.update(priority=priority.value, priority_rank=priority.rank)
    if changes.get("status") is not None:
        status = Status(changes["status"])
        values["status"] = status.value
        values["closed_at"] = now if status is Status.CLOSED else None
    return values


async def conversation_row(conn: AsyncConnection, conversation_id: str) -> dict[str, Any]:
    row = (
        (await conn.execute(select(local_conversations).where(C.id == conversation_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise ConversationNotFound(conversation_id)
    return dict(row)


async def row_exists(conn: AsyncConnection, condition: ColumnElement[bool]) -> bool:
    return bool((await conn.execute(select(exists().where(condition)))).scalar())


async def tags_of(conn: AsyncConnection, conversation_ids: Sequence[str]) -> dict[str, list[str]]:
    if not conversation_ids:
        return {}
    rows = await conn.execute(
        select(local_conversation_tags.c.conversation_id, local_conversation_tags.c.tag_name)
        .where(local_conversation_tags.c.conversation_id.in_(conversation_ids))
        .order_by(local_conversation_tags.c.tag_name)
    )
    tags: dict[str, list[str]] = {}
    for conversation_id, name in rows:
        tags.setdefault(conversation_id, []).append(name)
    return tags


def to_conversation(row: Any, tags: list[str]) -> Conversation:
    return Conversation(
        id=row["id"],
        topic=row["topic"],
        summary=row["summary"],
        status=Status(row["status"]),
        priority=Priority(row["priority"]),
        queueId=row["queue_id"],
        agentId=row["agent_id"],
        channel=Channel(row["channel"]),
        createdAt=row["created_at"],
        updatedAt=row["updated_at"],
        closedAt=row["closed_at"],
        tags=tags,
    )


def to_tag(row: Any) -> Tag:
    return Tag(
        name=row["name"], id=row["id"], createdAt=row["created_at"], updatedAt=row["updated_at"]
    )


def to_agent(row: Any) -> Agent:
    return Agent(
        id=row["id"],
        displayName=row["display_name"],
        email=row["email"],
        status=AgentStatus(row["status"]),
        role=AgentRole(row["role"]),
        enabled=row["enabled"],
        createdAt=row["created_at"],
        updatedAt=row["updated_at"],
    )


def to_queue(row: Any, agent_count: int) -> Queue:
    return Queue(
        id=row["id"],
        name=row["name"],
        isAutoAssignmentEnabled=row["auto_assignment"],
        autoAssignmentAlgorithm=AutoAssignment(row["algorithm"]) if row["algorithm"] else None,
        enabledAgentsCount=agent_count,
        createdAt=row["created_at"],
        updatedAt=row["updated_at"],
    )


def to_rule(row: Any) -> RoutingRule:
    return RoutingRule(
        id=row["id"],
        name=row["name"],
        order=row["position"] + 1,
        queueId=row["queue_id"],
        priority=Priority(row["priority"]) if row["priority"] else None,
        enabled=row["enabled"],
        match=RuleMatch.model_validate(row["match"]),
    )
