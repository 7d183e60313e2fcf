"""Socket Mode, proven end to end: the fake Slack serves it as Slack does, and the bot runs on it.

First the fake alone, driven by slack_sdk's own Socket Mode client (the one Bolt's
AsyncSocketModeHandler wraps): `apps.connections.open` takes only an app-level token and hands
out a one-use WebSocket URL, the socket says `hello`, answers pings, carries envelopes and
records acks, and asks for a reconnect as Slack does. Then the bot with `SLACK_APP_TOKEN` set:
it connects at start-up, and `/conv`, card buttons and the Home tab all work over the socket,
acked at once, while the HTTP health endpoints still answer.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.fakeslack import (
    FakeSlack,
    StoredMessage,
    app_home_opened,
    block_actions,
    block_actions_payload,
    event_callback,
    event_callback_payload,
    serve_fake_slack,
    slash_command,
    slash_command_payload,
    socket_payload,
    view_submission,
    view_submission_payload,
)
from bot.devtools.fakeslack.defaults import APP_ID
from bot.models import ConversationFilter
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    CHANNEL,
    TAKE,
    TOKEN,
    SlackHarness,
    action_ids,
    eventually,
    find_action,
    running_bot,
    select_value,
    text_value,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

if not any(importlib.util.find_spec(lib) for lib in ("websockets", "wsproto")):
    pytest.fail(
        "uvicorn serves the fake Slack's Socket Mode WebSocket only with the `websockets` (or "
        "`wsproto`) package installed: add it to the `test` extra in pyproject.toml",
        pytrace=False,
    )

APP_TOKEN = "xapp-1-A0FAKE0001-1-test"
Json = dict[str, Any]


# --- the fake, driven by slack_sdk's Socket Mode client ------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(accepted_app_tokens=[APP_TOKEN])
    fake.add_user(ANA, "ana")
    fake.add_channel(CHANNEL, "support")
    async with serve_fake_slack(fake):
        yield fake


@pytest.fixture
async def web(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


class Recorder:
    """A Socket Mode app: keeps every message and request, and acks each request."""

    def __init__(self, answer: Json | None = None) -> None:
        self.messages: list[Json] = []
        self.requests: list[SocketModeRequest] = []
        self.answer = answer

    async def on_message(
        self, _client: AsyncBaseSocketModeClient, message: Json, _raw: str | None
    ) -> None:
        self.messages.append(message)

    async def on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        self.requests.append(req)
        answer = self.answer if req.accepts_response_payload else None
        await client.send_socket_mode_response(SocketModeResponse(req.envelope_id, answer))


@pytest.fixture
async def app(
    fake: FakeSlack, web: AsyncWebClient
) -> AsyncIterator[tuple[SocketModeClient, Recorder]]:
    """slack_sdk's Socket Mode client, connected to the fake (pings only when the test asks)."""
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web, ping_interval=30)
    recorder = Recorder(answer={"text": "on it"})
    client.message_listeners.append(recorder.on_message)
    client.socket_mode_request_listeners.append(recorder.on_request)
    await client.connect()
    try:
        yield client, recorder
    finally:
        await client.close()


async def test_apps_connections_open_hands_out_a_websocket_url_for_an_app_token(
    fake: FakeSlack, web: AsyncWebClient
) -> None:
    opened = await web.apps_connections_open(app_token=APP_TOKEN)
    port = fake.api_url.split(":")[2].split("/")[0]
    assert opened["url"].startswith(f"ws://127.0.0.1:{port}/socket-mode/")
    call = fake.last("apps.connections.open")
    assert call.token == APP_TOKEN and call.ok


async def test_apps_connections_open_refuses_what_slack_refuses(
    fake: FakeSlack, web: AsyncWebClient
) -> None:
    async def refusal(token: str) -> str:
        with pytest.raises(SlackApiError) as refused:
            await web.apps_connections_open(app_token=token)
        return str(refused.value.response["error"])

    assert await refusal("xoxb-test") == "not_allowed_token_type"  # a bot token
    assert await refusal("xapp-1-someone-else") == "invalid_auth"  # not this app's token
    # An app token works only as `Authorization: Bearer`, and only for app-level methods.
    async with httpx.AsyncClient() as http:
        as_form = await http.post(f"{fake.api_url}apps.connections.open", data={"token": APP_TOKEN})
    assert as_form.json() == {"ok": False, "error": "not_authed"}
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(token=APP_TOKEN, base_url=fake.api_url).auth_test()
    assert refused.value.response["error"] == "not_allowed_token_type"


