"""Card buttons as Slack sends them: each press redraws the very message it was pressed on.

A press applies to the version of the conversation the card showed: a stale card is redrawn
with a note instead of acting, and two presses on one version act once.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.devtools.emulator.observe import Exchange, observing
from bot.errors import BackendUnavailable
from bot.models import Actor, ConversationPatch, Priority, Status
from tests.conftest import EMULATOR_KEY, emulated_infobip
from tests.slack_harness import (
    ANA,
    BEN,
    CARD_BUTTONS,
    CLOSE,
    DAVE,
    EDIT,
    ESCALATE,
    OPEN,
    PRIORITY,
    ROUTE,
    TAKE,
    Card,
    SlackHarness,
    action_ids,
    element,
    eventually,
    fake_workspace,
    running_bot,
    select_value,
    selected,
    text_value,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow


async def press_and_redraw(
    slack: SlackHarness, card: Card, action_id: str, user: str = ANA, **chosen: object
) -> str:
    """Press, wait for the redraw; assert it replaced the card in place. What the card shows."""
    before = len(slack.channel_messages())
    press = await slack.press(card.message, action_id, user, **chosen)
    assert press.ack.status_code == 200
    answer = await press.answer()
    assert answer.replace_original, answer.body
    assert card.message.edited
    assert len(slack.channel_messages()) == before  # the same message, no new one
    assert slack.fake.calls_to("chat.postMessage") == []
    return texts(card.blocks)


def actor(user: str) -> Actor:
    return Actor(id=user, surface="slack")


def edit_values(
    topic: str, *, priority: str = "NORMAL", status: str = "OPEN", queue: str | None = None
) -> dict[str, object]:
    return {
        "topic": {"topic": text_value(topic)},
        "summary": {"summary": {"type": "plain_text_input", "value": None}},
        "status": {"status": select_value(status)},
        "priority": {"priority": select_value(priority)},
        "queue": {"queue": select_value(queue)},
    }


# --- each card button acts and redraws that card in place -----------------------------------


async def test_take_assigns_to_the_presser_and_keeps_take_for_the_channel(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Needs an owner")
    assert TAKE in action_ids(card.blocks)
    shown = await press_and_redraw(slack, card, TAKE)
    assert f"<@{ANA}>" in shown
    # The channel's card is everyone's: Ben must still be able to take it over.
    assert TAKE in action_ids(card.blocks)
    assert (await slack.conversation(card.id)).agentId == "agent-ana"
    assert await slack.actions(card.id) == ["create", "assign"]


async def test_cards_drawn_after_tagging_are_current_so_their_first_press_acts(
    slack: SlackHarness,
) -> None:
    # Linking a tag moves the conversation's updatedAt: a card drawn from the version before
    # the link would refuse its first press as out of date.
    card = await slack.create("Invoice wrong #billing")
    shown = await press_and_redraw(slack, card, TAKE)
    assert "out of date" not in shown and f"<@{ANA}>" in shown

    await (await slack.command(f"tag {card.id} vip")).answer()
    tagged = Card(card.id, slack.channel_messages()[-1])
    assert "#vip" in texts(tagged.blocks)
    shown = await press_and_redraw(slack, tagged, PRIORITY, selected_option={"value": "HIGH"})
    assert "out of date" not in shown
    assert (await slack.conversation(card.id)).priority is Priority.HIGH


async def test_route_moves_the_card_to_the_rule_queue(slack: SlackHarness) -> None:
    card = await slack.create("Refund please")
    shown = await press_and_redraw(slack, card, ROUTE)
    assert "Billing" in shown
    assert (await slack.conversation(card.id)).queueId == "q-billing"


async def test_close_leaves_a_card_without_action_buttons(slack: SlackHarness) -> None:
    card = await slack.create("All done")
    assert element(card.blocks, CLOSE)["confirm"]["title"]["text"] == "Close this conversation?"
    shown = await press_and_redraw(slack, card, CLOSE)
    assert "Closed" in shown
    assert not set(CARD_BUTTONS) & set(action_ids(card.blocks))
    assert (await slack.conversation(card.id)).status is Status.CLOSED


async def test_priority_select_sets_the_chosen_priority(slack: SlackHarness) -> None:
    card = await slack.create("Slow printer")
    shown = await press_and_redraw(slack, card, PRIORITY, selected_option=selected("URGENT"))
    assert "Urgent" in shown
    assert (await slack.conversation(card.id)).priority is Priority.URGENT
    assert element(card.blocks, PRIORITY)["initial_option"]["value"] == "URGENT"


async def test_escalate_says_it_is_not_configured_and_keeps_the_card(slack: SlackHarness) -> None:
    card = await slack.create("Servers down priority:urgent")
    drawn = texts(card.blocks)
    press = await slack.press(card.message, ESCALATE)
    answer = await press.answer()
    assert answer.response_type == "ephemeral" and not answer.replace_original
    assert "Escalation is not configured" in answer.text
    assert texts(card.blocks) == drawn and not card.message.edited
    assert await slack.actions(card.id) == ["create"]


async def test_a_press_that_changes_nothing_leaves_the_card_usable(slack: SlackHarness) -> None:
    card = await slack.create("Stay normal")
    shown = await press_and_redraw(slack, card, PRIORITY, selected_option=selected("NORMAL"))
    assert "It is already NORMAL." in shown
    shown = await press_and_redraw(slack, card, TAKE)
    assert f"<@{ANA}>" in shown and "another press" not in shown
    assert await slack.actions(card.id) == ["create", "assign"]


# --- list rows and cards shown to one person ------------------------------------------------


async def test_view_on_a_list_row_shows_the_card_to_the_presser(slack: SlackHarness) -> None:
    card = await slack.create("Find me in the list")
    await (await slack.command("list")).answer()
    [listing] = slack.ephemeral_for(ANA)
    press = await slack.press_ephemeral(listing, OPEN, card=card.id)
    answer = await press.answer()
    assert answer.response_type == "ephemeral" and not answer.replace_original
    assert "Find me in the list" in texts(answer.blocks)
    assert set(CARD_BUTTONS) <= set(action_ids(answer.blocks))
    assert len(slack.ephemeral_for(ANA)) == 2  # the list stays; the card is a second message


async def test_buttons_on_a_shown_card_redraw_that_ephemeral_card(slack: SlackHarness) -> None:
    card = await slack.create("Show then take")
    await (await slack.command(f"show {card.id}")).answer()
    [shown] = slack.ephemeral_for(ANA)
    await (await slack.press_ephemeral(shown, TAKE)).answer()
    assert f"<@{ANA}>" in texts(shown.blocks)
    assert len(slack.ephemeral_for(ANA)) == 1


# --- Edit: a modal opened at once, filled in after ------------------------------------------


async def test_edit_opens_a_modal_at_once_then_fills_it(slack: SlackHarness) -> None:
    card = await slack.create("Edit me")
    press = await slack.press(card.message, EDIT)
    [opened] = await slack.settle("views.open")
    assert opened.args["trigger_id"] == press.trigger_id
    assert "Loading" in texts(opened.args["view"]["blocks"])
    [filled] = await slack.settle("views.update")
    assert filled.ok
    view = slack.fake.views[filled.args["view_id"]]
    assert '"initial_value": "Edit me"' in texts(view.blocks)
    assert "Billing" in texts(view.blocks)  # the queues came from the backend


async def test_submitting_the_edit_applies_it_dms_the_card_and_redraws(slack: SlackHarness) -> None:
    card = await slack.create("Edit me")
    await slack.press(card.message, EDIT)
    [filled] = await slack.settle("views.update")
    view = slack.fake.views[filled.args["view_id"]]
    ack = await slack.submit(view, edit_values("Edited topic", priority="HIGH", queue="q-vip"))
    assert ack.status_code == 200 and ack.text == ""  # closes the modal
    [dm] = await slack.settle("chat.postMessage")
    assert dm.args["channel"] == ANA
    assert "Edited topic" in texts(dm.args["blocks"])
    await eventually(lambda: card.message.edited)
    assert "Edited topic" in texts(card.blocks) and "VIP" in texts(card.blocks)
    assert f"Edited by <@{ANA}> just now" in texts(card.blocks)
    current = await slack.conversation(card.id)
    assert (current.topic, current.priority, current.queueId) == ("Edited topic", "HIGH", "q-vip")


async def test_two_edits_of_one_version_cannot_both_apply(slack: SlackHarness) -> None:
    card = await slack.create("Edited twice")
    views = []
    for user in (ANA, BEN):
        await slack.press(card.message, EDIT, user)
        filled = await slack.settle("views.update", count=len(views) + 1)
        views.append(slack.fake.views[filled[-1].args["view_id"]])
    await asyncio.gather(
        slack.submit(views[0], edit_values("Ana's topic"), ANA),
        slack.submit(views[1], edit_values("Ben's topic"), BEN),
    )
    dms = await slack.settle("chat.postMessage", count=2)
    assert sum("was not applied" in dm.args["text"] for dm in dms) == 1
    assert (await slack.actions(card.id)).count("update") == 1


async def test_an_edit_of_a_changed_conversation_is_not_applied(slack: SlackHarness) -> None:
    card = await slack.create("Edit me")
    await slack.press(card.message, EDIT)
    [filled] = await slack.settle("views.update")
    await slack.service.update(actor(BEN), card.id, ConversationPatch(priority=Priority.LOW))
    view = slack.fake.views[filled.args["view_id"]]
    await slack.submit(view, edit_values("Overwrite?"))
    [dm] = await slack.settle("chat.postMessage")
    assert "was not applied" in dm.args["text"]
    assert (await slack.conversation(card.id)).topic == "Edit me"


async def test_edit_shows_a_failure_in_the_modal_it_opened(
    slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = await slack.create("Edit me later")
    slack.fake.clear()

    async def down(_conversation_id: str) -> None:
        raise BackendUnavailable("Infobip at api.example is not answering; try again shortly.")

    monkeypatch.setattr(slack.service, "get", down)
    await slack.press(card.message, EDIT)
    [update] = await slack.settle("views.update")
    shown = texts(update.args["view"]["blocks"])
    assert "Infobip at api.example is not answering" in shown and "Loading" not in shown
    assert update.args["view"].get("submit") is None  # nothing to submit
    assert slack.fake.responses == []  # said in the modal only, not in the channel too


# --- stale cards and double presses ---------------------------------------------------------


async def test_a_stale_card_is_redrawn_with_a_note_instead_of_acting(slack: SlackHarness) -> None:
    card = await slack.create("Moving target")
    await slack.service.update(actor(BEN), card.id, ConversationPatch(priority=Priority.HIGH))
    shown = await press_and_redraw(slack, card, CLOSE)
    assert "Nothing was done: this card was out of date" in shown
    assert "High" in shown  # the current state, drawn on the old card
    assert (await slack.conversation(card.id)).status is Status.OPEN
    assert await slack.actions(card.id) == ["create", "update"]


async def test_two_presses_on_one_card_version_act_once(slack: SlackHarness) -> None:
    card = await slack.create("Only once")
    presses = await asyncio.gather(
        slack.press(card.message, TAKE, ANA), slack.press(card.message, TAKE, BEN)
    )
    answers = [await press.answer() for press in presses]
    await asyncio.sleep(0.05)  # nothing more may arrive
    assert [len(press.answers()) for press in presses] == [1, 1]
    assert await slack.actions(card.id) == ["create", "assign"]
    [won] = [a for a in answers if a.replace_original]
    [lost] = [a for a in answers if not a.replace_original]
    assert lost.response_type == "ephemeral"
    # While the winner's press runs, or once it is done (then it says who took it).
    assert "another press on this card got there first" in lost.text or (
        "took it just now, after this card was drawn, so nothing was done" in lost.text
    )
    winner = (await slack.conversation(card.id)).agentId
    mentioned = {"agent-ana": ANA, "agent-ben": BEN}[str(winner)]
    assert f"<@{mentioned}>" in texts(card.blocks)  # the card shows the winner's change
    assert texts(card.blocks) == texts(won.blocks)


async def test_a_late_press_on_a_used_card_version_is_told_the_card_was_stale(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Only once")
    as_ben_still_sees_it = copy.deepcopy(card.message)
    await (await slack.press(card.message, TAKE, ANA)).answer()
    late = await (await slack.press(as_ben_still_sees_it, ROUTE, BEN)).answer()
    assert late.replace_original and "out of date" in texts(late.blocks)
    assert f"<@{ANA}>" in texts(late.blocks)  # redrawn as it is now: Ana's
    assert await slack.actions(card.id) == ["create", "assign"]


# --- who is pressing: the agents map, else the Slack e-mail ------------------------------------


@asynccontextmanager
async def backend_settings(kind: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Settings overrides for the bot's backend: embedded, or Infobip (the emulator)."""
    if kind == "embedded":
        yield {}
        return
    async with emulated_infobip(tmp_path) as (base_url, _store):
        yield {"infobip_base_url": base_url, "infobip_api_key": EMULATOR_KEY}


