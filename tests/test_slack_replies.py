"""Reply and Note from Slack (issue 18), as Slack sends them: `/conv reply` and the card's Reply
and Note buttons open a form, and only the form's own button sends (or saves). The form shows the
customer, the channel and the text first; every refusal is said in the form, the text kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.backends.local import LocalBackend
from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import StoredView
from bot.devtools.fakeslack.payloads import view_submission
from bot.devtools.loopback import serve_in_background
from bot.messages import Direction, MessageCreate, MessageFilter, NoteFilter
from bot.slack.blocks import buttons
from bot.slack.blocks.talk_forms import FIELD_NOTE, FIELD_REPLY, FORM_TEXT_MAX
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.quiescence import quiescent
from tests.slack_harness import ANA, BEN, DAVE, SlackHarness, running_bot, text_value, texts

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

CUSTOMER, OUR_NUMBER = "+385911234567", "+385998887766"


async def customer_writes(slack: SlackHarness, conversation_id: str, text: str) -> None:
    backend = slack.service.backend._inner  # the embedded store, under its metrics
    assert isinstance(backend, LocalBackend)
    body = {"from": CUSTOMER, "to": OUR_NUMBER, "channel": "WHATSAPP", "contentType": "TEXT"}
    message = MessageCreate.model_validate({**body, "content": {"text": text}})
    await backend.receive_message(conversation_id, message)


async def outbound(slack: SlackHarness, conversation_id: str) -> list[str | None]:
    filtered = MessageFilter(direction=Direction.OUTBOUND)
    page = await slack.service.backend.list_messages(conversation_id, filtered)
    return [message.text for message in page.items]


async def form_opened(slack: SlackHarness, updates: int = 1) -> StoredView:
    """The form as filled in after its "Loading…" view (views.open, then views.update)."""
    [*_, update] = await slack.settle("views.update", updates)
    assert update.ok, update.error
    return slack.fake.views[update.args["view_id"]]


async def outcome(slack: SlackHarness, updates: int) -> str:
    """The text of the view that replaced "Sending…" (or "Saving…")."""
    [*_, update] = await slack.settle("views.update", updates)
    assert update.ok, update.error
    return texts(update.args["view"]["blocks"])


async def test_reply_opens_a_form_that_names_the_customer_and_sends_only_on_send(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Where is my parcel?")
    answered = len(slack.fake.responses)
    command = await slack.command(f"reply {card.id} It left  the depot\ntoday.")
    assert command.ack.status_code == 200
    form = await form_opened(slack)
    shown = texts(form.view["blocks"])
    assert CUSTOMER in shown and "*WhatsApp*" in shown and "Where is my parcel?" in shown
    assert "The customer receives exactly this" in shown
    [text_input] = [b for b in form.view["blocks"] if b.get("block_id") == FIELD_REPLY]
    assert text_input["element"]["initial_value"] == "It left  the depot\ntoday."
    assert await outbound(slack, card.id) == []  # nothing sent by the command alone
    assert len(slack.fake.responses) == answered  # the form is the answer

    ack = await slack.submit(form, {FIELD_REPLY: {FIELD_REPLY: text_value("It left today.")}})
    assert ack.json()["response_action"] == "update"
    assert "Sending" in texts(ack.json()["view"]["blocks"])
    said = await outcome(slack, 2)
    assert f"Sent to the customer ({CUSTOMER}) on WHATSAPP" in said
    assert "Infobip accepted it" in said and "It left today." in said
    assert await outbound(slack, card.id) == ["It left today."]
    assert await slack.actions(card.id) == ["create", "reply"]


async def test_the_cards_reply_and_note_buttons_open_their_forms(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")
    await slack.press(card.message, buttons.REPLY.id)
    reply_form = await form_opened(slack)
    assert reply_form.view["callback_id"] == "conv.reply_modal"
    await slack.press(card.message, buttons.NOTE.id)
    note_form = await form_opened(slack, 2)
    assert "the customer never sees a note" in texts(note_form.view["blocks"])

    ack = await slack.submit(note_form, {FIELD_NOTE: {FIELD_NOTE: text_value("VIP: be kind")}})
    assert "Saving" in texts(ack.json()["view"]["blocks"])
    assert "Note saved" in await outcome(slack, 3)
    notes = await slack.service.backend.list_notes(card.id, NoteFilter())
    assert [(n.text, n.agentId) for n in notes.items] == [("VIP: be kind", "agent-ana")]
    assert await outbound(slack, card.id) == []


async def test_a_form_that_cannot_be_used_says_why_instead(slack: SlackHarness) -> None:
    silent = await slack.create("Nobody wrote")
    await slack.command(f"reply {silent.id}")
    assert "has not written" in texts((await form_opened(slack)).view["blocks"])
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")
    await slack.command(f"reply {card.id}", DAVE)
    unlinked = texts((await form_opened(slack, 2)).view["blocks"])
    assert "not linked to an agent" in unlinked and f"`{DAVE}: &lt;agent id&gt;`" in unlinked
    await (await slack.command(f"assign {card.id} agent-ben")).answer()
    await slack.command(f"reply {card.id}", ANA)
    assert "Take it first" in texts((await form_opened(slack, 3)).view["blocks"])
    await slack.command(f"reply {card.id}", BEN)  # the assignee may
    assert "Message to the customer" in texts((await form_opened(slack, 4)).view["blocks"])


async def test_a_refusal_at_send_keeps_the_text_in_the_form(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")
    await slack.command(f"reply {card.id}")
    form = await form_opened(slack)
    await (await slack.command(f"close {card.id}")).answer()
    await slack.submit(form, {FIELD_REPLY: {FIELD_REPLY: text_value("Sorry for the wait")}})
    [*_, update] = await slack.settle("views.update", 2)
    again = update.args["view"]
    assert "Not sent." in texts(again["blocks"]) and "is closed" in texts(again["blocks"])
    [text_input] = [b for b in again["blocks"] if b.get("block_id") == FIELD_REPLY]
    assert text_input["element"]["initial_value"] == "Sorry for the wait"
    assert await outbound(slack, card.id) == []


async def test_an_empty_or_too_long_text_is_refused_beside_the_input(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")
    await slack.command(f"reply {card.id}")
    form = await form_opened(slack)
    ack = await slack.submit(form, {FIELD_REPLY: {FIELD_REPLY: text_value("   ")}})
    assert ack.json() == {
        "response_action": "errors",
        "errors": {FIELD_REPLY: "The reply is empty."},
    }
    long = "x" * (FORM_TEXT_MAX + 1)
    answer = await (await slack.command(f"reply {card.id} {long}")).answer()
    assert answer.response_type == "ephemeral" and "Slack's form holds 3,000" in answer.text
    assert await outbound(slack, card.id) == []


async def test_messages_shows_the_transcript_to_the_asker_only(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Where is my parcel? <!channel> <https://evil|bank.com>")
    await (await slack.command(f"note {card.id} VIP customer")).answer()
    posted = len(slack.channel_messages())
    answer = await (await slack.command(f"messages {card.id[:8]}")).answer()
    assert answer.response_type == "ephemeral" and len(slack.channel_messages()) == posted
    shown = texts(answer.blocks)
    assert f"Conversation {card.id}: the latest 1 of 1 messages" in shown
    assert "*Customer* (+385911234567)" in shown
    assert "&lt;!channel&gt; &lt;https://evil|bank.com&gt;" in shown  # inert, never a ping
    assert ":lock: *Internal note* by <@UANA00001>" in shown


async def test_a_long_transcript_fits_one_message_and_says_what_did_not(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Parcel lost")
    for n in range(12):
        await customer_writes(slack, card.id, f"{n} " + "x" * 2000)
    answer = await (await slack.command(f"messages {card.id} limit:12")).answer()
    shown = texts(answer.blocks)
    assert "more did not fit here: press *Thread* on the card" in shown
    assert "11 " + "x" * 10 in shown  # the newest are the ones kept


class RefusingSends:
    """The Infobip emulator, refusing every message sent (POST …/messages) with the contract's
    400 shape while `on`: Infobip's own refusal, which no rule of convbot's foresaw."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.on = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and str(scope["path"]).endswith("/messages")
        )
        if not (sending and self.on):
            await self.app(scope, receive, send)
            return
        # Read the request to its end first, as a server does: an unread body left on a
        # kept-alive connection would hold up the client's next request.
        while (await receive()).get("more_body"):
            pass
        text = "Message could not be sent: the channel refused the destination."
        body = json.dumps(
            {"requestError": {"serviceException": {"messageId": "BAD_REQUEST", "text": text}}}
        ).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def test_infobip_refusing_a_reply_is_said_in_the_form_with_the_text_kept(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        infobip = RefusingSends(create_emulator_app(store, EMULATOR_KEY))
        async with (
            serve_in_background(infobip) as url,
            running_bot(tmp_path, infobip_base_url=url, infobip_api_key=EMULATOR_KEY) as slack,
        ):
            card = await slack.create("Parcel lost")
            body = {"from": CUSTOMER, "to": OUR_NUMBER, "channel": "SMS", "contentType": "TEXT"}
            message = MessageCreate.model_validate({**body, "content": {"text": "Hello?"}})
            await store.receive_message(card.id, message)
            await slack.command(f"reply {card.id}")
            form = await form_opened(slack)
            await slack.submit(form, {FIELD_REPLY: {FIELD_REPLY: text_value("On its way")}})
            [*_, update] = await slack.settle("views.update", 2)
            again = update.args["view"]
            said = texts(again["blocks"])
            assert "Not sent." in said and "the channel refused the destination" in said
            [text_input] = [b for b in again["blocks"] if b.get("block_id") == FIELD_REPLY]
            assert text_input["element"]["initial_value"] == "On its way"
            assert "reply" not in await slack.actions(card.id)

            infobip.on = False  # Infobip takes it now: Send again from the same form
            retry = {FIELD_REPLY: {FIELD_REPLY: text_value("On its way")}}
            ack = await slack.submit(again_view(slack, update), retry)
            assert ack.status_code == 200 and ack.json()["response_action"] == "update", ack.text
            [*_, sent] = await slack.fake.wait_for("views.update", count=3)
            assert "Sent to the customer" in texts(sent.args["view"]["blocks"])
    finally:
        await engine.dispose()


def again_view(slack: SlackHarness, update: Any) -> StoredView:
    return slack.fake.views[update.args["view_id"]]


async def test_a_reply_submission_delivered_twice_sends_once(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")
    await slack.command(f"reply {card.id}")
    form = await form_opened(slack)
    values = {FIELD_REPLY: {FIELD_REPLY: text_value("Once only")}}
    body = view_submission(form, user_id=ANA, trigger_id="1.2.x", values=values)
    for _ in range(2):
        assert (await slack.post(body)).status_code == 200
    assert "Sent to the customer" in await outcome(slack, 2)
    await quiescent()
    assert await outbound(slack, card.id) == ["Once only"]


async def test_a_customer_writing_from_elsewhere_meanwhile_is_shown_before_sending(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Hello?")  # on WhatsApp
    await slack.command(f"reply {card.id}")
    form = await form_opened(slack)
    backend = slack.service.backend._inner
    assert isinstance(backend, LocalBackend)
    body = {"from": "+385910000000", "to": OUR_NUMBER, "channel": "SMS", "contentType": "TEXT"}
    await backend.receive_message(
        card.id, MessageCreate.model_validate({**body, "content": {"text": "New phone"}})
    )
    await slack.submit(form, {FIELD_REPLY: {FIELD_REPLY: text_value("On its way")}})
    [*_, update] = await slack.settle("views.update", 2)
    again = texts(update.args["view"]["blocks"])
    assert "the customer has written since from +385910000000 on SMS" in again
    assert "*To* +385910000000 on *SMS*" in again
    assert await outbound(slack, card.id) == []
