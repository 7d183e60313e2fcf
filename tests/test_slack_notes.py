"""`/conv note` as Slack sends it (issue 18): the note is internal, so the answer is ephemeral
and nothing reaches the channel; refusals are one ephemeral sentence."""

from __future__ import annotations

import pytest

from bot.messages import NoteFilter
from tests.slack_harness import ANA, DAVE, SlackHarness, texts

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow


async def test_a_note_is_saved_and_answered_only_to_its_author(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    posted = len(slack.channel_messages())
    text = "Called them: courier:DHL, back <!here> at 5"
    command = await slack.command(f"note {card.id} {text}", ANA)
    assert command.ack.status_code == 200
    answer = await command.answer()
    assert answer.response_type == "ephemeral"
    assert f"Note saved on conversation {card.id}" in texts(answer.blocks)
    assert len(slack.channel_messages()) == posted
    notes = await slack.service.backend.list_notes(card.id, NoteFilter())
    assert [(n.text, n.agentId) for n in notes.items] == [(text, "agent-ana")]
    assert await slack.actions(card.id) == ["create", "note"]


async def test_a_note_is_refused_in_one_ephemeral_sentence(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    answer = await (await slack.command(f"note {card.id} Who am I", DAVE)).answer()
    assert answer.response_type == "ephemeral"
    assert answer.blocks[0]["text"]["text"].startswith(":warning: ")
    assert "not linked to an agent" in answer.text
    await (await slack.command(f"close {card.id}")).answer()
    closed = await (await slack.command(f"note {card.id} Too late")).answer()
    assert "is closed" in closed.text
    assert await slack.actions(card.id) == ["create", "close"]


async def test_a_note_without_its_text_opens_the_note_form(slack: SlackHarness) -> None:
    card = await slack.create("Parcel lost")
    await slack.command(f"note {card.id[:8]}")  # a prefix, completed
    [update] = await slack.settle("views.update")
    view = update.args["view"]
    assert view["callback_id"] == "conv.note_modal" and card.id in texts(view["blocks"])