async def test_the_socket_says_hello_and_answers_pings(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    client, recorder = app
    await fake.wait_for_socket()
    assert fake.socket_connections == 1
    [hello] = await eventually(lambda: recorder.messages)
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": APP_ID}
    # The client pings on connecting; the pong carries its timestamp back.
    assert await eventually(lambda: client.last_ping_pong_time)
    assert await client.is_connected()


async def test_a_websocket_url_is_good_for_one_connection(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    client, _ = app
    assert client.wss_uri is not None
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(client.wss_uri)
    assert refused.value.status == 403
    assert fake.socket_connections == 1 and len(fake.socket_mode.refused) == 1


async def test_envelopes_carry_the_http_payloads_and_acks_are_recorded(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    _, recorder = app
    command = {
        "user_id": ANA,
        "channel_id": CHANNEL,
        "response_url": "https://hooks.slack.test/r/1",
        "trigger_id": "1.2.3",
    }
    payload = slash_command_payload("list", **command)
    assert payload == socket_payload(slash_command("list", **command))
    assert payload["command"] == "/conv" and payload["is_enterprise_install"] == "false"

    envelope_id = await fake.send_envelope("slash_commands", payload)
    ack = await fake.wait_for_ack(envelope_id)
    [request] = recorder.requests
    assert (request.type, request.envelope_id, request.payload) == (
        "slash_commands",
        envelope_id,
        payload,
    )
    assert request.accepts_response_payload
    assert ack.payload == {"text": "on it"} and 0 <= ack.latency < 1

    event = event_callback_payload(app_home_opened(ANA))
    assert event["event"]["type"] == "app_home_opened"
    event_ack = await fake.wait_for_ack(await fake.send_envelope("events_api", event))
    assert event_ack.payload is None  # events take no answer
    assert (recorder.requests[1].retry_attempt, recorder.requests[1].retry_reason) == (0, "")

    press = block_actions_payload(
        {"action_id": "x", "type": "button"}, user_id=ANA, trigger_id="1.2.3", view={"id": "V1"}
    )
    await fake.wait_for_ack(await fake.send_envelope("interactive", press))
    assert not recorder.requests[2].accepts_response_payload  # block_actions: ack only
    assert [e.type for e in fake.socket_mode.envelopes] == [
        "slash_commands",
        "events_api",
        "interactive",
    ]


async def test_payload_builders_match_their_http_bodies() -> None:
    view = {"id": "V1", "type": "modal", "callback_id": "conv_create", "blocks": []}
    submission = {"view": view, "user_id": ANA, "trigger_id": "1.2.3"}
    assert view_submission_payload(**submission)["type"] == "view_submission"
    assert view_submission_payload(**submission)["view"]["callback_id"] == "conv_create"
    assert socket_payload(view_submission(**submission))["view"]["id"] == "V1"
    event = app_home_opened(ANA)
    assert socket_payload(event_callback(event))["event"] == event
    action = {"action_id": "x", "type": "button"}
    press = socket_payload(block_actions(action, user_id=ANA, trigger_id="t", view=view))
    assert press["type"] == "block_actions" and press["actions"][0]["action_id"] == "x"


async def test_an_envelope_slack_would_never_send_is_refused(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    event = event_callback_payload(app_home_opened(ANA))
    with pytest.raises(ValueError, match="unknown envelope type"):
        await fake.send_envelope("events", event)
    with pytest.raises(ValueError, match="event_callback"):
        await fake.send_envelope("events_api", {"type": "block_actions"})
    with pytest.raises(ValueError, match="interaction"):
        await fake.send_envelope("interactive", event)


async def test_an_envelope_needs_an_open_connection(fake: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        await fake.send_envelope("events_api", event_callback_payload(app_home_opened(ANA)))


async def test_a_missing_ack_times_out_naming_the_envelope(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    client, _ = app
    client.socket_mode_request_listeners.clear()  # an app that never acks
    envelope_id = await fake.send_envelope(
        "events_api", event_callback_payload(app_home_opened(ANA))
    )
    with pytest.raises(TimeoutError, match=envelope_id):
        await fake.wait_for_ack(envelope_id, timeout=0.2)


async def test_a_refresh_request_makes_the_client_reconnect(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    await fake.socket_mode.request_reconnect()
    await fake.wait_for("apps.connections.open", count=2)
    await eventually(
        lambda: len(fake.socket_mode.connections) == 2 and fake.socket_connections == 1
    )
    old, new = fake.socket_mode.connections
    assert old.sent[-1]["type"] == "disconnect" and old.sent[-1]["reason"] == "refresh_requested"
    assert not old.open and new.open
    event = event_callback_payload(app_home_opened(ANA))
    ack = await fake.wait_for_ack(await fake.send_envelope("events_api", event))
    assert ack.connection == new.id


async def test_a_dropped_socket_makes_the_client_reconnect(
    fake: FakeSlack, app: tuple[SocketModeClient, Recorder]
) -> None:
    await fake.socket_mode.drop_connections()
    await fake.wait_for("apps.connections.open", count=2)
    await fake.wait_for_socket()
    assert [c.open for c in fake.socket_mode.connections] == [False, True]


# --- the bot in Socket Mode ---------------------------------------------------------------------


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    """The bot with an app token and no signing secret, connected to the fake over its socket."""
    async with running_bot(tmp_path, slack_app_token=APP_TOKEN, slack_signing_secret=None) as slack:
        await slack.fake.wait_for_socket()
        yield slack


async def command(slack: SlackHarness, text: str, user: str = ANA) -> tuple[str, str]:
    """`/conv <text>` as a slash_commands envelope: its envelope_id and response_url token."""
    url = slack.fake.new_response_url(CHANNEL, user)
    payload = slash_command_payload(
        text,
        user_id=user,
        channel_id=CHANNEL,
        response_url=url,
        trigger_id=slack.fake.new_trigger_id(user),
    )
    return await slack.fake.send_envelope("slash_commands", payload), url.rsplit("/", 1)[-1]


async def create(slack: SlackHarness, topic: str) -> tuple[str, StoredMessage]:
    """`/conv create <topic>` over the socket: the new conversation's id and its card."""
    envelope_id, token = await command(slack, f"create {topic}")
    await acked_quickly(slack, envelope_id)
    [answer] = await eventually(lambda: [p for p in slack.fake.responses if p.token == token])
    found = re.search(r"Created conversation (\S+)\.", answer.text)
    assert found, answer.text
    card = next(m for m in slack.fake.messages_in(CHANNEL) if found.group(1) in texts(m.blocks))
    return found.group(1), card


async def topics(slack: SlackHarness) -> list[str]:
    page = await slack.service.find(ConversationFilter())
    return [c.topic for c in page.items]


async def acked_quickly(slack: SlackHarness, envelope_id: str) -> Json | None:
    """The ack's payload; it must come well inside Slack's 3 s, before any slow work."""
    ack = await slack.fake.wait_for_ack(envelope_id)
    assert ack.latency < 1.0, f"acked after {ack.latency:.2f}s"
    return ack.payload


async def test_the_bot_connects_with_its_app_token(slack: SlackHarness) -> None:
    [opened] = slack.fake.calls_to("apps.connections.open")
    assert opened.ok and opened.token == APP_TOKEN
    [connection] = slack.fake.socket_mode.connections
    assert connection.open and connection.app_token == APP_TOKEN
    assert connection.sent[0]["type"] == "hello"
    # Web API calls still go out with the bot token.
    assert all(call.token == TOKEN for call in slack.fake.calls if call is not opened)


async def test_conv_create_over_the_socket_posts_the_card_through_response_url(
    slack: SlackHarness,
) -> None:
    envelope_id, token = await command(slack, "create Printer on fire priority:high")
    assert await acked_quickly(slack, envelope_id) is None  # ack now, answer after
    [answer] = await eventually(lambda: [p for p in slack.fake.responses if p.token == token])
    assert answer.response_type == "in_channel"
    assert "Created conversation" in answer.text
    [card] = slack.fake.messages_in(CHANNEL)
    shown = texts(card.blocks)
    assert "Printer on fire" in shown and "HIGH" in shown
    assert TAKE in action_ids(card.blocks)


async def test_take_over_the_socket_redraws_the_card(slack: SlackHarness) -> None:
    conversation_id, card = await create(slack, "Printer on fire priority:high")
    url = slack.fake.new_response_url(CHANNEL, ANA, message_ts=card.ts)
    press = block_actions_payload(
        find_action(card.blocks, TAKE),
        user_id=ANA,
        trigger_id=slack.fake.new_trigger_id(ANA),
        channel_id=CHANNEL,
        message=card.as_slack(),
        response_url=url,
    )
    assert await acked_quickly(slack, await slack.fake.send_envelope("interactive", press)) is None
    await eventually(lambda: card.edited)
    [redraw] = [p for p in slack.fake.responses if p.token == url.rsplit("/", 1)[-1]]
    assert redraw.replace_original
    assert f"<@{ANA}>" in texts(card.blocks)
    assert TAKE in action_ids(card.blocks)  # a channel card is everyone's: Ben may take it over
    assert len(slack.fake.messages_in(CHANNEL)) == 1  # redrawn in place
    assert (await slack.conversation(conversation_id)).agentId == "agent-ana"
    assert await slack.actions(conversation_id) == ["create", "assign"]


async def test_app_home_opened_over_the_socket_publishes_home(slack: SlackHarness) -> None:
    await create(slack, "Printer on fire priority:high")
    event = event_callback_payload(app_home_opened(ANA))
    assert await acked_quickly(slack, await slack.fake.send_envelope("events_api", event)) is None
    [publish] = await slack.fake.wait_for("views.publish")
    assert publish.ok and publish.args["user_id"] == ANA
    home = slack.fake.home_view(ANA)
    assert home is not None and "Printer on fire" in texts(home.blocks)


async def test_the_create_form_answers_in_the_ack_over_the_socket(slack: SlackHarness) -> None:
    """A modal's `response_action` travels in the ack's payload, where HTTP has the body."""
    envelope_id, _ = await command(slack, "create")
    assert await acked_quickly(slack, envelope_id) is None
    [update] = await slack.fake.wait_for("views.update")
    view = slack.fake.views[update.args["view_id"]]

    def submission(topic: str) -> Json:
        values = {
            "topic": {"topic": text_value(topic)},
            "summary": {"summary": text_value("")},
            "priority": {"priority": select_value("URGENT")},
            "channel": {"channel": select_value("NO_CHANNEL")},
            "queue": {"queue": select_value(None)},
            "tags": {"tags": text_value("")},
        }
        return view_submission_payload(
            view, user_id=ANA, trigger_id=slack.fake.new_trigger_id(ANA), values=values
        )

    refused = await slack.fake.send_envelope("interactive", submission(""))
    assert slack.fake.socket_mode.envelopes[-1].accepts_response_payload
    assert await acked_quickly(slack, refused) == {
        "response_action": "errors",
        "errors": {"topic": "Give the conversation a topic."},
    }
    accepted = await slack.fake.send_envelope("interactive", submission("Lost parcel"))
    assert await acked_quickly(slack, accepted) is None  # the modal closes

    async def created() -> bool:
        return "Lost parcel" in await topics(slack)

    assert await eventually(created)


async def test_slacks_refresh_request_keeps_the_bot_connected(slack: SlackHarness) -> None:
    await slack.fake.socket_mode.request_reconnect()
    await slack.fake.wait_for("apps.connections.open", count=2)
    await eventually(lambda: [c.open for c in slack.fake.socket_mode.connections] == [False, True])
    _, card = await create(slack, "After the refresh")
    assert "After the refresh" in texts(card.blocks)


async def test_health_endpoints_still_answer_in_socket_mode(slack: SlackHarness) -> None:
    healthz = await slack.http.get(f"{slack.bot_url}/healthz")
    assert (healthz.status_code, healthz.text) == (200, "ok")
    readyz = await slack.http.get(f"{slack.bot_url}/readyz")
    assert readyz.status_code == 200, readyz.text
    assert readyz.json() == {"database": "ok", "backend": "ok"}
    envelope_id, token = await command(slack, "list")
    await acked_quickly(slack, envelope_id)
    await eventually(lambda: [p for p in slack.fake.responses if p.token == token])

    async def counted() -> bool:
        metrics = await slack.http.get(f"{slack.bot_url}/metrics")
        assert metrics.status_code == 200
        return 'convbot_slack_requests_total{kind="command",name="list",outcome="ok"} 1.0' in (
            metrics.text
        )

    assert await eventually(counted)  # socket requests are counted as HTTP ones are


async def test_socket_mode_takes_no_unsigned_requests_over_http(slack: SlackHarness) -> None:
    """With no signing secret to check, an HTTP door to the listeners would let anyone who
    reaches HOST:PORT act as any Slack user: in Socket Mode /slack/events is not served."""
    url = slack.fake.new_response_url(CHANNEL, ANA)
    forged = slash_command(
        "create Forged", user_id=ANA, channel_id=CHANNEL, response_url=url, trigger_id="1.2.3"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await slack.http.post(
        f"{slack.bot_url}/slack/events", content=forged, headers=headers
    )
    await quiescent()  # what the bot would do, it does after its ack
    assert response.status_code in (401, 403, 404), response.status_code
    assert slack.fake.responses == []
