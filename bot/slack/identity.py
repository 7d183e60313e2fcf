"""Who a Slack user is to the backend: the `agents:` map first, else their e-mail (cached)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConvbotError
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.slack.cache import TtlCache
from bot.slack.failures import SLACK_FAILURES

log = logging.getLogger(__name__)
# Reasons we may not learn who someone is; they then act unlinked rather than fail.
_UNKNOWABLE: tuple[type[BaseException], ...] = (*SLACK_FAILURES, ConvbotError, KeyError, TypeError)


class SlackIdentity:
    def __init__(
        self,
        agents: Mapping[str, str],
        client: AsyncWebClient,
        service: ConversationService,
        *,
        ttl: float = 600.0,
    ) -> None:
        self._configured = dict(agents)
        self._client = client
        self._service = service
        self._by_user: TtlCache[str, str | None] = TtlCache(ttl)
        self._learned: dict[str, str] = {}  # agent id → Slack user, from e-mail matches

    async def actor(self, user_id: str) -> Actor:
        return Actor(id=user_id, surface="slack", agent_id=await self.agent_for(user_id))

    async def agent_for(self, user_id: str) -> str | None:
        if user_id in self._configured:
            return self._configured[user_id]
        try:
            return await self._by_user.get(user_id, lambda: self._match_by_email(user_id))
        except _UNKNOWABLE:
            # Not knowing who someone is must not break what they do: they act unlinked, and
            # the failure is not cached, so the next press tries again.
            log.warning("could not match Slack user %s to an agent", user_id, exc_info=True)
            return None

    def slack_users(self) -> dict[str, str]:
        """Agent id → Slack user id, for drawing mentions."""
        users = {
            agent: user for user, agent in self._configured.items() if not user.startswith("cli:")
        }
        return {**self._learned, **users}

    async def _match_by_email(self, user_id: str) -> str | None:
        """The agent with the Slack user's e-mail: one users.info and one agent lookup by
        e-mail (Infobip's agent list carries no e-mails, so it cannot be searched)."""
        answer = await self._client.users_info(user=user_id)
        email = str(answer["user"]["profile"].get("email") or "").strip()
        if not email:
            return None
        agent = await self._service.directory.agent_by_email(email)
        if agent is None:
            return None
        self._learned[agent.id] = user_id
        return agent.id
