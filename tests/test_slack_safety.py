"""What keeps the bot safe and honest: escaping, Block Kit limits, signatures, Slack's rate
limits, a backend that is down, permissions, and the metrics that show it all happened."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.fakeslack import app_home_opened, slash_command
from bot.models import ConversationFilter, Status
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    CLEO,
    CLOSE,
    EDIT,
    TAKE,
    TOKEN,
    Json,
    SlackHarness,
    eventually,
    running_bot,
    select_value,
    text_value,
    texts,
    walk,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

INJECTIONS = ("<!channel>", "<@UANA00001>", "<https://evil|click>")
TOPIC = "Alert <!channel> <@UANA00001> <https://evil|click> & co"


def as_slack_sends(text: str) -> str:
    """Slack HTML-escapes `&`, `<` and `>` in what people type after a slash command."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parsed_text(sent: list[Json]) -> str:
    """Everything Slack parses for mentions and links: all but plain_text and input values,
    which Slack shows exactly as given (and which must stay raw, or edits would corrupt them)."""
    parsed = copy.deepcopy(sent)
    for node in walk(parsed):
        if node.get("type") == "plain_text":
            node["text"] = ""
        if node.get("type") == "plain_text_input":
            node.pop("initial_value", None)
    return json.dumps(parsed, ensure_ascii=False)


# --- escaping -------------------------------------------------------------------------------------


async def test_user_text_is_escaped_in_everything_the_bot_sends(slack: SlackHarness) -> None:
    card = await slack.create(as_slack_sends(f'{TOPIC} summary:"also <!here> & <#C1>"'))
    assert (await slack.conversation(card.id)).topic == TOPIC  # stored as typed
    await (await slack.command(f"show {card.id}")).answer()
    await (await slack.command("list")).answer()
    await (await slack.command(as_slack_sends(f"assign {card.id} <!channel>"))).answer()
    await (await slack.press(card.message, TAKE, BEN)).answer()
    await slack.open_home(ANA)
    await slack.press(card.message, EDIT, BEN)
    [filled] = await slack.settle("views.update")
    modal = slack.fake.views[filled.args["view_id"]]
    await slack.submit(modal, {"topic": {"topic": text_value(TOPIC + "!")}}, BEN)
    await slack.settle("chat.postMessage")

    sent = slack.everything_sent()
    parsed = parsed_text(sent)
    for injection in (*INJECTIONS, "<!here>", "<#C1>"):
        assert injection not in parsed, injection
    assert "&lt;!channel&gt;" in parsed and "&amp; co" in parsed and "&lt;!here&gt;" in parsed
    assert "&amp;amp;" not in parsed  # escaped once, not twice
    headers = [n["text"]["text"] for n in walk(sent) if n.get("type") == "header"]
    assert TOPIC in headers  # plain_text is shown as written, never parsed
    assert (await slack.conversation(card.id)).topic == TOPIC + "!"


async def test_long_summary_and_sixty_tags_stay_within_block_kit_limits(
    slack: SlackHarness,
) -> None:
    summary = "word " * 700  # 3500 characters, longer than a section or an input holds
    tags = [f"tag-{n:02d}-{'x' * 60}" for n in range(60)]
    # Ten tags per command at most (TAGS_PER_COMMAND, bot/field_rules.py): the rest in `tag`
    # commands.
    first = " ".join(f"#{tag}" for tag in tags[:10])
    card = await slack.create(f'{"T" * 400} summary:"{summary}" {first}')
    for start in range(10, 60, 10):
        tagged = await (
            await slack.command(f"tag {card.id} {' '.join(tags[start : start + 10])}")
        ).answer()
        assert tagged.text.startswith("Tagged"), tagged.text
    slack.fake.responses.clear()
    current = await slack.conversation(card.id)
    assert current.summary == summary.strip() and len(current.tags or []) == 60
    await (await slack.command(f"show {card.id}")).answer()
    await (await slack.command("list")).answer()
    await (await slack.press(card.message, TAKE)).answer()
    await slack.open_home(ANA)
    await slack.press(card.message, EDIT)
    [filled] = await slack.settle("views.update")
    # Every call was accepted: the fake refuses (as Slack does) any block over a limit.
    assert [c.method for c in slack.fake.calls if not c.ok] == []
    assert len(slack.fake.responses) == 3  # show, list, take: all three arrived
    edit = texts(filled.args["view"]["blocks"])
    assert f"{len(current.summary or '')} characters, more than a Slack form holds" in edit


