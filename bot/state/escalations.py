"""Escalations and their pages, durable in the state database and safe across replicas.

A step is run inside a transaction that holds its escalation's row: `SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so each due step goes to exactly one replica, and an acknowledgement
(which locks the same row, waiting) either lands before the step (no page is sent) or after it
(the page it sent is among those it updates). On SQLite, `BEGIN IMMEDIATE` serialises writers
the same way for the one replica SQLite supports.
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

from bot.models import utcnow
from bot.state.tables import escalation_pages, escalations


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
    """An escalation's row, locked for the length of a transaction."""

    def __init__(self, conn: AsyncConnection, record: EscalationRecord) -> None:
        self._conn = conn
        self.record = record
        self.notes: list[tuple[str, dict[str, Any]]] = []  # audit entries, written after commit
        self.claimed: list[PageRecord] = []  # pages claimed, delivered after commit

    def note(self, action: str, after: dict[str, Any]) -> None:
        self.notes.append((action, after))

    async def save(self, **changes: Any) -> EscalationRecord:
        if "status" in changes and changes["status"] is not EscalationStatus.ACTIVE:
            changes["active_conversation_id"] = None
        await self._conn.execute(
            update(escalations).where(escalations.c.id == self.record.id).values(**changes)
        )
        fields = {k: v for k, v in changes.items() if k in EscalationRecord.model_fields}
        self.record = self.record.model_copy(update=fields)
        return self.record

    async def claim_page(self, page: PageRecord) -> PageRecord:
        """Claim a page for the step being run; it is delivered once this transaction commits."""
        values = page.model_dump(exclude={"id"})
        result = await self._conn.execute(
            insert(escalation_pages).values(**values).returning(escalation_pages.c.id)
        )
        return page.model_copy(update={"id": result.scalar_one()})

    async def page(self, page_id: int) -> PageRecord | None:
        row = (
            (
                await self._conn.execute(
                    select(escalation_pages).where(escalation_pages.c.id == page_id)
                )
            )
            .mappings()
            .first()
        )
        return PageRecord.model_validate(dict(row)) if row else None

    async def mark_page(self, page_id: int, status: PageStatus, **where: Any) -> None:
        await self._conn.execute(
            update(escalation_pages)
            .where(escalation_pages.c.id == page_id)
            .values(status=status.value, **where)
        )


class EscalationStore:
    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._sqlite_writer = asyncio.Lock()  # SQLite is one process: see `_write`

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
        ends (committed then; rolled back if the block raises). None when nothing is due."""
        stmt = (
            select(escalations)
            .where(
                escalations.c.status == EscalationStatus.ACTIVE.value,
                escalations.c.next_at <= now,
            )
            .order_by(escalations.c.next_at)
            .limit(1)
        )
        async with self._write() as conn:
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = (await conn.execute(stmt)).mappings().first()
            yield Held(conn, EscalationRecord.model_validate(dict(row))) if row else None

    @asynccontextmanager
    async def hold(self, escalation_id: str) -> AsyncIterator[Held | None]:
        """The escalation's row, waiting for whoever holds it (a step being sent) to finish."""
        stmt = select(escalations).where(escalations.c.id == escalation_id)
        async with self._write() as conn:
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            row = (await conn.execute(stmt)).mappings().first()
            yield Held(conn, EscalationRecord.model_validate(dict(row))) if row else None

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._engine.dialect.name != "sqlite":
            async with self._engine.connect() as conn:
                await conn.begin()
                async with _committed(conn):
                    yield conn
            return
        # SQLite's write lock is the whole database, and a page is sent while holding it,
        # which needs a second pooled connection (to draw the page). Writers queued on the
        # lock each hold a connection; enough of them would leave the sender none, and all
        # would wait out the busy timeout. So they queue here, holding nothing, instead.
        async with self._sqlite_writer, self._engine.connect() as conn:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            async with _committed(conn):
                yield conn

    async def _one(self, stmt: Any) -> EscalationRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return EscalationRecord.model_validate(dict(row)) if row else None
