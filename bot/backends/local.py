"""The embedded backend: Infobip's resources and rules inside the state database.

It behaves like the Infobip API (a closed conversation refuses changes, tags must exist before
they are linked, routing applies the first matching rule and auto-assigns), so the whole bot runs
with no account anywhere, and the emulator can serve it over HTTP. This class is the
ConversationBackend and does conversations itself (create, list, patch, route); the rest is
beside it: lists' SQL and rows as models in local_queries.py, tags in local_tags.py, messages
and notes in local_messages.py, metadata in local_metadata.py, agents and queues in
local_directory.py, routing in local_routing.py, seeding from convbot.yml in local_seed.py, and
how it reads and writes its database in local_connections.py.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.backends import local_directory, local_messages, local_metadata, local_tags
from bot.backends.base import IdPrefixMatches
from bot.backends.local_connections import connection, transaction
from bot.backends.local_messages import Stamp
from bot.backends.local_queries import (
    ORDER_COLUMNS,
    C,
    conditions,
    conversation_row,
    order_by,
    patch_values,
    row_exists,
    tags_of,
    to_conversation,
)
from bot.backends.local_routing import auto_assign, routing_rules
from bot.backends.local_seed import write_seed
from bot.config import LocalSeed
from bot.errors import ConversationClosed, NotFound
from bot.messages import (
    AuthorType,
    Direction,
    Message,
    MessageCreate,
    MessageFilter,
    Note,
    NoteCreate,
    NoteFilter,
)
from bot.models import (
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Metadata,
    Queue,
    ResultPage,
    RoutingRule,
    Status,
    Tag,
)
from bot.state.local_tables import local_agents, local_conversations, local_queues
from bot.timestamps import utcnow


class LocalBackend:
    name = "local"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._new_id = new_id

    # --- conversations ------------------------------------------------------------------------

    async def create(self, data: ConversationCreate) -> Conversation:
        now = self._clock()
        row = {
            "id": self._new_id(),
            "topic": data.topic,
            "summary": data.summary,
            "status": data.status.value,
            "priority": data.priority.value,
            "priority_rank": data.priority.rank,
            "queue_id": data.queueId,
            "agent_id": data.agentId,
            "channel": data.channel.value,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
        async with self._transaction() as conn:
            await self._check_references(conn, data.queueId, data.agentId)
            await conn.execute(insert(local_conversations).values(row))
        return to_conversation(row, [])

    async def get(self, conversation_id: str) -> Conversation:
        async with self._connection() as conn:
            row = await conversation_row(conn, conversation_id)
            tags = await tags_of(conn, [conversation_id])
        return to_conversation(row, tags.get(conversation_id, []))

    async def list(self, query: ConversationFilter) -> ResultPage[Conversation]:
        where = conditions(query)
        order = ORDER_COLUMNS[query.orderBy.field]
        descending = query.orderBy.direction == "desc"
        stmt: Select[Any] = (
            select(local_conversations)
            .where(*where)
            .order_by(*order_by(order, descending))
            .limit(query.limit)
            .offset(query.page * query.limit)
        )
        async with self._connection() as conn:
            total = (
                await conn.execute(
                    select(func.count()).select_from(local_conversations).where(*where)
                )
            ).scalar_one()
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
            tags = await tags_of(conn, [r["id"] for r in rows])
        return ResultPage[Conversation](
            items=[to_conversation(r, tags.get(r["id"], [])) for r in rows],
            totalItems=total,
            page=query.page,
            limit=query.limit,
            orderBy=str(query.orderBy),
        )

    async def with_id_prefix(self, prefix: str, limit: int) -> IdPrefixMatches:
        # LIKE finds the candidates (case-insensitively on SQLite); substr keeps the exact ones,
        # ids being case-sensitive. The store holds every conversation, so the answer is whole.
        stmt = (
            select(local_conversations)
            .where(
                C.id.startswith(prefix, autoescape=True),
                func.substr(C.id, 1, len(prefix)) == prefix,
            )
            .order_by(C.id)
            .limit(limit)
        )
        async with self._connection() as conn:
            rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
        return IdPrefixMatches([to_conversation(r, []) for r in rows], complete=True)

    async def patch(self, conversation_id: str, patch: ConversationPatch) -> Conversation:
        changes = patch.model_dump(exclude_unset=True)
        async with self._transaction() as conn:
            row = await self._changeable(conn, conversation_id)
            await self._check_references(conn, changes.get("queueId"), changes.get("agentId"))
            values = patch_values(changes, self._clock())
            await conn.execute(update(local_conversations).where(C.id == row["id"]).values(values))
        return await self.get(conversation_id)

    async def assign(self, conversation_id: str, agent_id: str) -> Conversation:
        return await self.patch(conversation_id, ConversationPatch(agentId=agent_id))

    async def unassign(self, conversation_id: str) -> Conversation:
        async with self._transaction() as conn:
            await self._changeable(conn, conversation_id)
            await conn.execute(
                update(local_conversations)
                .where(C.id == conversation_id)
                .values(agent_id=None, updated_at=self._clock())
            )
        return await self.get(conversation_id)

    async def route(self, conversation_id: str) -> Conversation:
        """Clear the agent, apply the first matching rule, auto-assign if its queue says so."""
        async with self._transaction() as conn:
            row = await self._changeable(conn, conversation_id)
            current = to_conversation(
                row, (await tags_of(conn, [conversation_id])).get(row["id"], [])
            )
            values: dict[str, Any] = {"agent_id": None, "updated_at": self._clock()}
            rule = next((r for r in await routing_rules(conn) if r.match.matches(current)), None)
            if rule is not None:
                values["queue_id"] = rule.queueId
                if rule.priority is not None:
                    values.update(priority=rule.priority.value, priority_rank=rule.priority.rank)
                values["agent_id"] = await auto_assign(conn, rule.queueId)
            await conn.execute(
                update(local_conversations).where(C.id == conversation_id).values(values)
            )
        return await self.get(conversation_id)

    # --- tags (local_tags.py) -----------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        now = self._clock()
        async with self._transaction() as conn:
            await local_tags.create_tag(conn, name, self._new_id(), now)
        async with self._connection() as conn:
            return await local_tags.tag_named(conn, name)

    async def add_tag(self, conversation_id: str, tag_name: str) -> None:
        async with self._transaction() as conn:
            await self._changeable(conn, conversation_id)
            if await local_tags.link(conn, conversation_id, tag_name):
                await self._touch(conn, conversation_id)

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None:
        async with self._transaction() as conn:
            await self._changeable(conn, conversation_id)
            await local_tags.unlink(conn, conversation_id, tag_name)
            await self._touch(conn, conversation_id)

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]:
        async with self._connection() as conn:
            return await local_tags.list_tags(conn, conversation_id)

    # --- messages and notes (local_messages.py) ------------------------------------------------

    async def list_messages(
        self, conversation_id: str, query: MessageFilter
    ) -> ResultPage[Message]:
        async with self._connection() as conn:
            return await local_messages.list_messages(conn, conversation_id, query)

    async def send_message(
        self, conversation_id: str, message: MessageCreate, agent_id: str | None
    ) -> Message:
        async with self._transaction() as conn:
            author = await local_messages.sender(conn, conversation_id, agent_id)
            return await local_messages.add_message(
                conn, conversation_id, message, Direction.OUTBOUND, author, self._stamp()
            )

    async def receive_message(self, conversation_id: str, message: MessageCreate) -> Message:
        """The customer writes: an INBOUND message, as Infobip threads one into a conversation
        (for tests, the demo and the emulator's inbound endpoint; not in the protocol)."""
        customer = (None, AuthorType.CUSTOMER)
        async with self._transaction() as conn:
            return await local_messages.add_message(
                conn, conversation_id, message, Direction.INBOUND, customer, self._stamp()
            )

    async def list_notes(self, conversation_id: str, query: NoteFilter) -> ResultPage[Note]:
        async with self._connection() as conn:
            return await local_messages.list_notes(conn, conversation_id, query)

    async def add_note(self, conversation_id: str, note: NoteCreate) -> Note:
        async with self._transaction() as conn:
            return await local_messages.add_note(conn, conversation_id, note, self._stamp())

    # --- metadata (local_metadata.py; put and delete serve the emulator) -----------------------

    async def get_metadata(self, conversation_id: str) -> Metadata:
        async with self._connection() as conn:
            return await local_metadata.get(conn, conversation_id)

    async def patch_metadata(self, conversation_id: str, values: Metadata) -> None:
        async with self._transaction() as conn:
            await local_metadata.patch(conn, conversation_id, values, self._clock())

    async def put_metadata(self, conversation_id: str, values: Metadata) -> None:
        async with self._transaction() as conn:
            await local_metadata.put(conn, conversation_id, values, self._clock())

    async def delete_metadata(self, conversation_id: str) -> None:
        async with self._transaction() as conn:
            await local_metadata.remove(conn, conversation_id)

    # --- agents, queues (local_directory.py), rules (local_routing.py) ------------------------

    async def list_agents(self) -> builtins.list[Agent]:
        async with self._connection() as conn:
            return await local_directory.list_agents(conn)

    async def get_agent(self, agent_id: str) -> Agent | None:
        async with self._connection() as conn:
            return await local_directory.get_agent(conn, agent_id)

    async def agents_with_email(self, email: str) -> builtins.list[Agent]:
        async with self._connection() as conn:
            return await local_directory.agents_with_email(conn, email)

    async def list_queues(self) -> builtins.list[Queue]:
        async with self._connection() as conn:
            return await local_directory.list_queues(conn)

    async def list_routing_rules(self) -> builtins.list[RoutingRule]:
        async with self._connection() as conn:
            return await routing_rules(conn, enabled_only=False)

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.execute(select(1))

    async def aclose(self) -> None:
        """The engine belongs to whoever created it (it also holds the bot's own records)."""

    async def seed(self, seed: LocalSeed) -> None:
        """Make agents, queues and rules match the config file (rules are replaced in order)."""
        now = self._clock()
        async with self._transaction() as conn:
            await write_seed(conn, seed, now)

    # --- internals ----------------------------------------------------------------------------

    def _stamp(self) -> Stamp:
        return Stamp(self._new_id(), self._clock())

    def _connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return connection(self._engine)

    def _transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return transaction(self._engine)

    async def _changeable(self, conn: AsyncConnection, conversation_id: str) -> dict[str, Any]:
        row = await conversation_row(conn, conversation_id)
        if row["status"] == Status.CLOSED.value:
            raise ConversationClosed(conversation_id)
        return row

    async def _touch(self, conn: AsyncConnection, conversation_id: str) -> None:
        await conn.execute(
            update(local_conversations)
            .where(C.id == conversation_id)
            .values(updated_at=self._clock())
        )

    async def _check_references(
        self, conn: AsyncConnection, queue_id: str | None, agent_id: str | None
    ) -> None:
        if queue_id is not None and not await row_exists(conn, local_queues.c.id == queue_id):
            raise NotFound(f"Queue {queue_id} was not found.")
        if agent_id is not None and not await row_exists(conn, local_agents.c.id == agent_id):
            raise NotFound(f"Agent {agent_id} was not found.")
