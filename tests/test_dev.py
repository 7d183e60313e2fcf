"""`convbot dev`: the bot and its local Slack in one server, driven through the page's JSON API.

The same API the browser page uses (bot/devtools/dev/static/dev.js); tests/browser/ drives the page
itself. Each test starts the whole thing on a free port with the demo data, as `convbot dev`
does, in a folder of its own.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.config import OpsConfig
from bot.devtools.dev import customers, demo, threads
from bot.devtools.dev.local_slack import LocalSlack
from bot.devtools.dev.server import create_dev_app
from bot.devtools.fakeslack import FakeSlack
from bot.devtools.fakeslack.blockkit import check_message_blocks
from bot.devtools.loopback import serve_built
from bot.oncall.rota import on_call
from bot.slack.blocks import buttons, modals
from tests.slack_harness import eventually

# The slow tier (tests/conftest.py): `convbot dev` served on loopback.
pytestmark = pytest.mark.slow

Json = dict[str, Any]
ANA, BEN, CLEO, DAVE = (person[0] for person in demo.PEOPLE)
SUPPORT = demo.SUPPORT


class Page:
    """What the browser page does, over HTTP."""

    def __init__(self, http: httpx.AsyncClient, user: str = ANA) -> None:
        self.http = http
        self.user = user

    async def state(self, channel: str = SUPPORT, since: int | None = None) -> Json:
        params: dict[str, str | int] = {"user": self.user, "channel": channel}
        if since is not None:
            params["since"] = since
        response = await self.http.get("/dev/api/state", params=params, timeout=40)
        assert response.status_code == 200, response.text
        found: Json = response.json()
        return found

    async def command(self, text: str, channel: str = SUPPORT) -> None:
        body = {"user": self.user, "channel": channel, "text": text}
        response = await self.http.post("/dev/api/command", json=body)
        assert response.json() == {"ok": True}, response.text

    async def press(self, message: Json, action_id: str, channel: str = SUPPORT) -> None:
        element, block_id = _element(message["blocks"], action_id)
        action = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": block_id,
            "value": element.get("value"),
        }
        container = {
            "type": "message",
            "message_ts": message["ts"],
            "is_ephemeral": message["ephemeral"],
        }
        body = {"user": self.user, "channel": channel, "container": container, "action": action}
        response = await self.http.post("/dev/api/action", json=body)
        assert response.json() == {"ok": True}, response.text

    async def submit(self, view_id: str, values: Json) -> Json:
        body = {"user": self.user, "view_id": view_id, "values": values}
        response = await self.http.post("/dev/api/submit", json=body)
        assert response.status_code == 200, response.text
        found: Json = response.json()
        return found

    async def until(
        self, check: Callable[[Json], Any], channel: str = SUPPORT, seconds: float = 10.0
    ) -> Any:
        """The first truthy `check(state)`, polling as the page does (long-poll on version)."""
        async with asyncio.timeout(seconds):
            state = await self.state(channel)
            while not (found := check(state)):
                state = await self.state(channel, since=state["version"])
            return found


def _element(blocks: list[Json], action_id: str) -> tuple[Json, str]:
    for block in blocks:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id:
                return element, str(block.get("block_id"))
    raise AssertionError(f"no {action_id} in {json.dumps(blocks)[:300]}")


def _texts(message: Json) -> str:
    return message["text"] + json.dumps(message["blocks"])


def _create_form(state: Json) -> Json | None:
    """The create form once its inputs are drawn (it opens as "Loading…" first)."""
    for view in state["views"]:
        blocks = view["view"]["blocks"]
        if view["view"]["callback_id"] == modals.CREATE_MODAL and blocks[0].get("type") == "input":
            return dict(view)
    return None


@asynccontextmanager
async def serving(folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    """`convbot dev` with its files in `folder`, from start to stop."""
    async with served(folder) as (http, _local):
        yield http


@asynccontextmanager
async def served(folder: Path) -> AsyncIterator[tuple[httpx.AsyncClient, LocalSlack]]:
    """`serving`, and the local Slack inside it (to see what its requests wait for)."""
    built: list[Starlette] = []

    def build(base_url: str) -> Any:
        built.append(create_dev_app(folder, base_url))
        return built[0]

    async with (
        serve_built(build, lifespan="on", start_timeout=60) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        yield http, built[0].state.local_slack


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(tmp_path / "convbot-dev") as http:
        yield http


async def test_the_page_and_the_demo_are_served(dev: httpx.AsyncClient) -> None:
    page = await dev.get("/dev")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (await dev.get("/healthz")).status_code == 200  # the bot, on the same port
    state = await Page(dev).state()
    assert {u["id"] for u in state["users"]} == {ANA, BEN, CLEO, DAVE}
    assert state["usergroups"] == {demo.ONCALL_GROUP: "oncall"}  # drawn as @oncall
    names = [c["name"] for c in state["channels"]]
    assert names[:2] == ["support", "incidents"] and state["channels"][-1]["is_im"]
    # App Home: the bot publishes it when a person first looks.
    home = await Page(dev).until(lambda s: s["home"])
    assert home["type"] == "home"
    # Opening the tab again (app_home_opened each time, as in Slack) has the bot redraw it.
    opened = await dev.post("/dev/api/home", json={"user": ANA})
    assert opened.json() == {"ok": True}
    redrawn = await Page(dev).until(
        lambda s: s["home"] if s["home"]["hash"] != home["hash"] else None
    )
    assert redrawn["type"] == "home"


async def test_the_demo_has_forty_conversations_across_priorities(dev: httpx.AsyncClient) -> None:
    page = Page(dev)
    await page.command("list status:open,waiting,solved,closed")
    listing = await page.until(
        lambda s: next((m for m in s["messages"] if m["ephemeral"] and "40" in m["text"]), None)
    )
    assert "40" in listing["text"]


async def test_create_shows_a_card_and_take_redraws_it(dev: httpx.AsyncClient) -> None:
    page = Page(dev)
    await page.command("/conv create Printer on fire priority:high")

    def card(state: Json) -> Json | None:
        return next(
            (m for m in state["messages"] if "Printer on fire" in _texts(m) and not m["ephemeral"]),
            None,
        )

    drawn = await page.until(card)
    assert not drawn["edited"]
    await page.press(drawn, buttons.TAKE.id)
    taken = await page.until(lambda s: (c := card(s)) and c["edited"] and c)
    assert "Ana Horvat" in _texts(taken) or "<@UANA00001>" in _texts(taken)


async def test_the_create_form_shows_an_inline_error_for_an_empty_topic(
    dev: httpx.AsyncClient,
) -> None:
    page = Page(dev)
    await page.command("create")
    modal = await page.until(_create_form)
    topic = {modals.FIELD_TOPIC: {modals.FIELD_TOPIC: {"type": "plain_text_input", "value": ""}}}
    answer = await page.submit(modal["id"], topic)
    assert modals.FIELD_TOPIC in answer["errors"]  # for the page to show beside the topic
    state = await page.state()
    assert state["views"][-1]["id"] == modal["id"]  # still open
    # Not in the state: a reloaded page, which has forgotten what was typed, shows no old error.
    assert "errors" not in state

    filled = {
        modals.FIELD_TOPIC: {modals.FIELD_TOPIC: {"type": "plain_text_input", "value": "Fax"}}
    }
    assert (await page.submit(modal["id"], filled)).get("errors") is None
    assert (await page.state())["views"] == []  # accepted: Slack closes the form


async def test_a_digest_arrives_in_the_channel(dev: httpx.AsyncClient) -> None:
    page = Page(dev)
    await page.command("digest urgent-and-high")
    digest = await page.until(
        lambda s: next(
            (m for m in s["messages"] if not m["ephemeral"] and "URGENT" in _texts(m)), None
        )
    )
    assert digest["bot"]


async def test_escalate_pages_the_on_call_and_acknowledge_stops_it(
    dev: httpx.AsyncClient,
) -> None:
    page = Page(dev)
    await page.command("create Site down priority:urgent")
    card = await page.until(
        lambda s: next(
            (m for m in s["messages"] if "Site down" in _texts(m) and not m["ephemeral"]), None
        )
    )
    await page.press(card, buttons.ESCALATE.id)
    # Whoever the demo's primary rotation has on call (Ana and Ben, a day each) gets the page.
    schedule = OpsConfig.model_validate(demo.operations()).oncall.schedules[0]
    person = Page(dev, on_call(schedule, datetime.now(UTC)) or "")
    dm = next(c["id"] for c in (await person.state())["channels"] if c["is_im"])
    paged = await person.until(
        lambda s: next((m for m in s["messages"] if "Site down" in _texts(m)), None), channel=dm
    )
    await person.press(paged, buttons.PAGE_ACK.id, channel=dm)
    acknowledged = await person.until(
        lambda s: next(
            (m for m in s["messages"] if "Acknowledged" in _texts(m) and m["edited"]), None
        ),
        channel=dm,
    )
    assert "Site down" in _texts(acknowledged)


async def test_a_state_request_with_since_waits_for_a_change(tmp_path: Path) -> None:
    async with served(tmp_path / "convbot-dev") as (dev, local):
        page = Page(dev)
        await page.until(lambda s: s["home"])  # the bot publishes Home when a person first looks
        for _ in range(5):
            first = await page.state()
            waiting = asyncio.create_task(page.state(since=first["version"]))
            # Answered, or parked until the workspace changes (or LONG_POLL runs out).
            await eventually(lambda task=waiting: task.done() or local.fake.waiting)
            if not waiting.done():
                break
            # The bot changed something by itself meanwhile (a start-up DM, a digest tick): the
            # early answer must say so.
            assert waiting.result()["version"] > first["version"]
        else:
            raise AssertionError("the workspace never stayed still")
        await page.command("help")
        changed = await asyncio.wait_for(waiting, 10)
        assert changed["version"] > first["version"]


async def test_bad_requests_to_the_api_are_refused_with_a_reason(dev: httpx.AsyncClient) -> None:
    refused = await dev.post("/dev/api/command", json={"user": "UNOBODY", "text": "help"})
    assert refused.status_code == 400 and "known user" in refused.json()["error"]
    refused = await dev.post("/dev/api/action", content=b"not json")
    assert refused.status_code == 400


async def test_other_sites_cannot_use_the_api(dev: httpx.AsyncClient) -> None:
    # A page elsewhere can post text/plain without asking the browser's permission: not JSON.
    body = json.dumps({"user": ANA, "channel": SUPPORT, "text": "create Pwned priority:urgent"})
    sneaked = await dev.post(
        "/dev/api/command", content=body, headers={"content-type": "text/plain"}
    )
    assert sneaked.status_code == 400
    # DNS rebinding: the right address under another name.
    rebound = await dev.get("/dev/api/state", headers={"host": "attacker.example"})
    assert rebound.status_code == 400
    elsewhere = {"host": "attacker.example"}
    assert (await dev.post("/slack/events", headers=elsewhere)).status_code == 400


def _welcomes(state: Json) -> list[Json]:
    return [m for m in state["messages"] if m["text"] == demo.WELCOME_TEXT]


def test_the_welcome_is_posted_once_and_is_valid_block_kit() -> None:
    fake = FakeSlack()
    demo.workspace(fake)
    assert demo.welcome(fake) is True
    assert demo.welcome(fake) is False  # already there
    [posted] = fake.messages_in(SUPPORT)
    assert posted.user == fake.bot_user_id
    check_message_blocks(posted.blocks)
    said = json.dumps(posted.blocks)
    for hint in ("/conv list", "/conv create", "Take", "App Home", "/conv help"):
        assert hint in said


async def test_support_opens_with_one_welcome_across_reloads_and_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "convbot-dev"
    for _start in range(2):
        async with serving(folder) as http:
            page = Page(http)
            for _reload in range(3):
                state = await page.state()
                assert len(_welcomes(state)) == 1
            assert state["messages"][0]["text"] == demo.WELCOME_TEXT  # at the top


def test_the_demo_digest_redraws_one_message_in_support() -> None:
    [digest] = OpsConfig.model_validate(demo.operations()).digests
    assert digest.channel == SUPPORT and digest.edit_in_place


def _unread(state: Json, channel: str) -> int:
    return int(next(c["unread"] for c in state["channels"] if c["id"] == channel))


async def test_the_sidebar_counts_unread_messages_until_the_channel_is_opened(
    dev: httpx.AsyncClient,
) -> None:
    ana, ben = Page(dev, ANA), Page(dev, BEN)
    dm = next(c["id"] for c in (await ben.state())["channels"] if c["is_im"])
    for _ in range(150):  # Ben looks at #support, then at his DM (the first digest may cross)
        await ben.state()
        in_dm = await ben.state(channel=dm)
        if _unread(in_dm, SUPPORT) == 0:
            break
        await asyncio.sleep(0.1)
    assert _unread(in_dm, dm) == 0 and _unread(in_dm, SUPPORT) == 0
    await ana.command("create Printer on fire priority:high")
    noticed = await ben.until(lambda s: _unread(s, SUPPORT) and s, channel=dm)
    assert _unread(noticed, dm) == 0  # the one on screen is read
    # On the App Home nothing is on screen: it stays unread there.
    params = {"user": BEN, "channel": SUPPORT, "tab": "home"}
    home = (await dev.get("/dev/api/state", params=params)).json()
    assert _unread(home, SUPPORT) >= 1
    opened = await ben.state()
    assert _unread(opened, SUPPORT) == 0
    # The page opens the channel at the first message after the one he had read.
    card = next(m for m in opened["messages"] if "Printer on fire" in _texts(m))
    assert float(opened["read_up_to"]) < float(card["ts"])
    assert float((await ben.state())["read_up_to"]) >= float(card["ts"])
    # An edit is not news: Take redraws the card, and it does not count again for Ben (only
    # what was posted since he looked does, such as the demo's first digest).
    read_up_to = max(float(m["ts"]) for m in opened["messages"])
    await ana.press(card, buttons.TAKE.id)
    await ana.until(
        lambda s: any(m["edited"] and "Printer on fire" in _texts(m) for m in s["messages"])
    )
    unread = _unread(await ben.state(channel=dm), SUPPORT)
    posted_since = [m for m in (await ben.state())["messages"] if float(m["ts"]) > read_up_to]
    assert unread == len(posted_since)


# --- threads (issue 18, item 7) --------------------------------------------------------------


async def _card_of_a_demo_conversation(page: Page) -> tuple[Json, str]:
    """A shared card (with its Thread button) for a demo conversation, whose customer wrote
    first; and its id. A change posts a card for the channel: tagging the first one listed."""
    await page.command("list")
    listing = await page.until(lambda s: next((m for m in s["messages"] if m["ephemeral"]), None))
    found = re.search(r"`([0-9a-f-]{36})`", json.dumps(listing["blocks"]))
    assert found, listing["text"]
    conversation = found.group(1)
    await page.command(f"tag {conversation} followup")

    def card(state: Json) -> Json | None:
        return next(
            (
                m
                for m in state["messages"]
                if not m["ephemeral"]
                and conversation in _texts(m)
                and buttons.THREAD.id in _texts(m)
            ),
            None,
        )

    return await page.until(card), conversation


async def _thread(page: Page, root_ts: str, check: Callable[[Json], Any]) -> Any:
    """The first truthy `check(thread)` of the pane open on `root_ts`, long-polled as the page."""
    params: dict[str, str | int] = {"user": page.user, "channel": SUPPORT, "thread": root_ts}
    async with asyncio.timeout(15):
        while True:
            state = (await page.http.get("/dev/api/state", params=params, timeout=40)).json()
            if state["thread"] is not None and (found := check(state["thread"])):
                return found
            params["since"] = state["version"]


async def test_a_thread_shows_its_transcript_takes_the_customer_and_a_person_writes_in_it(
    tmp_path: Path,
) -> None:
    async with served(tmp_path / "convbot-dev") as (dev, local):
        page = Page(dev)
        card, conversation = await _card_of_a_demo_conversation(page)
        await page.press(card, buttons.THREAD.id)

        # The pane: the card first, then the transcript under it, with the customer's opening.
        openings = [text.split("{")[0] for text in customers.OPENERS]  # "Hi, ", …

        def transcribed(thread: Json) -> Json | None:
            replies = thread["messages"][1:]
            said = any(o in _texts(m) for m in replies for o in openings)
            return thread if said else None

        opened = await _thread(page, card["ts"], transcribed)
        assert opened["messages"][0]["ts"] == card["ts"]
        assert opened["conversation"] == conversation
        # In the channel, the card says it has replies, and when the latest came.
        state = await page.state()
        root = next(m for m in state["messages"] if m["ts"] == card["ts"])
        assert root["reply_count"] == len(opened["messages"]) - 1
        assert root["latest_reply"] == opened["messages"][-1]["ts"]
        assert all(m["thread_ts"] is None for m in state["messages"])  # replies stay in the pane

        # The person at the page writes as the customer: the bot's mirror brings it in.
        written = await dev.post(
            "/dev/api/customer",
            json={"channel": SUPPORT, "thread_ts": card["ts"], "text": "Is it sorted yet?"},
        )
        assert written.json()["ok"] and written.json()["conversation"] == conversation
        arrived = await _thread(
            page,
            card["ts"],
            lambda t: next((m for m in t["messages"] if "sorted yet" in _texts(m)), None),
        )
        assert arrived["bot"] and arrived["thread_ts"] == card["ts"]

        # A person writes in the thread: stored as theirs, and the bot gets Slack's event.
        said = await dev.post(
            "/dev/api/thread",
            json={"user": BEN, "channel": SUPPORT, "thread_ts": card["ts"], "text": "On it <@x>"},
        )
        assert said.json() == {"ok": True}
        event, status = local.events[-1]
        assert status == 200
        assert event["type"] == "message" and event["channel_type"] == "channel"
        assert (event["channel"], event["user"], event["thread_ts"]) == (SUPPORT, BEN, card["ts"])
        assert event["text"] == "On it <@x>" and event["parent_user_id"] == local.fake.bot_user_id
        assert event["blocks"][0]["type"] == "rich_text"
        mine = await _thread(
            page, card["ts"], lambda t: next((m for m in t["messages"] if m["user"] == BEN), None)
        )
        assert mine["ts"] == event["ts"] and not mine["bot"]


async def test_thread_writes_that_cannot_be_are_refused_with_a_reason(
    dev: httpx.AsyncClient,
) -> None:
    welcome = _welcomes(await Page(dev).until(lambda s: _welcomes(s) and s))[0]
    nowhere = {"user": ANA, "channel": SUPPORT, "thread_ts": "1.000001", "text": "hi"}
    refused = await dev.post("/dev/api/thread", json=nowhere)
    assert refused.status_code == 400 and "not in this channel" in refused.json()["error"]
    empty = {**nowhere, "thread_ts": welcome["ts"], "text": "  "}
    refused = await dev.post("/dev/api/thread", json=empty)
    assert refused.status_code == 400 and "write something" in refused.json()["error"]
    too_long = {**nowhere, "thread_ts": welcome["ts"], "text": "x" * 4001}
    refused = await dev.post("/dev/api/thread", json=too_long)
    assert refused.status_code == 400 and "4001 characters" in refused.json()["error"]
    # The welcome is no conversation's thread: it has no customer to play.
    customer = {"channel": SUPPORT, "thread_ts": welcome["ts"], "text": "hello"}
    refused = await dev.post("/dev/api/customer", json=customer)
    assert refused.status_code == 400 and "no conversation" in refused.json()["error"]


def test_reactions_and_reply_counts_are_drawn_as_slack_keeps_them() -> None:
    fake = FakeSlack()
    demo.workspace(fake)
    root = fake.store_message(SUPPORT, text="card")
    fake.store_message(SUPPORT, text="one", thread_ts=root.ts)
    last = fake.store_message(SUPPORT, text="two", user=BEN, thread_ts=root.ts)
    # As the fake keeps them (emoji name → who reacted); drawn as Slack's message objects
    # carry them (reactions.get: name, users, count).
    setattr(last, "reactions", {"white_check_mark": [fake.bot_user_id]})  # noqa: B010
    shown = threads.channel_messages(fake, SUPPORT)
    assert [m["text"] for m in shown] == ["card"]
    assert shown[0]["reply_count"] == 2 and shown[0]["latest_reply"] == last.ts
    assert shown[0]["reply_users"] == [fake.bot_user_id, BEN]
    pane = threads.thread(fake, ANA, SUPPORT, root.ts)
    assert pane is not None and [m["text"] for m in pane["messages"]] == ["card", "one", "two"]
    assert pane["messages"][-1]["reactions"] == [
        {"name": "white_check_mark", "users": [fake.bot_user_id], "count": 1}
    ]
    assert threads.thread(fake, ANA, SUPPORT, last.ts) is None  # a reply opens no thread


def test_a_thread_is_no_news_for_the_channel_beside_it() -> None:
    fake = FakeSlack()
    demo.workspace(fake)
    local = LocalSlack(fake, "secret")
    root = fake.store_message(SUPPORT, text="card")
    assert local.unread(ANA, SUPPORT) == 1
    local.mark_read(ANA, SUPPORT, float(root.ts))  # Ana had the channel on screen
    fake.store_message(SUPPORT, text="a customer writes", thread_ts=root.ts)
    fake.store_ephemeral(SUPPORT, ANA, text="older messages", thread_ts=root.ts)
    assert local.unread(ANA, SUPPORT) == 0
    fake.store_ephemeral(SUPPORT, ANA, text="only you see this")
    assert local.unread(ANA, SUPPORT) == 1
