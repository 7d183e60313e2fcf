"""Bounded work and bounded waits (issue 15): what one request may make the bot do.

Driven as Slack drives the bot (signed HTTP into a running bot, the fake Slack Web API on
loopback), with Infobip as the emulator over real HTTP where the cost is Infobip's. Every
request the emulator serves is observed (bot/devtools/emulator/observe.py), so "how many requests
did that cost" and "which paths did the bot ask for" are counted where Infobip would see them, not
inferred from the bot's own accounting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import replace
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.backends.infobip import InfobipBackend
from bot.bounded import CALLS_PER_COMMAND
from bot.devtools.emulator import create_emulator_app
from bot.devtools.emulator.observe import Exchange, observing
from bot.devtools.fakeslack import StoredMessage
from bot.devtools.loopback import serve_in_background
from bot.errors import NotFound
from bot.field_rules import TAGS_PER_COMMAND, VALUES_PER_FILTER
from bot.models import ConversationCreate
from bot.server import READY_CACHE_SECONDS
from bot.slack.blocks import buttons
from bot.slack.blocks.digest import HEAD_BLOCK
from bot.state.tables import digest_posts
from tests.conftest import EMULATOR_KEY, emulated_infobip, seeded_local, sqlite_engine
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    CLEO,
    TAKE,
    TOKEN,
    SlackHarness,
    running_bot,
    texts,
)
from tests.test_slack_modals import create_values


@contextmanager
def watched() -> Iterator[list[Exchange]]:
    """Every request any emulator in this process answers while the block runs."""
    seen: list[Exchange] = []
    with observing(seen.append):
        yield seen


@asynccontextmanager
async def bot_on_infobip(tmp_path: Path, **config: object) -> AsyncIterator[SlackHarness]:
    """The bot through Slack, its backend the Infobip client talking to the emulator."""
    async with (
        emulated_infobip(tmp_path) as (base_url, _store),
        running_bot(
            tmp_path,
            config=dict(config) or None,
            infobip_base_url=base_url,
            infobip_api_key=EMULATOR_KEY,
        ) as slack,
    ):
        yield slack


# --- 9. ids from button values never become paths ---------------------------------------------


async def test_a_forged_dot_id_in_a_button_is_refused_before_infobip(tmp_path: Path) -> None:
    """A button value naming conversation `.` or `..` once reached Infobip as `GET
    /ccaas/1/conversations` and `GET /ccaas/1` (httpx resolves dot segments). The id is checked
    where it enters: the presser reads that the button is broken, and Infobip sees nothing."""
    async with bot_on_infobip(tmp_path) as slack:
        card = await slack.create("Printer on fire")
        for forged in (".", "..", "", "a/../..", "x\n"):
            with watched() as seen:
                press = await slack.press(card.message, TAKE, value=json.dumps({"id": forged}))
                assert press.ack.status_code == 200
                answer = await press.answer()
            assert "button is broken" in answer.text, (forged, answer.text)
            conversation_paths = [e.path for e in seen if "/conversations" in e.path]
            assert conversation_paths == [], (forged, conversation_paths)
            assert all(e.path.startswith("/ccaas/1/") for e in seen), [e.path for e in seen]


async def test_the_infobip_client_sends_dot_ids_and_tags_as_one_segment(tmp_path: Path) -> None:
    """Below the entry checks, the client itself never lets an id or a tag name be a dot
    segment: `..` travels as `%2E%2E`, so a get of conversation `..` asks for that conversation
    (not found) and untagging `..` cannot become `DELETE /conversations/{id}`."""
    async with emulated_infobip(tmp_path) as (base_url, _store):
        client = InfobipBackend(base_url, EMULATOR_KEY, max_retries=0)
        try:
            created = await client.create(ConversationCreate(topic="Dots"))
            with watched() as seen:
                for dots in (".", ".."):
                    try:
                        await client.get(dots)
                    except NotFound:
                        pass
                    else:
                        raise AssertionError(f"conversation {dots!r} was found")
                    with suppress(NotFound):
                        await client.remove_tag(created.id, dots)
            paths = {(e.method, e.path) for e in seen}
            assert ("GET", "/ccaas/1/conversations/%2E%2E") in paths, paths
            assert ("GET", "/ccaas/1/conversations/%2E") in paths, paths
            assert ("DELETE", f"/ccaas/1/conversations/{created.id}/tags/%2E%2E") in paths, paths
            assert not any(p in {"/ccaas/1", "/ccaas/1/conversations"} for _, p in paths), paths
            assert not any(
                m == "DELETE" and not p.endswith("%2E%2E") and not p.endswith("%2E")
                for m, p in paths
            ), paths
            assert (await client.get(created.id)).topic == "Dots"  # still there
        finally:
            await client.aclose()


# --- 10. /readyz is not a free Infobip request -------------------------------------------------


async def test_readyz_probes_are_shared_not_one_infobip_request_each(tmp_path: Path) -> None:
    """/readyz asks for no credentials; each call used to cost a request to Infobip (500 calls,
    500 pings). Now 100 calls, half of them at once, cost one probe: the answer stands for a few
    seconds, and calls that arrive while a probe runs wait for it."""
    async with bot_on_infobip(tmp_path) as slack:
        url = f"{slack.bot_url}/readyz"
        with watched() as seen:
            started = time.monotonic()
            at_once = await asyncio.gather(*(slack.http.get(url) for _ in range(50)))
            one_by_one = [await slack.http.get(url) for _ in range(50)]
            took = time.monotonic() - started
        answers = [*at_once, *one_by_one]
        assert {r.status_code for r in answers} == {200}
        assert all(r.json() == {"database": "ok", "backend": "ok"} for r in answers)
        pings = [e for e in seen if e.path == "/ccaas/1/queues"]
        # One probe per READY_CACHE_SECONDS (a loaded machine may take longer than one).
        allowed = 1 + int(took // READY_CACHE_SECONDS)
        assert len(pings) <= allowed, ([(e.method, e.path) for e in seen], took)


# --- 5. one command, bounded work ----------------------------------------------------------------


class InFlight:
    """ASGI middleware around the emulator: the most requests it was ever serving at once."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.now = 0
        self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await self._app(scope, receive, send)
        finally:
            self.now -= 1


