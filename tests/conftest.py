"""Fixtures: real databases (a SQLite file, the machine's PostgreSQL) and real HTTP on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.backends.base import ConversationBackend
from bot.backends.local import LocalBackend
from bot.service.conversations import ConversationService
from bot.state.audit import AuditLog
from bot.state.db import create_engine, migrate
from tests.seed import SEED

POSTGRES_URL = os.environ.get(
    "CONVBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CONVBOT_REQUIRE_POSTGRES") == "1"
EMULATOR_KEY = "test-emulator-key"

_postgres_error: str | None = None


async def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per run)."""
    global _postgres_error
    if _postgres_error is None:
        engine = create_async_engine(POSTGRES_URL)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            _postgres_error = ""
        except Exception as error:
            _postgres_error = f"PostgreSQL at {POSTGRES_URL} is not reachable: {error!r}"[:300]
        finally:
            await engine.dispose()
    return _postgres_error or None


async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh schema of its own, dropped afterwards."""
    problem = await _postgres_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " (CONVBOT_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[AsyncEngine]:
    """The state database, migrated: a SQLite file, and the machine's PostgreSQL."""
    if request.param == "sqlite":
        db = create_engine(f"sqlite+aiosqlite:///{tmp_path}/state.db")
        await migrate(db)
        yield db
        await db.dispose()
    else:
        async for db in postgres_engine():
            await migrate(db)
            yield db


@dataclass
class Stack:
    """A service over one backend, the way the bot builds it, plus the parts tests look into."""

    backend: ConversationBackend
    service: ConversationService
    audit: AuditLog
    kind: str


@pytest.fixture
async def stack(engine: AsyncEngine) -> Stack:
    """The embedded backend on the state database (SQLite and PostgreSQL)."""
    backend = LocalBackend(engine)
    await backend.seed(SEED)
    audit = AuditLog(engine)
    return Stack(
        backend, ConversationService(backend, audit), audit, f"local-{engine.dialect.name}"
    )
