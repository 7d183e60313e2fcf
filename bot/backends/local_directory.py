"""The embedded store's agents and queues, read as Infobip's API lists them (the seed from
convbot.yml writes them: local_seed.py)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.backends.local_queries import to_agent, to_queue
from bot.models import Agent, Queue, same_email
from bot.state.local_tables import local_agents, local_queue_agents, local_queues


async def list_agents(conn: AsyncConnection) -> list[Agent]:
    rows = (await conn.execute(select(local_agents).order_by(local_agents.c.id))).mappings()
    return [to_agent(r) for r in rows]


async def get_agent(conn: AsyncConnection, agent_id: str) -> Agent | None:
    stmt = select(local_agents).where(local_agents.c.id == agent_id)
    row = (await conn.execute(stmt)).mappings().first()
    return None if row is None else to_agent(row)


async def agents_with_email(conn: AsyncConnection, email: str) -> list[Agent]:
    # Compared here rather than in SQL, so that the rule is `same_email` on every database.
    stmt = select(local_agents).where(local_agents.c.email.is_not(None))
    rows = (await conn.execute(stmt.order_by(local_agents.c.id))).mappings()
    return [to_agent(r) for r in rows if same_email(r["email"], email)]


async def list_queues(conn: AsyncConnection) -> list[Queue]:
    counted = await conn.execute(
        select(local_queue_agents.c.queue_id, func.count()).group_by(local_queue_agents.c.queue_id)
    )
    counts: dict[str, int] = {queue_id: count for queue_id, count in counted}
    rows = (await conn.execute(select(local_queues).order_by(local_queues.c.name))).mappings()
    return [to_queue(r, counts.get(r["id"], 0)) for r in rows]
