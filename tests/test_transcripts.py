"""The service's messages, notes and replies on every backend (issue 18): each rule checked
before the backend is asked, refused with a sentence that says what to do, and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import LocalSeed, Permission
from bot.errors import ConversationClosed, Forbidden, InvalidInput
from bot.messages import Direction, MessageFilter, NoteFilter
from bot.models import Actor, Channel, ConversationPatch, Status
from bot.service.permissions import PermissionPolicy
from bot.service.transcripts import TRANSCRIPT_MAX, Transcripts
from bot.timestamps import utcnow
from tests.conftest import Stack
from tests.seed import SEED
from tests.test_messages import CUSTOMER, OUR_NUMBER, conversation, customer_writes

ANA = Actor(id="U0ANA", surface="slack", agent_id="agent-ana")
BEN = Actor(id="U0BEN", surface="slack", agent_id="agent-ben")
SUE = Actor(id="U0SUE", surface="slack", agent_id="agent-sue")
NOBODY = Actor(id="U0NOBODY", surface="slack")


async def with_supervisor(stack: Stack) -> None:
    assert stack.store is not None
    seed = SEED.model_dump(mode="json")
    supervisor = {"id": "agent-sue", "name": "Sue Visor", "role": "SUPERVISOR"}
    agents = [*seed["agents"], supervisor]
    await stack.store.seed(LocalSeed.model_validate({**seed, "agents": agents}))


async def actions(stack: Stack, conversation_id: str) -> list[str]:
    return [entry.action for entry in await stack.audit.history(conversation_id)]


async def test_the_transcript_is_the_latest_messages_newest_last(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    for n in range(5):
        await customer_writes(stack, conversation_id, f"message {n}")
    page = await stack.service.transcripts.messages(ANA, conversation_id, limit=3)
    assert [m.text for m in page.items] == ["message 2", "message 3", "message 4"]
    assert page.totalItems == 5
    with pytest.raises(InvalidInput, match=f"1-{TRANSCRIPT_MAX}"):
        await stack.service.transcripts.messages(ANA, conversation_id, limit=TRANSCRIPT_MAX + 1)


async def test_a_note_is_saved_in_the_actors_name_and_audited(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    note = await stack.service.transcripts.note(ANA, conversation_id, "Called them back")
    assert (note.agentId, note.text, note.type) == ("agent-ana", "Called them back", "INTERNAL")
    listed = await stack.backend.list_notes(conversation_id, NoteFilter())
    assert [n.text for n in listed.items] == ["Called them back"]
    [entry] = [e for e in await stack.audit.history(conversation_id) if e.action == "note"]
    assert (entry.actor, entry.after) == ("U0ANA", {"noteId": note.id})


async def test_a_note_is_refused_with_a_sentence(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    notes = stack.service.transcripts
    with pytest.raises(InvalidInput, match="empty"):
        await notes.note(ANA, conversation_id, "   ")
    with pytest.raises(InvalidInput, match="4,001 characters; the limit is 4,000"):
        await notes.note(ANA, conversation_id, "x" * 4001)
    with pytest.raises(InvalidInput, match=r"not linked to an agent.*`U0NOBODY: <agent id>`"):
        await notes.note(NOBODY, conversation_id, "Hello")
    await stack.backend.patch(conversation_id, ConversationPatch(status=Status.CLOSED))
    with pytest.raises(ConversationClosed, match="is closed"):
        await notes.note(ANA, conversation_id, "Too late")
    assert (await stack.backend.list_notes(conversation_id, NoteFilter())).totalItems == 0
    assert "note" not in await actions(stack, conversation_id)


async def test_a_reply_goes_back_to_the_customers_last_inbound_message(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    await customer_writes(stack, conversation_id, "Where is it?")
    with pytest.raises(InvalidInput, match=r"not linked to an agent.*`U0NOBODY: <agent id>`"):
        await stack.service.transcripts.reply(NOBODY, conversation_id, "Who is this?")
    sent = (await stack.service.transcripts.reply(BEN, conversation_id, "On its way.")).message
    assert (sent.direction, sent.from_, sent.to, sent.channel, sent.text) == (
        Direction.OUTBOUND,
        OUR_NUMBER,
        CUSTOMER,
        Channel.SMS,
        "On its way.",
    )
    # Unassigned: no sending agent is named to Infobip; the audit log says who sent it.
    assert sent.authorId is None
    [entry] = [e for e in await stack.audit.history(conversation_id) if e.action == "reply"]
    assert (entry.actor, entry.after) == ("U0BEN", {"messageId": sent.id, "agentId": "agent-ben"})


async def test_a_reply_needs_an_open_conversation_the_customer_wrote_in(stack: Stack) -> None:
    replies = stack.service.transcripts
    silent = await conversation(stack)
    with pytest.raises(InvalidInput, match=r"has not written.*add a note"):
        await replies.reply(ANA, silent, "Hello?")
    with pytest.raises(InvalidInput, match="empty"):
        await replies.reply(ANA, silent, "")
    with pytest.raises(InvalidInput, match="4,097 characters; the limit is 4,096"):
        await replies.reply(ANA, silent, "x" * 4097)
    closed = await conversation(stack)
    await customer_writes(stack, closed, "Thanks, bye")
    await stack.backend.patch(closed, ConversationPatch(status=Status.CLOSED))
    with pytest.raises(ConversationClosed, match="is closed"):
        await replies.reply(ANA, closed, "You're welcome")
    outbound = MessageFilter(direction=Direction.OUTBOUND)
    for conversation_id in (silent, closed):
        assert (await stack.backend.list_messages(conversation_id, outbound)).totalItems == 0
        assert "reply" not in await actions(stack, conversation_id)


async def test_an_assigned_conversations_reply_names_its_assignee_or_a_supervisor(
    stack: Stack,
) -> None:
    await with_supervisor(stack)
    conversation_id = await conversation(stack, agentId="agent-ana")
    await customer_writes(stack, conversation_id, "Hello?")
    replies = stack.service.transcripts
    with pytest.raises(Forbidden, match=r"assigned to Ana Horvat.*Take it first"):
        await replies.reply(BEN, conversation_id, "Ben here")
    [denied] = [e for e in await stack.audit.history(conversation_id) if e.action == "denied"]
    assert (denied.actor, denied.after) == ("U0BEN", {"action": "reply", "assignee": "agent-ana"})
    with pytest.raises(InvalidInput, match=r"not linked to an agent.*`U0NOBODY: <agent id>`"):
        await replies.reply(NOBODY, conversation_id, "Someone here")
    by_ana = (await replies.reply(ANA, conversation_id, "Ana here")).message
    by_sue = (await replies.reply(SUE, conversation_id, "Sue here")).message
    assert [(m.authorId, m.text) for m in (by_ana, by_sue)] == [
        ("agent-ana", "Ana here"),
        ("agent-sue", "Sue here"),
    ]
    assert (await actions(stack, conversation_id)).count("reply") == 2


async def test_reply_and_note_are_permissions(stack: Stack) -> None:
    conversation_id = await conversation(stack)
    await customer_writes(stack, conversation_id, "Hello?")
    transcripts = type(stack.service.transcripts)(
        stack.backend,
        stack.audit,
        type(stack.service)(
            stack.backend,
            stack.audit,
            PermissionPolicy(
                {"reply": Permission(users=["U0LEAD"]), "note": Permission(users=["U0LEAD"])},
                None,
            ),
        ).authorize,
    )
    with pytest.raises(Forbidden, match="can't reply to customers here — ask @U0LEAD"):
        await transcripts.reply(ANA, conversation_id, "Hi")
    with pytest.raises(Forbidden, match="can't add notes to conversations here"):
        await transcripts.note(ANA, conversation_id, "Hi")
    assert (await actions(stack, conversation_id)).count("denied") == 2


async def test_the_reply_plan_says_who_answers_whom_where_without_sending(stack: Stack) -> None:
    conversation_id = await conversation(stack, agentId="agent-ana")
    await customer_writes(stack, conversation_id, "Hello?", channel="VIBER")
    plan = await stack.service.transcripts.reply_plan(ANA, conversation_id)
    assert (plan.agent_id, plan.channel, plan.customer, plan.sender) == (
        "agent-ana",
        Channel.VIBER,
        CUSTOMER,
        OUR_NUMBER,
    )
    outbound = MessageFilter(direction=Direction.OUTBOUND)
    assert (await stack.backend.list_messages(conversation_id, outbound)).totalItems == 0
    assert "reply" not in await actions(stack, conversation_id)


async def test_whatsapp_is_answered_only_within_24_hours_of_the_customers_message(
    stack: Stack,
) -> None:
    conversation_id = await conversation(stack)
    await customer_writes(stack, conversation_id, "Hello?", channel="WHATSAPP")
    service = stack.service

    def replies_at(later: timedelta) -> Transcripts:
        return Transcripts(
            stack.backend, service._record, service.authorize, clock=lambda: utcnow() + later
        )

    plan = await replies_at(timedelta(hours=23, minutes=59)).reply_plan(ANA, conversation_id)
    assert plan.channel is Channel.WHATSAPP
    with pytest.raises(InvalidInput, match=r"last wrote .* 1 day 1 h ago.*within 24 hours"):
        await replies_at(timedelta(hours=25, minutes=1)).reply(ANA, conversation_id, "Still there?")
    outbound = MessageFilter(direction=Direction.OUTBOUND)
    assert (await stack.backend.list_messages(conversation_id, outbound)).totalItems == 0


async def test_the_page_before_keeps_a_message_of_the_same_millisecond(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = await conversation(stack)
    assert stack.store is not None
    at = utcnow().replace(microsecond=0)
    moments = iter([at - timedelta(seconds=1), at, at, at])
    monkeypatch.setattr(stack.store, "_clock", lambda: next(moments))
    for n in range(4):  # the last three in one millisecond
        await customer_writes(stack, conversation_id, f"message {n}")
    monkeypatch.undo()
    transcripts = stack.service.transcripts
    latest = await transcripts.messages(ANA, conversation_id, limit=2)
    assert [m.text for m in latest.items] == ["message 2", "message 3"]
    # What an "Older messages" press carries: the oldest instant shown and the ids shown at it.
    shown = [m.id for m in latest.items]
    before = await transcripts.messages(ANA, conversation_id, 2, before=at, shown=shown)
    assert [m.text for m in before.items] == ["message 0", "message 1"]
    assert before.totalItems == 2  # nothing older: no further "Older messages"
