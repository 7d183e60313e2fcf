"""/conv as Slack sends it: acks at once, answers through response_url, never shows a trace.

Reads (list, show, help) answer only the person who typed them; changes post the card in the
channel for everyone. Every refusal is one ephemeral sentence.
"""

from __future__ import annotations

import pytest

from bot.models import Priority, Status
from bot.slack.blocks import buttons
from tests.slack_harness import (
    ANA,
    BEN,
    CARD_BUTTONS,
    CHANNEL,
    DAVE,
    NEXT_PAGE,
    OPEN,
    PREVIOUS_PAGE,
    SlackHarness,
    action_ids,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow


async def test_create_acks_then_posts_the_card_in_channel(slack: SlackHarness) -> None:
    command = await slack.command("create Printer on fire priority:high #billing")
    assert command.ack.status_code == 200
    assert command.ack.text == ""  # the answer comes later, through response_url
    answer = await command.answer()
    assert answer.response_type == "in_channel"
    shown = texts(answer.blocks)
    assert "Printer on fire" in shown and "High" in shown and "#billing" in shown
    assert "Created conversation" in answer.text
    [message] = slack.channel_messages(CHANNEL)
    assert "Printer on fire" in texts(message.blocks)
    assert set(CARD_BUTTONS) <= set(action_ids(message.blocks))


async def test_a_command_whose_text_says_payload_is_answered(slack: SlackHarness) -> None:
    # Bolt reads a form that contains the word "payload" as an empty interactivity payload, and
    # this command used to get no answer at all (bot/slack/bolt_requests.py).
    command = await slack.command("create payload schema broken")
    answer = await command.answer()
    assert "Created conversation" in answer.text
    assert "payload schema broken" in texts(answer.blocks)


async def test_list_is_ephemeral_with_a_row_per_conversation(slack: SlackHarness) -> None:
    await slack.create("First one")
    await slack.create("Second one priority:urgent")
    answer = await (await slack.command("list")).answer()
    assert answer.response_type == "ephemeral"
    assert "First one" in texts(answer.blocks) and "Second one" in texts(answer.blocks)
    assert action_ids(answer.blocks).count(OPEN) == 2
    assert len(slack.channel_messages()) == 2  # the two create cards; the list went to Ana only


async def test_list_pages_forward_and_back_in_the_same_message(slack: SlackHarness) -> None:
    for n in range(1, 6):
        await slack.create(f"Topic {n}")
    await (await slack.command("list limit:2 sort:createdAt:asc")).answer()
    [listing] = slack.ephemeral_for(ANA)
    assert "1-2 of 5" in texts(listing.blocks)
    assert "Topic 1" in texts(listing.blocks) and "Topic 3" not in texts(listing.blocks)

    await (await slack.press_ephemeral(listing, NEXT_PAGE)).answer()
    assert "3-4 of 5" in texts(listing.blocks)
    assert "Topic 3" in texts(listing.blocks) and "Topic 1" not in texts(listing.blocks)
    # Both buttons in one block: Slack takes it only because their action_ids differ.
    assert "Previous page" in texts(listing.blocks) and "Next page" in texts(listing.blocks)

    await (await slack.press_ephemeral(listing, NEXT_PAGE)).answer()
    assert "5-5 of 5" in texts(listing.blocks) and "Next page" not in texts(listing.blocks)

    await (await slack.press_ephemeral(listing, PREVIOUS_PAGE)).answer()
    assert "3-4 of 5" in texts(listing.blocks)
    assert len(slack.ephemeral_for(ANA)) == 1  # replaced in place, never a second message


async def test_lists_drawn_before_paging_buttons_had_their_own_ids_still_page(
    slack: SlackHarness,
) -> None:
    for n in range(1, 4):
        await slack.create(f"Topic {n}")
    await (await slack.command("list limit:2 sort:createdAt:asc")).answer()
    [listing] = slack.ephemeral_for(ANA)
    for block in listing.blocks:  # as an older convbot drew it: one id for both buttons
        for element in block.get("elements") or []:
            if element.get("action_id") == NEXT_PAGE:
                element["action_id"] = buttons.PAGE.id
    await (await slack.press_ephemeral(listing, buttons.PAGE.id)).answer()
    assert "3-3 of 3" in texts(listing.blocks)


async def test_show_is_ephemeral_and_draws_the_card(slack: SlackHarness) -> None:
    card = await slack.create('Refund for order 7 summary:"Customer paid twice"')
    answer = await (await slack.command(f"show {card.id}")).answer()
    assert answer.response_type == "ephemeral"
    assert "Refund for order 7" in texts(answer.blocks)
    assert "Customer paid twice" in texts(answer.blocks)
    assert set(CARD_BUTTONS) <= set(action_ids(answer.blocks))


async def test_help_is_ephemeral_and_lists_the_subcommands(slack: SlackHarness) -> None:
    answer = await (await slack.command("help")).answer()
    assert answer.response_type == "ephemeral"
    for word in ("create", "list", "assign", "untag", "close"):
        assert word in texts(answer.blocks)
    shown = texts(answer.blocks)
    for heading in ("*Work on conversations*", "*On call* (Slack only)", "*Digests* (Slack only)"):
        assert heading in shown
    assert "`show &lt;id&gt;` — Show one conversation." in shown
    assert len(answer.blocks) == 1  # one short section, not a wall of text
    update_help = await (await slack.command("help update")).answer()
    assert "update" in texts(update_help.blocks) and "priority" in texts(update_help.blocks)


async def test_empty_command_answers_with_help(slack: SlackHarness) -> None:
    answer = await (await slack.command("")).answer()
    assert answer.response_type == "ephemeral"
    assert "create" in texts(answer.blocks)


async def changed(slack: SlackHarness, text: str, user: str = ANA) -> str:
    """Run a changing command; assert it went in channel with the card, return what it shows."""
    answer = await (await slack.command(text, user)).answer()
    assert answer.response_type == "in_channel", answer.text
    assert answer.blocks[1]["type"] == "header"  # headline, then the card
    return texts(answer.blocks)


async def test_update_posts_the_changed_card_in_channel(slack: SlackHarness) -> None:
    card = await slack.create("Printer on fire")
    shown = await changed(slack, f'update {card.id} priority:urgent topic:"Printer fixed?"')
    assert "Updated." in shown and "Printer fixed?" in shown and "Urgent" in shown
    current = await slack.conversation(card.id)
    assert current.priority is Priority.URGENT and current.topic == "Printer fixed?"


async def test_assign_take_and_unassign_move_the_conversation(slack: SlackHarness) -> None:
    card = await slack.create("Needs an owner")
    assert f"<@{BEN}>" in await changed(slack, f"assign {card.id} agent-ben")
    assert (await slack.conversation(card.id)).agentId == "agent-ben"
    assert f"<@{ANA}>" in await changed(slack, f"take {card.id}")
    assert (await slack.conversation(card.id)).agentId == "agent-ana"
    assert "Unassigned." in await changed(slack, f"unassign {card.id}")
    assert (await slack.conversation(card.id)).agentId is None
    assert await slack.actions(card.id) == ["create", "assign", "assign", "unassign"]


async def test_route_applies_the_first_matching_rule(slack: SlackHarness) -> None:
    card = await slack.create("Where is my invoice")
    shown = await changed(slack, f"route {card.id}")
    assert "Routed." in shown and "Billing" in shown
    assert (await slack.conversation(card.id)).queueId == "q-billing"


async def test_tag_and_untag_show_the_tags_on_the_card(slack: SlackHarness) -> None:
    card = await slack.create("Tag me")
    shown = await changed(slack, f"tag {card.id} vip billing")
    assert "#billing #vip" in shown
    shown = await changed(slack, f"untag {card.id} vip")
    assert "#billing" in shown and "#vip" not in shown
    assert (await slack.conversation(card.id)).tags == ["billing"]


async def test_close_posts_a_card_without_buttons(slack: SlackHarness) -> None:
    card = await slack.create("Done soon")
    shown = await changed(slack, f"close {card.id}")
    assert "Closed." in shown
    closing = slack.channel_messages()[-1]
    assert not set(CARD_BUTTONS) & set(action_ids(closing.blocks))
    assert (await slack.conversation(card.id)).status is Status.CLOSED


async def test_a_change_that_changes_nothing_is_told_only_to_its_author(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Already urgent priority:urgent")
    answer = await (await slack.command(f"update {card.id} priority:urgent")).answer()
    assert answer.response_type == "ephemeral"  # no news for the channel
    assert answer.text.startswith("It is already URGENT.")
    assert await slack.actions(card.id) == ["create"]


async def refused(slack: SlackHarness, text: str, user: str = ANA) -> str:
    """Run a command that must fail: one ephemeral sentence, no trace, nothing in the channel."""
    before = len(slack.channel_messages())
    command = await slack.command(text, user)
    assert command.ack.status_code == 200
    answer = await command.answer()
    assert answer.response_type == "ephemeral"
    assert len(answer.blocks) == 1 and answer.blocks[0]["type"] == "section"
    assert answer.blocks[0]["text"]["text"].startswith(":warning: ")
    assert "Traceback" not in answer.text and "Error" not in answer.text
    assert len(slack.channel_messages()) == before
    return answer.text


async def test_unknown_subcommand_suggests_the_right_one(slack: SlackHarness) -> None:
    said = await refused(slack, "craete Printer on fire")
    assert "Unknown command 'craete'" in said and "Did you mean `create`" in said


async def test_malformed_id_is_explained(slack: SlackHarness) -> None:
    said = await refused(slack, "show ../../etc/passwd")
    assert "is not a conversation id" in said


async def test_unknown_id_is_not_found(slack: SlackHarness) -> None:
    said = await refused(slack, "close no-such-conversation")
    assert "no-such-conversation" in said
    assert await slack.actions() == []


async def test_a_closed_conversation_cannot_change(slack: SlackHarness) -> None:
    card = await slack.create("Short lived")
    await changed(slack, f"close {card.id}")
    for text in (
        f"update {card.id} priority:high",
        f"take {card.id}",
        f"route {card.id}",
        f"tag {card.id} late",
    ):
        said = await refused(slack, text)
        assert "is closed and cannot be changed" in said
    assert await slack.actions(card.id) == ["create", "close"]


async def test_take_without_a_linked_agent_says_how_to_link(slack: SlackHarness) -> None:
    card = await slack.create("Anyone?")
    said = await refused(slack, f"take {card.id}", user=DAVE)
    assert "not linked to an agent" in said and "convbot.yml" in said
