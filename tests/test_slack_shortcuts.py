"""The message shortcuts (issue 18, item 5) as Slack sends them: "Add to conversation as note"
and "Create conversation from message", each through signed requests into the running bot and
the strict fake Slack. The message a shortcut is used on is a person's message stored in the
fake, so chat.getPermalink finds it as Slack would."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devtools.fakeslack import StoredMessage, StoredView
from bot.messages import NoteFilter
from bot.slack.blocks.note_form import FIELD_ID, FIELD_MINE, FIELD_NOTE, NOTE_INPUT_MAX
from bot.slack.listeners.shortcuts import NOTE_SHORTCUT
from tests.slack_harness import (
    BEN,
    CHANNEL,
    DAVE,
    Sent,
    SlackHarness,
    select_value,
    text_value,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

HOSTILE = (
    "<@UANA00001> the customer says <!channel> pay at <https://evil.example/pay|bank.com> "
    "&lt;b&gt;now&lt;/b&gt; <!subteam^S0OPS|@ops>"
)
HOSTILE_PLAIN = (
    "@ana the customer says @channel pay at bank.com (https://evil.example/pay) <b>now</b> @ops"
)


def written(slack: SlackHarness, text: str, user: str = BEN) -> StoredMessage:
    """A person's message in #support, which a shortcut is then used on."""
    return slack.fake.store_message(CHANNEL, text=text, user=user)


async def opened_form(slack: SlackHarness, sent: Sent) -> StoredView:
    """The form the shortcut opened, once filled in (views.update after views.open)."""
    assert sent.ack.status_code == 200, sent.ack.text
    [opened] = await slack.settle("views.open")
    assert opened.ok and opened.args["trigger_id"] == sent.trigger_id, opened.error
    [update] = await slack.settle("views.update")
    assert update.ok, update.error
    return slack.fake.views[update.args["view_id"]]


def permalink_of(slack: SlackHarness, message: StoredMessage) -> str:
    """The link chat.getPermalink gives for a top-level message (the fake's, as Slack's)."""
    archive = f"https://{slack.fake.team_domain}.slack.com/archives/{message.channel}"
    return f"{archive}/p{message.ts.replace('.', '')}"


def initial(view: StoredView, field: str) -> Any:
    block = next(b for b in view.view["blocks"] if b.get("block_id") == field)
    return block["element"].get("initial_value")


def note_values(typed: str = "", picked: str | None = None, text: str = "A note") -> dict[str, Any]:
    return {
        FIELD_ID: {FIELD_ID: text_value(typed)},
        FIELD_MINE: {FIELD_MINE: select_value(picked)},
        FIELD_NOTE: {FIELD_NOTE: text_value(text)},
    }


async def notes_of(slack: SlackHarness, conversation_id: str) -> list[tuple[str, str | None]]:
    page = await slack.service.backend.list_notes(conversation_id, NoteFilter())
    return [(note.text, note.agentId) for note in page.items]


# --- "Add to conversation as note" ------------------------------------------------------------


async def test_a_message_is_saved_as_a_note_on_the_conversation_its_id_prefix_names(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Parcel lost")
    message = written(slack, HOSTILE)
    sent = await slack.shortcut(message, NOTE_SHORTCUT)
    form = await opened_form(slack, sent)
    link = permalink_of(slack, message)
    assert initial(form, FIELD_NOTE) == f"{HOSTILE_PLAIN}\n\nFrom Slack: {link}"
    ack = await slack.submit(form, note_values(card.id[:8], text=initial(form, FIELD_NOTE)))
    assert ack.status_code == 200 and ack.text == ""  # the form closes
    answer = await sent.answer()
    assert answer.response_type == "ephemeral"
    assert f"Note saved on conversation `{card.id}`" in answer.text
    assert await notes_of(slack, card.id) == [(initial(form, FIELD_NOTE), "agent-ana")]
    assert await slack.actions(card.id) == ["create", "note"]
    # Nothing the message held pings or links anyone anywhere the bot wrote.
    for sent_text in map(str, slack.everything_sent()):
        assert "<!channel>" not in sent_text and "|bank.com>" not in sent_text


async def test_the_form_offers_my_open_conversations_newest_first(slack: SlackHarness) -> None:
    older, newer, closed = [await slack.create(t) for t in ("Older", "Newer", "Closed one")]
    for card in (older, newer, closed):
        await (await slack.command(f"assign {card.id} agent-ana")).answer()
    await (await slack.command(f"close {closed.id}")).answer()
    await slack.create("Not mine")
    sent = await slack.shortcut(written(slack, "hi"), NOTE_SHORTCUT)
    form = await opened_form(slack, sent)
    select = next(b for b in form.view["blocks"] if b.get("block_id") == FIELD_MINE)
    assert [o["value"] for o in select["element"]["options"]] == [newer.id, older.id]
    ack = await slack.submit(form, note_values(picked=older.id, text="Picked"))
    assert ack.status_code == 200 and ack.text == ""
    assert "Note saved" in (await sent.answer()).text
    assert await notes_of(slack, older.id) == [("Picked", "agent-ana")]


async def test_a_closed_conversation_is_refused_beside_the_id(slack: SlackHarness) -> None:
    card = await slack.create("Done already")
    await (await slack.command(f"close {card.id}")).answer()
    form = await opened_form(slack, await slack.shortcut(written(slack, "late"), NOTE_SHORTCUT))
    ack = await slack.submit(form, note_values(card.id))
    body = ack.json()
    assert body["response_action"] == "errors"
    assert "is closed" in body["errors"][FIELD_ID]
    assert await notes_of(slack, card.id) == []


async def test_an_unknown_or_missing_id_is_refused_beside_the_id(slack: SlackHarness) -> None:
    form = await opened_form(slack, await slack.shortcut(written(slack, "x"), NOTE_SHORTCUT))
    for typed, said in (("", "Give the conversation's id"), ("nosuchid-123", "No conversation")):
        body = (await slack.submit(form, note_values(typed))).json()
        assert body["response_action"] == "errors" and said in body["errors"][FIELD_ID]
    body = (await slack.submit(form, note_values("whatever", text="  "))).json()
    assert "The note is empty" in body["errors"][FIELD_NOTE]


async def test_an_unlinked_person_is_told_how_to_get_linked(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    sent = await slack.shortcut(written(slack, "from Dave"), NOTE_SHORTCUT, user=DAVE)
    form = await opened_form(slack, sent)
    assert "not linked to an agent" in texts(form.view["blocks"])
    assert FIELD_MINE not in {b.get("block_id") for b in form.view["blocks"]}
    ack = await slack.submit(form, note_values(card.id), user=DAVE)
    assert ack.status_code == 200 and ack.text == ""
    answer = await sent.answer()
    assert answer.response_type == "ephemeral"
    assert "not linked to an agent" in answer.text and "agents:" in answer.text
    assert await notes_of(slack, card.id) == []


async def test_a_long_message_is_cut_to_what_the_input_holds_keeping_the_link(
    slack: SlackHarness,
) -> None:
    message = written(slack, "word " * 1500)
    form = await opened_form(slack, await slack.shortcut(message, NOTE_SHORTCUT))
    text = initial(form, FIELD_NOTE)
    assert len(text) <= NOTE_INPUT_MAX
    assert text.endswith(f"p{message.ts.replace('.', '')}")
    assert "word…\n\nFrom Slack: https://" in text
