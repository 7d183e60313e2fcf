"""What every Slack listener needs, built once per app: the service, identity, claims, metrics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import Runtime
from bot.errors import ConvbotError
from bot.metrics import Metrics
from bot.models import Agent, Queue
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService
from bot.settings import Settings
from bot.slack.blocks.card import CardContext
from bot.slack.cache import TtlCache
from bot.slack.identity import SlackIdentity
from bot.slack.message_updates import MessageUpdates
from bot.slack.pager import SlackPager
from bot.slack.usergroups import SlackUserGroups
from bot.state.claims import CardClaims
from bot.state.escalations import EscalationStore

log = logging.getLogger(__name__)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL honoured, Slack's 429 and connection retries on."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class SlackDeps:
    runtime: Runtime
    client: AsyncWebClient
    identity: SlackIdentity
    claims: CardClaims
    metrics: Metrics
    # The Escalate button is always drawn; until on-call policies exist it says so when pressed.
    escalation_enabled: bool = True
    updates: MessageUpdates = field(init=False)  # debounced chat.update of digests
    escalations: EscalationService = field(init=False)
    _queues: TtlCache[str, list[Queue]] = field(default_factory=lambda: TtlCache(60.0))
    _agents: TtlCache[str, list[Agent]] = field(default_factory=lambda: TtlCache(60.0))

    def __post_init__(self) -> None:
        self.updates = MessageUpdates(self.client)
        runtime = self.runtime
        self.escalations = EscalationService(
            runtime.conversations,
            EscalationStore(runtime.engine),
            runtime.audit,
            runtime.config.oncall,
            SlackPager(self.client, lambda: self.card_context(None)),
            groups=SlackUserGroups(self.client),
        )
        runtime.conversations.when_closed(self.escalations.resolve)

    @property
    def service(self) -> ConversationService:
        return self.runtime.conversations

    async def card_context(self, viewer_agent_id: str | None) -> CardContext:
        """Names and mentions for drawing; cosmetic, so a backend failure just shows ids."""
        try:
            queues, agents = await asyncio.gather(
                self._queues.get("all", self.service.queues),
                self._agents.get("all", self.service.agents),
            )
        except ConvbotError:
            log.warning("queue and agent names unavailable for drawing", exc_info=True)
            queues, agents = [], []
        try:
            snoozed = await self.service.snoozed()
        except SQLAlchemyError:
            log.warning("snoozes unavailable for drawing", exc_info=True)
            snoozed = {}
        return CardContext(
            viewer_agent_id=viewer_agent_id,
            queue_names={queue.id: queue.name for queue in queues},
            agent_users=self.identity.slack_users(),
            agent_names={agent.id: agent.displayName for agent in agents},
            escalation_enabled=self.escalation_enabled,
            snoozed=snoozed,
        )

    async def queues(self) -> list[Queue]:
        return await self._queues.get("all", self.service.queues)
