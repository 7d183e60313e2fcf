"""Escalation through Slack: the Escalate button pages whoever is on call by DM, Acknowledge on
the page ends it and every page is redrawn, a second acknowledgement changes nothing."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.cli.main import _conv
from bot.slack.blocks import buttons as button_table
from bot.state.db import create_engine, migrate
from bot.state.escalations import EscalationStatus, EscalationStore
from bot.state.tables import job_ticks
from bot.state.ticks import TickClaims
from bot.timestamps import utcnow
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    CLEO,
    action_ids,
    eventually,
    fake_workspace,
    running_bot,
    texts,
    walk,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

ONCALL: dict[str, Any] = {
    "oncall": {
        "schedules": [
            {
                "name": "primary",
                "rotation": {"users": [BEN], "shift": "7d", "start": "2026-01-05T09:00"},
            }
        ],
        "policies": [
            {
                "name": "default",
                "steps": [
                    {"notify": ["schedule:primary"], "wait": "5m"},
                    {"notify": [f"user:{CLEO}"], "wait": "5m"},
                ],
            }
        ],
    }
}


async def test_escalate_pages_the_on_call_user_and_acknowledge_settles_every_page(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:high")

        await slack.press(card.message, button_table.ESCALATE.id)

        await slack.settle("chat.postMessage", 1)  # the page (the card came by response_url)
        [page] = slack.dms_to(BEN)
        shown = texts(page.blocks)
        assert "You are being paged" in shown and "step 1 of 2" in shown
        assert "Printer on fire" in shown and f"<@{ANA}>" in shown
        redrawn = await eventually(
            lambda: [
                r for r in slack.fake.responses if "Paging" in texts(r.body.get("blocks") or [])
            ]
        )
        assert f"Escalated under policy default. Paging <@{BEN}> now (step 1 of 2)." in texts(
            redrawn[-1].body["blocks"]
        )
        conversation = await slack.conversation(card.id)
        assert conversation.priority.value == "URGENT" and "escalated" in (conversation.tags or [])

        stale = copy.deepcopy(page)  # as another device still shows it
        await slack.press(page, button_table.PAGE_ACK.id, user=BEN)

        await slack.settle("chat.update", 1)  # the page
        settled = slack.fake.message(page.channel, page.ts)
        assert settled is not None
        assert f"Acknowledged by <@{BEN}>" in texts(settled.blocks)
        assert button_table.PAGE_ACK.id not in texts(settled.blocks)
        assert "acknowledge" in await slack.actions(card.id)

        again = await (await slack.press(stale, button_table.PAGE_ACK.id, user=CLEO)).answer()
        assert again.response_type == "ephemeral" and "already acknowledged" in again.text
        assert slack.dms_to(CLEO) == []  # step 2 never came


FAST: dict[str, Any] = {
    "scheduler": {"escalation_sweep": "1s"},
    "oncall": {
        **ONCALL["oncall"],
        "policies": [
            {
                "name": "default",
                "steps": [
                    {"notify": ["schedule:primary"], "wait": "1s"},
                    {"notify": [f"user:{CLEO}"], "wait": "1h"},
                ],
            },
        ],
    },
}


async def test_a_step_paged_before_its_notice_was_recorded_is_shown_on_the_notice(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=FAST) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        # Slack takes the channel's notice at once and answers late: step 2, a second later,
        # is paged before the bot knows where its notice is, so the pager cannot redraw it.
        slack.fake.fail("chat.postMessage", delay=2.5, match={"channel": CHANNEL})
        notice = await slack.escalate(card.id, seconds=10)
        await eventually(lambda: slack.dms_to(CLEO), seconds=10)
        await eventually(lambda: f"Paging <@{CLEO}> now (step 2 of 2)." in notice.text, seconds=10)


async def test_escalate_command_then_the_next_step_then_acknowledge_ends_every_page(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=FAST) as slack:
        card = await slack.create("Printer on fire priority:urgent")

        notice = await slack.escalate(f'{card.id} policy:default "customer is waiting"')

        assert f"<@{ANA}> escalated *Printer on fire*" in notice.text
        assert f"Paging <@{BEN}> now (step 1 of 2)." in notice.text
        [first] = slack.dms_to(BEN)
        assert "customer is waiting" in texts(first.blocks)

        # The first step waits 1 s; the sweep (every 1 s) then pages step 2.
        await slack.settle("chat.postMessage", 3)  # the notice, then a page each step
        [second] = slack.dms_to(CLEO)
        assert "step 2 of 2" in texts(second.blocks)
        await eventually(lambda: f"Paging <@{CLEO}> now (step 2 of 2)." in notice.text)

        async def on_step_two() -> bool:  # the page is out before its step is committed
            [active] = await EscalationStore(slack.serving.runtime.engine).active()
            return active.step == 2

        await eventually(on_step_two)
        listing = await (await slack.command("escalations")).answer()
        assert "step 2 of 2" in texts(listing.blocks) and "Printer on fire" in texts(listing.blocks)

        await slack.press(second, button_table.PAGE_ACK.id, user=CLEO)

        await slack.settle("chat.update", 4)  # the notice at step 2; both pages and it again
        for page in (first, second):
            shown = slack.fake.message(page.channel, page.ts)
            assert shown is not None and f"Acknowledged by <@{CLEO}>" in texts(shown.blocks)
        told = texts(notice.blocks)
        assert f"Paged <@{BEN}>, <@{CLEO}>." in told and "Paging" not in told
        assert f"Acknowledged by <@{CLEO}> " in told and "after the page" in told
        await asyncio.sleep(2.5)  # two more sweeps: nothing else is sent
        assert len(slack.fake.calls_to("chat.postMessage")) == 3
        listing = await (await slack.command("escalations")).answer()
        assert "No escalations are running" in listing.text


async def test_escalating_twice_tells_who_is_being_paged(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)

        again = await (await slack.command(f"escalate {card.id}", user=CLEO)).answer()

        assert again.response_type == "ephemeral"
        assert "already being escalated" in again.text and f"<@{BEN}>" in again.text
        assert len(slack.dms_to(BEN)) == 1


async def test_take_on_a_page_acknowledges_and_assigns(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)

        await slack.press(page, button_table.PAGE_TAKE.id, user=BEN)

        await slack.settle(
            "chat.update", 4
        )  # acknowledged, then redrawn with its agent (page, notice)
        assert (await slack.conversation(card.id)).agentId == "agent-ben"
        assert f"Acknowledged by <@{BEN}>" in texts(page.blocks)
        assert "*Agent*\\n<@" + BEN in texts(page.blocks)


async def test_take_after_someone_acknowledged_leaves_the_conversation_to_them(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)
        stale = copy.deepcopy(page)
        await slack.press(page, button_table.PAGE_TAKE.id, user=BEN)
        await slack.settle("chat.update", 4)  # the page and the notice, twice

        late = await (await slack.press(stale, button_table.PAGE_TAKE.id, user=ANA)).answer()

        assert "already acknowledged" in late.text and "assigned to you" not in late.text
        assert (await slack.conversation(card.id)).agentId == "agent-ben"


async def test_acknowledge_needs_the_permission_when_it_is_restricted(tmp_path: Path) -> None:
    config = {**ONCALL, "permissions": {"acknowledge": {"users": [BEN]}}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)

        refused = await (await slack.press(page, button_table.PAGE_ACK.id, user=CLEO)).answer()

        assert refused.response_type == "ephemeral" and "acknowledge escalations" in refused.text
        [active] = await EscalationStore(slack.serving.runtime.engine).active()
        assert active.status.value == "active"


async def test_closing_the_conversation_resolves_its_pages(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)

        await (await slack.command(f"close {card.id}")).answer()

        await slack.settle("chat.update", 1)
        assert "Resolved: the conversation was closed" in texts(page.blocks)


async def test_oncall_now_and_at_a_time_in_the_viewers_zone(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        now = await (await slack.command("oncall")).answer()
        assert now.response_type == "ephemeral"
        assert "On call now" in texts(now.blocks) and f"<@{BEN}>" in texts(now.blocks)

        later = await (await slack.command('oncall primary at:"2026-12-25 03:00"')).answer()
        assert "On call at <!date^" in texts(later.blocks)

        unknown = await (await slack.command("oncall nightly")).answer()
        assert "No on-call schedule named 'nightly'" in unknown.text


async def test_escalate_without_policies_says_how_to_configure_them(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        answer = await (await slack.command(f"escalate {card.id}")).answer()
        assert answer.response_type == "ephemeral" and "not configured" in answer.text


async def test_whoever_comes_on_call_gets_a_summary_dm_once(tmp_path: Path) -> None:
    handed_over = (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    config = {
        "scheduler": {"escalation_sweep": "1s"},
        "oncall": {
            "schedules": [
                {
                    "name": "primary",
                    "rotation": {"users": [BEN, CLEO], "shift": "1d", "start": handed_over},
                }
            ]
        },
    }
    async with running_bot(tmp_path, config=config) as slack:
        await slack.create("Printer on fire priority:urgent")

        await eventually(lambda: slack.dms_to(BEN), seconds=5)
        await asyncio.sleep(2.5)  # more sweeps: still one notice

        [notice] = slack.dms_to(BEN)
        shown = texts(notice.blocks)
        assert "You are now on call for *primary* until <!date^" in shown
        assert "Printer on fire" in shown and "1 open high-priority conversation" in shown
        assert slack.dms_to(CLEO) == []


async def test_a_handoff_notice_whose_claimant_died_before_sending_is_sent_by_another(
    tmp_path: Path,
) -> None:
    # Another replica claimed Ben's handoff ten minutes ago and died before sending it.
    handed_over = (utcnow() - timedelta(minutes=5)).replace(second=0, microsecond=0)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/state.db")
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(job_ticks).values(
                job_id="handoff:primary",
                scheduled_at=handed_over,
                claimed_by="replica-that-died",
                claimed_at=utcnow() - timedelta(minutes=10),
            )
        )
    await engine.dispose()
    config = {
        "scheduler": {"escalation_sweep": "1s", "tick_lease": "1m"},
        "oncall": {
            "schedules": [
                {
                    "name": "primary",
                    "rotation": {
                        "users": [BEN, CLEO],
                        "shift": "1d",
                        "start": handed_over.strftime("%Y-%m-%dT%H:%M"),
                    },
                }
            ]
        },
    }
    async with running_bot(tmp_path, config=config) as slack:
        await eventually(lambda: slack.dms_to(BEN), seconds=5)
        await asyncio.sleep(2.5)  # more sweeps: still one notice
        assert len(slack.dms_to(BEN)) == 1
        ticks = TickClaims(slack.serving.runtime.engine, "reader")
        record = await ticks.last("handoff:primary")
        assert record is not None and record.claimed_by != "replica-that-died"
        assert record.finished_at is not None and record.error is None


async def test_escalate_on_a_digest_item_pages_and_redraws_the_item(tmp_path: Path) -> None:
    config = {**ONCALL, "digests": [{"name": "support", "channel": CHANNEL, "cron": "0 0 1 1 *"}]}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:high")
        await (await slack.command("digest support")).answer()
        digest = slack.channel_messages()[-1]

        note = await (
            await slack.press(digest, button_table.DIGEST_ESCALATE.id, card=card.id)
        ).answer()

        assert note.response_type == "ephemeral" and f"Paging <@{BEN}> now" in note.text
        assert len(slack.dms_to(BEN)) == 1
        await slack.settle("chat.update", 1)
        shown = slack.fake.message(digest.channel, digest.ts)
        assert shown is not None and "#escalated" in texts(shown.blocks)


async def test_escalating_needs_only_the_escalate_permission(tmp_path: Path) -> None:
    config = {**ONCALL, "permissions": {"update": {"users": [BEN]}, "tag": {"users": [BEN]}}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:high")

        await slack.escalate(card.id, user=CLEO)

        conversation = await slack.conversation(card.id)
        assert conversation.priority.value == "URGENT" and "escalated" in (conversation.tags or [])


async def test_a_page_never_pings_through_its_topic(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create('"<!channel> checkout down" priority:urgent')
        await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)
        assert "<!channel>" not in page.text and "&lt;!channel&gt;" in page.text
        mrkdwn = [n["text"] for n in walk(page.blocks) if n.get("type") == "mrkdwn"]
        assert mrkdwn and not [t for t in mrkdwn if "<!channel>" in t]  # plain_text never pings


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [action for action in action_ids(blocks) if action != "None"]


async def test_an_acknowledged_page_keeps_take_while_nobody_has_the_conversation(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        notice = await slack.escalate(card.id)
        [page] = slack.dms_to(BEN)

        await slack.press(page, button_table.PAGE_ACK.id, user=BEN)

        await slack.settle("chat.update", 2)  # the page and the channel's notice
        assert f"Acknowledged by <@{BEN}>" in texts(page.blocks)
        assert buttons(page.blocks) == [button_table.PAGE_TAKE.id]  # no second Acknowledge
        told = texts(notice.blocks)
        assert f"Paged <@{BEN}>." in told
        assert f"Acknowledged by <@{BEN}> under a minute after the page" in told
        assert "Paging" not in told

        taken = await (await slack.press(page, button_table.PAGE_TAKE.id, user=BEN)).answer()

        assert taken.text.startswith("It is yours now")
        assert (await slack.conversation(card.id)).agentId == "agent-ben"
        await slack.settle("chat.update", 4)
        assert buttons(page.blocks) == []  # someone has it now


async def test_the_channels_escalation_notice_says_resolved_when_closed_even_after_a_restart(
    tmp_path: Path,
) -> None:
    fake = fake_workspace()
    async with running_bot(tmp_path, config=ONCALL, fake=fake) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        notice = await slack.escalate(card.id)
        assert f"Paging <@{BEN}> now (step 1 of 2)." in notice.text

    async with running_bot(tmp_path, config=ONCALL, fake=fake) as slack:  # another process
        await (await slack.command(f"close {card.id}", user=CLEO)).answer()

        await slack.settle("chat.update", 2)  # the page and the notice
        told = texts(notice.blocks)
        assert "Resolved: the conversation was closed" in told and f"<@{CLEO}>" in told
        assert f"Paged <@{BEN}>." in told and "Paging" not in told


async def test_escalate_where_the_bot_cannot_post_answers_by_response_url(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:urgent")

        answer = await (await slack.command(f"escalate {card.id}", channel="DANA00001")).answer()

        assert answer.response_type == "in_channel"
        assert f"Paging <@{BEN}> now (step 1 of 2)." in answer.text


async def test_a_close_from_the_cli_ends_the_escalation_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`convbot conv close` builds its runtime through the composition root, as the server
    does, so the close hook is there: the escalation ends with the close (its page redrawn),
    not at a serving replica's next sweep (5 minutes away here)."""
    config = {**ONCALL, "scheduler": {"escalation_sweep": "5m"}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:high")
        await slack.press(card.message, button_table.ESCALATE.id)
        await slack.settle("chat.postMessage", 1)
        [page] = slack.dms_to(BEN)
        store = EscalationStore(slack.serving.runtime.engine)
        escalation = await store.active_for(card.id)
        assert escalation is not None

        assert await _conv(slack.serving.runtime.settings, ["close", card.id], False) == 0

        assert "CLOSED" in capsys.readouterr().out
        assert await store.active_for(card.id) is None
        ended = await store.get(escalation.id)
        assert ended is not None and ended.status is EscalationStatus.RESOLVED
        assert ended.ended_by is not None and ended.ended_by.startswith("cli:")
        settled = slack.fake.message(page.channel, page.ts)
        assert settled is not None and button_table.PAGE_ACK.id not in texts(settled.blocks)


async def test_a_close_from_a_cli_without_a_slack_token_leaves_the_escalation_to_the_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a token the CLI could end the escalation but never redraw its pages, which would
    then offer Acknowledge on a resolved page for good. The serving bot ends it when its next
    step falls due, as it does a close made in Infobip itself (the page still live till then)."""
    config = {**ONCALL, "scheduler": {"escalation_sweep": "5m"}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:high")
        await slack.press(card.message, button_table.ESCALATE.id)
        await slack.settle("chat.postMessage", 1)
        [page] = slack.dms_to(BEN)
        store = EscalationStore(slack.serving.runtime.engine)
        tokenless = slack.serving.runtime.settings.model_copy(update={"slack_bot_token": None})

        assert await _conv(tokenless, ["close", card.id], False) == 0

        assert "CLOSED" in capsys.readouterr().out
        assert await store.active_for(card.id) is not None  # not ended where it can't be redrawn
        assert slack.fake.calls_to("chat.update") == []  # the CLI asked nothing of Slack
        assert button_table.PAGE_ACK.id in texts(slack.fake.message(page.channel, page.ts).blocks)
