"""Escalation through Slack: the Escalate button pages whoever is on call by DM, Acknowledge on
the page ends it and every page is redrawn, a second acknowledgement changes nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bot.slack.blocks import ids
from tests.slack_harness import ANA, BEN, CLEO, running_bot, texts

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

        await slack.press(card.message, ids.ESCALATE)

        await slack.settle("chat.postMessage", 1)  # the page (the card came by response_url)
        [page] = slack.dms_to(BEN)
        shown = texts(page.blocks)
        assert "You are being paged" in shown and "step 1 of 2" in shown
        assert "Printer on fire" in shown and f"<@{ANA}>" in shown
        conversation = await slack.conversation(card.id)
        assert conversation.priority.value == "URGENT" and "escalated" in (conversation.tags or [])

        stale = copy.deepcopy(page)  # as another device still shows it
        await slack.press(page, ids.PAGE_ACK, user=BEN)

        await slack.settle("chat.update", 1)  # the page
        settled = slack.fake.message(page.channel, page.ts)
        assert settled is not None
        assert f"Acknowledged by <@{BEN}>" in texts(settled.blocks)
        assert ids.PAGE_ACK not in texts(settled.blocks)
        assert "acknowledge" in await slack.actions(card.id)

        again = await (await slack.press(stale, ids.PAGE_ACK, user=CLEO)).answer()
        assert again.response_type == "ephemeral" and "already acknowledged" in again.text
        assert slack.dms_to(CLEO) == []  # step 2 never came
