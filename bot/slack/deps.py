"""What every Slack listener needs, built once per app: the service, identity, claims, metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot import deadlines
from bot.bootstrap import Runtime
from bot.errors import BackendUnavailable, ConvbotError
from bot.metrics import Metrics
from bot.models import Agent, Queue
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService
from bot.settings import Settings
from bot.slack import client_policy
from bot.slack.blocks.card import CardContext
from bot.slack.cache import TtlCache
from bot.slack.identity import SlackIdentity
from bot.slack.message_updates import MessageUpdates
from bot.slack.pager import SlackPager
from bot.slack.usergroups import SlackUserGroups
from bot.state.claims import CardClaims
from bot.state.digest_posts import DigestPosts
from bot.state.escalation_notices import EscalationNotices
from bot.state.escalations import EscalationStore

log = logging.getLogger(__name__)
# Names on cards are cosmetic: past this wait a card is drawn with ids instead, so a slow
# Infobip does not hold up an answer whose own work is already done.
NAMES_WAIT = 2.0


def slack_session() -> aiohttp.ClientSession:
    """One pool of keep-alive connections to Slack for the Web API client and response_url
    posts. Without it slack_sdk opens (TCP + TLS) and closes a connection for every call: 12 %
    of convbot's CPU per `/conv create` in benchmarks/throughput.py. Build it inside the event
    loop that uses it and close it on shutdown. slack_sdk sets no timeout on a session it is
    given, so the session carries it."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client_policy.TIMEOUT))


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL honoured, Slack's 429, 5xx and connection retries on
    (bounded as bot/slack/client_policy.py says). `session`: see slack_session; without one
    (a one-shot CLI command) each call has a connection of its own."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=client_policy.TIMEOUT,
        session=session,
        retry_handlers=client_policy.retry_handlers(),
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
    digest_posts: DigestPosts = field(init=False)  # the digests posted: presses redraw only those
    escalations: EscalationService = field(init=False)
    escalation_notices: EscalationNotices = field(init=False)  # "/conv escalate" posts
    _queues: TtlCache[str, list[Queue]] = field(default_factory=lambda: TtlCache(60.0))
    _agents: TtlCache[str, list[Agent]] = field(default_factory=lambda: TtlCache(60.0))

    def __post_init__(self) -> None:
        self.updates = MessageUpdates(self.client)
        self.digest_posts = DigestPosts(self.runtime.engine)
        runtime = self.runtime
        self.escalation_notices = EscalationNotices(runtime.engine)
        self.escalations = EscalationService(
            runtime.conversations,
            EscalationStore(runtime.engine),
            runtime.audit,
            runtime.config.oncall,
            SlackPager(self.client, lambda: self.card_context(None), self.escalation_notices),
            groups=SlackUserGroups(self.client),
        )
        runtime.conversations.when_closed(self.escalations.resolve)
        # `assign <id> @ben` as Slack sends it (<@U…>): the person's linked agent.
        runtime.conversations.link_mentions(self.identity.agent_for)

    @property
    def service(self) -> ConversationService:
        return self.runtime.conversations

    async def card_context(
        self, viewer_agent_id: str | None, shown: Iterable[str] | None = None
    ) -> CardContext:
        """Names and mentions for drawing; cosmetic, so a backend failure just shows ids.
        `shown`: the ids of the conversations to be drawn, when known, so only their snoozes
        are read (none at all for none)."""
        try:
            async with asyncio.timeout(NAMES_WAIT):
                queues, agents = await asyncio.gather(
                    self._queues.get("all", self.service.queues),
                    self._agents.get("all", self.service.agents),
                )
        except TimeoutError:
            # The loads go on (shielded) and fill the cache for the next card.
            log.warning("queue and agent names took over %g s; drawing ids", NAMES_WAIT)
            queues, agents = [], []
        except ConvbotError as error:
            log.warning("queue and agent names unavailable for drawing: %s", error)
            queues, agents = [], []
        try:
            snoozed = await self.service.snoozed(shown)
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
        try:
            return await self._queues.get("all", self.service.queues)
        except TimeoutError:  # the command's deadline passed while another loaded them
            raise BackendUnavailable(
                f"The queues did not arrive within the {deadlines.COMMAND_SECONDS:g} s convbot "
                "gives a command; try again in a minute."
            ) from None
