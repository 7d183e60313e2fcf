"""The thread as the reply box (issue 18 item 4), as Slack sends it: in a channel whose
`thread_replies` is `customer`, a person's message in a conversation's thread is sent to the
customer in their agent's name and marked :white_check_mark:; under `note` it is saved as an
internal note and marked :memo:; under `off` nothing happens. A refusal (closed, unlinked,
someone else's customer, too long) is marked :warning: and its reason told to the author alone,
in the thread. Each message goes out once: a redelivery sends nothing, and the thread mirror
does not post the reply back. Bots, messages outside the conversation's thread, files and edits
are not sent; the author of an edit is told once.

Signed `message` events into /slack/events (tests/slack_harness.py), the strict fake Slack
(its reactions.add as Slack's), the embedded store; the mirror's pass is run directly."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.fakeslack import (
    StoredMessage,
    event_callback,
    message_changed,
    message_deleted,
    message_event,
)
from bot.devtools.fakeslack.defaults import TEAM_ID
from bot.messages import Direction, MessageFilter, NoteFilter
from bot.slack.blocks import buttons
from bot.slack.blocks.talk_forms import REPLY_MODAL
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    DAVE,
    Card,
    SlackHarness,
    fake_workspace,
    running_bot,
    texts,
)
from tests.test_slack_threads import customer_writes, open_thread, replies

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "slack"


def config(mode: str) -> dict[str, Any]:
    # The scheduler's mirror pass waits a minute: the tests that need it run it themselves.
    return {"threads": {"poll_interval": "60s", "channels": {CHANNEL: {"thread_replies": mode}}}}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with running_bot(tmp_path, config=config("customer")) as harness:
        yield harness


async def a_thread(slack: SlackHarness, topic: str = "Parcel lost") -> Card:
    """A conversation the customer wrote in, with its thread open under its card."""
    card = await slack.create(topic)
    await customer_writes(slack, card.id, "Where is my parcel?")
    await open_thread(slack, card)
    return card


async def writes(
    slack: SlackHarness, card: Card, text: str, user: str = ANA, **event: Any
) -> StoredMessage:
    """`user` writes `text` in the card's thread: the message in Slack, and its event sent."""
    message = slack.fake.store_message(CHANNEL, text=text, user=user, thread_ts=card.message.ts)
    ack = await slack.event(message_event(message) | event)
    assert ack.status_code == 200
    await quiescent()
    return message


async def outbound(slack: SlackHarness, conversation_id: str) -> list[str | None]:
    filtered = MessageFilter(direction=Direction.OUTBOUND)
    page = await slack.service.backend.list_messages(conversation_id, filtered)
    return [message.text for message in page.items]


async def notes(slack: SlackHarness, conversation_id: str) -> list[str]:
    page = await slack.service.backend.list_notes(conversation_id, NoteFilter())
    return [note.content for note in page.items]


def reactions(message: StoredMessage) -> dict[str, list[str]]:
    return message.reactions  # the fake's copy, changed in place by reactions.add


def told(slack: SlackHarness, user: str, card: Card) -> list[str]:
    """What `user` alone was told in the card's thread."""
    return [texts(e.blocks) for e in slack.ephemeral_for(user) if e.thread_ts == card.message.ts]


async def mirror(slack: SlackHarness) -> int:
    return await slack.serving.runtime.mirror.run_pass()


# --- customer, note, off -------------------------------------------------------------------------