@pytest.mark.parametrize(
    ("blocks", "why"),
    [
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            "[json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "[json-pointer:/blocks/0/text/text]",
        ),
        ([{"type": "divider"}] * 51, "[json-pointer:/blocks]"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "[json-pointer:/blocks/0/fields]",
        ),
    ],
)
async def test_the_fake_refuses_what_slack_refuses(
    slack: SlackHarness, blocks: list[Json], why: str
) -> None:
    """So that the limits test above can fail: an over-limit block never reaches a channel."""
    client = AsyncWebClient(token=TOKEN, base_url=slack.fake.api_url)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    assert any(why in error for error in refused.value.response["errors"])
    assert slack.channel_messages() == []
    assert [v.error for v in slack.fake.violations] == ["invalid_blocks"]
    slack.fake.violations.clear()  # broken on purpose


async def test_the_edit_modal_never_cuts_a_long_summary(slack: SlackHarness) -> None:
    summary = "s" * 3500
    card = await slack.create(f'Long one summary:"{summary}"')
    await slack.press(card.message, EDIT)
    [filled] = await slack.settle("views.update")
    modal = slack.fake.views[filled.args["view_id"]]
    values = {
        "topic": {"topic": text_value("Long one, renamed")},
        "status": {"status": select_value("OPEN")},
        "priority": {"priority": select_value("NORMAL")},
    }
    await slack.submit(modal, values)
    await slack.settle("chat.postMessage")
    current = await slack.conversation(card.id)
    assert current.topic == "Long one, renamed" and current.summary == summary


# --- requests that are not from Slack -------------------------------------------------------------


def a_command_body() -> str:
    return slash_command(
        "list", user_id=ANA, channel_id=CHANNEL, response_url="http://x/", trigger_id="1"
    )


