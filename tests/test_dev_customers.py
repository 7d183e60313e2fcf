"""The demo's customers (`convbot dev`, issue 18): each demo conversation opens with what its
customer wrote, and later messages go only to open conversations."""

from __future__ import annotations

from pathlib import Path

from bot.backends.local import LocalBackend
from bot.config import OpsConfig
from bot.devtools.dev import demo
from bot.devtools.dev.customers import FOLLOW_UPS, Customers, address_of
from bot.messages import Direction, MessageFilter
from bot.models import Channel, ConversationCreate, ConversationFilter, ConversationPatch, Status
from tests.conftest import runtime_over, sqlite_engine


async def test_a_customer_opens_the_conversation_and_writes_again_while_open(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path / "dev.db")
    try:
        store = LocalBackend(engine)
        on_whatsapp = await store.create(
            ConversationCreate(topic="Card payment declined", channel=Channel.WHATSAPP)
        )
        by_email = await store.create(
            ConversationCreate(topic="Refund not received", channel=Channel.EMAIL)
        )
        customers = Customers(store)
        first = await customers.opening(on_whatsapp, 0)
        assert first is not None and first.direction is Direction.INBOUND
        assert first.channel is Channel.WHATSAPP and "card payment declined" in (first.text or "")
        assert (first.from_, first.to) == address_of(Channel.WHATSAPP, 0)
        mail = await customers.opening(by_email, 1)
        assert mail is not None and (mail.from_, mail.to) == address_of(Channel.EMAIL, 1)
        no_channel = await store.create(ConversationCreate(topic="Internal"))
        assert await customers.opening(no_channel, 2) is None

        await store.patch(by_email.id, ConversationPatch(status=Status.CLOSED))
        for _ in range(5):
            written = await customers.write_once()
            assert written is not None and written.conversationId == on_whatsapp.id
            assert written.text in FOLLOW_UPS
        closed = await store.list_messages(by_email.id, MessageFilter())
        assert closed.totalItems == 1
    finally:
        await engine.dispose()


async def test_the_demos_conversations_each_start_with_their_customer(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path / "dev.db")
    try:
        store = LocalBackend(engine)
        await store.seed(OpsConfig.model_validate(demo.operations()).local)
        runtime = await runtime_over(engine, store)
        assert await demo.conversations(runtime.conversations, Customers(store), count=12) == 12
        page = await store.list(ConversationFilter(limit=50))
        for conversation in page.items:
            messages = await store.list_messages(conversation.id, MessageFilter())
            assert messages.totalItems == 1, conversation.topic
        await runtime.aclose()
    finally:
        await engine.dispose()
