"""Card action claims: the first press on a card version wins, on every replica."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state.tables import card_action_claims
from bot.timestamps import format_timestamp, utcnow

log = logging.getLogger(__name__)

# How long a claim outlives a press that stopped renewing it (a killed process). A press renews
# its claim while it runs (`holding`), so one slower than this (a stalled Infobip) keeps it.
LEASE = timedelta(seconds=60)
KEEP = timedelta(days=2)  # a card older than this is stale anyway: its version moved on


class CardClaims:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._lease = lease

    async def claim(self, conversation_id: str, version: datetime, action: str, actor: str) -> bool:
        """True for the first press on this version of the conversation, False for any later.

        A claim older than LEASE is taken over: its press died without releasing it (a killed
        process), and the card must not stay locked for good.
        """
        now = self._clock()
        key = (conversation_id, format_timestamp(version))
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(card_action_claims).values(
                        conversation_id=key[0],
                        version=key[1],
                        action=action,
                        actor=actor,
                        claimed_at=now,
                    )
                )
        except IntegrityError:
            async with self._engine.begin() as conn:
                taken = await conn.execute(
                    update(card_action_claims)
                    .where(
                        card_action_claims.c.conversation_id == key[0],
                        card_action_claims.c.version == key[1],
                        card_action_claims.c.claimed_at < now - self._lease,
                    )
                    .values(action=action, actor=actor, claimed_at=now)
                )
            return taken.rowcount == 1
        return True

    @asynccontextmanager
    async def holding(self, conversation_id: str, version: datetime) -> AsyncIterator[None]:
        """Keep a claim fresh while its press runs. Without this, a press slower than the lease
        (each Infobip call waiting out its retries) lost its claim, and a second press on the
        same card took it over and acted on the old version too: two routes, the round-robin
        moved twice."""
        renewing = asyncio.create_task(self._renew(conversation_id, version))
        try:
            yield
        finally:
            renewing.cancel()
            with suppress(asyncio.CancelledError):
                await renewing

    async def _renew(self, conversation_id: str, version: datetime) -> None:
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        update(card_action_claims)
                        .where(
                            card_action_claims.c.conversation_id == conversation_id,
                            card_action_claims.c.version == format_timestamp(version),
                        )
                        .values(claimed_at=self._clock())
                    )
            except SQLAlchemyError:
                # The next renewal may work; the lease still covers two more tries.
                log.warning("could not renew the claim on %s", conversation_id, exc_info=True)

    async def release(self, conversation_id: str, version: datetime) -> None:
        """Undo a claim whose action failed, so pressing again can still work."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(card_action_claims).where(
                    card_action_claims.c.conversation_id == conversation_id,
                    card_action_claims.c.version == format_timestamp(version),
                )
            )

    async def forget_old(self) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(card_action_claims).where(
                    card_action_claims.c.claimed_at < self._clock() - KEEP
                )
            )
        return result.rowcount
