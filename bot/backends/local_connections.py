"""How the embedded store uses its database: a connection to read, a transaction to write (taken
at once on SQLite), and a driver's failure told as BackendUnavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import BackendUnavailable
from bot.state.db import safe_url


def connection(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    return _guarded(engine, engine.connect())


def transaction(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    return _guarded(engine, _begin_write(engine))


@asynccontextmanager
async def _begin_write(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
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
    engine: AsyncEngine, context: AbstractAsyncContextManager[AsyncConnection]
) -> AsyncIterator[AsyncConnection]:
    """Driver failures become BackendUnavailable; rule errors pass through untouched."""
    try:
        async with context as conn:
            yield conn
    except IntegrityError:
        raise
    except (SQLAlchemyError, OSError) as error:
        raise BackendUnavailable(
            f"The embedded store at {safe_url(engine)} is not answering "
            f"({type(error).__name__}); check DATABASE_URL and try again."
        ) from error
