"""/conv as Slack sends it: acks fast, answers through response_url, never shows a trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slack_harness import ANA, CHANNEL, SlackHarness, eventually, running_bot, texts


@pytest.fixture
async def slack(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(tmp_path) as harness:
        yield harness


async def test_create_acks_then_posts_the_card_in_channel(slack: SlackHarness) -> None:
    command = await slack.command("create Printer on fire priority:high #billing")
    assert command.ack.status_code == 200
    answer = await command.answer()
    assert answer.response_type == "in_channel"
    shown = texts(answer.blocks)
    assert "Printer on fire" in shown and "HIGH" in shown and "#billing" in shown
    [message] = slack.channel_messages(CHANNEL)
    assert "Printer on fire" in texts(message.blocks)


async def test_list_is_ephemeral(slack: SlackHarness) -> None:
    await (await slack.command("create First one")).answer()
    answer = await (await slack.command("list")).answer()
    assert answer.response_type == "ephemeral"
    assert "First one" in texts(answer.blocks)


async def test_a_parse_error_is_one_ephemeral_sentence(slack: SlackHarness) -> None:
    answer = await (await slack.command("craete x")).answer()
    assert answer.response_type == "ephemeral"
    assert "Did you mean `create`" in answer.text
    assert "Traceback" not in texts(answer.blocks)


async def test_bad_signature_is_401(slack: SlackHarness) -> None:
    response = await slack.http.post(
        f"{slack.bot_url}/slack/events",
        content="command=/conv&text=list",
        headers={"X-Slack-Signature": "v0=bad", "X-Slack-Request-Timestamp": "1"},
    )
    assert response.status_code == 401


async def test_take_button_updates_the_card_in_place(slack: SlackHarness) -> None:
    await (await slack.command("create Needs an owner")).answer()
    [message] = slack.channel_messages()
    response = await slack.press(message, "conv.take", user=ANA)
    assert response.status_code == 200
    after = await eventually(lambda: [m for m in slack.channel_messages() if m.edited])
    assert len(slack.channel_messages()) == 1
    assert f"<@{ANA}>" in texts(after[0].blocks)
    assert "conv.take" not in texts(after[0].blocks)  # hidden now that it is Ana's