async def test_a_message_in_the_thread_is_sent_to_the_customer_and_marked(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    message = await writes(slack, card, "It left the depot <@UBEN00002> &amp; is on its way")
    assert await outbound(slack, card.id) == ["It left the depot @ben & is on its way"]
    assert reactions(message) == {"white_check_mark": [slack.fake.bot_user_id]}
    assert told(slack, ANA, card) == []
    [*_, reply] = await slack.audit(card.id)
    assert (reply.action, reply.actor) == ("reply", ANA)


async def test_the_thread_says_what_its_messages_become_and_has_reply_and_note(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    first = replies(slack, card.message)[0]
    shown = texts(first.blocks)
    assert "sent to the customer" in shown
    pressed = await slack.press(first, buttons.REPLY.id)
    assert pressed.ack.status_code == 200
    [*_, update] = await slack.settle("views.update")
    assert update.args["view"]["callback_id"] == REPLY_MODAL
    assert "Where is my parcel?" in texts(update.args["view"]["blocks"])


async def test_in_a_note_channel_a_message_is_saved_as_a_note(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=config("note")) as slack:
        card = await a_thread(slack)
        assert "saved as an internal note" in texts(replies(slack, card.message)[0].blocks)
        message = await writes(slack, card, "Customer sounds upset; call them")
        assert await notes(slack, card.id) == ["Customer sounds upset; call them"]
        assert await outbound(slack, card.id) == []
        assert reactions(message) == {"memo": [slack.fake.bot_user_id]}
        too_long = await writes(slack, card, "n" * 4_001)
        assert reactions(too_long) == {"warning": [slack.fake.bot_user_id]}
        [said] = told(slack, ANA, card)
        assert "Not saved as a note" in said and "4,001 characters; the limit is 4,000" in said


async def test_with_thread_replies_off_a_message_in_the_thread_is_left_alone(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=config("off")) as slack:
        card = await a_thread(slack)
        assert "sent to the customer" not in texts(replies(slack, card.message)[0].blocks)
        calls = len(slack.fake.calls)
        message = await writes(slack, card, "Just between us")
        assert await outbound(slack, card.id) == [] and await notes(slack, card.id) == []
        assert reactions(message) == {} and slack.fake.calls[calls:] == []


# --- refusals ------------------------------------------------------------------------------------


async def test_a_closed_conversation_takes_no_reply_and_the_author_is_told(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    await (await slack.command(f"close {card.id}")).answer()
    message = await writes(slack, card, "Anything else?")
    assert await outbound(slack, card.id) == []
    assert reactions(message) == {"warning": [slack.fake.bot_user_id]}
    [said] = told(slack, ANA, card)
    assert "Not sent to the customer" in said and "closed" in said


async def test_an_unlinked_person_is_told_how_to_get_linked(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    message = await writes(slack, card, "Hello from Dave", user=DAVE)
    assert await outbound(slack, card.id) == []
    assert reactions(message) == {"warning": [slack.fake.bot_user_id]}
    [said] = told(slack, DAVE, card)
    assert "not linked to an agent" in said and "convbot.yml" in said
    assert told(slack, ANA, card) == []  # the author alone


async def test_someone_elses_customer_is_refused(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    await (await slack.command(f"take {card.id}", user=BEN)).answer()
    message = await writes(slack, card, "I'll answer instead")
    assert await outbound(slack, card.id) == []
    assert reactions(message) == {"warning": [slack.fake.bot_user_id]}
    [said] = told(slack, ANA, card)
    assert "only they or a supervisor may reply" in said


async def test_a_message_over_infobips_limit_is_refused_with_the_reason(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    message = await writes(slack, card, "x" * 4_097)
    assert await outbound(slack, card.id) == []
    assert reactions(message) == {"warning": [slack.fake.bot_user_id]}
    [said] = told(slack, ANA, card)
    assert "4,097 characters; the limit is 4,096" in said


# --- once ----------------------------------------------------------------------------------------


async def test_a_redelivered_event_sends_once(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    message = slack.fake.store_message(CHANNEL, text="Once", user=ANA, thread_ts=card.message.ts)
    body = event_callback(message_event(message), event_id="Ev0THREAD001")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"}
    for headers in ({}, retry):
        signed = slack.signer.headers_for(body) | headers
        ack = await slack.http.post(f"{slack.bot_url}/slack/events", content=body, headers=signed)
        assert ack.status_code == 200
        await quiescent()
    # The same message delivered under another event id (Slack does not promise otherwise).
    await slack.event(message_event(message))
    await quiescent()
    assert await outbound(slack, card.id) == ["Once"]
    assert len(slack.fake.calls_to("reactions.add")) == 1


async def test_the_mirror_does_not_post_the_reply_back_into_the_thread(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    assert await mirror(slack) == 0
    await writes(slack, card, "On its way")
    assert await mirror(slack) == 0  # the reply came back from Infobip as OUTBOUND: skipped
    await customer_writes(slack, card.id, "Thanks!")
    assert await mirror(slack) == 1  # what the customer writes next is posted
    drawn = [m.text + texts(m.blocks) for m in replies(slack, card.message)]
    assert sum("On its way" in text for text in drawn) == 1  # the person's own message only
    assert "Thanks!" in drawn[-1]


async def test_a_reply_still_being_sent_holds_the_mirror_back_until_its_id_is_known(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    records = slack.serving.runtime.slack.thread_replies.records
    # As if a thread message were being sent (claimed) while the mirror polls: Infobip has the
    # reply, but its id is not on record yet.
    assert await records.claim(CHANNEL, "1700000000.000100", "message", card.id, "sending")
    actor = await slack.serving.runtime.slack.identity.actor(ANA)
    sent = await slack.service.transcripts.reply(actor, card.id, "In flight")
    assert await mirror(slack) == 0
    await records.settle(CHANNEL, "1700000000.000100", "sent", sent.message.id)
    assert await mirror(slack) == 0
    await customer_writes(slack, card.id, "Got it")
    assert await mirror(slack) == 1
    drawn = [texts(m.blocks) for m in replies(slack, card.message)]
    assert not any("In flight" in text for text in drawn)


# --- what is not sent ----------------------------------------------------------------------------


async def test_the_bots_own_and_other_bots_messages_are_ignored(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    own = slack.fake.store_message(CHANNEL, text="From the bot", thread_ts=card.message.ts)
    await slack.event(message_event(own) | {"bot_id": slack.fake.bot_id})
    other = slack.fake.store_message(CHANNEL, text="A bot", user=BEN, thread_ts=card.message.ts)
    await slack.event(message_event(other) | {"subtype": "bot_message", "bot_id": "B0OTHER01"})
    await quiescent()
    assert await outbound(slack, card.id) == []
    assert slack.fake.calls_to("reactions.add") == []


async def test_messages_outside_a_conversations_thread_are_ignored(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    in_channel = slack.fake.store_message(CHANNEL, text="Not in a thread", user=ANA)
    await slack.event(message_event(in_channel))
    chatter = slack.fake.store_message(CHANNEL, text="Side chat", user=BEN)
    under = slack.fake.store_message(CHANNEL, text="Reply", user=ANA, thread_ts=chatter.ts)
    await slack.event(message_event(under))
    await quiescent()
    assert await outbound(slack, card.id) == []
    assert slack.fake.calls_to("reactions.add") == [] and slack.ephemeral_for(ANA) == []


async def test_an_edit_is_not_sent_and_its_author_is_told_once(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    message = await writes(slack, card, "Its on its way")
    for text in ("It's on its way", "It is on its way"):
        await slack.event(message_changed(message, text))
        await quiescent()
    assert await outbound(slack, card.id) == ["Its on its way"]
    [said] = told(slack, ANA, card)
    assert "Edits are not sent to the customer" in said and "write a new message" in said.lower()
    # An unfurl is a message_changed without `edited`: no edit, nothing told.
    unfurled = message_changed(message, "Its on its way")
    del unfurled["message"]["edited"]
    await slack.event(unfurled)
    await quiescent()
    assert len(told(slack, ANA, card)) == 1


async def test_a_deleted_reply_is_said_to_be_with_the_customer_already(
    slack: SlackHarness,
) -> None:
    card = await a_thread(slack)
    message = await writes(slack, card, "Oops")
    await slack.event(message_deleted(message))
    await quiescent()
    [said] = told(slack, ANA, card)
    assert "does not take it back" in said


async def test_a_file_is_not_sent_and_its_author_is_told(slack: SlackHarness) -> None:
    card = await a_thread(slack)
    files = [{"id": "F0FILE0001", "name": "label.pdf", "mimetype": "application/pdf"}]
    message = await writes(slack, card, "The label", subtype="file_share", files=files)
    assert await outbound(slack, card.id) == []
    assert reactions(message) == {"warning": [slack.fake.bot_user_id]}
    [said] = told(slack, ANA, card)
    assert "Files are not sent to the customer" in said


# --- Slack's own payloads ------------------------------------------------------------------------


def fixture(name: str) -> dict[str, Any]:
    loaded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return copy.deepcopy(loaded)


async def test_slacks_own_message_event_in_a_thread_is_sent(slack: SlackHarness) -> None:
    """events/message.json (bolt-python) with convbot's ids, made a reply in the thread: Slack
    adds `thread_ts` and `parent_user_id` to a thread's reply (its message event reference)."""
    card = await a_thread(slack)
    payload = fixture("events/message.json")
    stored = slack.fake.store_message(
        CHANNEL, text=payload["event"]["text"], user=ANA, thread_ts=card.message.ts
    )
    event = payload["event"]
    event.update(user=ANA, channel=CHANNEL, team=TEAM_ID, ts=stored.ts, event_ts=stored.ts)
    event.update(thread_ts=card.message.ts, parent_user_id=slack.fake.bot_user_id)
    payload.update(team_id=TEAM_ID, api_app_id=slack.fake.app_id)
    body = json.dumps(payload)
    ack = await slack.http.post(
        f"{slack.bot_url}/slack/events", content=body, headers=slack.signer.headers_for(body)
    )
    assert ack.status_code == 200
    await quiescent()
    assert await outbound(slack, card.id) == ["Hello World!"]
    assert reactions(stored) == {"white_check_mark": [slack.fake.bot_user_id]}


async def test_slacks_own_message_changed_event_in_a_thread_is_told_not_sent(
    slack: SlackHarness,
) -> None:
    """events/message_changed.json: its edited `message` carries no ts (the previous one's is
    the message's); made a reply in the thread, the edit is told, not sent."""
    card = await a_thread(slack)
    original = await writes(slack, card, "original message")
    payload = fixture("events/message_changed.json")
    event = payload["event"]
    event["channel"] = CHANNEL
    event["message"].update(user=ANA, thread_ts=card.message.ts)
    event["previous_message"].update(user=ANA, ts=original.ts, thread_ts=card.message.ts)
    payload.update(team_id=TEAM_ID, api_app_id=slack.fake.app_id)
    body = json.dumps(payload)
    ack = await slack.http.post(
        f"{slack.bot_url}/slack/events", content=body, headers=slack.signer.headers_for(body)
    )
    assert ack.status_code == 200
    await quiescent()
    assert await outbound(slack, card.id) == ["original message"]
    [said] = told(slack, ANA, card)
    assert "Edits are not sent" in said


async def test_a_thread_keeps_to_what_it_announced_when_the_channel_is_switched(
    tmp_path: Path,
) -> None:
    """Colleagues talked in a `note` thread; the channel is then switched to `customer`: what
    they write in that thread is still a note, never sent to the customer."""
    fake = fake_workspace()
    async with running_bot(tmp_path, config=config("note"), fake=fake) as slack:
        card = await a_thread(slack)
    async with running_bot(tmp_path, config=config("customer"), fake=fake) as slack:
        await writes(slack, card, "Between us: the courier lost it")
        assert await outbound(slack, card.id) == []
        assert await notes(slack, card.id) == ["Between us: the courier lost it"]
        newer = await a_thread(slack, "Opened after the switch")
        await writes(slack, newer, "It is on its way")
        assert await outbound(slack, newer.id) == ["It is on its way"]
