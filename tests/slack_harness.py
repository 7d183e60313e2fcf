"""Drive the running bot as Slack does: signed HTTP into /slack/events, a fake Slack Web API.

The bot runs for real (uvicorn on loopback, its lifespan building the runtime); the fake Slack
records what the bot sends back. Tests read what a person would see in the fake workspace.

    async with running_bot(tmp_path) as slack:
        card = await slack.create("Printer on fire")         # /conv create …, the posted card
        press = await slack.press(card.message, TAKE)         # a button, as Slack sends it
        await press.answer()                                  # the bot's response_url post
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast
from urllib.parse import parse_qs

import httpx
import uvicorn
import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.devtools.fakeslack import (
    EphemeralMessage,
    FakeSlack,
    ResponsePost,
    SlackSigner,
    StoredMessage,
    StoredView,
    app_home_opened,
    block_actions,
    create_fake_slack_app,
    event_callback,
    message_action,
    slash_command,
    view_submission,
)
from bot.devtools.fakeslack.views import apply_submission_ack
from bot.http_limits import server_options
from bot.models import Conversation
from bot.server import Serving, create_http_app
from bot.service.conversations import ConversationService
from bot.settings import Settings
from bot.slack.blocks import buttons
from bot.state.audit import AuditEntry
from tests.quiescence import standing
from tests.seed import SEED

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
ANA, BEN, CLEO, DAVE = "UANA00001", "UBEN00002", "UCLEO0003", "UDAVE0004"  # Dave: no agent
CHANNEL = "CSUPPORT01"
TAKE, ROUTE, CLOSE, ESCALATE = (
    buttons.TAKE.id,
    buttons.ROUTE.id,
    buttons.CLOSE.id,
    buttons.ESCALATE.id,
)
PRIORITY, EDIT, OPEN, REFRESH = (
    buttons.PRIORITY.id,
    buttons.EDIT.id,
    buttons.SHOW.id,
    buttons.HOME_REFRESH.id,
)
NEXT_PAGE, PREVIOUS_PAGE = buttons.PAGE_NEXT.id, buttons.PAGE_PREVIOUS.id
CARD_BUTTONS = (TAKE, ROUTE, CLOSE, ESCALATE, PRIORITY, EDIT)
Json = dict[str, Any]
T = TypeVar("T")
Lifespan = Literal["on", "off"]
_CREATED = re.compile(r"Created conversation (\S+)\.")


@dataclass
class Card:
    """A conversation card the bot posted in a channel: the conversation id and the message."""

    id: str
    message: StoredMessage

    @property
    def blocks(self) -> list[Json]:
        return self.message.blocks  # the fake edits the stored message in place


@dataclass
class Sent:
    """A request sent to the bot: Slack's HTTP answer (the ack) and the response_url it carried."""

    harness: SlackHarness
    ack: httpx.Response
    token: str | None
    trigger_id: str

    def answers(self) -> list[ResponsePost]:
        """The bot's posts to this request's response_url so far."""
        return [p for p in self.harness.fake.responses if p.token == self.token]

    async def answer(self) -> ResponsePost:
        """The first response_url post this request produced (waits for it)."""
        return (await eventually(self.answers))[0]


Command = Sent


