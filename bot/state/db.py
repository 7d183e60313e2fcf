"""The state database: one async engine per process, migrated to the newest schema at start-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import BackendUnavailable, InvalidInput

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every replica that migrates at once.
_MIGRATION_LOCK = 0x636F6E76626F74


CONNECT_TIMEOUT = 5  # seconds; a connect_timeout in DATABASE_URL's query wins


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine for `DATABASE_URL`; SQLite gets WAL and a busy timeout so readers never block."""
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        # libpq waits for an unanswering server as long as the OS lets TCP try (minutes): a
        # command would hang that long instead of saying the database is unreachable.
        connect_args = {"connect_timeout": CONNECT_TIMEOUT, **options.pop("connect_args", {})}
        options["connect_args"] = connect_args
    try:
        engine = create_async_engine(url, pool_pre_ping=True, **options)
    except (ArgumentError, InvalidRequestError, ImportError) as error:
        raise InvalidInput(
            f"DATABASE_URL '{hide_password(url)}' is not a database convbot can use "
            f"({type(error).__name__}). Write sqlite+aiosqlite:///convbot.db or "
            "postgresql+psycopg://user@host:5432/dbname."
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=10000",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(config).get_current_head()
    if current != head:
        log.info("migrating the state database from %s to %s", current or "empty", head)
        command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe when several replicas start together."""
    try:
        async with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Replicas starting together queue here instead of racing on CREATE TABLE.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            await connection.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as error:
        raise BackendUnavailable(
            f"The state database at {safe_url(engine)} could not be opened or migrated "
            f"({type(error).__name__}); check DATABASE_URL."
        ) from error


def safe_url(engine: AsyncEngine) -> str:
    """The database URL with any password hidden, fit for a log line or an error."""
    return engine.url.render_as_string(hide_password=True)


def hide_password(url: str) -> str:
    """`url` with any password hidden; text that is no URL at all is shown only by its scheme."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.partition(":")[0] + ":…"
