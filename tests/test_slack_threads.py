"""A conversation's transcript in a Slack thread (issue 18 item 2), as Slack sends the presses:
the Thread button opens one thread per conversation and channel, draws each message by who
wrote it, notes apart, attachments as links and customer text escaped; "Older messages" shows
the page before to the presser; cards drawn in the channel link to the thread; an `auto`
channel opens the thread of every card the bot posts there."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.fakeslack import StoredMessage
from bot.messages import Message, MessageCreate
from bot.slack.blocks import buttons
from bot.timestamps import utcnow
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    DAVE,
    Card,
    SlackHarness,
    eventually,
    fake_workspace,
    running_bot,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

THREAD, OLDER = buttons.THREAD.id, buttons.OLDER.id
CUSTOMER, OUR_NUMBER = "385991234567", "447492263897"


def inbound(text: str = "", **content: Any) -> MessageCreate:
    """What the customer writes by SMS: `text`, or other content (`url=`: an image)."""
    kind = "IMAGE" if "url" in content else "TEXT"
    body = {
        "from": CUSTOMER,
        "to": OUR_NUMBER,
        "channel": "SMS",
        "contentType": kind,
        "content": content or {"text": text},
    }
    return MessageCreate.model_validate(body)


async def customer_writes(
    slack: SlackHarness, conversation_id: str, text: str = "", **content: Any
) -> Message:
    """An inbound message into the embedded store, as the emulator's inbound endpoint adds it."""
    store = slack.serving.runtime.backend
    written = await store.receive_message(conversation_id, inbound(text, **content))  # type: ignore[attr-defined]
    assert isinstance(written, Message)
    return written


def replies(slack: SlackHarness, root: StoredMessage) -> list[StoredMessage]:
    """The thread's replies under `root`, oldest first."""
    return [
        m
        for m in slack.channel_messages(root.channel)
        if m.thread_ts == root.ts and m.ts != root.ts
    ]


async def open_thread(slack: SlackHarness, card: Card, user: str = ANA) -> list[StoredMessage]:
    """Press Thread on the card; the thread's replies once it has opened (its permalink asked)."""
    before = len(slack.fake.calls_to("chat.getPermalink"))
    await slack.press(card.message, THREAD, user)
    await slack.fake.wait_for("chat.getPermalink", count=before + 1)
    return replies(slack, card.message)


