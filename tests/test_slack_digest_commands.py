"""`/conv digest [name]` posts a digest in the channel now; `/conv schedules` lists the digests.

Both are Slack-only: the listener answers them before the executor, which refuses them for the CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.errors import InvalidInput
from bot.models import Actor
from bot.service.conversations import ConversationService
from bot.state.ticks import TickClaims
from tests.slack_harness import ANA, BEN, CHANNEL, SlackHarness, running_bot, texts

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

# Jan 1st at 00:00 only, so the scheduler's start-up catch-up never posts during a test.
QUIET_CRON = "0 0 1 1 *"
SUPPORT_HIGH = {
    "name": "support-high",
    "channel": CHANNEL,
    "cron": QUIET_CRON,
    "timezone": "Europe/Zagreb",
    "filter": {"priority": ["URGENT", "HIGH"]},
}
ALL_OPEN = {
    "name": "all_open",
    "channel": "COTHER0001",
    "every": "30m",
    "filter": {"priority": ["URGENT", "HIGH", "NORMAL", "LOW"]},
}
DIGESTS: dict[str, Any] = {"digests": [SUPPORT_HIGH, ALL_OPEN]}


def digest_posts(slack: SlackHarness, channel: str = CHANNEL) -> list[Any]:
    return [
        call
        for call in slack.fake.calls_to("chat.postMessage")
        if call.args.get("channel") == channel
    ]


async def test_digest_posts_in_the_channel_and_confirms_to_the_typist(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        await slack.create("Printer on fire priority:urgent")
        await slack.create("Refund twice priority:high")
        await slack.create("Font too small priority:low")
        before = len(digest_posts(slack))

        answer = await (await slack.command("digest support-high")).answer()

        assert answer.response_type == "ephemeral"
        assert answer.text == "Posted digest support-high: 2 conversations."
        [post] = digest_posts(slack)[before:]
        shown = texts(post.args.get("blocks") or [])
        assert "Printer on fire" in shown and "Refund twice" in shown
        assert "Font too small" not in shown
        # A manual run is not a tick: the schedule shows no last run.
        listing = await (await slack.command("schedules")).answer()
        assert "Last run: —" in texts(listing.blocks)


async def test_digest_without_a_name_posts_the_first_configured(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        answer = await (await slack.command("digest")).answer()
        assert answer.text.startswith("Posted digest support-high:")
        assert len(digest_posts(slack)) == 1


async def test_unknown_digest_lists_the_configured_names(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        answer = await (await slack.command("digest nightly")).answer()
        assert answer.response_type == "ephemeral"
        assert "No digest named 'nightly'" in answer.text
        assert "support-high" in answer.text and "all_open" in answer.text
        assert digest_posts(slack) == []


async def test_digest_with_none_configured_posts_the_default(slack: SlackHarness) -> None:
    await slack.create("Printer on fire priority:urgent")
    await slack.create("Font too small priority:low")
    answer = await (await slack.command("digest")).answer()
    assert answer.response_type == "ephemeral"
    assert answer.text == "Posted digest default: 1 conversation."
    [post] = digest_posts(slack)
    shown = texts(post.args.get("blocks") or [])
    assert "Printer on fire" in shown and "Font too small" not in shown


async def test_digest_in_a_channel_without_the_bot_says_to_invite_it(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        slack.fake.add_channel("COUTSIDE01", "outside", is_member=False)
        answer = await (await slack.command("digest", channel="COUTSIDE01")).answer()
        assert answer.response_type == "ephemeral"
        assert "/invite @convbot" in answer.text


async def test_digest_is_refused_without_the_permission(tmp_path: Path) -> None:
    config = {**DIGESTS, "permissions": {"digest": {"users": [ANA]}}}
    async with running_bot(tmp_path, config=config) as slack:
        answer = await (await slack.command("digest support-high", user=BEN)).answer()
        assert answer.response_type == "ephemeral"
        assert answer.text.startswith("You can't post digests")
        assert digest_posts(slack) == []
        assert "denied" in await slack.actions()


async def test_schedules_lists_name_channel_and_next_run(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        answer = await (await slack.command("schedules")).answer()
        assert answer.response_type == "ephemeral"
        shown = texts(answer.blocks)
        assert "support-high" in shown and "all_open" in shown
        assert f"<#{CHANNEL}>" in shown and "<#COTHER0001>" in shown
        assert "cron 0 0 1 1 * (Europe/Zagreb)" in shown and "every 30 min" in shown
        assert "Next run: <!date^" in shown
        assert "Last error: —" in shown


async def test_schedules_with_none_configured_points_at_the_config(slack: SlackHarness) -> None:
    answer = await (await slack.command("schedules")).answer()
    assert answer.response_type == "ephemeral"
    assert "`digests:`" in answer.text and "convbot.yml" in answer.text


async def test_schedules_shows_the_last_tick_and_its_error(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=DIGESTS) as slack:
        ticks = TickClaims(slack.serving.runtime.engine, "test-replica")
        at = datetime(2026, 1, 1, tzinfo=UTC)
        assert await ticks.claim("digest:support-high", at)
        await ticks.finish("digest:support-high", at, "Slack said not_in_channel: <invite>")
        shown = texts((await (await slack.command("schedules")).answer()).blocks)
        assert f"Last run: <!date^{int(at.timestamp())}^" in shown
        assert "Slack said not_in_channel: &lt;invite&gt;" in shown


async def test_the_executor_sends_the_cli_to_slack_or_convbot_digest() -> None:
    actor = Actor(id="cli:x", surface="cli")
    for text, elsewhere in (
        ("digest support-high", "`convbot digest <name>`"),
        ("schedules", "under `digests:` in convbot.yml"),
    ):
        with pytest.raises(InvalidInput) as info:
            await execute(parse(text), cast(ConversationService, None), actor)
        assert "works in Slack: type" in info.value.message
        assert elsewhere in info.value.message