async def test_a_bad_signature_is_refused_with_401(slack: SlackHarness) -> None:
    body = a_command_body()
    headers = slack.signer.headers_for(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    response = await slack.http.post(f"{slack.bot_url}/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    assert slack.fake.calls == [] and slack.fake.responses == []


async def test_a_request_older_than_five_minutes_is_refused_with_401(slack: SlackHarness) -> None:
    response = await slack.post(a_command_body(), timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    fresh = await slack.post(a_command_body(), timestamp=int(time.time()) - 60)
    assert fresh.status_code == 200  # the same request, signed a minute ago, is fine


# --- Slack's rate limits --------------------------------------------------------------------------


async def test_rate_limited_calls_are_retried_and_arrive_once(slack: SlackHarness) -> None:
    card = await slack.create("Retry me")
    slack.fake.fail_next("response_url", retry_after=0)  # the card's redraw (Slack: 429)
    press = await slack.press(card.message, TAKE)
    await press.answer()
    assert card.message.edited and f"<@{ANA}>" in texts(card.blocks)
    assert len(press.answers()) == 1

    slack.fake.fail_next("views.publish", retry_after=0)
    await slack.event(app_home_opened(ANA))
    publishes = await slack.settle("views.publish", 2)
    assert [c.status for c in publishes] == [429, 200]
    assert slack.fake.home_view(ANA) is not None

    slack.fake.fail_next("chat.postMessage", retry_after=0)
    await slack.press(card.message, EDIT)
    [filled] = await slack.settle("views.update")
    modal = slack.fake.views[filled.args["view_id"]]
    await slack.submit(modal, {"topic": {"topic": text_value("Retried")}})
    posts = await slack.settle("chat.postMessage", 2)
    assert [c.status for c in posts] == [429, 200]
    assert len(slack.dms_to(ANA)) == 1  # arrived exactly once


# --- a backend that is down -----------------------------------------------------------------------


async def test_a_backend_that_is_down_is_one_sentence_and_not_ready(tmp_path: Path) -> None:
    async with running_bot(
        tmp_path, infobip_base_url="http://127.0.0.1:9", infobip_api_key="k"
    ) as slack:
        answer = await (await slack.command("list")).answer()
        assert answer.response_type == "ephemeral"
        assert len(answer.blocks) == 1 and "127.0.0.1" in answer.text
        assert "Traceback" not in answer.text and "\n" not in answer.text
        assert slack.channel_messages() == []
        health = await slack.http.get(f"{slack.bot_url}/healthz")
        ready = await slack.http.get(f"{slack.bot_url}/readyz")
        assert health.status_code == 200
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok" and "127.0.0.1" in ready.json()["backend"]
        failed = {"kind": "command", "name": "list", "outcome": "backend_error"}
        assert await wait_for_metric(slack, "convbot_slack_requests_total", **failed) == 1


async def test_ready_when_database_and_backend_answer(slack: SlackHarness) -> None:
    ready = await slack.http.get(f"{slack.bot_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "backend": "ok"}


# --- metrics --------------------------------------------------------------------------------------


def counter(metrics: str, metric: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    found = re.search(rf"^{metric}\{{{re.escape(wanted)}\}} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def wait_for_metric(slack: SlackHarness, metric: str, **labels: str) -> float:
    async def counted() -> float:
        return counter(await slack.metrics(), metric, **labels)

    return await eventually(counted)


async def test_metrics_count_commands_actions_and_backend_calls(slack: SlackHarness) -> None:
    card = await slack.create("Count me")
    await (await slack.command("craete typo")).answer()
    await (await slack.press(card.message, TAKE)).answer()
    await slack.open_home(ANA)
    requests = "convbot_slack_requests_total"
    home_opened = {"kind": "event", "name": "app_home_opened", "outcome": "ok"}
    await wait_for_metric(slack, requests, **home_opened)  # counted once the publish returns
    metrics = await slack.metrics()
    assert counter(metrics, requests, kind="command", name="create", outcome="ok") == 1
    assert counter(metrics, requests, kind="command", name="unknown", outcome="user_error") == 1
    assert "craete" not in metrics  # typos do not become labels
    assert counter(metrics, requests, kind="action", name="take", outcome="ok") == 1
    assert counter(metrics, requests, kind="event", name="app_home_opened", outcome="ok") == 1
    calls = "convbot_backend_calls_total"
    assert counter(metrics, calls, backend="local", method="create", outcome="ok") == 1
    assert counter(metrics, calls, backend="local", method="assign", outcome="ok") == 1
    assert counter(metrics, calls, backend="local", method="list", outcome="ok") >= 2
    assert "convbot_slack_request_seconds_bucket" in metrics


# --- permissions ----------------------------------------------------------------------------------

LEADS = "SLEADS001"
CLOSERS = {"permissions": {"close": {"users": [ANA], "usergroups": [LEADS]}}}


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with running_bot(tmp_path, config=CLOSERS) as harness:
        harness.fake.add_usergroup(LEADS, [CLEO])
        yield harness


async def assert_refused_to_close(slack: SlackHarness, answer: Any, conversation_id: str) -> None:
    assert answer.response_type == "ephemeral" and not answer.replace_original
    assert answer.text.startswith("You can't close conversations here — ask")
    # The people to ask are mentioned for real, not shown as escaped markup.
    assert f"<@{ANA}>" in texts(answer.blocks) and f"<!subteam^{LEADS}>" in texts(answer.blocks)
    assert (await slack.conversation(conversation_id)).status is Status.OPEN
    entries = await slack.audit(conversation_id)
    assert [e.action for e in entries] == ["create", "denied"]
    assert entries[-1].actor == BEN and entries[-1].after == {"action": "close"}


async def test_close_button_is_refused_to_someone_not_allowed(guarded: SlackHarness) -> None:
    card = await guarded.create("Guarded", user=ANA)
    backend = guarded.spy_on_backend()
    drawn = texts(card.blocks)
    answer = await (await guarded.press(card.message, CLOSE, BEN)).answer()
    await assert_refused_to_close(guarded, answer, card.id)
    assert texts(card.blocks) == drawn  # the card is left as it was
    assert [method for method, _ in backend if method == "patch"] == []


async def test_close_command_is_refused_to_someone_not_allowed(guarded: SlackHarness) -> None:
    card = await guarded.create("Guarded", user=ANA)
    answer = await (await guarded.command(f"close {card.id}", BEN)).answer()
    await assert_refused_to_close(guarded, answer, card.id)


async def test_a_member_of_the_allowed_group_may_close(guarded: SlackHarness) -> None:
    card = await guarded.create("Guarded", user=ANA)
    answer = await (await guarded.press(card.message, CLOSE, CLEO)).answer()
    assert answer.replace_original
    assert (await guarded.conversation(card.id)).status is Status.CLOSED
    assert await guarded.actions(card.id) == ["create", "close"]


async def test_other_actions_stay_open_to_everyone(guarded: SlackHarness) -> None:
    card = await guarded.create("Guarded", user=ANA)
    await (await guarded.press(card.message, TAKE, BEN)).answer()
    assert (await guarded.conversation(card.id)).agentId == "agent-ben"
    page = await guarded.service.find(ConversationFilter())
    assert page.totalItems == 1
