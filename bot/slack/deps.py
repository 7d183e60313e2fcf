"""What every Slack listener needs, built once per app: the service, identity, claims, metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
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


# Retries of one Web API call. slack_sdk keeps one RetryState per call and each handler retries
# only while the call's retries *of any kind* are fewer than its own max_retry_count: a call
# makes at most 4 attempts (the largest count + 1), and a 500/503 or a dropped connection is not
# retried once 2 retries (of any kind) were spent, even if they were 429s.
# - 429: wait Retry-After + up to 1 s of jitter; at most 3 retries, and only when Slack asks for
#   at most MAX_RETRY_AFTER seconds: a longer wait (Slack may ask for tens of seconds) fails at
#   once with `ratelimited` rather than stall the caller for minutes.
# - 500/503 (Slack's `internal_error`, its edge's 503 page): backoff 0.5 s * 2^n + up to 1 s
#   (≤ 1.5 s, then ≤ 2 s), at most 2 retries. Slack says an `internal_error` may have done part
#   of the work, so a retried post can rarely show twice: a duplicate beats a lost page/digest.
# - dropped/refused connections: the same backoff, at most 2 retries. A timeout (10 s) is not
#   retried (slack_sdk raises a plain TimeoutError): a slow Slack may have done it already.
# Worst case, sleeping: 3 * (MAX_RETRY_AFTER + 1) = 18 s, plus the attempts themselves. That
# bounds what waits on a call: a page holds its escalation (an Acknowledge waits for it), a
# digest tick holds its schedule's next run (max_instances=1), a listener's answer is late.
MAX_RETRY_AFTER = 5


class _BoundedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, declining when Slack asks to wait more than `max_wait` s."""

    def __init__(self, max_retry_count: int, max_wait: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        try:
            return int(wait[0]) <= self.max_wait
        except (IndexError, ValueError):
            return False  # slack_sdk could not sleep on it either


TIMEOUT = 10


def slack_session() -> aiohttp.ClientSession:
    """One pool of keep-alive connections to Slack for the Web API client and response_url
    posts. Without it slack_sdk opens (TCP + TLS) and closes a connection for every call: 12 %
    of convbot's CPU per `/conv create` in benchmarks/throughput.py. Build it inside the event
    loop that uses it and close it on shutdown. slack_sdk sets no timeout on a session it is
    given, so the session carries it."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL honoured, Slack's 429, 5xx and connection retries on
    (bounded as the comment above says). `session`: see slack_session; without one (a one-shot
    CLI command) each call has a connection of its own."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT,
        session=session,
        retry_handlers=[
            _BoundedRateLimitRetryHandler(max_retry_count=3, max_wait=MAX_RETRY_AFTER),
            AsyncServerErrorRetryHandler(max_retry_count=2),
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
