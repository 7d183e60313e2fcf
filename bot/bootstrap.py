"""The composition root: builds the bot's parts from settings, the one place that picks adapters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backends.base import ConversationBackend
from bot.backends.local import LocalBackend
from bot.config import OpsConfig
from bot.config_file import load_settings_config
from bot.metrics import Metrics, metered
from bot.service.conversations import ConversationService
from bot.service.permissions import GroupDirectory, PermissionPolicy
from bot.settings import Settings
from bot.state.audit import AuditLog
from bot.state.db import create_engine, migrate
from bot.state.snoozes import SnoozeStore


@dataclass
class Runtime:
    settings: Settings
    config: OpsConfig
    engine: AsyncEngine
    backend: ConversationBackend
    audit: AuditLog
    conversations: ConversationService

    async def aclose(self) -> None:
        await self.backend.aclose()
        await self.engine.dispose()


def build_backend(settings: Settings, engine: AsyncEngine) -> ConversationBackend:
    """Infobip when its URL and key are set, otherwise the embedded store in the state database."""
    if settings.infobip_base_url and settings.infobip_api_key:  # == settings.uses_infobip
        from bot.backends.infobip import InfobipBackend

        return InfobipBackend(
            settings.infobip_base_url, settings.infobip_api_key.get_secret_value()
        )
    return LocalBackend(engine)


async def build_runtime(
    settings: Settings | None = None,
    config: OpsConfig | None = None,
    *,
    groups: GroupDirectory | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """Open and migrate the state database, pick the backend, seed the embedded one.

    `groups` resolves user groups for permissions (Slack); `metrics` meters backend calls.
    """
    settings = settings or Settings()
    config = config or load_settings_config(settings)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        backend = build_backend(settings, engine)
        if isinstance(backend, LocalBackend):
            await backend.seed(config.local)
    except BaseException:
        await engine.dispose()
        raise
    if metrics is not None:
        backend = metered(backend, metrics)
    audit = AuditLog(engine)
    permissions = PermissionPolicy(config.permissions, groups)
    return Runtime(
        settings=settings,
        config=config,
        engine=engine,
        backend=backend,
        audit=audit,
        conversations=ConversationService(backend, audit, permissions, SnoozeStore(engine)),
    )
