"""Nothing the bot logs, even at DEBUG, carries the Slack token, the signing secret or the
Infobip API key: driven through Slack against the Infobip emulator, refusals and errors included.

Nor a response_url (whoever holds one may post to the channel for 30 minutes) or a password in
a URL: those are hidden by the filter `bot.logs.configure_logging` puts on its handler, so that
test logs through `configure_logging` itself, at DEBUG for every library, and reads what it
wrote, as a log pipeline would.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import configure_logging
from bot.slack.blocks import buttons
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
            await (await slack.press(card.message, buttons.TAKE.id)).answer()
            forged = await slack.post("command=%2Fconv&text=list", timestamp=1)  # stale, unsigned
            assert forged.status_code == 401

    logged = caplog.text
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"bot", "slack_sdk", "httpx"} <= loggers, loggers  # the run's DEBUG log was captured
    for secret in (TOKEN, SECRET, EMULATOR_KEY):
        assert secret not in logged, f"{secret[:6]}… appears in the DEBUG log"


@pytest.fixture
def bot_log() -> Iterator[io.StringIO]:
    """The root logger as `convbot serve` sets it up at DEBUG, writing here; every library at
    DEBUG (httpx is capped at WARNING in production, so lift that too); restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    libraries = [
        logging.getLogger(name) for name in ("httpx", "httpcore", "slack_bolt", "slack_sdk")
    ]
    levels = [logger.level for logger in libraries]
    stream = io.StringIO()
    configure_logging("DEBUG", "text", stream)
    for logger in libraries:
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved
        for logger, level in zip(libraries, levels, strict=True):
            logger.setLevel(level)


async def test_a_debug_log_holds_no_response_url(tmp_path: Path, bot_log: io.StringIO) -> None:
    async with emulated_infobip(tmp_path) as (base_url, _store):
        settings = {"infobip_base_url": base_url, "infobip_api_key": EMULATOR_KEY}
        async with running_bot(tmp_path, **settings) as slack:
            card = await slack.create("Printer on fire priority:urgent")
            await (await slack.command("list priority:urgent")).answer()
            await (await slack.command("frobnicate")).answer()
            await (await slack.press(card.message, buttons.TAKE.id)).answer()
            await (await slack.press(card.message, buttons.ROUTE.id)).answer()
            tokens = {post.token for post in slack.fake.responses}
        # And a password in a URL, as an operator might log one (or a library, in an error).
        logging.getLogger("bot").warning("Infobip at https://ops:pa55-w0rd@infobip.example/x")

    logged = bot_log.getvalue()
    loggers = {
        line.split(" ")[3].rstrip(":").split(".")[0]
        for line in logged.splitlines()
        if line[:2] == "20" and len(line.split(" ")) > 3
    }
    # Bolt logs through the bot's logger (bot/slack/app.py hands it `logger=`).
    assert {"bot", "slack_sdk", "httpx"} <= loggers, sorted(loggers)  # DEBUG of them all
    assert len(tokens) >= 4, tokens  # each command and press got its own response_url
    for token in tokens:
        assert token not in logged, f"the response_url …/{token[:4]}… appears in the DEBUG log"
    assert "pa55-w0rd" not in logged and "https://ops:***@infobip.example/x" in logged
    for secret in (TOKEN, SECRET, EMULATOR_KEY):
        assert secret not in logged, f"{secret[:6]}… appears in the DEBUG log"


def test_a_json_log_hides_them_in_tracebacks_too() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        try:
            raise ConnectionError("no answer from postgresql://convbot:db-pw@db:5432/convbot")
        except ConnectionError:
            logging.getLogger("bot").exception("start-up failed")
    finally:
        root.handlers[:], root.level = saved
    logged = stream.getvalue()
    assert "postgresql://convbot:***@db:5432/convbot" in logged and "db-pw" not in logged
