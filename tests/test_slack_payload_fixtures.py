"""Slack's own payloads, sent into the running bot: each is acknowledged and does what it should.

The payloads in tests/fixtures/slack are those Slack's SDK authors published (SOURCE.md there
names repository, commit, path and line for each). Each is adapted to convbot, and only where
convbot needs it: the acting user, the channel and the team become the fake workspace's (by
replacing the fixture's own ids wherever they occur), the response_url and trigger_id become
ones the fake Slack serves, and an action id, button value, callback id, command or form
values become convbot's own. Every other field stays as Slack wrote it (`adapt` checks that no
key went missing or appeared). The body is then signed as Slack signs it and POSTed over HTTP
to the bot, which runs against the fake Slack Web API on loopback.

For every payload: a 2xx, nothing logged at ERROR, and intake never says it is "not one Slack
sends". Each test then checks the visible effect: the response_url post, the Home published, the
conversation created or taken, the challenge echoed; an event convbot does not use gets its 200
and nothing else happens.

The recorded samples of java-slack-sdk (json-logs/samples) keep Slack's field set and JSON types
but blank every string; for those, the blanks Slack never leaves empty (envelope type, team, app
and event ids, the user's and channel's ids) are filled in, and the rest kept.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy import func, select

from bot.devtools.fakeslack import defaults
from bot.models import ConversationFilter
from bot.slack.blocks import buttons, modals
from bot.slack.listeners.shortcuts import NOTE_SHORTCUT
from bot.state.tables import slack_events
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    CHANNEL,
    TAKE,
    Card,
    SlackHarness,
    eventually,
    find_action,
    select_value,
    text_value,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
TEAM = defaults.TEAM_ID
Json = dict[str, Any]


# --- reading, adapting, sending -------------------------------------------------------------------


def fixture(name: str) -> Json:
    loaded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def form_fixture(name: str) -> dict[str, str]:
    text = (FIXTURES / name).read_text(encoding="utf-8").strip()
    return dict(parse_qsl(text, keep_blank_values=True))


def replaced(node: Any, ids_: dict[str, str]) -> Any:
    """`node` with every string equal to a key of `ids_` replaced by its value."""
    if isinstance(node, dict):
        return {key: replaced(value, ids_) for key, value in node.items()}
    if isinstance(node, list):
        return [replaced(value, ids_) for value in node]
    if isinstance(node, str):
        return ids_.get(node, node)
    return node


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{prefix}.{key}"
            yield from key_paths(value, f"{prefix}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from key_paths(value, f"{prefix}[{index}]")


def adapt(
    original: Json, ids_: dict[str, str], *, redrawn: tuple[str, ...] = (), **set_: Any
) -> Json:
    """The payload with convbot's ids; `set_` sets fields by path (`actions__0__value`).

    `redrawn` names subtrees that are convbot's own by nature (the message a button is on, a
    form's values) and may differ in shape; elsewhere no key is lost or added.
    """
    payload: Json = replaced(copy.deepcopy(original), ids_)
    for path, value in set_.items():
        *parents, last = path.split("__")
        node: Any = payload
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    def kept(paths: Iterator[str]) -> set[str]:
        return {p for p in paths if not any(p.startswith(f".{r}") for r in redrawn)}

    assert kept(key_paths(payload)) == kept(key_paths(original)), "a field was lost or added"
    return payload


def interaction_body(payload: Json) -> str:
    """An interaction as Slack posts it: form-encoded, the JSON in `payload`."""
    return urlencode({"payload": json.dumps(payload)})


async def send(
    slack: SlackHarness, body: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    signed = slack.signer.headers_for(body) | (headers or {})
    response = await slack.http.post(f"{slack.bot_url}/slack/events", content=body, headers=signed)
    assert 200 <= response.status_code < 300, (response.status_code, response.text[:300])
    return response


async def nothing_happens(slack: SlackHarness) -> None:
    """No Web API call but auth.test (Bolt's, once), and no response_url post, once the bot's
    work is done (tests/quiescence.py)."""
    await quiescent()
    assert [c.method for c in slack.fake.calls if c.method != "auth.test"] == []
    assert slack.fake.responses == []


@pytest.fixture(autouse=True)
def quiet_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing at ERROR, and intake takes every payload as one Slack sends."""
    with caplog.at_level(logging.INFO):
        yield
    # The bot runs in this process: its records are the test's (caplog.records would be
    # teardown's alone here).
    records = caplog.get_records("setup") + caplog.get_records("call")
    bad = [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR or "not one Slack sends" in r.getMessage()
    ]
    assert bad == []


def card_ref(card: Card) -> str:
    """What a card's buttons carry (its id and version): convbot's value for a button."""
    return str(find_action(card.blocks, TAKE)["value"])


# --- slash commands -------------------------------------------------------------------------------


async def test_a_slash_command_with_enterprise_fields(slack: SlackHarness) -> None:
    original = form_fixture("commands/slash_command.txt")
    response_url = slack.fake.new_response_url(CHANNEL, ANA)
    fields = adapt(
        original,
        {"W111": ANA, "C111": CHANNEL, "T111": TEAM},
        command="/conv",
        text="help",
        response_url=response_url,
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    assert fields["enterprise_id"] == "E111"  # as Slack wrote it
    await send(slack, urlencode(fields))
    [answer] = await eventually(lambda: slack.fake.responses)
    assert answer.response_type == "ephemeral"
    assert "Work on conversations" in texts(answer.blocks)


# --- block_actions --------------------------------------------------------------------------------


async def test_a_button_on_an_ephemeral_message(slack: SlackHarness) -> None:
    """Slack sends no `message` for an ephemeral one, only its container: the row's View."""
    card = await slack.create("Printer on fire")
    slack.fake.responses.clear()
    original = fixture("interactivity/block_actions_ephemeral.json")
    payload = adapt(
        original,
        {"W111": ANA, "C111": CHANNEL, "T111": TEAM},
        actions__0__action_id=buttons.SHOW.id,
        actions__0__value=card_ref(card),
        response_url=slack.fake.new_response_url(CHANNEL, ANA, message_ts="111.222"),
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    await send(slack, interaction_body(payload))
    [answer] = await eventually(lambda: slack.fake.responses)
    assert answer.response_type == "ephemeral" and not answer.replace_original
    assert card.id in texts(answer.blocks)


async def test_a_button_on_a_channel_message(slack: SlackHarness) -> None:
    """Take on a card: the message the button was on is convbot's card, as Slack carries it."""
    card = await slack.create("Printer on fire")
    slack.fake.responses.clear()
    take = find_action(card.blocks, TAKE)
    original = fixture("interactivity/block_actions_message.json")
    payload = adapt(
        original,
        {"U111": ANA, "C111": CHANNEL, "T0G9PQBBK": TEAM},
        redrawn=("message",),
        message=card.message.as_slack(),
        container__message_ts=card.message.ts,
        actions__0__action_id=TAKE,
        actions__0__block_id=take["block_id"],
        actions__0__value=take["value"],
        response_url=slack.fake.new_response_url(CHANNEL, ANA, message_ts=card.message.ts),
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    await send(slack, interaction_body(payload))
    [answer] = await eventually(lambda: slack.fake.responses)
    assert answer.replace_original
    assert (await slack.conversation(card.id)).agentId == "agent-ana"


async def test_a_button_on_the_home_tab(slack: SlackHarness) -> None:
    original = fixture("interactivity/block_actions_home.json")
    payload = adapt(
        original,
        {"U123": ANA, "T123": TEAM},
        actions__0__action_id=buttons.HOME_REFRESH.id,
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    await send(slack, interaction_body(payload))
    await slack.settle("views.publish")
    home = slack.fake.home_view(ANA)
    assert home is not None and home.type == "home"


async def test_a_card_button_with_a_confirm_dialog_on_the_home_tab(slack: SlackHarness) -> None:
    """A press on Home carries the button's `confirm`; Take applies and Home is redrawn."""
    card = await slack.create("Printer on fire")
    original = fixture("interactivity/block_actions_home_confirm.json")
    payload = adapt(
        original,
        {"U12345678": ANA, "T12345678": TEAM},
        redrawn=("actions[0].value",),  # Slack's button had none; convbot's carry the card
        actions__0__action_id=TAKE,
        actions__0__value=card_ref(card),
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    await send(slack, interaction_body(payload))
    await slack.settle("views.publish")
    assert (await slack.conversation(card.id)).agentId == "agent-ana"
    home = slack.fake.home_view(ANA)
    assert home is not None and "Printer on fire" in texts(home.blocks)


async def test_a_select_in_a_modal_convbot_does_not_know(slack: SlackHarness) -> None:
    """convbot's modals have no elements that dispatch actions, so a press in one is from an
    older convbot: acknowledged, and nothing said (a modal press has no response_url)."""
    payload = adapt(
        fixture("interactivity/block_actions_modal.json"),
        {"U12345678": ANA, "T12345678": TEAM},
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    assert "response_url" not in payload and payload["view"]["type"] == "modal"
    await send(slack, interaction_body(payload))
    await nothing_happens(slack)


async def test_a_message_shortcut(slack: SlackHarness) -> None:
    """The note shortcut used on a person's message: the form opens, prefilled with the
    message (its `<@W222>` mention made a name) and its link."""
    original = fixture("interactivity/message_action.json")
    slack.fake.add_user("W222", "wanda", "wanda@example.com")
    message = slack.fake.store_message(CHANNEL, text=original["message"]["text"], user=ANA)
    payload = adapt(
        original,
        {"W111": ANA, "C111": CHANNEL, "T111": TEAM},
        redrawn=("message",),
        message=message.as_slack(),
        message_ts=message.ts,
        callback_id=NOTE_SHORTCUT,
        response_url=slack.fake.new_response_url(CHANNEL, ANA),
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    await send(slack, interaction_body(payload))
    [update] = await slack.settle("views.update")
    assert update.ok, update.error
    shown = texts(update.args["view"]["blocks"])
    assert "@wanda test" in shown and f"/archives/{CHANNEL}/p" in shown


# --- view_submission and view_closed --------------------------------------------------------------


def create_form(topic: str) -> Json:
    return {
        modals.FIELD_TOPIC: {modals.FIELD_TOPIC: text_value(topic)},
        modals.FIELD_PRIORITY: {modals.FIELD_PRIORITY: select_value("HIGH")},
    }


@pytest.mark.parametrize(
    ("name", "user", "team"),
    [
        ("interactivity/view_submission.json", "W111", "T111"),
        ("interactivity/view_submission_response_urls.json", "U111", "T111"),
        # Slack Connect: a person of another organisation submits; their team stays theirs.
        ("interactivity/view_submission_slack_connect.json", "W111", "T-installed-workspace"),
        # An org-wide (Enterprise Grid) install: `team` is null.
        ("interactivity/view_submission_org_app.json", "W111", "T111"),
    ],
)
async def test_a_form_submitted(slack: SlackHarness, name: str, user: str, team: str) -> None:
    original = fixture(name)
    topic = f"Submitted as in {name.rsplit('/', 1)[-1]}"
    payload = adapt(
        original,
        {user: ANA, team: TEAM},
        redrawn=("view.state.values",),
        view__callback_id=modals.CREATE_MODAL,
        view__state__values=create_form(topic),
        trigger_id=slack.fake.new_trigger_id(ANA),
    )
    ack = await send(slack, interaction_body(payload))
    assert ack.text == ""  # the modal closes
    [dm] = await slack.settle("chat.postMessage")
    assert dm.args["channel"] == ANA and topic in texts(dm.args["blocks"])
    [created] = (await slack.service.find(ConversationFilter())).items
    assert created.topic == topic


@pytest.mark.parametrize(
    ("name", "user", "team", "callback_id"),
    [
        ("interactivity/view_closed.json", "W111", "T111", modals.CREATE_MODAL),
        ("interactivity/view_closed_cleared.json", "U123", "T123", modals.EDIT_MODAL),
    ],
)
async def test_a_form_closed(
    slack: SlackHarness, name: str, user: str, team: str, callback_id: str
) -> None:
    """convbot does not ask to be told (notify_on_close is false in its modals); Slack may
    still send one, which is acknowledged and changes nothing."""
    payload = adapt(fixture(name), {user: ANA, team: TEAM}, view__callback_id=callback_id)
    ack = await send(slack, interaction_body(payload))
    assert ack.text == ""
    await nothing_happens(slack)


async def test_a_legacy_dialog_submission(slack: SlackHarness) -> None:
    """Dialogs carry `state` as a string: convbot has none, and says nothing."""
    payload = adapt(
        fixture("interactivity/dialog_submission.json"),
        {"W111": ANA, "C111": CHANNEL, "T111": TEAM},
        response_url=slack.fake.new_response_url(CHANNEL, ANA),
    )
    assert isinstance(payload["state"], str)
    await send(slack, interaction_body(payload))
    await nothing_happens(slack)


# --- Events API -----------------------------------------------------------------------------------


async def test_url_verification_echoes_the_challenge(slack: SlackHarness) -> None:
    original = fixture("events/url_verification.json")
    ack = await send(slack, json.dumps(original))
    assert ack.json() == {"challenge": original["challenge"]}


async def test_ssl_check_is_answered_empty(slack: SlackHarness) -> None:
    ack = await send(slack, (FIXTURES / "events/ssl_check.txt").read_text().strip())
    assert ack.text == ""
    await nothing_happens(slack)


async def test_app_home_opened_publishes_home(slack: SlackHarness) -> None:
    """Opened on a Home tab published before: the event carries that view; convbot redraws."""
    original = fixture("events/app_home_opened.json")
    payload = adapt(original, {"U12345678": ANA, "T12345678": TEAM})
    await send(slack, json.dumps(payload))
    await slack.settle("views.publish")
    home = slack.fake.home_view(ANA)
    assert home is not None and home.type == "home"


def blank_sample(original: Json, **filled: Any) -> Json:
    """A json-logs sample with the blanks Slack never leaves empty filled in."""
    payload = adapt(
        original,
        {},
        type="event_callback",
        token=defaults.VERIFICATION_TOKEN,
        team_id=TEAM,
        api_app_id=defaults.APP_ID,
        event_id="Ev0SAMPLE001",
        **filled,
    )
    for authorization in payload.get("authorizations", []):
        authorization.update(team_id=TEAM, user_id=defaults.BOT_USER_ID, enterprise_id=None)
    return payload


UNUSED_EVENTS: list[tuple[str, dict[str, str]]] = [
    # Enterprise Grid, org-wide install: the Messages tab (nothing to draw), no team at all.
    ("events/app_home_opened_org_app.json", {"W111": ANA, "T111": TEAM}),
    ("events/team_access_granted_org_app.json", {}),
    ("events/app_mention.json", {"W111": ANA, "C111": CHANNEL, "T111": TEAM}),
    ("events/app_mention_org_app.json", {"W222": ANA, "C111": CHANNEL, "T111": TEAM}),
    ("events/member_joined_channel.json", {"W23456789": ANA, "C111": CHANNEL, "T111": TEAM}),
    ("events/message.json", {"W111": ANA, "C111": CHANNEL, "T111": TEAM}),
    ("events/message_changed.json", {"W111": ANA, "C111": CHANNEL, "T111": TEAM}),
    ("events/message_retried.json", {"U234": ANA, "C123": CHANNEL, "T123": TEAM}),
]


@pytest.mark.parametrize(("name", "ids_"), UNUSED_EVENTS, ids=[n for n, _ in UNUSED_EVENTS])
async def test_an_event_convbot_does_not_use(
    slack: SlackHarness, name: str, ids_: dict[str, str]
) -> None:
    await send(slack, json.dumps(adapt(fixture(name), ids_)))
    await nothing_happens(slack)


async def test_channel_created_whose_channel_is_an_object(slack: SlackHarness) -> None:
    payload = blank_sample(
        fixture("events/channel_created.json"),
        event__channel__id="C0NEWCHAN01",
        event__channel__creator=ANA,
    )
    assert isinstance(payload["event"]["channel"], dict)
    await send(slack, json.dumps(payload))
    await nothing_happens(slack)


async def test_user_change_whose_user_is_an_object(slack: SlackHarness) -> None:
    payload = blank_sample(
        fixture("events/user_change.json"), event__user__id=ANA, event__user__team_id=TEAM
    )
    assert isinstance(payload["event"]["user"], dict)
    await send(slack, json.dumps(payload))
    await nothing_happens(slack)


# --- Slack's retries ------------------------------------------------------------------------------


def retry_headers() -> dict[str, str]:
    headers = fixture("events/retry_headers.json")
    return {str(k): str(v) for k, v in headers.items()}


async def test_a_retried_home_event_is_acknowledged_and_not_run_again(
    slack: SlackHarness,
) -> None:
    payload = adapt(fixture("events/app_home_opened.json"), {"U12345678": ANA, "T12345678": TEAM})
    body = json.dumps(payload)
    await send(slack, body)
    await slack.settle("views.publish")
    await send(slack, body, retry_headers())
    await quiescent()
    assert len(slack.fake.calls_to("views.publish")) == 1


async def test_a_retried_message_event_is_acknowledged(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    ids_ = {"U234": ANA, "C123": CHANNEL, "T123": TEAM}
    payload = adapt(fixture("events/message_retried.json"), ids_)
    # In a thread, as the messages convbot acts on are (thread_replies): its retry is known.
    payload["event"]["thread_ts"] = "1583636000.000100"
    body = json.dumps(payload)
    await send(slack, body)
    await send(slack, body, retry_headers())
    said = [r.getMessage() for r in caplog.records if r.name == "bot.slack.redeliveries"]
    assert len(said) == 1 and "EvV1KA7U3A" in said[0] and "retry 1, reason timeout" in said[0]
    await nothing_happens(slack)


async def test_channel_chatter_is_not_recorded_as_an_event(slack: SlackHarness) -> None:
    """The fixture as Slack sent it: a message in the channel, not in a thread. With
    message.channels subscribed, every such message arrives; nothing acts on them, so none
    takes a row of the events table (which would otherwise grow with the channel's talk)."""
    ids_ = {"U234": ANA, "C123": CHANNEL, "T123": TEAM}
    for n in range(3):
        payload = adapt(fixture("events/message_retried.json"), ids_)
        payload["event_id"] = f"EvCHATTER{n:03d}"
        await send(slack, json.dumps(payload))
    await nothing_happens(slack)
    async with slack.serving.runtime.engine.connect() as conn:
        rows = await conn.execute(select(func.count()).select_from(slack_events))
        assert rows.scalar() == 0


@pytest.mark.parametrize("key", ["channel", "user"])
async def test_an_event_naming_its_channel_or_user_by_a_number_is_still_refused(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    """Not a shape Slack sends, and Bolt's `"id" in 42` would raise: intake answers it."""
    payload = blank_sample(fixture("events/channel_created.json"))
    payload["event"][key] = 42  # damaged on purpose, past `adapt`'s check
    await send(slack, json.dumps(payload))
    await nothing_happens(slack)
    said = [r.getMessage() for r in caplog.records if r.name == "bot.slack.intake"]
    assert said == [
        "ignored a signed request that is not one Slack sends: "
        f"`event.{key}` is neither an id nor an object"
    ]
    caplog.clear()  # that warning is this test's point; quiet_log checks the rest
