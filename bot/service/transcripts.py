"""A conversation's messages and notes: reading the transcript, saving an internal note and
replying to the customer, each checked before the backend is asked and audited (issue 18).

The reply's rules are Infobip's (https://www.infobip.com/docs/conversations-api/messages): it
goes out on the channel and between the addresses of the customer's last inbound message, and
an assigned conversation's reply names its sending agent (`x-agent-id`: the assignee or a
supervisor) while an unassigned one's names none. They are decided here, so a refusal says why
and what to do instead of passing on the API's 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from bot.models import Actor, AgentRole, Channel, Conversation, ResultPage
from bot.timestamps import utcnow

# A transcript's page: enough to read a conversation on one screen, few enough for Slack.
TRANSCRIPT_DEFAULT = 20
TRANSCRIPT_MAX = 50

NOTE_IN_YOUR_NAME = "a note is saved in your agent's name"
# WhatsApp's customer service window (see Transcripts._within_window).
WHATSAPP_WINDOW = timedelta(hours=24)

Authorize = Callable[[Actor, Action, str | None], Awaitable[None]]
# The service's audit entry (ConversationService._record): one path, one way of losing it loudly.
Record = Callable[
    [Actor, str, str | None, dict[str, Any] | None, dict[str, Any] | None], Awaitable[None]
]


@dataclass(frozen=True)
class ReplyPlan:
    """A reply's rules, decided: who sends (None: unassigned, no `x-agent-id`), on which
    channel, from which of our addresses to which of the customer's."""

    conversation: Conversation
    agent_id: str | None
    channel: Channel
    customer: str
    sender: str
    last_inbound: Message


@dataclass(frozen=True)
class Sent:
    """A reply Infobip accepted: the plan it followed and the message as Infobip stored it."""

    plan: ReplyPlan
    message: Message


class ReplyTargetChanged(InvalidInput):
    """The customer wrote from another address or channel after the form showed one."""

    def __init__(self, plan: ReplyPlan) -> None:
        super().__init__(
            f"Not sent: the customer has written since from {plan.customer} on"
            f" {plan.channel.value}. Check the new address and channel, then Send again."
        )
        self.plan = plan


