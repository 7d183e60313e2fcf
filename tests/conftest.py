"""Fixtures: real databases (a SQLite file, the machine's PostgreSQL) and real HTTP on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.backends.base import ConversationBackend
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.bootstrap import Runtime, build_runtime
from bot.config import OpsConfig
from bot.devtools.emulator import create_emulator_app
from bot.devtools.emulator.observe import observing
from bot.devtools.fakeslack import recorder as fakeslack_recorder
from bot.devtools.loopback import serve_in_background
from bot.service.conversations import ConversationService
from bot.settings import Settings
from bot.state.audit import AuditLog
from bot.state.db import create_engine, migrate
from tests.contract import ContractCheckingTransport, ContractValidator, ServedAnswersCheck
from tests.seed import SEED
from tests.slack_harness import SlackHarness, running_bot

POSTGRES_URL = os.environ.get(
    "CONVBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CONVBOT_REQUIRE_POSTGRES") == "1"
EMULATOR_KEY = "test-emulator-key"

_postgres_error: str | None = None
# Loaded once: every test checks its emulators' answers with it.
_SERVED_CONTRACT = ContractValidator(gateway_statuses=True)


# Test tiers. `pytest -m "not slow"` is the fast tier for local work (under a minute on 2 cores);
# plain `pytest`, what CI runs, runs everything. A test is slow when it takes over ~0.5 s or
# starts a process or a server: mark it `@pytest.mark.slow`, or its module with
# `pytestmark = pytest.mark.slow` when nearly all of it is. The rule below marks the kinds that
# are slow by construction, so a new test of those kinds lands in the right tier by itself.
SLOW_DIRECTORIES = {"reliability", "browser"}  # fault suites, restarts, replicas; Playwright
SLOW_FIXTURES = {
    "slack",  # the bot and a fake Slack served on loopback
    "postgres_url",  # several bot instances on one PostgreSQL schema
    "emulator",  # the Infobip emulator served on loopback (tests/test_emulator_contract.py)
    "cli",  # `python -m bot …` as a subprocess (tests/test_cli*.py, test_check_config.py)
}
SLOW_PARAMS = {"infobip-emulator"}  # the Infobip emulator served on loopback


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else ""
        callspec = getattr(item, "callspec", None)
        params = set(map(str, callspec.params.values())) if callspec else set()
        if (
            folder in SLOW_DIRECTORIES
            or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            or SLOW_PARAMS & params
            or item.get_closest_marker("postgres")  # a schema created and migrated per test
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def emulator_answers_follow_the_contract() -> Iterator[ServedAnswersCheck]:
    """Every answer of every emulator a test serves in this process is held to the contract,
    closed to the properties each schema declares (tests/contract.py): a test whose emulator
    leaks a property, or answers in a shape the contract does not give, fails here."""
    check = ServedAnswersCheck(_SERVED_CONTRACT)
    with observing(check):
        yield check
    assert check.violations == [], "the emulator answered outside the contract:\n" + "\n".join(
        check.violations[:20]
    )


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


@asynccontextmanager
async def fresh_postgres_schema() -> AsyncIterator[str]:
    """A new schema on the test server (skipped, or failed under CI, when it is unreachable)."""
    problem = await _postgres_reachable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " (CONVBOT_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()


async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh schema of its own, dropped afterwards."""
    async with fresh_postgres_schema() as schema:
        engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            await engine.dispose()


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
    # The embedded store that holds the data (the backend itself, or the one behind the
    # emulator), and the emulator's address when there is one: how a test acts as the customer.
    store: LocalBackend | None = None
    emulator_url: str | None = None


async def runtime_over(
    engine: AsyncEngine,
    backend: ConversationBackend,
    config: OpsConfig | None = None,
    **overrides: Any,
) -> Runtime:
    """The bot's parts as the composition root builds them, over a test's own state database
    and backend (the test closes those); `overrides`: a pager, a clock (see build_runtime)."""
    settings = Settings(
        _env_file=None,
        slack_bot_token=None,
        slack_app_token=None,
        infobip_base_url=None,
        infobip_api_key=None,
    )
    return await build_runtime(
        settings, config or OpsConfig(), engine=engine, backend=backend, **overrides
    )


async def sqlite_engine(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    return engine


async def seeded_local(engine: AsyncEngine) -> LocalBackend:
    backend = LocalBackend(engine)
    await backend.seed(SEED)
    return backend


@asynccontextmanager
async def emulated_infobip(tmp_path: Path) -> AsyncIterator[tuple[str, LocalBackend]]:
    """The emulator over a seeded embedded store, served on loopback: (base URL, its store)."""
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        async with serve_in_background(create_emulator_app(store, EMULATOR_KEY)) as base_url:
            yield base_url, store
    finally:
        await engine.dispose()


@pytest.fixture(
    params=[
        "local-sqlite",
        pytest.param("local-postgres", marks=pytest.mark.postgres),
        "infobip-emulator",
    ]
)
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """The service over each backend: embedded on SQLite and PostgreSQL, and the Infobip client
    talking to the emulator over real HTTP with every exchange checked against the contract."""
    kind = request.param
    if kind == "local-postgres":
        async for engine in postgres_engine():
            await migrate(engine)
            backend = await seeded_local(engine)
            runtime = await runtime_over(engine, backend)
            yield Stack(backend, runtime.conversations, runtime.audit, kind, backend)
        return
    state = await sqlite_engine(tmp_path / "state.db")
    try:
        if kind == "local-sqlite":
            backend = await seeded_local(state)
            runtime = await runtime_over(state, backend)
            yield Stack(backend, runtime.conversations, runtime.audit, kind, backend)
            return
        async with emulated_infobip(tmp_path) as (base_url, store):
            transport = ContractCheckingTransport()
            infobip = InfobipBackend(base_url, EMULATOR_KEY, transport=transport, max_retries=0)
            try:
                runtime = await runtime_over(state, infobip)
                yield Stack(infobip, runtime.conversations, runtime.audit, kind, store, base_url)
            finally:
                await infobip.aclose()
            assert transport.violations == [], transport.violations
    finally:
        await state.dispose()


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    """The bot running for real against a fake Slack, on the embedded backend."""
    async with running_bot(tmp_path) as harness:
        yield harness


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A DATABASE_URL on a fresh PostgreSQL schema, for several app instances to share."""
    async with fresh_postgres_schema() as schema:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(autouse=True)
def slack_rules_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test whose bot sent Slack something Slack refuses by rule (bad blocks, a scope
    the manifest does not grant, a response_url used six times …), caught by the strict fake
    Slack. A test that breaks a rule on purpose checks `fake.violations` and clears it."""
    fakeslack_recorder.CREATED.clear()
    yield
    made, fakeslack_recorder.CREATED[:] = list(fakeslack_recorder.CREATED), []
    broken = [str(violation) for fake in made for violation in fake.violations]
    if broken:
        pytest.fail("Slack would refuse what the bot sent:\n  " + "\n  ".join(broken))
