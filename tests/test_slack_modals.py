"""The create modal: opened within Slack's 3 s trigger window, filled in afterwards, and checked
before it closes so that a wrong field is shown where the person is looking."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.devtools.fakeslack import StoredView
from bot.models import Channel, ConversationFilter, Priority
from tests.slack_harness import (
    ANA,
    CARD_BUTTONS,
    EDIT,
    SlackHarness,
    action_ids,
    select_value,
    text_value,
    texts,
)
from tests.test_slack_safety import wait_for_metric

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

REQUESTS = "convbot_slack_requests_total"


async def open_create_modal(slack: SlackHarness) -> StoredView:
    command = await slack.command("create")
    assert command.ack.status_code == 200
    [update] = await slack.settle("views.update")
    assert update.ok, update.error
    return slack.fake.views[update.args["view_id"]]


def create_values(topic: str = "", **fields: Any) -> dict[str, Any]:
    """The create modal's `state.values` as Slack sends them; unset fields come back empty."""
    return {
        "topic": {"topic": text_value(topic)},
        "summary": {"summary": text_value(fields.get("summary", ""))},
        "priority": {"priority": select_value(fields.get("priority", "NORMAL"))},
        "channel": {"channel": select_value(fields.get("channel", "NO_CHANNEL"))},
        "queue": {"queue": select_value(fields.get("queue"))},
        "tags": {"tags": text_value(fields.get("tags", ""))},
    }


async def nothing_created(slack: SlackHarness) -> bool:
    page = await slack.service.find(ConversationFilter())
    return page.totalItems == 0 and await slack.audit() == []


async def test_create_without_text_opens_the_modal_before_any_backend_call(
    slack: SlackHarness,
) -> None:
    backend_calls = slack.spy_on_backend()
    command = await slack.command("create")
    [update] = await slack.settle("views.update")
    methods = [call.method for call in slack.fake.calls]
    opened_at = methods.index("views.open")
    assert slack.fake.calls[opened_at].args["trigger_id"] == command.trigger_id
    assert "Loading" in texts(slack.fake.calls[opened_at].args["view"]["blocks"])
    assert methods.index("views.update") > opened_at
    assert backend_calls, "the queues come from the backend"
    assert all(slack_calls_before > opened_at for _, slack_calls_before in backend_calls)
    filled = texts(update.args["view"]["blocks"])
    assert "Billing" in filled and "VIP" in filled and "General" in filled
    assert slack.fake.responses == []  # no chat message: the modal is the answer


async def test_an_empty_topic_is_refused_inline_and_creates_nothing(slack: SlackHarness) -> None:
    view = await open_create_modal(slack)
    answer = await slack.submit(view, create_values(""))
    assert answer.status_code == 200
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"topic": "Give the conversation a topic."},
    }
    assert await nothing_created(slack)


async def test_a_1001_character_topic_is_refused_inline(slack: SlackHarness) -> None:
    view = await open_create_modal(slack)
    answer = await slack.submit(view, create_values("x" * 1001))
    body = answer.json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {"topic": "The topic is 1001 characters; the limit is 1000."}
    assert await nothing_created(slack)


async def test_a_bad_tag_is_refused_under_the_tags_input(slack: SlackHarness) -> None:
    view = await open_create_modal(slack)
    answer = await slack.submit(view, create_values("Tagged", tags="ok no/slash"))
    body = answer.json()
    assert body["response_action"] == "errors" and list(body["errors"]) == ["tags"]
    assert await nothing_created(slack)


async def test_a_valid_submit_creates_it_and_dms_the_card(slack: SlackHarness) -> None:
    view = await open_create_modal(slack)
    values = create_values(
        "Invoice twice",
        summary="Paid on the 3rd and the 4th",
        priority="HIGH",
        channel="EMAIL",
        queue="q-billing",
        tags="billing, #vip",
    )
    answer = await slack.submit(view, values)
    assert answer.status_code == 200 and answer.text == ""  # the modal closes
    [dm] = await slack.settle("chat.postMessage")
    assert dm.args["channel"] == ANA and dm.ok
    shown = texts(dm.args["blocks"])
    assert "Invoice twice" in shown and "Paid on the 3rd" in shown and "#billing #vip" in shown
    assert set(CARD_BUTTONS) <= set(action_ids(dm.args["blocks"]))
    [created] = (await slack.service.find(ConversationFilter())).items
    assert (created.topic, created.priority, created.channel, created.queueId) == (
        "Invoice twice",
        Priority.HIGH,
        Channel.EMAIL,
        "q-billing",
    )
    assert await slack.actions(created.id) == ["create", "tag"]
    assert [m.text for m in slack.dms_to(ANA)] == [dm.args["text"]]


async def test_the_modal_is_a_valid_slack_view(slack: SlackHarness) -> None:
    view = await open_create_modal(slack)
    assert view.view["callback_id"] == "conv.create_modal"
    assert view.view["submit"]["text"] == "Create"
    inputs = {block["block_id"] for block in view.blocks if block["type"] == "input"}
    assert inputs == {"topic", "summary", "priority", "channel", "queue", "tags"}
    assert json.dumps(view.blocks)  # accepted by the fake's Block Kit checks above


async def test_a_form_slack_will_not_open_is_explained(slack: SlackHarness) -> None:
    slack.fake.fail_next("views.open", status=200, error="expired_trigger_id")
    answer = await (await slack.command("create")).answer()
    assert answer.response_type == "ephemeral"
    assert "Slack did not open the form (expired_trigger_id)" in answer.text
    assert "/conv create &lt;topic words&gt;" in answer.text
    assert slack.fake.calls_to("views.update") == []


async def closed_while_loading(slack: SlackHarness, open_it: Any) -> list[Any]:
    """Open a form, close it while Slack's answer to views.open is on its way (the person
    pressed Cancel on "Loading…"), and return the bot's views.update calls."""
    slack.fake.fail("views.open", delay=0.3)
    await open_it()
    await slack.settle("views.open")
    slack.fake.close_view(next(v.id for v in slack.fake.views.values() if v.type == "modal"))
    return await slack.settle("views.update")


async def test_a_create_form_closed_before_it_was_filled_in_is_not_an_error(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    command = None

    async def open_it() -> None:
        nonlocal command
        command = await slack.command("create")

    [update] = await closed_while_loading(slack, open_it)
    assert update.error == "not_found"  # what Slack answers for a view its person closed
    await wait_for_metric(slack, REQUESTS, kind="command", name="create-modal", outcome="ok")
    assert command is not None and command.answers() == []  # nothing to tell: they chose it
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_edit_form_closed_before_it_was_filled_in_is_not_an_error(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    card = await slack.create("Edit me later")
    press = None

    async def open_it() -> None:
        nonlocal press
        press = await slack.press(card.message, EDIT)

    [update] = await closed_while_loading(slack, open_it)
    assert update.error == "not_found"
    await wait_for_metric(slack, REQUESTS, kind="action", name="edit", outcome="ok")
    assert press is not None and press.answers() == []
    assert slack.fake.calls_to("views.update")[1:] == []  # no "problem" view drawn over it
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
