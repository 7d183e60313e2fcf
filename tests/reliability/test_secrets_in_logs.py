"""Nothing the bot logs, even at DEBUG, carries the Slack token, the signing secret or the
Infobip API key: driven through Slack against the Infobip emulator, refusals and errors included."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.slack.blocks import ids
from tests.conftest import EMULATOR_KEY, emulated_infobip
from tests.slack_harness import SECRET, TOKEN, running_bot


async def test_a_debug_log_holds_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with emulated_infobip(tmp_path) as (base_url, _store):
        settings = {"infobip_base_url": base_url, "infobip_api_key": EMULATOR_KEY}
        async with running_bot(tmp_path, **settings) as slack:
            card = await slack.create("Printer on fire priority:urgent")
            await (await slack.command("list priority:urgent")).answer()
            await (await slack.command("show nosuchid")).answer()
            await (await slack.command("frobnicate")).answer()
            await (await slack.press(card.message, ids.TAKE)).answer()
            forged = await slack.post("command=%2Fconv&text=list", timestamp=1)  # stale, unsigned
            assert forged.status_code == 401

    logged = caplog.text
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"bot", "slack_sdk", "httpx"} <= loggers, loggers  # the run's DEBUG log was captured
    for secret in (TOKEN, SECRET, EMULATOR_KEY):
        assert secret not in logged, f"{secret[:6]}… appears in the DEBUG log"