class Transcripts:
    """Messages and notes of one conversation at a time. `authorize` is the service's own
    check (ConversationService.authorize), so refusals are audited the same way."""

    def __init__(
        self,
        backend: ConversationBackend,
        record: Record,
        authorize: Authorize,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._backend = backend
        self._record = record
        self._authorize = authorize
        self._clock = clock

    async def messages(
        self,
        actor: Actor,
        conversation_id: str,
        limit: int = TRANSCRIPT_DEFAULT,
        *,
        before: datetime | None = None,
        shown: Sequence[str] = (),
    ) -> ResultPage[Message]:
        """The latest `limit` messages (at most TRANSCRIPT_MAX), newest last, with the total;
        with `before`, the latest of those created before it (the previous page). `shown`: the
        ids already shown at `before` itself: the page then reads that instant too, less
        those, so a message of the same millisecond is not skipped."""
        _check_limit(limit)
        if shown and before is not None:
            before += timedelta(milliseconds=1)  # createdBefore is strict; ms is its precision
        newest_first = await self._backend.list_messages(
            conversation_id,
            MessageFilter(
                orderBy=ListOrder(field="createdAt", direction="desc"),
                limit=limit + len(shown),
                createdBefore=before,
            ),
        )
        unseen = [m for m in newest_first.items if m.id not in shown]
        total = newest_first.totalItems - (len(newest_first.items) - len(unseen))
        return newest_first.model_copy(
            update={"items": unseen[:limit][::-1], "totalItems": total, "orderBy": str(ListOrder())}
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

    async def note_target(self, actor: Actor, conversation_id: str) -> Conversation:
        """The conversation a note by `actor` would be saved on: every rule of a note but its
        text, checked without saving (a form opens only when a note can be saved)."""
        await self._authorize(actor, "note", conversation_id)
        _linked(actor, NOTE_IN_YOUR_NAME)
        return await self._open(conversation_id)

    async def note(self, actor: Actor, conversation_id: str, text: str) -> Note:
        """Save an internal note (colleagues only) in the actor's name."""
        _require_text("note", text, NOTE_MAX, "save")
        await self.note_target(actor, conversation_id)
        agent_id = _linked(actor, NOTE_IN_YOUR_NAME)
        try:
            request = NoteCreate(content=text, agentId=agent_id)
        except ValidationError as error:
            raise InvalidInput(_first_error(error)) from None
        note = await self._backend.add_note(conversation_id, request)
        await self._record(actor, "note", conversation_id, None, {"noteId": note.id})
        return note

    async def reply_plan(self, actor: Actor, conversation_id: str) -> ReplyPlan:
        """Who would answer whom, where, if `actor` replied now: every rule of a reply but the
        text, checked without sending (a form shows it before anything is written)."""
        await self._authorize(actor, "reply", conversation_id)
        conversation = await self._open(conversation_id)
        agent_id = await self._sender(actor, conversation)
        inbound = await self._last_inbound(conversation_id)
        if inbound.channel is None or inbound.from_ is None or inbound.to is None:
            raise InvalidInput(
                f"Conversation {conversation_id} cannot be answered from here: the customer's"
                " last message does not say its channel and addresses."
            )
        self._within_window(conversation_id, inbound)
        return ReplyPlan(
            conversation=conversation,
            agent_id=agent_id,
            channel=inbound.channel,
            customer=inbound.from_,
            sender=inbound.to,
            last_inbound=inbound,
        )

    async def reply(
        self,
        actor: Actor,
        conversation_id: str,
        text: str,
        *,
        shown: tuple[str, Channel] | None = None,
    ) -> Sent:
        """Send `text` to the customer, on the channel they last wrote on. `shown`: the address
        and channel a form showed; if the customer has written from another since, nothing is
        sent (ReplyTargetChanged carries the new plan)."""
        _require_text("reply", text, MESSAGE_TEXT_MAX, "send")
        plan = await self.reply_plan(actor, conversation_id)
        if shown is not None and shown != (plan.customer, plan.channel):
            raise ReplyTargetChanged(plan)
        try:
            request = MessageCreate.model_validate(
                {
                    "from": plan.sender,
                    "to": plan.customer,
                    "channel": plan.channel,
                    "contentType": "TEXT",
                    "content": {"text": text},
                }
            )
        except ValidationError as error:
            raise InvalidInput(
                f"Conversation {conversation_id} cannot be answered from here: "
                f"{_first_error(error)}"
            ) from None
        sent = await self._backend.send_message(conversation_id, request, plan.agent_id)
        await self._record(
            actor, "reply", conversation_id, None, {"messageId": sent.id, "agentId": actor.agent_id}
        )
        return Sent(plan=plan, message=sent)

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
        # Two single reads, at once: never the whole agent list for one reply. Both are awaited
        # before either failure is raised, so none is left running unobserved.
        mine, owner_agent = await asyncio.gather(
            self._backend.get_agent(agent_id),
            self._backend.get_agent(assignee),
            return_exceptions=True,
        )
        for failed in (mine, owner_agent):
            if isinstance(failed, BaseException):
                raise failed
        assert not isinstance(mine, BaseException) and not isinstance(owner_agent, BaseException)
        if mine is not None and mine.role is AgentRole.SUPERVISOR:
            return agent_id
        owner = owner_agent.displayName if owner_agent is not None else assignee
        # Audited as a permission refusal is: someone tried to answer another agent's customer.
        await self._record(
            actor, "denied", conversation.id, None, {"action": "reply", "assignee": assignee}
        )
        raise Forbidden(
            f"Conversation {conversation.id} is assigned to {owner}: only they or a supervisor"
            f" may reply. Take it first (`take {conversation.id}`), or ask {owner} to answer."
        )

    def _within_window(self, conversation_id: str, inbound: Message) -> None:
        """WhatsApp lets a business answer freely only within 24 hours of the customer's last
        message; after that only an approved template may open the conversation again
        (https://developers.facebook.com/docs/whatsapp/pricing#customer-service-windows)."""
        if inbound.channel is not Channel.WHATSAPP or inbound.createdAt is None:
            return
        quiet = self._clock() - inbound.createdAt
        if quiet < WHATSAPP_WINDOW:
            return
        raise InvalidInput(
            f"The customer last wrote in conversation {conversation_id} {_ago(quiet)} ago, and"
            " WhatsApp lets a business answer only within 24 hours of the customer's last"
            " message. Reaching them now needs an approved template, which convbot cannot send"
            " yet: send one from Infobip, or add a note for whoever picks this up."
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


def _ago(quiet: timedelta) -> str:
    days, hours = quiet.days, quiet.seconds // 3600
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    return f"{hours} hours"


def _first_error(error: ValidationError) -> str:
    message = str(error.errors()[0].get("msg", "invalid"))
    return message.removeprefix("Value error, ").rstrip(".") + "."