@asynccontextmanager
async def bot_on_slow_infobip(tmp_path: Path) -> AsyncIterator[tuple[SlackHarness, InFlight]]:
    """The bot on an emulator that answers 50 ms late (so concurrent requests overlap), with
    the number of requests in flight at the emulator counted."""
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        counted = InFlight(create_emulator_app(store, EMULATOR_KEY, latency=0.05))
        async with (
            serve_in_background(counted) as base_url,
            running_bot(tmp_path, infobip_base_url=base_url, infobip_api_key=EMULATOR_KEY) as slack,
        ):
            yield slack, counted
    finally:
        await engine.dispose()


async def test_a_thousand_tags_in_one_command_are_refused_before_infobip(tmp_path: Path) -> None:
    """`/conv create Flood #t0 … #t999` made 2,004 Infobip requests. Now the command is refused
    with a sentence naming the limit, and Infobip sees none of it; `tag` and `list tag:` too."""
    async with bot_on_infobip(tmp_path) as slack:
        card = await slack.create("Target")
        flood = " ".join(f"#t{n}" for n in range(1000))
        many = ",".join(f"t{n}" for n in range(11))
        for text in (
            f"create Flood {flood}",
            f"tag {card.id} {flood.replace('#', '')}",
            f"untag {card.id} {flood.replace('#', '')}",
            f"list tag:{many}",
            f"list queue:{many}",
        ):
            with watched() as seen:
                answer = await (await slack.command(text)).answer()
            assert answer.response_type == "ephemeral", (text[:40], answer.text)
            assert f"the limit is {TAGS_PER_COMMAND}" in answer.text, (text[:40], answer.text)
            assert seen == [], (text[:40], len(seen))
        assert TAGS_PER_COMMAND == VALUES_PER_FILTER == 10


async def test_the_create_form_refuses_more_tags_than_a_command_may_give(tmp_path: Path) -> None:
    async with bot_on_infobip(tmp_path) as slack:
        command = await slack.command("create")
        [update] = await slack.settle("views.update")
        view = slack.fake.views[update.args["view_id"]]
        tags = " ".join(f"t{n}" for n in range(TAGS_PER_COMMAND + 1))
        with watched() as seen:
            answer = await slack.submit(view, create_values("Flood by form", tags=tags))
        assert command.ack.status_code == 200
        body = answer.json()
        assert body["response_action"] == "errors" and list(body["errors"]) == ["tags"]
        assert f"the limit is {TAGS_PER_COMMAND}" in body["errors"]["tags"]
        assert [e for e in seen if e.method != "GET"] == []


async def test_the_calls_one_command_still_makes_run_a_few_at_a_time(tmp_path: Path) -> None:
    """Ten tags are allowed: ten tag creates and ten links, which used to go out all at once
    (and a thousand of them took every connection the client has). At most CALLS_PER_COMMAND
    run at once, so other people's requests still find the client's pool free; a list over
    four statuses and four priorities (16 sub-queries) is held to the same budget."""
    async with bot_on_slow_infobip(tmp_path) as (slack, counted):
        tags = " ".join(f"#t{n}" for n in range(TAGS_PER_COMMAND))
        card = await slack.create(f"Ten tags {tags}")
        assert sorted((await slack.conversation(card.id)).tags or []) == sorted(
            f"t{n}" for n in range(TAGS_PER_COMMAND)
        )
        assert 1 < counted.most <= CALLS_PER_COMMAND, counted.most
        counted.most = 0
        everything = "list status:open,waiting,solved,closed priority:urgent,high,normal,low"
        answer = await (await slack.command(everything)).answer()
        assert "Ten tags" in answer.text or "Ten tags" in json.dumps(answer.body)
        assert 1 < counted.most <= CALLS_PER_COMMAND, counted.most


