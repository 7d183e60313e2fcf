"""A card says who did what; Take asks before taking from someone, who is then told; second
presses and no-op changes answer in a person's words."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from bot.slack.blocks import buttons
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    CLOSE,
    PRIORITY,
    ROUTE,
    TAKE,
    SlackHarness,
    element,
    eventually,
    running_bot,
    selected,
    texts,
    walk,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow


async def test_a_pressed_card_says_who_took_it_closed_it_and_set_its_priority(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Printer on fire")

    await (await slack.press(card.message, TAKE, ANA)).answer()
    assert f"Taken by <@{ANA}> just now · <!date^" in texts(card.blocks)

    await (
        await slack.press(card.message, PRIORITY, BEN, selected_option=selected("URGENT"))
    ).answer()
    shown = texts(card.blocks)
    assert f"Priority set to URGENT by <@{BEN}> just now" in shown and "Taken by" not in shown

    await (await slack.press(card.message, CLOSE, BEN)).answer()
    assert f"Closed by <@{BEN}> just now" in texts(card.blocks)


async def test_take_asks_first_when_someone_has_it_and_tells_them_after(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Printer on fire")
    assert "confirm" not in element(card.blocks, TAKE)  # nobody has it: nothing to ask
    await (await slack.press(card.message, TAKE, ANA)).answer()

    confirm = element(card.blocks, TAKE)["confirm"]
    assert confirm["text"]["text"] == "Ana Horvat has it. Take it from them?"

    await (await slack.press(card.message, TAKE, BEN)).answer()

    assert f"Taken from <@{ANA}> by <@{BEN}> just now" in texts(card.blocks)
    assert (await slack.conversation(card.id)).agentId == "agent-ben"
    [dm] = await eventually(lambda: slack.dms_to(ANA))
    told = texts(dm.blocks)
    assert f"<@{BEN}> took *Printer on fire* (`{card.id}`) from you" in told
    assert f"/archives/{card.message.channel}/p" in told  # a link to the card
    assert slack.dms_to(BEN) == []  # the taker is not told what they did


async def test_take_on_a_card_drawn_before_someone_took_it_asks_instead_of_taking(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Printer on fire")
    as_ben_still_sees_it = copy.deepcopy(card.message)
    await (await slack.press(card.message, TAKE, ANA)).answer()
    ana_card = texts(card.blocks)

    late = await (await slack.press(as_ben_still_sees_it, TAKE, BEN)).answer()

    assert late.response_type == "ephemeral" and not late.replace_original
    assert late.text.startswith(f"<@{ANA}> took it just now, after this card was drawn")
    assert "press Take below" in late.text
    fresh = element(late.body["blocks"], TAKE)  # a fresh card whose Take asks first
    assert fresh["confirm"]["text"]["text"] == "Ana Horvat has it. Take it from them?"
    assert (await slack.conversation(card.id)).agentId == "agent-ana"
    assert texts(card.blocks) == ana_card and slack.dms_to(ANA) == []


async def test_a_stale_card_says_when_and_by_whom_in_words(slack: SlackHarness) -> None:
    card = await slack.create("Printer on fire")
    as_ben_still_sees_it = copy.deepcopy(card.message)
    await (await slack.press(card.message, ROUTE, ANA)).answer()

    late = await (await slack.press(as_ben_still_sees_it, CLOSE, BEN)).answer()

    [note] = [n["text"] for n in walk(late.body["blocks"]) if "out of date" in str(n.get("text"))]
    assert f"out of date (the conversation changed just now by <@{ANA}>)." in note
    assert "+0000" not in note and "T0" not in note  # never a raw ISO timestamp


async def test_second_presses_answer_in_a_persons_words(slack: SlackHarness) -> None:
    card = await slack.create("Printer on fire priority:urgent")
    stale = copy.deepcopy(card.message)
    await (await slack.press(card.message, TAKE, ANA)).answer()

    again = await (await slack.press(stale, TAKE, ANA)).answer()
    assert "It is already yours." in texts(again.body["blocks"])

    same = await (
        await slack.press(card.message, PRIORITY, ANA, selected_option=selected("URGENT"))
    ).answer()
    assert "It is already URGENT." in texts(same.body["blocks"])

    stale = copy.deepcopy(card.message)
    await (await slack.press(card.message, CLOSE, ANA)).answer()
    closed = await (await slack.press(stale, CLOSE, BEN)).answer()
    assert "It is already closed." in texts(closed.body["blocks"])


async def test_no_op_commands_answer_in_a_persons_words(slack: SlackHarness) -> None:
    card = await slack.create("Printer on fire")
    await (await slack.command(f"take {card.id}")).answer()

    mine = await (await slack.command(f"take {card.id}")).answer()
    assert mine.text.startswith("It is already yours.") and mine.response_type == "ephemeral"
    theirs = await (await slack.command(f"assign {card.id} agent-ana", user=BEN)).answer()
    assert theirs.text.startswith("It is already assigned to Ana Horvat.")
    await (await slack.command(f"close {card.id}")).answer()
    closed = await (await slack.command(f"close {card.id}")).answer()
    assert closed.text.startswith("It is already closed.")
    for answer in (mine, theirs, closed):
        assert "Nothing to change" not in answer.text and "agent-" not in answer.text


async def test_take_and_assign_by_command_say_whose_it_was_and_tell_them(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Printer on fire")
    await (await slack.command(f"take {card.id}")).answer()

    taken = await (await slack.command(f"take {card.id}", user=BEN)).answer()

    assert taken.text.startswith("It is yours now (it was with Ana Horvat).")
    [dm] = await eventually(lambda: slack.dms_to(ANA))
    assert f"<@{BEN}> took *Printer on fire* (`{card.id}`) from you" in texts(dm.blocks)

    await (await slack.command(f"assign {card.id} agent-cleo", user=ANA)).answer()
    [reassigned] = await eventually(lambda: slack.dms_to(BEN))
    told = texts(reassigned.blocks)
    assert f"<@{ANA}> reassigned *Printer on fire* (`{card.id}`) from you to Cleo Marin." in told


async def test_take_on_a_digest_item_asks_first_and_tells_whoever_had_it(tmp_path: Path) -> None:
    config = {"digests": [{"name": "support", "channel": CHANNEL, "cron": "0 0 1 1 *"}]}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:high")
        await (await slack.command(f"take {card.id}")).answer()
        await (await slack.command("digest support")).answer()
        digest = slack.channel_messages()[-1]
        take = element(digest.blocks, buttons.DIGEST_TAKE.id)
        assert take["confirm"]["text"]["text"] == "Ana Horvat has it. Take it from them?"

        await slack.press(digest, buttons.DIGEST_TAKE.id, BEN, card=card.id)

        [dm] = await eventually(lambda: slack.dms_to(ANA))
        told = texts(dm.blocks)
        assert f"<@{BEN}> took *Printer on fire*" in told and "/archives/" in told
        assert (await slack.conversation(card.id)).agentId == "agent-ben"