@dataclass
class SlackHarness:
    fake: FakeSlack
    signer: SlackSigner
    bot_url: str
    http: httpx.AsyncClient
    serving: Serving
    backend_calls: list[tuple[str, int]] = field(default_factory=list)
    # Whether the bot's server applies its view_submission acks to the fake (AppliesAcks);
    # else `submit` applies them once the answer has arrived (a bot in another process).
    acks_applied: bool = False

    # --- sending, as Slack does --------------------------------------------------------------

    async def post(self, body: str, *, timestamp: int | None = None) -> httpx.Response:
        headers = self.signer.headers_for(body, timestamp=timestamp)
        return await self.http.post(f"{self.bot_url}/slack/events", content=body, headers=headers)

    async def command(self, text: str, user: str = ANA, channel: str = CHANNEL) -> Sent:
        response_url = self.fake.new_response_url(channel, user)
        trigger = self.fake.new_trigger_id(user)
        body = slash_command(
            text, user_id=user, channel_id=channel, response_url=response_url, trigger_id=trigger
        )
        ack = await self.post(body)
        return Sent(self, ack, _token(response_url), trigger)

    async def press(
        self,
        message: StoredMessage,
        action_id: str,
        user: str = ANA,
        *,
        card: str | None = None,
        **chosen: Any,
    ) -> Sent:
        """Press the element `action_id` on a channel message (of card `card`, if given).

        `chosen` is merged into the action, e.g. `selected_option={"value": "URGENT"}`.
        """
        action = find_action(message.blocks, action_id, card=card) | chosen
        url = self.fake.new_response_url(message.channel, user, message_ts=message.ts)
        trigger = self.fake.new_trigger_id(user)
        body = block_actions(
            action,
            user_id=user,
            trigger_id=trigger,
            channel_id=message.channel,
            message=message.as_slack(),
            response_url=url,
        )
        return Sent(self, await self.post(body), _token(url), trigger)

    async def press_ephemeral(
        self, message: EphemeralMessage, action_id: str, *, card: str | None = None, **chosen: Any
    ) -> Sent:
        """Press a button on an ephemeral message: Slack sends no `message`, only its container."""
        action = find_action(message.blocks, action_id, card=card) | chosen
        url = self.fake.new_response_url(message.channel, message.user, message_ts=message.ts)
        trigger = self.fake.new_trigger_id(message.user)
        container = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": True,
        }
        body = block_actions(
            action,
            user_id=message.user,
            trigger_id=trigger,
            channel_id=message.channel,
            container=container,
            response_url=url,
        )
        return Sent(self, await self.post(body), _token(url), trigger)

    async def press_in_view(
        self,
        view: Json | StoredView,
        action_id: str,
        user: str = ANA,
        *,
        card: str | None = None,
        **chosen: Any,
    ) -> Sent:
        """Press an element in a modal or the Home tab (no response_url there)."""
        view_json = view.view if isinstance(view, StoredView) else view
        action = find_action(view_json.get("blocks") or [], action_id, card=card) | chosen
        trigger = self.fake.new_trigger_id(user)
        body = block_actions(action, user_id=user, trigger_id=trigger, view=view_json)
        return Sent(self, await self.post(body), None, trigger)

    async def shortcut(self, message: StoredMessage, callback_id: str, user: str = ANA) -> Sent:
        """Use the message shortcut `callback_id` on a channel message, as Slack sends it."""
        url = self.fake.new_response_url(message.channel, user)
        trigger = self.fake.new_trigger_id(user)
        body = message_action(
            callback_id,
            message,
            user_id=user,
            channel_id=message.channel,
            trigger_id=trigger,
            response_url=url,
        )
        return Sent(self, await self.post(body), _token(url), trigger)

    async def submit(
        self, view: Json | StoredView, values: Json, user: str = ANA
    ) -> httpx.Response:
        """Submit a modal with `values` (Slack's `state.values`); the answer is Slack's ack,
        which is applied to the modal as Slack applies it (closed unless it says otherwise)."""
        body = view_submission(
            view, user_id=user, trigger_id=self.fake.new_trigger_id(user), values=values
        )
        ack = await self.post(body)
        stored = self.fake.views.get(view.id) if isinstance(view, StoredView) else None
        if stored is not None and ack.status_code == 200 and not self.acks_applied:
            answer = ack.json() if ack.content else {}
            apply_submission_ack(self.fake, stored, answer if isinstance(answer, dict) else {})
        return ack

    async def event(self, event: Json) -> httpx.Response:
        return await self.post(event_callback(event))

    async def open_home(self, user: str = ANA) -> StoredView:
        """Open the App Home tab; the view the bot published for it."""
        before = len(self.fake.calls_to("views.publish"))
        ack = await self.event(app_home_opened(user))
        assert ack.status_code == 200, ack.text
        await self.fake.wait_for("views.publish", count=before + 1)
        home = self.fake.home_view(user)
        assert home is not None
        return home

    # --- shortcuts -----------------------------------------------------------------------------

    async def create(self, text: str, user: str = ANA, channel: str = CHANNEL) -> Card:
        """`/conv create <text>` and the card it posted in the channel."""
        answer = await (await self.command(f"create {text}", user, channel)).answer()
        found = _CREATED.search(answer.text)
        assert found, f"not created: {answer.text}"
        conversation_id = found.group(1)
        message = next(
            m
            for m in reversed(self.fake.messages_in(channel))
            if conversation_id in texts(m.blocks)
        )
        return Card(conversation_id, message)

    async def escalate(
        self, text: str, user: str = ANA, channel: str = CHANNEL, *, seconds: float = 5.0
    ) -> StoredMessage:
        """`/conv escalate <text>` that starts an escalation: the message announcing it, which
        the bot posts in the channel itself (to redraw it when the escalation ends), within
        `seconds`."""
        before = len(self.fake.messages_in(channel))
        sent = await self.command(f"escalate {text}", user, channel)
        await eventually(lambda: self.fake.messages_in(channel)[before:] or sent.answers(), seconds)
        assert not sent.answers(), f"answered instead: {sent.answers()[0].text}"
        return self.fake.messages_in(channel)[before]

    async def wait_for_calls(self, method: str, count: int) -> None:
        await self.fake.wait_for(method, count=count)

    # --- the bot's side: service, audit, metrics -----------------------------------------------

    @property
    def service(self) -> ConversationService:
        return self.serving.runtime.conversations

    async def conversation(self, conversation_id: str) -> Conversation:
        return await self.service.get(conversation_id)

    async def audit(self, conversation_id: str | None = None) -> list[AuditEntry]:
        return await self.serving.runtime.audit.history(conversation_id)

    async def actions(self, conversation_id: str | None = None) -> list[str]:
        """The audit log's actions, oldest first."""
        return [entry.action for entry in await self.audit(conversation_id)]

    async def metrics(self) -> str:
        response = await self.http.get(f"{self.bot_url}/metrics")
        assert response.status_code == 200
        return response.text

    def spy_on_backend(self) -> list[tuple[str, int]]:
        """From now on, note each backend call with how many Slack calls preceded it."""
        service = self.service
        spy = _BackendSpy(service.backend, self)
        service.backend = spy  # type: ignore[assignment]
        service.directory.backend = spy  # type: ignore[assignment]
        return self.backend_calls

    # --- reading what people see ---------------------------------------------------------------

    def channel_messages(self, channel: str = CHANNEL) -> list[StoredMessage]:
        return self.fake.messages_in(channel)

    def ephemeral_for(self, user: str = ANA) -> list[EphemeralMessage]:
        return self.fake.ephemeral_for(user)

    def dms_to(self, user: str) -> list[StoredMessage]:
        return self.fake.messages_in("D" + user[1:])

    async def settle(self, method: str, count: int = 1) -> list[Any]:
        return await self.fake.wait_for(method, count=count)

    def everything_sent(self) -> list[Json]:
        """Every Web API call's arguments and every response_url body the bot sent."""
        return [call.args for call in self.fake.calls] + [p.body for p in self.fake.responses]


