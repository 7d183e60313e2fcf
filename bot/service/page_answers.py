"""Answering a page: Acknowledge stops the escalation; Take acknowledges and assigns it to me.

Who may Take is a rule: the one whose acknowledgement stopped the chain takes the conversation,
and so does anyone while nobody has it; a later Take from someone else takes nothing from
whoever has it now.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Actor, Conversation
from bot.service.conversations import ConversationService
from bot.service.escalations import Acknowledged, EscalationService


@dataclass(frozen=True)
class PageAnswer:
    """What answering did: the acknowledgement, and for a Take whether it took the conversation
    and who had it before (`holder`, an agent id; None: nobody)."""

    acknowledged: Acknowledged
    took: bool = False
    holder: str | None = None
    conversation: Conversation | None = None  # as the take left it


class PageAnswers:
    def __init__(self, conversations: ConversationService, escalations: EscalationService) -> None:
        self._conversations = conversations
        self._escalations = escalations

    async def acknowledge(self, actor: Actor, escalation_id: str) -> PageAnswer:
        return PageAnswer(acknowledged=await self._escalations.acknowledge(actor, escalation_id))

    async def take(self, actor: Actor, escalation_id: str) -> PageAnswer:
        done = await self._escalations.acknowledge(actor, escalation_id)
        conversation_id = done.escalation.conversation_id
        holder = (await self._conversations.get(conversation_id)).agentId
        if not done.first and holder is not None:
            return PageAnswer(acknowledged=done, holder=holder)
        agent_id = await self._conversations.directory.resolve_agent(actor, "me")
        change = await self._conversations.assign(actor, conversation_id, agent_id)
        await self._escalations.redraw(done.escalation)  # the pages show who has it
        return PageAnswer(
            acknowledged=done, took=change.changed, holder=holder, conversation=change.conversation
        )
