"""Digest items are live: Take, Escalate, Close and Snooze act once and redraw the item in place.

The digest is posted with `/conv digest` into the fake Slack, then its buttons are pressed with
signed block_actions carrying the message, as Slack sends them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import DigestSchedule
from bot.devtools.fakeslack.records import StoredMessage
from bot.models import Actor, ConversationPatch, Status
from bot.slack.blocks import buttons
from bot.slack.blocks.digest import HEAD_BLOCK
from bot.timestamps import utcnow
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    SlackHarness,
    eventually,
    running_bot,
    selected,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback, digests ticking.
pytestmark = pytest.mark.slow

QUIET_CRON = "0 0 1 1 *"  # the scheduler never posts on its own during a test
SUPPORT_HIGH = {"name": "support-high", "channel": CHANNEL, "cron": QUIET_CRON}
CONFIG: dict[str, Any] = {"digests": [SUPPORT_HIGH]}
ADMIN = Actor(id="test", surface="cli")


def head_text(message: StoredMessage) -> str:
    head = next(b for b in message.blocks if str(b.get("block_id", "")).startswith(HEAD_BLOCK))
    return str(head["text"]["text"])


def is_digest(message: StoredMessage) -> bool:
    return any(str(b.get("block_id", "")).startswith(HEAD_BLOCK) for b in message.blocks)


async def post_digest(slack: SlackHarness) -> StoredMessage:
    answer = await (await slack.command("digest support-high")).answer()
    assert answer.text.startswith("Posted digest"), answer.text
    return [m for m in slack.channel_messages() if is_digest(m)][-1]


async def redrawn(slack: SlackHarness, message: StoredMessage, updates: int) -> StoredMessage:
    """The digest message once the bot has edited it `updates` times in all."""
    await eventually(
        lambda: (
            len([c for c in slack.fake.calls_to("chat.update") if c.args.get("ts") == message.ts])
            >= updates
        )
    )
    found = slack.fake.message(message.channel, message.ts)
    assert found is not None
    return found


def item_text(message: StoredMessage, conversation_id: str) -> str:
    block = next(b for b in message.blocks if b.get("block_id") == f"dsec|{conversation_id}")
    return str(block["text"]["text"])


async def test_take_redraws_the_item_and_totals_in_place(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        await slack.create("Refund twice priority:high")
        digest = await post_digest(slack)
        assert head_text(digest).startswith("2 open high-priority conversations")

        await slack.press(digest, buttons.DIGEST_TAKE.id, card=fire.id)

        shown = await redrawn(slack, digest, 1)
        assert "<@" + ANA + ">" in item_text(shown, fire.id)
        assert head_text(shown).startswith("2 open high-priority conversations")
        assert (await slack.conversation(fire.id)).agentId == "agent-ana"
        assert "assign" in await slack.actions(fire.id)
        # Every other block is as it was.
        assert [b.get("block_id") for b in shown.blocks] == [
            b.get("block_id") for b in digest.blocks
        ]


async def test_close_draws_the_item_closed_and_lowers_the_totals(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        await slack.create("Refund twice priority:high")
        digest = await post_digest(slack)

        await slack.press(digest, buttons.DIGEST_CLOSE.id, card=fire.id)

        shown = await redrawn(slack, digest, 1)
        assert "closed" in item_text(shown, fire.id)
        assert head_text(shown) == "1 open high-priority conversation — 1 HIGH"
        assert not [b for b in shown.blocks if b["type"] == "actions" and fire.id in b["block_id"]]
        assert (await slack.conversation(fire.id)).status is Status.CLOSED


async def test_snooze_hides_the_item_from_digests_shows_on_cards_and_is_audited(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        await slack.create("Refund twice priority:high")
        digest = await post_digest(slack)

        await slack.press(
            digest, buttons.DIGEST_SNOOZE.id, card=fire.id, selected_option=selected("4h")
        )

        shown = await redrawn(slack, digest, 1)
        assert ":zzz: snoozed until <!date^" in item_text(shown, fire.id)
        assert head_text(shown) == "1 open high-priority conversation — 1 HIGH"
        [entry] = [e for e in await slack.audit(fire.id) if e.action == "snooze"]
        assert entry.actor == ANA and entry.before == {"snoozedUntil": None}
        until = (await slack.service.snoozed([fire.id]))[fire.id]
        assert timedelta(hours=3, minutes=59) < until - utcnow() <= timedelta(hours=4)

        # The next digest leaves it out and says one is snoozed.
        again = await post_digest(slack)
        assert "Printer on fire" not in texts(again.blocks)
        assert "1 snoozed" in texts(again.blocks)
        # Its card says so.
        card = await (await slack.command(f"show {fire.id}")).answer()
        assert "Snoozed until <!date^" in texts(card.blocks)


async def test_a_press_on_a_changed_item_does_nothing_and_says_so(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest = await post_digest(slack)
        await slack.service.update(ADMIN, fire.id, ConversationPatch(topic="Toner"))

        sent = await slack.press(digest, buttons.DIGEST_CLOSE.id, card=fire.id, user=BEN)

        note = await sent.answer()
        assert note.response_type == "ephemeral" and "out of date" in note.text
        assert (await slack.conversation(fire.id)).status is not Status.CLOSED
        shown = await redrawn(slack, digest, 1)
        assert "Toner" in item_text(shown, fire.id)


async def test_two_presses_on_one_item_version_act_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest = await post_digest(slack)

        await asyncio.gather(
            slack.press(digest, buttons.DIGEST_TAKE.id, card=fire.id, user=ANA),
            slack.press(digest, buttons.DIGEST_TAKE.id, card=fire.id, user=BEN),
        )

        await redrawn(slack, digest, 1)

        def refusals() -> list[object]:
            said = [str(p.body.get("text", "")) for p in slack.fake.responses]
            return [text for text in said if text.startswith("Already")]

        # The loser's refusal and the winner's redraw race each other: waited for, then counted.
        await eventually(refusals)
        await quiescent()
        assert len(refusals()) == 1
        assert (await slack.actions(fire.id)).count("assign") == 1


async def test_a_burst_of_presses_makes_one_update_per_second_and_keeps_every_change(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        cards = [await slack.create(f"Outage {n} priority:urgent") for n in range(5)]
        digest = await post_digest(slack)
        started = time.monotonic()

        for card in cards:
            await slack.press(digest, buttons.DIGEST_CLOSE.id, card=card.id)

        async def all_closed() -> bool:
            await asyncio.sleep(0)
            message = slack.fake.message(digest.channel, digest.ts)
            assert message is not None
            return all("closed" in item_text(message, c.id) for c in cards)

        await eventually(all_closed, seconds=10)
        await quiescent()  # the edit still waiting out the debounce has gone out now
        updates = [c for c in slack.fake.calls_to("chat.update") if c.args.get("ts") == digest.ts]
        elapsed = time.monotonic() - started
        assert 1 <= len(updates) <= int(elapsed) + 1, (len(updates), elapsed)
        final = slack.fake.message(digest.channel, digest.ts)
        assert (
            final is not None and head_text(final) == "No open high-priority conversations. :tada:"
        )


async def test_escalate_on_a_digest_says_it_is_not_configured(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest = await post_digest(slack)
        note = await (await slack.press(digest, buttons.DIGEST_ESCALATE.id, card=fire.id)).answer()
        assert note.response_type == "ephemeral" and "Escalation is not configured" in note.text


async def test_a_broken_digest_button_gets_a_readable_answer(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest = await post_digest(slack)
        note = await (
            await slack.press(digest, buttons.DIGEST_TAKE.id, card=fire.id, value="{oops")
        ).answer()
        assert note.response_type == "ephemeral" and "broken" in note.text


# --- edit_in_place and channels the bot is not in -----------------------------------------------


async def _jobs(slack: SlackHarness) -> Any:
    return slack.serving.runtime.jobs.digests


async def test_edit_in_place_posts_once_then_edits_that_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        jobs = await _jobs(slack)
        schedule = DigestSchedule(
            name="in-place", channel=CHANNEL, cron=QUIET_CRON, edit_in_place=True
        )
        posts_before = len(slack.fake.calls_to("chat.postMessage"))

        await jobs.post(schedule, await jobs.build(schedule))
        await slack.service.close(ADMIN, fire.id)
        await jobs.post(schedule, await jobs.build(schedule))  # empty: still redrawn in place

        assert len(slack.fake.calls_to("chat.postMessage")) == posts_before + 1
        [update] = slack.fake.calls_to("chat.update")
        message = slack.fake.message(CHANNEL, str(update.args["ts"]))
        assert message is not None and head_text(message).startswith("No open")

        # The message was deleted: the next tick posts a new one and edits that from then on.
        slack.fake.messages.pop((CHANNEL, message.ts))
        await jobs.post(schedule, await jobs.build(schedule))
        assert len(slack.fake.calls_to("chat.postMessage")) == posts_before + 2


async def test_a_digest_joins_a_public_channel_it_is_not_in(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=CONFIG) as slack:
        await slack.create("Printer on fire priority:urgent")
        slack.fake.add_channel("CPUBLIC001", "public", is_member=False)
        jobs = await _jobs(slack)
        schedule = DigestSchedule(name="elsewhere", channel="CPUBLIC001", cron=QUIET_CRON)

        await jobs.post(schedule, await jobs.build(schedule))

        assert [c.method for c in slack.fake.calls[-3:]] == [
            "chat.postMessage",
            "conversations.join",
            "chat.postMessage",
        ]
        assert len(slack.fake.messages_in("CPUBLIC001")) == 1