# --- 11. refusals do not each cost an audit row -------------------------------------------------


async def test_repeated_refusals_are_audited_once_not_once_each(tmp_path: Path) -> None:
    """200 refused closes made 200 audit rows in 1.3 s. Each person is still told, every time;
    the audit log keeps the first refusal of a person and action (and one a minute after, per
    replica, while they keep on), whatever conversation ids they name."""
    config = {"permissions": {"close": {"users": [BEN]}}}
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Keep me open")
        sent = [await slack.command(f"close {card.id if n % 2 else f'x{n}'}") for n in range(200)]
        answers = [await command.answer() for command in sent]
        assert all(a.text.startswith("You can't close") for a in answers), answers[0].text
        denied = [e for e in await slack.audit() if e.action == "denied"]
        assert len(denied) == 1, len(denied)
        assert (await slack.conversation(card.id)).status.value == "OPEN"
        # Another person's refusal is theirs to be audited.
        other = await (await slack.command(f"close {card.id}", user=CLEO)).answer()
        assert other.response_type == "ephemeral"
        assert [e.actor for e in await slack.audit() if e.action == "denied"] == [ANA, CLEO]


# --- 8. a digest press redraws only a digest the bot posted -------------------------------------

DIGEST_CONFIG = {"digests": [{"name": "support-high", "channel": CHANNEL, "cron": "0 0 1 1 *"}]}


async def _digest_and_a_page(slack: SlackHarness) -> tuple[StoredMessage, StoredMessage]:
    """A digest posted with `/conv digest`, and a message the bot posted in Ben's DM (as a page
    is): the one a forged press aims at."""
    answer = await (await slack.command("digest support-high")).answer()
    assert answer.text.startswith("Posted digest"), answer.text
    digest = next(
        m
        for m in slack.channel_messages()
        if any(str(b.get("block_id", "")).startswith(HEAD_BLOCK) for b in m.blocks)
    )
    client = AsyncWebClient(token=TOKEN, base_url=slack.fake.api_url)
    opened = await client.conversations_open(users=BEN)
    dm = str(opened["channel"]["id"])
    posted = await client.chat_postMessage(channel=dm, text=":pager: Page for Ben")
    page = slack.fake.message(dm, str(posted["ts"]))
    assert page is not None
    return digest, page


async def test_a_press_naming_another_message_does_not_redraw_it(tmp_path: Path) -> None:
    """A signed press whose payload carries another channel, ts and blocks made the bot
    `chat.update` that message (a page in Ben's DM) with the payload's text. Now the press
    acts, the presser is told, and no message the bot did not record as this digest is edited."""
    async with running_bot(tmp_path, config=DIGEST_CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest, page = await _digest_and_a_page(slack)
        forged = replace(digest, channel=page.channel, ts=page.ts, text="PWNED")
        press = await slack.press(forged, buttons.DIGEST_TAKE.id, card=fire.id)
        note = await press.answer()
        assert "not updated" in note.text and fire.id in note.text, note.text
        await quiescent()  # an edit, debounced or not, would have gone out by now
        assert slack.fake.calls_to("chat.update") == []
        after = slack.fake.message(page.channel, page.ts)
        assert after is not None and after.text == ":pager: Page for Ben" and not after.edited
        assert (await slack.conversation(fire.id)).agentId == "agent-ana"  # the press acted


async def test_a_press_redraws_from_the_recorded_digest_not_the_payloads_blocks(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=DIGEST_CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest, _page = await _digest_and_a_page(slack)
        planted = {"type": "section", "text": {"type": "mrkdwn", "text": "PWNED"}}
        forged = replace(digest, blocks=[planted, *digest.blocks], text="PWNED")
        await slack.press(forged, buttons.DIGEST_TAKE.id, card=fire.id)
        [update] = await slack.settle("chat.update")
        assert (update.args["channel"], update.args["ts"]) == (digest.channel, digest.ts)
        assert "PWNED" not in json.dumps(update.args)
        shown = slack.fake.message(digest.channel, digest.ts)
        assert shown is not None and f"<@{ANA}>" in texts(shown.blocks)


async def test_a_digest_the_bot_has_no_record_of_answers_the_presser_only(
    tmp_path: Path,
) -> None:
    """A digest posted before records were kept (or pruned by retention): the press acts and
    the presser is told; the message is left as it is."""
    async with running_bot(tmp_path, config=DIGEST_CONFIG) as slack:
        fire = await slack.create("Printer on fire priority:urgent")
        digest, _page = await _digest_and_a_page(slack)
        async with slack.serving.runtime.engine.begin() as conn:
            await conn.execute(delete(digest_posts))
        note = await (await slack.press(digest, buttons.DIGEST_CLOSE.id, card=fire.id)).answer()
        assert "not updated" in note.text and "CLOSED" in note.text, note.text
        await quiescent()
        assert slack.fake.calls_to("chat.update") == []
        assert (await slack.conversation(fire.id)).status.value == "CLOSED"