class _BackendSpy:
    """A transparent backend wrapper that records call order against the Slack calls."""

    def __init__(self, inner: Any, harness: SlackHarness) -> None:
        self._inner = inner
        self._harness = harness
        self.name = inner.name

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if not callable(target) or method.startswith("_"):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._harness.backend_calls.append((method, len(self._harness.fake.calls)))
            return await target(*args, **kwargs)

        return call


async def eventually(
    check: Callable[[], T | None] | Callable[[], Awaitable[T | None]], seconds: float = 5.0
) -> T:
    """Poll until `check` (plain or async) returns something truthy: the bot works after its
    ack, so what it does arrives a little later."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            found = check()
            if inspect.isawaitable(found):
                found = await found
            if found:
                return cast(T, found)
            await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


def find_action(blocks: list[Json], action_id: str, *, card: str | None = None) -> Json:
    """The element with `action_id` (on conversation `card`, if given) as a payload carries it:
    with its block_id, without the options and dialog that only the drawn element has."""
    for block, element in _elements(blocks):
        if element.get("action_id") != action_id:
            continue
        if card is not None and card not in f"{element.get('value')}{block.get('block_id')}":
            continue
        drawn_only = ("options", "initial_option", "confirm", "placeholder", "style")
        action = {k: v for k, v in element.items() if k not in drawn_only}
        return {**action, "block_id": block.get("block_id"), "action_ts": "1700000000.000001"}
    raise AssertionError(f"no element {action_id!r} in {json.dumps(blocks)[:400]}")


def action_ids(blocks: list[Json]) -> list[str]:
    return [str(element.get("action_id")) for _, element in _elements(blocks)]


def element(blocks: list[Json], action_id: str) -> Json:
    """The drawn element with `action_id` (options, dialog and all)."""
    return next(e for _, e in _elements(blocks) if e.get("action_id") == action_id)


def _elements(blocks: list[Json]) -> Iterator[tuple[Json, Json]]:
    for block in blocks:
        accessory = block.get("accessory")
        for element in [*(block.get("elements") or []), *([accessory] if accessory else [])]:
            if isinstance(element, dict):
                yield block, element


def texts(blocks: list[Json]) -> str:
    """Every piece of text in the blocks, for asserting on what a person reads."""
    return json.dumps(blocks, ensure_ascii=False)


def walk(node: Any) -> Iterator[Json]:
    """Every JSON object inside `node`, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def selected(value: str) -> Json:
    """A static_select's `selected_option` as Slack sends it."""
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def text_value(value: str) -> Json:
    return {"type": "plain_text_input", "value": value}


