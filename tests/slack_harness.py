"""Drive the running bot as Slack does: signed HTTP into /slack/events, a fake Slack Web API.

The bot runs for real (uvicorn on loopback, its lifespan building the runtime); the fake Slack
records what the bot sends back. Tests read what a person would see in the fake workspace.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from bot.emulator.loopback import serve_in_background
from bot.fakeslack import (
    FakeSlack,
    ResponsePost,
    SlackSigner,
    StoredMessage,
    block_actions,
    event_callback,
    serve_fake_slack,
    slash_command,
    view_submission,
)
from bot.server import Serving, create_http_app
from bot.settings import Settings
from tests.seed import SEED

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
ANA, BEN, CLEO, DAVE = "UANA00001", "UBEN00002", "UCLEO0003", "UDAVE0004"  # Dave: no agent
CHANNEL = "CSUPPORT01"
Json = dict[str, Any]
T = TypeVar("T")


@dataclass
class SlackHarness:
    fake: FakeSlack
    signer: SlackSigner
    bot_url: str
    http: httpx.AsyncClient
    serving: Serving

    # --- sending, as Slack does --------------------------------------------------------------

    async def post(self, body: str, *, timestamp: int | None = None) -> httpx.Response:
        headers = self.signer.headers_for(body, timestamp=timestamp)
        return await self.http.post(f"{self.bot_url}/slack/events", content=body, headers=headers)

    async def command(self, text: str, user: str = ANA, channel: str = CHANNEL) -> Command:
        response_url = self.fake.new_response_url(channel, user)
        trigger = self.fake.new_trigger_id(user)
        body = slash_command(
            text, user_id=user, channel_id=channel, response_url=response_url, trigger_id=trigger
        )
        ack = await self.post(body)
        return Command(self, ack, response_url.rsplit("/", 1)[-1], trigger)

    async def press(
        self, message: StoredMessage, action_id: str, user: str = ANA, **selected: Any
    ) -> httpx.Response:
        """Press the element `action_id` on a message in the fake workspace."""
        action = find_action(message.blocks, action_id) | {"action_ts": "1700000000.000001"}
        if selected:
            action |= selected
        url = self.fake.new_response_url(message.channel, user, message_ts=message.ts)
        body = block_actions(
            action,
            user_id=user,
            trigger_id=self.fake.new_trigger_id(user),
            channel_id=message.channel,
            message=message.as_slack(),
            response_url=url,
        )
        return await self.post(body)

    async def press_in_view(self, view: Json, action_id: str, user: str = ANA) -> httpx.Response:
        action = find_action(view.get("blocks") or [], action_id)
        body = block_actions(
            action, user_id=user, trigger_id=self.fake.new_trigger_id(user), view=view
        )
        return await self.post(body)

    async def submit(self, view: Json, values: Json, user: str = ANA) -> httpx.Response:
        body = view_submission(
            view, user_id=user, trigger_id=self.fake.new_trigger_id(user), values=values
        )
        return await self.post(body)

    async def event(self, event: Json) -> httpx.Response:
        return await self.post(event_callback(event))

    # --- reading what people see ---------------------------------------------------------------

    def channel_messages(self, channel: str = CHANNEL) -> list[StoredMessage]:
        return self.fake.messages_in(channel)

    async def settle(self, method: str, count: int = 1) -> list[Any]:
        return await self.fake.wait_for(method, count=count)


@dataclass
class Command:
    harness: SlackHarness
    ack: httpx.Response
    token: str
    trigger_id: str

    async def answer(self) -> ResponsePost:
        """The response_url post the command produced."""

        def posted() -> ResponsePost | None:
            return next((p for p in self.harness.fake.responses if p.token == self.token), None)

        return await eventually(posted)


async def eventually(check: Callable[[], T | None], seconds: float = 5.0) -> T:
    """Poll until `check` returns something truthy (the bot works after its ack)."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if found := check():
                return found
            await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


def find_action(blocks: list[Json], action_id: str) -> Json:
    """The interactive element with `action_id`, with its block_id, as a payload carries it."""
    for block in blocks:
        elements = block.get("elements") or []
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if accessory else [])]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id")}
    raise AssertionError(f"no element {action_id!r} in {json.dumps(blocks)[:400]}")


def texts(blocks: list[Json]) -> str:
    """Every piece of text in the blocks, for asserting on what a person reads."""
    return json.dumps(blocks, ensure_ascii=False)


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


@asynccontextmanager
async def running_bot(
    tmp_path: Path, *, config: Json | None = None, **overrides: Any
) -> AsyncIterator[SlackHarness]:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    for user, name, email in [
        (ANA, "ana", "ana@example.com"),
        (BEN, "ben", "ben@example.com"),
        (CLEO, "cleo", "cleo@example.com"),
        (DAVE, "dave", "dave@example.com"),
    ]:
        fake.add_user(user, name, email)
    fake.add_channel(CHANNEL, "support")
    write_config(tmp_path / "convbot.yml", config)
    async with serve_fake_slack(fake) as slack_url:
        settings = bot_settings(tmp_path, f"{slack_url}/api/", **overrides)
        app = create_http_app(settings)
        async with (
            serve_in_background(app, lifespan="on") as bot_url,
            httpx.AsyncClient(timeout=10) as http,
        ):
            yield SlackHarness(fake, SlackSigner(SECRET), bot_url, http, app.state.serving)
