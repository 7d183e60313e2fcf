"""The embedded backend: Infobip's resources and rules inside the state database.

It behaves like the Infobip API (a closed conversation refuses changes, tags must exist before
they are linked, routing applies the first matching rule and auto-assigns), so the whole bot runs
with no account anywhere, and the emulator can serve it over HTTP. Its SQL (filters, order,
rows as models) is in local_queries.py, routing in local_routing.py, seeding from convbot.yml in
local_seed.py.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.backends import local_messages, local_metadata
from bot.backends.base import IdPrefixMatches
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
    to_agent,
    to_conversation,
    to_queue,
    to_tag,
)
from bot.backends.local_routing import auto_assign, routing_rules
from bot.backends.local_seed import write_seed
from bot.config import LocalSeed
from bot.errors import BackendUnavailable, ConversationClosed, NotFound
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
    same_email,
)
from bot.state.db import safe_url
from bot.state.local_tables import (
    local_agents,
    local_conversation_tags,
    local_conversations,
    local_queue_agents,
    local_queues,
    local_tags,
)
from bot.state.upsert import insert_ignoring_duplicates
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

    # --- tags ---------------------------------------------------------------------------------

    async def create_tag(self, name: str) -> Tag:
        now = self._clock()
        async with self._transaction() as conn:
            # Creating a tag that exists is not an error: the service creates before it links.
            await insert_ignoring_duplicates(
                conn, local_tags, name=name, id=self._new_id(), created_at=now, updated_at=now
            )
        async with self._connection() as conn:
            row = (await conn.execute(select(local_tags).where(local_tags.c.name == name))).one()
        return to_tag(row._mapping)

    async def add_tag(self, conversation_id: str, tag_name: str) -> None:
        async with self._transaction() as conn:
            await self._changeable(conn, conversation_id)
            if not await row_exists(conn, local_tags.c.name == tag_name):
                raise NotFound(f"Tag '{tag_name}' does not exist; create it first.")
            linked = and_(
                local_conversation_tags.c.conversation_id == conversation_id,
                local_conversation_tags.c.tag_name == tag_name,
            )
            if not await row_exists(conn, linked):
                # Two people tagging at once must both succeed, not collide on the key.
                await insert_ignoring_duplicates(
                    conn,
                    local_conversation_tags,
                    conversation_id=conversation_id,
                    tag_name=tag_name,
                )
                await self._touch(conn, conversation_id)

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None:
        async with self._transaction() as conn:
            await self._changeable(conn, conversation_id)
            result = await conn.execute(
                delete(local_conversation_tags).where(
                    local_conversation_tags.c.conversation_id == conversation_id,
                    local_conversation_tags.c.tag_name == tag_name,
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"Conversation {conversation_id} has no tag '{tag_name}'.")
            await self._touch(conn, conversation_id)

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]:
        stmt = select(local_tags).order_by(local_tags.c.name)
        if conversation_id is not None:
            stmt = stmt.join(
                local_conversation_tags, local_conversation_tags.c.tag_name == local_tags.c.name
            ).where(local_conversation_tags.c.conversation_id == conversation_id)
        async with self._connection() as conn:
            return [to_tag(r) for r in (await conn.execute(stmt)).mappings()]

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

    # --- agents, queues, rules ----------------------------------------------------------------

    async def list_agents(self) -> builtins.list[Agent]:
        async with self._connection() as conn:
            rows = (await conn.execute(select(local_agents).order_by(local_agents.c.id))).mappings()
            return [to_agent(r) for r in rows]

    async def get_agent(self, agent_id: str) -> Agent | None:
        async with self._connection() as conn:
            stmt = select(local_agents).where(local_agents.c.id == agent_id)
            row = (await conn.execute(stmt)).mappings().first()
            return None if row is None else to_agent(row)

    async def agents_with_email(self, email: str) -> builtins.list[Agent]:
        # Compared here rather than in SQL, so that the rule is `same_email` on every database.
        stmt = select(local_agents).where(local_agents.c.email.is_not(None))
        async with self._connection() as conn:
            rows = (await conn.execute(stmt.order_by(local_agents.c.id))).mappings()
            return [to_agent(r) for r in rows if same_email(r["email"], email)]

    async def list_queues(self) -> builtins.list[Queue]:
        async with self._connection() as conn:
            counted = await conn.execute(
                select(local_queue_agents.c.queue_id, func.count()).group_by(
                    local_queue_agents.c.queue_id
                )
            )
            counts: dict[str, int] = {queue_id: count for queue_id, count in counted}
            rows = (
                await conn.execute(select(local_queues).order_by(local_queues.c.name))
            ).mappings()
            return [to_queue(r, counts.get(r["id"], 0)) for r in rows]

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
        return self._guarded(self._engine.connect())

    def _transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._guarded(self._begin_write())

    @asynccontextmanager
    async def _begin_write(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # A deferred SQLite transaction that reads, then writes, fails at once with
                # "database is locked" when another writer got in between; IMMEDIATE queues.
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    @asynccontextmanager
    async def _guarded(
        self, context: AbstractAsyncContextManager[AsyncConnection]
    ) -> AsyncIterator[AsyncConnection]:
        """Driver failures become BackendUnavailable; rule errors pass through untouched."""
        try:
            async with context as conn:
                yield conn
        except IntegrityError:
            raise
        except (SQLAlchemyError, OSError) as error:
            raise BackendUnavailable(
                f"The embedded store at {safe_url(self._engine)} is not answering "
                f"({type(error).__name__}); check DATABASE_URL and try again."
            ) from error

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