def select_value(value: str | None) -> Json:
    return {"type": "static_select", "selected_option": None if value is None else selected(value)}


def _token(response_url: str) -> str:
    return response_url.rsplit("/", 1)[-1]


def write_config(path: Path, extra: Json | None = None) -> Path:
    config = {
        "agents": {ANA: "agent-ana", BEN: "agent-ben"},
        "local": SEED.model_dump(mode="json"),
        **(extra or {}),
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def bot_settings(tmp_path: Path, api_url: str, **overrides: Any) -> Settings:
    values: Json = {
        "slack_bot_token": TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_url": api_url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/state.db",
        "convbot_config": str(tmp_path / "convbot.yml"),
        "infobip_base_url": None,
        "infobip_api_key": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)


def fake_workspace() -> FakeSlack:
    """Ana, Ben, Cleo and Dave (each with an e-mail) and the #support channel."""
    fake = FakeSlack(accepted_tokens=[TOKEN])
    for user, name in [(ANA, "ana"), (BEN, "ben"), (CLEO, "cleo"), (DAVE, "dave")]:
        fake.add_user(user, name, f"{name}@example.com")
    fake.add_channel(CHANNEL, "support")
    return fake


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    config: Json | None = None,
    fake: FakeSlack | None = None,
    read_deadline: float | None = None,
    **overrides: Any,
) -> AsyncIterator[SlackHarness]:
    """The bot serving on loopback against a fake Slack; `config` adds to convbot.yml.

    `read_deadline`: serve as `convbot serve` does (bot/http_limits.py), with this deadline for
    reading a request."""
    fake = fake or fake_workspace()
    write_config(tmp_path / "convbot.yml", config)
    slack_socket, bot_socket = _loopback_socket(), _loopback_socket()
    fake.base_url = _url(slack_socket)
    settings = bot_settings(tmp_path, fake.api_url, **overrides)
    if read_deadline is None:
        app, options = create_http_app(settings), {}
    else:
        app = create_http_app(settings, read_deadline=read_deadline)
        options = server_options(read_deadline)
    servers: list[tuple[ASGIApp, socket.socket, Lifespan]] = [
        (create_fake_slack_app(fake), slack_socket, "off"),
        (AppliesAcks(app, fake), bot_socket, "on"),
    ]
    async with _serving(servers, options), httpx.AsyncClient(timeout=10) as http:
        serving = app.state.serving
        standing()  # for tests/quiescence.py: the servers' tasks are not work to wait for
        yield SlackHarness(
            fake, SlackSigner(SECRET), _url(bot_socket), http, serving, acks_applied=True
        )


