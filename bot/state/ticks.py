"""Tick claims: each scheduled run of a job is done by exactly one replica, once.

A job run first inserts (job id, scheduled time); the unique key lets one insert win on every
replica sharing the database, and a restarted process finds the ticks already done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import utcnow
from bot.state.tables import job_ticks

ERROR_MAX = 2000


class TickRecord(BaseModel):
    job_id: str
    scheduled_at: datetime
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None
    error: str | None


class TickClaims:
    def __init__(
        self, engine: AsyncEngine, replica: str, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self._replica = replica
        self._clock = clock

    async def claim(self, job_id: str, scheduled_at: datetime) -> bool:
        """True for the one caller that gets to run this tick; False for everyone else."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(job_ticks).values(
                        job_id=job_id,
                        scheduled_at=scheduled_at,
                        claimed_by=self._replica,
                        claimed_at=self._clock(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def finish(self, job_id: str, scheduled_at: datetime, error: str | None = None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(job_ticks)
                .where(job_ticks.c.job_id == job_id, job_ticks.c.scheduled_at == scheduled_at)
                .values(finished_at=self._clock(), error=error[:ERROR_MAX] if error else None)
            )

    async def last(self, job_id: str) -> TickRecord | None:
        """The newest tick of a job: its last run and last error, for `/conv schedules`."""
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(job_ticks)
                        .where(job_ticks.c.job_id == job_id)
                        .order_by(job_ticks.c.scheduled_at.desc())
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
        return TickRecord.model_validate(dict(row)) if row else None

    async def count(self, job_id: str) -> int:
        async with self._engine.connect() as conn:
            total = await conn.execute(
                select(func.count()).select_from(job_ticks).where(job_ticks.c.job_id == job_id)
            )
        return int(total.scalar_one())
