"""The state database: migrations create exactly the schema the code expects, on both engines."""

from __future__ import annotations

import socket
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.state import local_tables, tables  # noqa: F401  (importing them adds their tables)
from bot.state.db import CONNECT_TIMEOUT, create_engine, migrate
from bot.state.schema import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_match_the_table_definitions(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences) == []


async def test_migrating_twice_changes_nothing(engine: AsyncEngine) -> None:
    await migrate(engine)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"audit_log", "local_conversations", "alembic_version"} <= tables


@pytest.mark.slow
async def test_a_postgresql_server_that_never_answers_fails_the_connect_in_seconds() -> None:
    # A port that accepts TCP and then says nothing, as a hung or blackholed server does.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    engine = create_engine(f"postgresql+psycopg://convbot@127.0.0.1:{port}/convbot")
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
        silent.close()
    assert time.monotonic() - started < CONNECT_TIMEOUT + 5