async def test_thread_opens_one_transcript_drawn_by_author_with_notes_apart(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Parcel lost")
    await customer_writes(slack, card.id, "Where is my parcel?")
    await (await slack.command(f"take {card.id}")).answer()  # Ana's reply names her
    await slack.service.transcripts.reply(
        await slack.serving.runtime.slack.identity.actor(ANA), card.id, "Looking into it"
    )
    await customer_writes(slack, card.id, url="https://cdn.example.com/receipt.png")
    await slack.service.transcripts.note(
        await slack.serving.runtime.slack.identity.actor(ANA), card.id, "Courier is DHL"
    )

    thread = await open_thread(slack, card)

    transcript, notes = thread
    drawn = texts(transcript.blocks)
    assert "The latest" not in drawn and "All 3 messages" in drawn
    assert drawn.index("Where is my parcel?") < drawn.index("Looking into it")
    assert f":bust_in_silhouette: *Customer* ({CUSTOMER})" in drawn
    assert f":headphones: *Agent* <@{ANA}>" in drawn
    assert ":paperclip: image: <https://cdn.example.com/receipt.png>" in drawn
    assert drawn.count("<!date^") == 3  # each reader sees their own time zone
    assert "Courier is DHL" not in drawn  # notes are never drawn as messages
    assert ":lock: Internal notes" in texts(notes.blocks)
    assert f":lock: *Internal note* by <@{ANA}>" in texts(notes.blocks)
    assert "Courier is DHL" in texts(notes.blocks)
    assert OLDER not in str(transcript.blocks)  # everything is shown

    # A second press (by someone else) opens nothing: it is told where the thread is.
    again = await slack.press(card.message, THREAD, BEN)
    answer = await again.answer()
    assert answer.response_type == "ephemeral"
    assert "already has a thread in this channel" in answer.text
    assert f"/archives/{CHANNEL}/p{card.message.ts.replace('.', '')}" in answer.text
    assert len(replies(slack, card.message)) == 2


async def test_two_presses_at_once_open_one_thread(slack: SlackHarness) -> None:
    card = await slack.create("Pressed twice")
    await customer_writes(slack, card.id, "Hello?")
    first, second = await asyncio.gather(
        slack.press(card.message, THREAD, ANA), slack.press(card.message, THREAD, BEN)
    )
    told = await eventually(lambda: first.answers() + second.answers())
    assert "already has a thread" in told[0].text
    await slack.fake.wait_for("chat.getPermalink", count=2)
    assert len(replies(slack, card.message)) == 1


async def test_a_hostile_customer_text_neither_pings_nor_pretends(slack: SlackHarness) -> None:
    card = await slack.create("Phishing")
    attack = "<!channel> log in at <https://evil.example|bank.com> @here &amp"
    await customer_writes(slack, card.id, attack)
    [transcript] = await open_thread(slack, card)
    drawn = texts(transcript.blocks)
    for forbidden in ("<!channel>", "<https://evil.example|bank.com>"):
        assert forbidden not in drawn and forbidden not in transcript.text
    assert (
        "&lt;!channel&gt; log in at &lt;https://evil.example|bank.com&gt; @here &amp;amp" in drawn
    )
    # Slack is told not to link or mention anything in it by itself.
    assert all(
        block["text"].get("verbatim") for block in transcript.blocks if block["type"] == "section"
    )


async def test_a_long_transcript_is_cut_to_slacks_limits(slack: SlackHarness) -> None:
    card = await slack.create("Chatty")
    for n in range(12):
        await customer_writes(slack, card.id, f"{n} " + "x" * 4000)
    thread = await open_thread(slack, card)
    assert len(thread) >= 2  # over one message's text budget: split, nothing refused
    for reply in thread:
        assert len(reply.blocks) <= 50
        assert sum(len(str(b)) for b in reply.blocks) < 13_000


async def test_older_messages_are_shown_to_the_presser_in_the_thread(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config={"threads": {"latest": 2}}) as slack:
        card = await slack.create("Many words")
        for n in range(5):
            await customer_writes(slack, card.id, f"message {n}")
        [transcript] = await open_thread(slack, card)
        assert "The latest 2 of 5 messages" in texts(transcript.blocks)
        assert "message 3" in texts(transcript.blocks) and "message 2" not in texts(
            transcript.blocks
        )

        await slack.press(transcript, OLDER, DAVE)  # unlinked people may read
        [older] = await eventually(lambda: slack.ephemeral_for(DAVE))
        assert older.thread_ts == card.message.ts
        assert "message 1" in texts(older.blocks) and "message 2" in texts(older.blocks)
        assert "message 3" not in texts(older.blocks)

        await slack.press_ephemeral(older, OLDER)
        oldest = await eventually(lambda: slack.ephemeral_for(DAVE)[1:])
        assert "message 0" in texts(oldest[0].blocks)
        assert OLDER not in str(oldest[0].blocks)  # nothing older remains


async def test_older_messages_keeps_a_message_of_the_oldest_shown_millisecond(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path, config={"threads": {"latest": 2}}) as slack:
        card = await slack.create("One millisecond")
        at = utcnow().replace(microsecond=0)
        moments = iter([at - timedelta(seconds=2), at - timedelta(seconds=1), at, at, at])
        store = slack.serving.runtime.backend
        monkeypatch.setattr(store, "_clock", lambda: next(moments))
        for n in range(5):  # the last three in one millisecond
            await customer_writes(slack, card.id, f"message {n}")
        monkeypatch.undo()
        [transcript] = await open_thread(slack, card)
        assert "message 4" in texts(transcript.blocks) and "message 2" not in texts(
            transcript.blocks
        )
        await slack.press(transcript, OLDER, DAVE)
        [older] = await eventually(lambda: slack.ephemeral_for(DAVE))
        # The page before holds the third message of that millisecond, then the one before.
        assert "message 2" in texts(older.blocks) and "message 1" in texts(older.blocks)
        assert "message 3" not in texts(older.blocks)
        await slack.press_ephemeral(older, OLDER)
        oldest = await eventually(lambda: slack.ephemeral_for(DAVE)[1:])
        assert "message 0" in texts(oldest[0].blocks) and "message 2" not in texts(oldest[0].blocks)


async def test_cards_drawn_in_the_channel_link_to_its_thread(slack: SlackHarness) -> None:
    card = await slack.create("Linked")
    await open_thread(slack, card)
    shown = await (await slack.command(f"show {card.id}")).answer()
    link = f"https://{slack.fake.team_domain}.slack.com/archives/{CHANNEL}/p"
    assert f":thread: <{link}{card.message.ts.replace('.', '')}|" in texts(shown.blocks)
    elsewhere = await (await slack.command(f"show {card.id}", channel="COTHER0001")).answer()
    assert "Open the conversation's thread" not in texts(elsewhere.blocks)


async def test_thread_on_a_card_only_the_presser_sees_posts_the_card_for_it(
    slack: SlackHarness,
) -> None:
    card = await slack.create("Private look")
    await (await slack.command(f"show {card.id}")).answer()
    [shown] = await eventually(lambda: slack.ephemeral_for(ANA))
    before = len(slack.channel_messages())
    await slack.press_ephemeral(shown, THREAD)
    await slack.fake.wait_for("chat.getPermalink")
    posted = slack.channel_messages()[before]
    assert posted.thread_ts is None and card.id in texts(posted.blocks)
    assert "No messages yet" in texts(replies(slack, posted)[0].blocks)


async def test_an_auto_channel_opens_the_thread_of_every_card_posted_there(
    tmp_path: Path,
) -> None:
    config = {"threads": {"channels": {CHANNEL: {"auto": True}}}}
    async with running_bot(tmp_path, config=config) as slack:
        sent = await slack.command("create Auto threaded")
        await slack.fake.wait_for("chat.getPermalink")
        [card] = [m for m in slack.channel_messages() if m.thread_ts is None]
        assert "Auto threaded" in texts(card.blocks)
        [opened] = replies(slack, card)
        assert "No messages yet" in texts(opened.blocks)
        assert sent.answers() == []  # the card is the answer, posted once


AUTO_FAST = {"threads": {"poll_interval": "1s", "channels": {CHANNEL: {"auto": True}}}}


def in_thread(args: dict[str, object]) -> bool:
    return args.get("thread_ts") is not None


async def test_a_thread_slacks_pace_put_off_is_opened_by_the_mirror_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=AUTO_FAST) as slack:
        # Slack keeps refusing the thread's first post for the channel's pace, past the
        # client's own retries: the card stays, and its thread waits for the mirror's turn.
        slack.fake.fail("chat.postMessage", status=429, retry_after=1, times=4, match=in_thread)
        await slack.command("create Put off")
        [card] = await eventually(lambda: [m for m in slack.channel_messages() if not m.thread_ts])
        opened = await eventually(lambda: replies(slack, card), seconds=20)
        store = slack.serving.runtime.slack.threads.store

        async def handed_over() -> bool:  # the mirror's worker records it after the post
            thread = await store.by_root(CHANNEL, card.ts)
            return thread is not None and thread.posting_id is None  # open, as any other

        await eventually(handed_over)
        await quiescent()
        assert len(replies(slack, card)) == 1 and "No messages yet" in texts(opened[0].blocks)


