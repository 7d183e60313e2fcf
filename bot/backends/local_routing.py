"""Routing in the embedded store: the rules in their order, and a queue's auto-assignment
(the choice itself is bot/backends/assignment.py's; this reads and records it)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.backends.assignment import pick_agent
from bot.backends.local_queries import C, to_rule
from bot.models import ACTIVE_STATUSES, AgentStatus, AutoAssignment, RoutingRule
from bot.state.local_tables import (
    local_agents,
    local_queue_agents,
    local_queues,
    local_routing_rules,
)

_OPEN = tuple(status.value for status in ACTIVE_STATUSES)


async def routing_rules(conn: AsyncConnection, *, enabled_only: bool = True) -> list[RoutingRule]:
    """The routing rules in the order they are tried (enabled ones only, unless asked)."""
    stmt = select(local_routing_rules).order_by(local_routing_rules.c.position)
    if enabled_only:
        stmt = stmt.where(local_routing_rules.c.enabled.is_(True))
    return [to_rule(r) for r in (await conn.execute(stmt)).mappings()]


async def auto_assign(conn: AsyncConnection, queue_id: str) -> str | None:
    """The agent the queue's auto-assignment picks for its next conversation (None: the queue
    does not auto-assign, or nobody in it can take one)."""
    # Locking the queue row serialises concurrent routes into one queue, so round-robin
    # moves one step per conversation and load counts include the one just assigned.
    queue = (
        (
            await conn.execute(
                select(local_queues).where(local_queues.c.id == queue_id).with_for_update()
            )
        )
        .mappings()
        .one()
    )
    if not queue["auto_assignment"]:
        return None
    open_count = (
        select(func.count())
        .where(C.agent_id == local_agents.c.id, C.status.in_(_OPEN))
        .scalar_subquery()
    )
    candidates = (
        await conn.execute(
            select(local_agents.c.id, open_count)
            .join(local_queue_agents, local_queue_agents.c.agent_id == local_agents.c.id)
            .where(
                local_queue_agents.c.queue_id == queue_id,
                local_agents.c.enabled.is_(True),
                local_agents.c.status == AgentStatus.ACTIVE.value,
            )
            .order_by(local_queue_agents.c.position)
        )
    ).all()
    chosen = pick_agent(
        AutoAssignment(queue["algorithm"] or AutoAssignment.LOAD_BALANCING),
        [(agent_id, count) for agent_id, count in candidates],
        queue["last_assigned_agent_id"],
    )
    if chosen is not None:
        await conn.execute(
            update(local_queues)
            .where(local_queues.c.id == queue_id)
            .values(last_assigned_agent_id=chosen)
        )
    return chosen
