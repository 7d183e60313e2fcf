"""The message shortcuts (issue 18, item 5) as Slack sends them: "Add to conversation as note"
and "Create conversation from message", each through signed requests into the running bot and
the strict fake Slack. The message a shortcut is used on is a person's message stored in the
fake, so chat.getPermalink finds it as Slack would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.devtools.fakeslack import StoredMessage, StoredView, view_submission
from bot.field_rules import TOPIC_MAX
from bot.messages import NoteFilter
from bot.models import SLACK_MESSAGE, ConversationFilter
from bot.slack.blocks.modals import CREATE_MODAL, SUMMARY_INPUT_MAX
from bot.slack.blocks.note_form import FIELD_ID, FIELD_MINE, FIELD_NOTE, NOTE_INPUT_MAX
from bot.slack.listeners.shortcuts import CREATE_SHORTCUT, NOTE_SHORTCUT
from tests.conftest import EMULATOR_KEY, emulated_infobip
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    DAVE,
    Sent,
    SlackHarness,
    running_bot,
    select_value,
    text_value,
    texts,
)
from tests.test_slack_modals import create_values

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


# --- "Create conversation from message" -------------------------------------------------------

MULTILINE = f"\n  Printer <!here> on fire\n{HOSTILE}"


def create_form_values(form: StoredView) -> dict[str, Any]:
    """The prefilled create form submitted as it is."""
    return create_values(initial(form, "topic"), summary=initial(form, "summary"))


async def test_a_message_becomes_a_conversation_that_links_back_to_it(
    slack: SlackHarness,
) -> None:
    message = written(slack, MULTILINE)
    form = await opened_form(slack, await slack.shortcut(message, CREATE_SHORTCUT))
    assert form.view["callback_id"] == CREATE_MODAL  # the /conv create form, prefilled
    assert initial(form, "topic") == "Printer @here on fire"
    assert initial(form, "summary") == f"Printer @here on fire\n{HOSTILE_PLAIN}"
    ack = await slack.submit(form, create_form_values(form))
    assert ack.status_code == 200 and ack.text == ""
    [dm] = await slack.settle("chat.postMessage")
    assert dm.ok and dm.args["channel"] == ANA
    [created] = (await slack.service.find(ConversationFilter())).items
    link = permalink_of(slack, message)
    assert f"<{link}|From a Slack message>" in texts(dm.args["blocks"])
    assert await slack.service.backend.get_metadata(created.id) == {SLACK_MESSAGE: link}
    assert await slack.actions(created.id) == ["create", "metadata"]
    for sent_text in map(str, slack.everything_sent()):
        assert "<!here>" not in sent_text and "<!channel>" not in sent_text
        assert "|bank.com>" not in sent_text


async def test_a_submission_delivered_twice_creates_one_conversation(slack: SlackHarness) -> None:
    form = await opened_form(slack, await slack.shortcut(written(slack, "Twice"), CREATE_SHORTCUT))
    body = view_submission(
        form,
        user_id=ANA,
        trigger_id=slack.fake.new_trigger_id(ANA),
        values=create_form_values(form),
    )
    first, again = await slack.post(body), await slack.post(body)
    assert (first.status_code, first.text, again.status_code, again.text) == (200, "", 200, "")
    await quiescent()
    assert (await slack.service.find(ConversationFilter())).totalItems == 1
    assert len(slack.dms_to(ANA)) == 1


async def test_a_long_message_is_cut_at_a_word_to_the_forms_limits(slack: SlackHarness) -> None:
    words = "lorem ipsum " * 500  # 6000 characters on one line
    form = await opened_form(slack, await slack.shortcut(written(slack, words), CREATE_SHORTCUT))
    topic, summary = initial(form, "topic"), initial(form, "summary")
    assert len(topic) <= TOPIC_MAX and topic.endswith("…") and topic[:-1] in words
    assert topic[:-1].split()[-1] in ("lorem", "ipsum")  # cut between words
    assert len(summary) <= SUMMARY_INPUT_MAX and summary.endswith("…")
    ack = await slack.submit(form, create_form_values(form))
    assert ack.status_code == 200 and ack.text == ""
    await slack.settle("chat.postMessage")
    [created] = (await slack.service.find(ConversationFilter())).items
    assert created.topic == topic


async def test_on_infobip_the_link_is_kept_in_the_conversations_metadata(tmp_path: Path) -> None:
    async with (
        emulated_infobip(tmp_path) as (base_url, store),
        running_bot(tmp_path, infobip_base_url=base_url, infobip_api_key=EMULATOR_KEY) as slack,
    ):
        message = written(slack, "Refund <@UBEN00002> asked for")
        form = await opened_form(slack, await slack.shortcut(message, CREATE_SHORTCUT))
        assert initial(form, "topic") == "Refund @ben asked for"
        ack = await slack.submit(form, create_form_values(form))
        assert ack.status_code == 200 and ack.text == ""
        [dm] = await slack.settle("chat.postMessage")
        [created] = (await store.list(ConversationFilter())).items
        link = permalink_of(slack, message)
        assert await store.get_metadata(created.id) == {SLACK_MESSAGE: link}
        assert "From a Slack message" in texts(dm.args["blocks"])


async def test_show_links_the_message_and_a_list_reads_no_metadata(slack: SlackHarness) -> None:
    message = written(slack, "Linked one")
    form = await opened_form(slack, await slack.shortcut(message, CREATE_SHORTCUT))
    await slack.submit(form, create_form_values(form))
    await slack.settle("chat.postMessage")
    [linked] = (await slack.service.find(ConversationFilter())).items
    plain = await slack.create("Plain one")
    shown = await (await slack.command(f"show {linked.id[:8]}")).answer()
    assert f"<{permalink_of(slack, message)}|From a Slack message>" in texts(shown.blocks)
    other = await (await slack.command(f"show {plain.id}")).answer()
    assert "From a Slack message" not in texts(other.blocks)
    calls = slack.spy_on_backend()
    listed = await (await slack.command("list")).answer()
    assert "Linked one" in texts(listed.blocks) and "Plain one" in texts(listed.blocks)
    assert [name for name, _ in calls if name == "get_metadata"] == []


async def test_a_note_needs_the_note_permission(tmp_path: Path) -> None:
    config = {"permissions": {"note": {"users": [BEN]}}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Parcel lost")
        sent = await slack.shortcut(written(slack, "Ana's note"), NOTE_SHORTCUT)
        form = await opened_form(slack, sent)
        ack = await slack.submit(form, note_values(card.id))
        assert ack.status_code == 200 and ack.text == ""
        answer = await sent.answer()
        assert answer.response_type == "ephemeral" and f"<@{BEN}>" in answer.text
        assert await notes_of(slack, card.id) == []
        assert await slack.actions(card.id) == ["create", "denied"]


async def test_a_shortcut_of_an_older_manifest_is_answered_in_a_sentence(
    slack: SlackHarness,
) -> None:
    sent = await slack.shortcut(written(slack, "hi"), "conv.retired_shortcut")
    assert sent.ack.status_code == 200
    answer = await sent.answer()
    assert answer.response_type == "ephemeral" and "older version of convbot" in answer.text
    assert slack.fake.calls_to("views.open") == []


async def test_a_note_submission_delivered_twice_saves_one_note(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    sent = await slack.shortcut(written(slack, "Once"), NOTE_SHORTCUT)
    form = await opened_form(slack, sent)
    trigger = slack.fake.new_trigger_id(ANA)
    body = view_submission(form, user_id=ANA, trigger_id=trigger, values=note_values(card.id))
    first, again = await slack.post(body), await slack.post(body)
    assert (first.status_code, first.text, again.status_code, again.text) == (200, "", 200, "")
    await quiescent()
    assert await notes_of(slack, card.id) == [("A note", "agent-ana")]
    assert len(sent.answers()) == 1