class AppliesAcks:
    """The bot's app, each view_submission's ack applied to the fake's modal as the answer
    leaves the bot's app: Slack applies an ack when it receives it. Applied in the test once
    the answer had arrived over HTTP, a quick views.update could land first and be overwritten
    by the older ack. (This narrows the window to Bolt's own: its runner notices the ack on a
    10 ms poll while the listener may already be calling views.update.)"""

    def __init__(self, app: ASGIApp, fake: FakeSlack) -> None:
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/slack/events":
            await self.app(scope, receive, send)
            return
        # The body as the bot reads it (read ahead, it would defeat the bot's own size limits).
        body, status, answer = bytearray(), 0, bytearray()

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
                if not message.get("more_body") and status == 200:
                    self._apply(bytes(body), bytes(answer))
            await send(message)

        await self.app(scope, reading, sending)

    def _apply(self, body: bytes, answer: bytes) -> None:
        view_id = _submitted_view(body)
        stored = self.fake.views.get(view_id) if view_id is not None else None
        if stored is None:
            return
        try:
            ack = json.loads(answer) if answer else {}
        except ValueError:
            ack = {}  # not JSON: Slack closes the modal, as for an empty ack
        apply_submission_ack(self.fake, stored, ack if isinstance(ack, dict) else {})


def _submitted_view(body: bytes) -> str | None:
    """The id of the modal a view_submission body submits, else None."""
    try:
        payload = json.loads(parse_qs(body.decode()).get("payload", ["{}"])[0])
    except (ValueError, RecursionError):  # not Slack's (a hostile test's body)
        return None
    if not isinstance(payload, dict) or payload.get("type") != "view_submission":
        return None
    view_id = (payload.get("view") or {}).get("id")
    return str(view_id) if view_id else None


@asynccontextmanager
async def _serving(
    servers: list[tuple[ASGIApp, socket.socket, Lifespan]], bot_options: Json
) -> AsyncIterator[None]:
    """Serve each app on its socket (as `bot.devtools.loopback` does) and stop them together:
    uvicorn needs ~0.15 s to notice a stop and finish, which would add up test after test.
    `bot_options`: uvicorn options for the app whose lifespan is on (the bot)."""
    running = [
        uvicorn.Server(
            uvicorn.Config(
                app,
                log_level="warning",
                lifespan=lifespan,
                access_log=False,
                **(bot_options if lifespan == "on" else {}),
            )
        )
        for app, _, lifespan in servers
    ]
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, (_, sock, _) in zip(running, servers, strict=True)
    ]
    try:
        async with asyncio.timeout(10):
            while not all(server.started for server in running):
                for task in tasks:
                    if task.done():
                        task.result()  # surface why it did not start
                await asyncio.sleep(0.01)
        yield
    finally:
        for server in running:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, sock, _ in servers:
            sock.close()


def _loopback_socket() -> socket.socket:
    # TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms per answer on loopback).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def _url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"
