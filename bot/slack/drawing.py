"""What a card is drawn with besides the conversation: queue and agent names (cached), mentions
and snoozes, each cosmetic, so a failure to load them draws ids instead of failing the answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError

from bot import deadlines
from bot.errors import BackendUnavailable, ConvbotError
from bot.models import Agent, Queue
from bot.service.conversations import ConversationService
from bot.slack.blocks.card import CardContext
from bot.slack.cache import TtlCache
from bot.slack.identity import SlackIdentity

log = logging.getLogger(__name__)
# Names on cards are cosmetic: past this wait a card is drawn with ids instead, so a slow
# Infobip does not hold up an answer whose own work is already done.
NAMES_WAIT = 2.0


class CardDrawing:
    def __init__(self, service: ConversationService, identity: SlackIdentity) -> None:
        self._service = service
        self._identity = identity
        self._queues: TtlCache[str, list[Queue]] = TtlCache(60.0)
        self._agents: TtlCache[str, list[Agent]] = TtlCache(60.0)

    async def context(
        self, viewer_agent_id: str | None, shown: Iterable[str] | None = None
    ) -> CardContext:
        """Names and mentions for drawing; cosmetic, so a backend failure just shows ids.
        `shown`: the ids of the conversations to be drawn, when known, so only their snoozes
        are read (none at all for none)."""
        try:
            async with asyncio.timeout(NAMES_WAIT):
                queues, agents = await asyncio.gather(
                    self._queues.get("all", self._service.directory.queues),
                    self._agents.get("all", self._service.directory.agents),
                )
        except TimeoutError:
            # The loads go on (shielded) and fill the cache for the next card.
            log.warning("queue and agent names took over %g s; drawing ids", NAMES_WAIT)
            queues, agents = [], []
        except ConvbotError as error:
            log.warning("queue and agent names unavailable for drawing: %s", error)
            queues, agents = [], []
        try:
            snoozed = await self._service.snoozed(shown)
        except SQLAlchemyError:
            log.warning("snoozes unavailable for drawing", exc_info=True)
            snoozed = {}
        return CardContext(
            viewer_agent_id=viewer_agent_id,
            queue_names={queue.id: queue.name for queue in queues},
            agent_users=self._identity.slack_users(),
            agent_names={agent.id: agent.displayName for agent in agents},
            # The Escalate button is always drawn; until on-call policies exist it says so
            # when pressed.
            escalation_enabled=True,
            snoozed=snoozed,
        )

    async def queues(self) -> list[Queue]:
        try:
            return await self._queues.get("all", self._service.directory.queues)
        except TimeoutError:  # the command's deadline passed while another loaded them
            raise BackendUnavailable(
                f"The queues did not arrive within the {deadlines.COMMAND_SECONDS:g} s convbot "
                "gives a command; try again in a minute."
            ) from None
