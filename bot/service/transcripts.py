"""A conversation's messages and notes: reading the transcript, saving an internal note and
replying to the customer, each checked before the backend is asked and audited (issue 18).

The reply's rules are Infobip's (https://www.infobip.com/docs/conversations-api/messages): it
goes out on the channel and between the addresses of the customer's last inbound message, and
an assigned conversation's reply names its sending agent (`x-agent-id`: the assignee or a
supervisor) while an unassigned one's names none. They are decided here, so a refusal says why
and what to do instead of passing on the API's 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.backends.base import ConversationBackend
from bot.config import Action
from bot.errors import ConversationClosed, Forbidden, InvalidInput
from bot.messages import (
    MESSAGE_TEXT_MAX,
    NOTE_MAX,
    Direction,
    ListOrder,
    Message,
    MessageCreate,
    MessageFilter,
    Note,
    NoteCreate,
    NoteFilter,
)
from bot.models import Actor, AgentRole, Conversation, ResultPage

# A transcript's page: enough to read a conversation on one screen, few enough for Slack.
TRANSCRIPT_DEFAULT = 20
TRANSCRIPT_MAX = 50

Authorize = Callable[[Actor, Action, str | None], Awaitable[None]]
# The service's audit entry (ConversationService._record): one path, one way of losing it loudly.
Record = Callable[
    [Actor, str, str | None, dict[str, Any] | None, dict[str, Any] | None], Awaitable[None]
]


class Transcripts:
    """Messages and notes of one conversation at a time. `authorize` is the service's own
    check (ConversationService.authorize), so refusals are audited the same way."""

    def __init__(self, backend: ConversationBackend, record: Record, authorize: Authorize) -> None:
        self._backend = backend
        self._record = record
        self._authorize = authorize

    async def messages(
        self,
        actor: Actor,
        conversation_id: str,
        limit: int = TRANSCRIPT_DEFAULT,
        *,
        before: datetime | None = None,
    ) -> ResultPage[Message]:
        """The latest `limit` messages (at most TRANSCRIPT_MAX), newest last, with the total;
        with `before`, the latest of those created before it (the previous page)."""
        _check_limit(limit)
        newest_first = await self._backend.list_messages(
            conversation_id,
            MessageFilter(
                orderBy=ListOrder(field="createdAt", direction="desc"),
                limit=limit,
                createdBefore=before,
            ),
        )
        return newest_first.model_copy(
            update={"items": newest_first.items[::-1], "orderBy": str(ListOrder())}
        )

    async def since(
        self, conversation_id: str, after: datetime | None, limit: int
    ) -> ResultPage[Message]:
        """Messages created at or after `after` (the conversation list's `createdAfter`
        includes its instant), oldest first, `limit` of them: one request, for the thread
        mirror, which skips the ones it posted at that instant."""
        _check_limit(limit)
        return await self._backend.list_messages(
            conversation_id, MessageFilter(orderBy=ListOrder(), limit=limit, createdAfter=after)
        )

    async def notes(
        self, actor: Actor, conversation_id: str, limit: int = TRANSCRIPT_DEFAULT
    ) -> ResultPage[Note]:
        """The latest `limit` internal notes, newest last, with the total. Reading needs no
        permission beyond seeing the conversation, as the transcript's does."""
        _check_limit(limit)
        newest_first = await self._backend.list_notes(
            conversation_id,
            NoteFilter(orderBy=ListOrder(field="createdAt", direction="desc"), limit=limit),
        )
        return newest_first.model_copy(
            update={"items": newest_first.items[::-1], "orderBy": str(ListOrder())}
        )

    async def note(self, actor: Actor, conversation_id: str, text: str) -> Note:
        """Save an internal note (colleagues only) in the actor's name."""
        await self._authorize(actor, "note", conversation_id)
        _require_text("note", text, NOTE_MAX, "save")
        agent_id = _linked(actor, "a note is saved in your agent's name")
        await self._open(conversation_id)
        try:
            request = NoteCreate(content=text, agentId=agent_id)
        except ValidationError as error:
            raise InvalidInput(_first_error(error)) from None
        note = await self._backend.add_note(conversation_id, request)
        await self._record(actor, "note", conversation_id, None, {"noteId": note.id})
        return note

    async def reply(self, actor: Actor, conversation_id: str, text: str) -> Message:
        """Send `text` to the customer, on the channel they last wrote on."""
        await self._authorize(actor, "reply", conversation_id)
        _require_text("reply", text, MESSAGE_TEXT_MAX, "send")
        conversation = await self._open(conversation_id)
        agent_id = await self._sender(actor, conversation)
        inbound = await self._last_inbound(conversation_id)
        try:
            request = MessageCreate.model_validate(
                {
                    "from": inbound.to,
                    "to": inbound.from_,
                    "channel": inbound.channel,
                    "contentType": "TEXT",
                    "content": {"text": text},
                }
            )
        except ValidationError as error:
            raise InvalidInput(
                f"Conversation {conversation_id} cannot be answered from here: "
                f"{_first_error(error)}"
            ) from None
        sent = await self._backend.send_message(conversation_id, request, agent_id)
        await self._record(
            actor, "reply", conversation_id, None, {"messageId": sent.id, "agentId": actor.agent_id}
        )
        return sent

    # --- the rules ------------------------------------------------------------------------

    async def _open(self, conversation_id: str) -> Conversation:
        conversation = await self._backend.get(conversation_id)
        if conversation.is_closed:
            raise ConversationClosed(conversation_id)
        return conversation

    async def _sender(self, actor: Actor, conversation: Conversation) -> str | None:
        """The `x-agent-id` to send: none when unassigned, else the actor's agent, who must
        be the assignee or a supervisor. Either way the actor must be linked to an agent: a
        customer is never answered by nobody in particular."""
        agent_id = _linked(actor, "a reply to a customer is sent in your agent's name")
        assignee = conversation.agentId
        if assignee is None:
            return None
        if agent_id == assignee:
            return agent_id
        agents = {agent.id: agent for agent in await self._backend.list_agents()}
        mine = agents.get(agent_id)
        if mine is not None and mine.role is AgentRole.SUPERVISOR:
            return agent_id
        owner = agents[assignee].displayName if assignee in agents else assignee
        # Audited as a permission refusal is: someone tried to answer another agent's customer.
        await self._record(
            actor, "denied", conversation.id, None, {"action": "reply", "assignee": assignee}
        )
        raise Forbidden(
            f"Conversation {conversation.id} is assigned to {owner}: only they or a supervisor"
            f" may reply. Take it first (`take {conversation.id}`), or ask {owner} to answer."
        )

    async def _last_inbound(self, conversation_id: str) -> Message:
        page = await self._backend.list_messages(
            conversation_id,
            MessageFilter(
                direction=Direction.INBOUND,
                orderBy=ListOrder(field="createdAt", direction="desc"),
                limit=1,
            ),
        )
        if not page.items:
            raise InvalidInput(
                f"The customer has not written in conversation {conversation_id} yet, so there"
                " is no channel or address to reply on; wait for their message, or add a note."
            )
        return page.items[0]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= TRANSCRIPT_MAX:
        raise InvalidInput(f"A transcript shows 1-{TRANSCRIPT_MAX} messages, not {limit}.")


def _require_text(what: str, text: str, limit: int, verb: str) -> None:
    if not text.strip():
        raise InvalidInput(f"The {what} is empty; write something to {verb}.")
    if len(text) > limit:
        raise InvalidInput(
            f"The {what} is {len(text):,} characters; the limit is {limit:,}. Shorten it."
        )


def _linked(actor: Actor, why: str) -> str:
    if actor.agent_id is None:
        raise InvalidInput(
            f"You ({actor.id}) are not linked to an agent, and {why}. Ask an admin to add"
            f" `{actor.id}: <agent id>` under `agents:` in convbot.yml."
        )
    return actor.agent_id


def _first_error(error: ValidationError) -> str:
    message = str(error.errors()[0].get("msg", "invalid"))
    return message.removeprefix("Value error, ").rstrip(".") + "."
