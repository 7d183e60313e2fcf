"""Escalations and their pages, durable in the state database and safe across replicas.

A step is run while its escalation is held: on PostgreSQL its row is locked (`SELECT … FOR
UPDATE SKIP LOCKED` for the sweep, so each due step goes to one replica), and an acknowledgement
(which locks the same row, waiting) lands either before a page is sent (the page is cancelled)
or after (and redraws it). SQLite supports one bot process, and its lock is the whole database:
there an in-process lock per escalation holds it instead, and the writes of a hold are committed
together, in one short transaction, when it ends — never across a Slack call.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.state.tables import escalation_pages, escalations
from bot.timestamps import utcnow

_DUE_CANDIDATES = 20


class _Locks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def busy(self, key: str) -> bool:
        return key in self._locks

    @asynccontextmanager
    async def holding(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@asynccontextmanager
async def _committed(conn: AsyncConnection) -> AsyncIterator[None]:
    try:
        yield
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()


class EscalationStatus(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"  # the conversation was closed
    EXHAUSTED = "exhausted"  # every step and repeat ran, and nobody acknowledged


class EscalationRecord(BaseModel):
    id: str
    conversation_id: str
    policy: str
    rule: str | None = None
    reason: str | None = None
    started_by: str
    started_at: datetime
    status: EscalationStatus
    step: int  # the index of the next step to run
    round: int
    next_at: datetime | None
    ended_by: str | None = None
    ended_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is EscalationStatus.ACTIVE


class PageStatus(StrEnum):
    SENDING = "sending"  # claimed by its step, not yet delivered
    SENT = "sent"
    CANCELLED = "cancelled"  # the escalation ended before it went out
    FAILED = "failed"  # Slack refused it (recorded in the audit log)


class PageRecord(BaseModel):
    id: int | None = None
    escalation_id: str
    round: int
    step: int
    target: str  # who it is for: user:U… (in a DM) or channel:C…
    status: PageStatus = PageStatus.SENDING
    claimed_at: datetime
    channel: str | None = None  # where the message is, once sent
    ts: str | None = None
    sent_at: datetime | None = None


class Held:
    """An escalation, held by one caller until its block ends; its writes commit together then.

    On PostgreSQL the row is locked (`FOR UPDATE`) in a transaction that writes as it goes. On
    SQLite, whose lock is the whole database, holding it across a Slack call would stall every
    other write in the bot; there the escalation is held by an in-process lock (SQLite means
    one bot process) and the writes are kept until the block ends, then committed in one short
    transaction.
    """

    def __init__(
        self,
        record: EscalationRecord,
        *,
        conn: AsyncConnection | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        self.record = record
        self.notes: list[tuple[str, dict[str, Any]]] = []  # audit entries, written after commit
        self.claimed: list[PageRecord] = []  # pages claimed, delivered after commit
        self._conn = conn  # PostgreSQL: the transaction holding the row
        self._engine = engine  # SQLite: where the kept writes go at the end
        self._kept: list[Any] = []  # SQLite: statements to run at the end, in order

    def note(self, action: str, after: dict[str, Any]) -> None:
        self.notes.append((action, after))

    async def save(self, **changes: Any) -> EscalationRecord:
        if "status" in changes and changes["status"] is not EscalationStatus.ACTIVE:
            changes["active_conversation_id"] = None
        await self._write(
            update(escalations).where(escalations.c.id == self.record.id).values(**changes)
        )
        fields = {k: v for k, v in changes.items() if k in EscalationRecord.model_fields}
        self.record = self.record.model_copy(update=fields)
        return self.record

    async def claim_page(self, page: PageRecord) -> None:
        """Claim a page for the step being run (in `claimed`); delivered after the commit."""
        statement = insert(escalation_pages).values(**page.model_dump(exclude={"id"}))
        if self._conn is not None:
            result = await self._conn.execute(statement.returning(escalation_pages.c.id))
            page = page.model_copy(update={"id": result.scalar_one()})
        else:
            self._kept.append(statement.returning(escalation_pages.c.id))
        self.claimed.append(page)

    async def page(self, page_id: int) -> PageRecord | None:
        statement = select(escalation_pages).where(escalation_pages.c.id == page_id)
        if self._conn is not None:
            row = (await self._conn.execute(statement)).mappings().first()
        else:
            assert self._engine is not None
            async with self._engine.connect() as conn:
                row = (await conn.execute(statement)).mappings().first()
        return PageRecord.model_validate(dict(row)) if row else None

    async def mark_page(self, page_id: int, status: PageStatus, **where: Any) -> None:
        await self._write(
            update(escalation_pages)
            .where(escalation_pages.c.id == page_id)
            .values(status=status.value, **where)
        )

    async def _write(self, statement: Any) -> None:
        if self._conn is not None:
            await self._conn.execute(statement)
        else:
            self._kept.append(statement)

    async def _commit_kept(self, conn: AsyncConnection) -> None:
        """SQLite: run the kept writes; claimed pages learn their ids."""
        claims = iter(range(len(self.claimed)))
        for statement in self._kept:
            result = await conn.execute(statement)
            if statement.is_insert:
                index = next(claims)
                self.claimed[index] = self.claimed[index].model_copy(
                    update={"id": result.scalar_one()}
                )


class EscalationStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._sqlite_locks = _Locks()  # SQLite means one process: see `Held`

    async def start(
        self,
        conversation_id: str,
        policy: str,
        started_by: str,
        *,
        reason: str | None = None,
        rule: str | None = None,
    ) -> EscalationRecord | None:
        """A new active escalation, due at once; None when the conversation already has one."""
        now = self._clock()
        record = EscalationRecord(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            policy=policy,
            rule=rule,
            reason=reason,
            started_by=started_by,
            started_at=now,
            status=EscalationStatus.ACTIVE,
            step=0,
            round=0,
            next_at=now,
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(escalations).values(
                        **record.model_dump(), active_conversation_id=conversation_id
                    )
                )
        except IntegrityError:
            return None
        return record

    async def get(self, escalation_id: str) -> EscalationRecord | None:
        return await self._one(select(escalations).where(escalations.c.id == escalation_id))

    async def active_for(self, conversation_id: str) -> EscalationRecord | None:
        return await self._one(
            select(escalations).where(escalations.c.active_conversation_id == conversation_id)
        )

    async def last_by_rule(self, conversation_id: str, rule: str) -> EscalationRecord | None:
        return await self._one(
            select(escalations)
            .where(escalations.c.conversation_id == conversation_id, escalations.c.rule == rule)
            .order_by(escalations.c.started_at.desc())
            .limit(1)
        )

    async def active(self, limit: int = 100) -> list[EscalationRecord]:
        """Active escalations, the next page due first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(escalations)
                .where(escalations.c.status == EscalationStatus.ACTIVE.value)
                .order_by(escalations.c.next_at, escalations.c.started_at)
                .limit(limit)
            )
            return [EscalationRecord.model_validate(dict(row)) for row in rows.mappings()]

    async def pages(
        self, escalation_id: str, status: PageStatus | None = PageStatus.SENT
    ) -> list[PageRecord]:
        """The escalation's pages, oldest first: those delivered, unless told otherwise."""
        stmt = select(escalation_pages).where(escalation_pages.c.escalation_id == escalation_id)
        if status is not None:
            stmt = stmt.where(escalation_pages.c.status == status.value)
        async with self._engine.connect() as conn:
            rows = await conn.execute(stmt.order_by(escalation_pages.c.id))
            return [PageRecord.model_validate(dict(row)) for row in rows.mappings()]

    async def undelivered(self, claimed_before: datetime, limit: int = 100) -> list[PageRecord]:
        """Pages claimed before `claimed_before` and still not delivered: their process died."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(escalation_pages)
                .where(
                    escalation_pages.c.status == PageStatus.SENDING.value,
                    escalation_pages.c.claimed_at < claimed_before,
                )
                .order_by(escalation_pages.c.id)
                .limit(limit)
            )
            return [PageRecord.model_validate(dict(row)) for row in rows.mappings()]

    @asynccontextmanager
    async def next_due(self, now: datetime) -> AsyncIterator[Held | None]:
        """The first active escalation due at `now` that no one else holds, held until the block
        ends (its writes committed then; dropped if the block raises). None when nothing is due."""
        stmt = (
            select(escalations)
            .where(
                escalations.c.status == EscalationStatus.ACTIVE.value,
                escalations.c.next_at <= now,
            )
            .order_by(escalations.c.next_at)
        )
        if self._engine.dialect.name != "sqlite":
            async with self._row_locked(stmt.limit(1).with_for_update(skip_locked=True)) as held:
                yield held
            return
        async with self._engine.connect() as conn:
            due = [row.id for row in await conn.execute(stmt.limit(_DUE_CANDIDATES))]
        for escalation_id in due:
            if self._sqlite_locks.busy(escalation_id):
                continue  # being worked on in this process: the SKIP LOCKED of SQLite
            async with self._sqlite_held(escalation_id) as held:
                if (
                    held is not None
                    and held.record.is_active
                    and (held.record.next_at or now) <= now
                ):
                    yield held
                    return
        yield None

    @asynccontextmanager
    async def hold(self, escalation_id: str) -> AsyncIterator[Held | None]:
        """The escalation, waiting for whoever holds it (a step being sent) to finish."""
        if self._engine.dialect.name == "sqlite":
            async with self._sqlite_held(escalation_id) as held:
                yield held
            return
        stmt = select(escalations).where(escalations.c.id == escalation_id).with_for_update()
        async with self._row_locked(stmt) as held:
            yield held

    @asynccontextmanager
    async def _row_locked(self, stmt: Any) -> AsyncIterator[Held | None]:
        async with self._engine.connect() as conn:
            await conn.begin()
            async with _committed(conn):
                row = (await conn.execute(stmt)).mappings().first()
                yield Held(EscalationRecord.model_validate(dict(row)), conn=conn) if row else None

    @asynccontextmanager
    async def _sqlite_held(self, escalation_id: str) -> AsyncIterator[Held | None]:
        async with self._sqlite_locks.holding(escalation_id):
            record = await self.get(escalation_id)
            if record is None:
                yield None
                return
            held = Held(record, engine=self._engine)
            yield held
            if held._kept:
                async with self._engine.connect() as conn:
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    async with _committed(conn):
                        await held._commit_kept(conn)

    async def _one(self, stmt: Any) -> EscalationRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return EscalationRecord.model_validate(dict(row)) if row else None