@pytest.mark.parametrize("kind", ["embedded", "infobip-emulator"])
async def test_a_user_matched_by_email_acts_as_that_agent(tmp_path: Path, kind: str) -> None:
    """On Infobip the agent list carries no e-mails (AgentResponse): the match is one
    GET /agents?email= per new Slack user, then remembered."""
    fake = fake_workspace()
    fake.users[BEN].email = "Ben@EXAMPLE.com"  # e-mails match whatever their case
    lookups: list[Exchange] = []

    def by_email(exchange: Exchange) -> None:
        if exchange.path == "/ccaas/1/agents" and "email=" in exchange.query:
            lookups.append(exchange)

    config = {"agents": {ANA: "agent-ana"}}
    async with (
        backend_settings(kind, tmp_path) as overrides,
        running_bot(tmp_path, config=config, fake=fake, **overrides) as slack,
    ):
        with observing(by_email):
            card = await slack.create("For Ben")
            shown = await press_and_redraw(slack, card, TAKE, BEN)
            assert (await slack.conversation(card.id)).agentId == "agent-ben"
            assert f"<@{BEN}>" in shown  # and Ben is mentioned, now that he is known
            home = await slack.open_home(BEN)
            assert "For Ben" in texts(home.blocks) and "not linked" not in texts(home.blocks)
        assert len(slack.fake.calls_to("users.info")) == 1  # looked up once, then remembered
    assert len(lookups) == (1 if kind == "infobip-emulator" else 0)
    if lookups:
        assert [e.status for e in lookups] == [200] and b"agent-ben" in lookups[0].body


async def test_an_unlinked_user_pressing_take_is_told_how_to_link(slack: SlackHarness) -> None:
    card = await slack.create("Anyone?")
    drawn = texts(card.blocks)
    answer = await (await slack.press(card.message, TAKE, DAVE)).answer()
    assert answer.response_type == "ephemeral" and not answer.replace_original
    assert f"You ({DAVE}) are not linked to an agent" in answer.text
    assert "`agents:` in convbot.yml" in answer.text
    assert texts(card.blocks) == drawn
    assert (await slack.conversation(card.id)).agentId is None
    assert await slack.actions(card.id) == ["create"]
