"""Bounded work and bounded waits (issue 15): what one request may make the bot do.

Driven as Slack drives the bot (signed HTTP into a running bot, the fake Slack Web API on
loopback), with Infobip as the emulator over real HTTP where the cost is Infobip's. Every
request the emulator serves is observed (bot/emulator/observe.py), so "how many requests did
that cost" and "which paths did the bot ask for" are counted where Infobip would see them, not
inferred from the bot's own accounting.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

from bot.backends.infobip import InfobipBackend
from bot.emulator.observe import Exchange, observing
from bot.errors import NotFound
from bot.models import ConversationCreate
from tests.conftest import EMULATOR_KEY, emulated_infobip
from tests.slack_harness import TAKE, SlackHarness, running_bot


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
            at_once = await asyncio.gather(*(slack.http.get(url) for _ in range(50)))
            one_by_one = [await slack.http.get(url) for _ in range(50)]
        answers = [*at_once, *one_by_one]
        assert {r.status_code for r in answers} == {200}
        assert all(r.json() == {"database": "ok", "backend": "ok"} for r in answers)
        pings = [e for e in seen if e.path == "/ccaas/1/queues"]
        assert len(pings) == 1, [(e.method, e.path) for e in seen]