async def test_a_put_off_transcript_of_two_posts_is_posted_once_at_the_channels_pace(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config={"threads": {"poll_interval": "1s"}}) as slack:
        card = await slack.create("Long and put off")
        for n in range(8):  # two posts' worth
            await customer_writes(slack, card.id, f"long {n}: " + "x" * 2300)
        slack.fake.fail("chat.postMessage", status=429, retry_after=1, times=4, match=in_thread)
        await slack.press(card.message, THREAD)  # a press put off like an auto channel's card
        store = slack.serving.runtime.slack.threads.store

        async def handed_over() -> bool:
            thread = await store.find(card.id, CHANNEL)
            return thread is not None and thread.posting_id is None and thread.cursor_version > 0

        await eventually(handed_over, seconds=20)
        shown = " ".join(texts(m.blocks) for m in replies(slack, card.message))
        assert [shown.count(f"long {n}:") for n in range(8)] == [1] * 8
        made = [
            c.time
            for c in slack.fake.calls_to("chat.postMessage")
            if c.ok and c.args.get("thread_ts") == card.message.ts
        ]
        assert len(made) >= 2 and all(b - a >= 0.95 for a, b in itertools.pairwise(made)), made


async def test_a_burst_of_cards_in_an_auto_channel_gets_every_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.threads")
    async with running_bot(tmp_path, config=AUTO_FAST) as slack:
        await asyncio.gather(*(slack.command(f"create Burst {n}") for n in range(12)))

        def threaded() -> bool:
            cards = [m for m in slack.channel_messages() if not m.thread_ts]
            # A card Slack refused outright is answered through response_url: it has no ts the
            # bot learns, so no thread (Thread on it opens one). Every other card has its own.
            posted = {c.args.get("text") for c in slack.fake.calls_to("chat.postMessage") if c.ok}
            mine = [c for c in cards if c.text in posted]
            return len(mine) >= 8 and all(len(replies(slack, c)) == 1 for c in mine)

        await eventually(threaded, seconds=40)
        await quiescent()
        assert threaded()
        # Usually some waited for the channel's pace (not asserted: how many of the bot's own
        # retries Slack lets through depends on the machine's timing; the two tests above put
        # a thread off for certain).
        waited = sum("waits for Slack's pace" in r.getMessage() for r in caplog.records)
        print(f"threads put off for Slack's pace: {waited}")
        slack.fake.violations.clear()  # a 429 is Slack's answer, not a rule the bot broke


async def test_a_public_channel_is_joined_and_a_private_one_asks_for_an_invite(
    tmp_path: Path,
) -> None:
    fake = fake_workspace()
    fake.add_channel("CPUBLIC01", "public", is_member=False)
    fake.add_channel("CPRIVATE1", "private", is_private=True, is_member=False)
    async with running_bot(tmp_path, fake=fake) as slack:
        public = await slack.create("In public", channel="CPUBLIC01")
        await open_thread(slack, public)
        assert "No messages yet" in texts(replies(slack, public.message)[0].blocks)

        private = await slack.create("In private", channel="CPRIVATE1")
        refused = await (await slack.press(private.message, THREAD)).answer()
        assert refused.response_type == "ephemeral"
        assert "invite it with `/invite @convbot` and press Thread again" in refused.text
        fake.channels["CPRIVATE1"].is_member = True  # invited
        await open_thread(slack, private)
        assert "No messages yet" in texts(replies(slack, private.message)[0].blocks)
