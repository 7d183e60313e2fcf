"""Seeding the embedded backend: agents, queues and routing rules made to match convbot.yml's
`local:` section at start-up, on every replica."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import AgentSeed, LocalSeed
from bot.state.local_tables import (
    local_agents,
    local_queue_agents,
    local_queues,
    local_routing_rules,
)

# Replicas seeding one PostgreSQL database at start-up take this lock in turn (see `write_seed`).
_SEED_LOCK = 0x636F6E7673656564


async def write_seed(conn: AsyncConnection, seed: LocalSeed, now: datetime) -> None:
    """Make agents, queues and rules match the seed (rules are replaced in order), inside the
    caller's transaction."""
    if conn.dialect.name == "postgresql":
        # Replicas starting together would each find an agent missing and each insert
        # it (a unique violation that stops the start-up): they seed in turn, as they
        # migrate. SQLite's BEGIN IMMEDIATE already serialises writers.
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEED_LOCK})
    for agent in seed.agents:
        await _upsert(conn, local_agents, agent.id, _agent_values(agent), now)
    for queue in seed.queues:
        values = {
            "name": queue.name,
            "auto_assignment": queue.auto_assignment is not None,
            "algorithm": queue.auto_assignment.value if queue.auto_assignment else None,
        }
        await _upsert(conn, local_queues, queue.id, values, now)
        await conn.execute(
            delete(local_queue_agents).where(local_queue_agents.c.queue_id == queue.id)
        )
        for position, agent_id in enumerate(queue.agents):
            await conn.execute(
                insert(local_queue_agents).values(
                    queue_id=queue.id, agent_id=agent_id, position=position
                )
            )
    await conn.execute(delete(local_routing_rules))
    for position, rule in enumerate(seed.routing):
        await conn.execute(
            insert(local_routing_rules).values(
                id=f"rule-{position + 1}",
                name=rule.name,
                position=position,
                enabled=rule.enabled,
                queue_id=rule.queue,
                priority=rule.priority.value if rule.priority else None,
                match=rule.match.model_dump(mode="json"),
            )
        )


async def _upsert(
    conn: AsyncConnection, table: Any, row_id: str, values: dict[str, Any], now: datetime
) -> None:
    found = await conn.execute(
        update(table).where(table.c.id == row_id).values(updated_at=now, **values)
    )
    if found.rowcount == 0:
        await conn.execute(
            insert(table).values(id=row_id, created_at=now, updated_at=now, **values)
        )


def _agent_values(agent: AgentSeed) -> dict[str, Any]:
    return {
        "display_name": agent.name,
        "email": agent.email,
        "status": agent.status.value,
        "role": agent.role.value,
        "enabled": agent.enabled,
    }
