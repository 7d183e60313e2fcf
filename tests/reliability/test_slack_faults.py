"""Digests and pages reach Slack exactly once while Slack answers 429s and 5xx in bursts.

The bot runs for real against the fake Slack (tests/slack_harness.py) with fault rules set on
the fake (bot/devtools/fakeslack/faults.py): a refused call is not applied, so a message that shows
up once was posted once, and `fake.faulted` / `calls_to(..., faulted=...)` tell attempts from
successes. The bot's own Web API client (`bot.slack.client.slack_client`) does the retrying.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import async_handler, builtin_async_handlers
from sqlalchemy import select

from bot import deadlines
from bot.config import DigestSchedule
from bot.devtools.fakeslack import FakeSlack, ResponsePost, StoredMessage, serve_fake_slack
from bot.jobs.digests import DigestJobs
from bot.schedules import job_id
from bot.slack.blocks import buttons
from bot.slack.blocks.digest import HEAD_BLOCK
from bot.slack.blocks.digest_item import ITEM_BLOCK_PREFIX
from bot.slack.client import slack_client
from bot.slack.client_policy import MAX_RETRY_AFTER
from bot.slack.respond import post
from bot.state.escalations import EscalationStore, PageStatus
from bot.state.tables import job_ticks
from tests.quiescence import quiescent
from tests.slack_harness import (
    ANA,
    BEN,
    CHANNEL,
    CLEO,
    Sent,
    SlackHarness,
    bot_settings,
    eventually,
    fake_workspace,
    running_bot,
    texts,
)

QUIET_CRON = "0 0 1 1 *"  # the scheduler never runs it during a test: ticks are run by hand
QUIET: dict[str, Any] = {
    "digests": [{"name": "support", "channel": CHANNEL, "cron": QUIET_CRON, "skip_if_empty": False}]
}
EVERY_2S: dict[str, Any] = {
    "digests": [{"name": "fast", "channel": CHANNEL, "every": "2s", "skip_if_empty": False}]
}
# Step 1 pages two people (Ben, on call, and Cleo); step 2 never comes during a test.
ONCALL: dict[str, Any] = {
    "oncall": {
        "schedules": [
            {
                "name": "primary",
                "rotation": {"users": [BEN], "shift": "7d", "start": "2026-01-05T09:00"},
            }
        ],
        "policies": [
            {
                "name": "default",
                "steps": [
                    {"notify": ["schedule:primary", f"user:{CLEO}"], "wait": "1h"},
                    {"notify": [f"user:{ANA}"], "wait": "1h"},
                ],
            }
        ],
    }
}
PAGED = "You are being paged"
_CREATED = re.compile(r"Created conversation (\S+)\.")


# --- helpers -------------------------------------------------------------------------------------


def is_digest(message: StoredMessage) -> bool:
    return any(str(b.get("block_id", "")).startswith(HEAD_BLOCK) for b in message.blocks)


def digests(slack: SlackHarness) -> list[StoredMessage]:
    return [m for m in slack.channel_messages() if is_digest(m)]


def pages_to(slack: SlackHarness, user: str) -> list[StoredMessage]:
    """The pages in a user's DM (other DMs, such as an on-call notice, are not pages)."""
    return [m for m in slack.dms_to(user) if PAGED in texts(m.blocks)]


async def tick_runner(slack: SlackHarness, name: str) -> tuple[DigestJobs, DigestSchedule]:
    """The digest jobs over the bot's runtime with the bot's own Web API client (its retries),
    and the schedule called `name`: `await jobs.run(schedule, at)` is one tick."""
    jobs = slack.serving.runtime.jobs.digests
    return jobs, next(s for s in jobs.schedules if s.name == name)


def a_tick(minutes_ago: int = 0) -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)


async def answered(sent: Sent, seconds: float = 15.0) -> ResponsePost:
    """The request's first response_url post (retries can make it late)."""
    return (await eventually(sent.answers, seconds=seconds))[0]


async def schedules_text(slack: SlackHarness) -> str:
    return texts((await answered(await slack.command("schedules"))).blocks)


async def tick_rows(slack: SlackHarness, key: str) -> list[Any]:
    async with slack.serving.runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(job_ticks).where(job_ticks.c.job_id == key).order_by(job_ticks.c.scheduled_at)
        )
        return list(rows)


def rows_where(
    slack: SlackHarness, key: str, keep: Callable[[Any], bool]
) -> Callable[[], Awaitable[list[Any]]]:
    async def check() -> list[Any]:
        return [row for row in await tick_rows(slack, key) if keep(row)]

    return check


# --- digests -------------------------------------------------------------------------------------


async def test_a_digest_tick_rides_out_two_429s_and_posts_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=QUIET) as slack:
        await slack.create("Printer on fire priority:urgent")
        jobs, schedule = await tick_runner(slack, "support")
        limited = slack.fake.fail("chat.postMessage", times=2, status=429, retry_after=1)

        assert await jobs.run(schedule, a_tick())

        attempts = slack.fake.calls_to("chat.postMessage")
        assert [(c.status, c.faulted) for c in attempts] == [(429, True), (429, True), (200, False)]
        assert limited.hits == 2 and len(slack.fake.faulted) == 2
        [digest] = digests(slack)
        assert "Printer on fire" in texts(digest.blocks)
        last = await jobs.ticks.last(job_id(schedule))
        assert last is not None and last.finished_at is not None and last.error is None
        assert "Last error: —" in await schedules_text(slack)


async def test_a_digest_tick_rides_out_a_500_then_a_503_and_posts_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=QUIET) as slack:
        jobs, schedule = await tick_runner(slack, "support")
        slack.fake.fail("chat.postMessage", status=500)  # JSON `internal_error`
        slack.fake.fail("chat.postMessage", status=503)  # Slack's edge: an HTML error page

        assert await jobs.run(schedule, a_tick())

        assert [c.status for c in slack.fake.calls_to("chat.postMessage")] == [500, 503, 200]
        assert len(digests(slack)) == 1
        last = await jobs.ticks.last(job_id(schedule))
        assert last is not None and last.error is None


async def test_a_burst_longer_than_the_retries_fails_the_tick_readably_then_the_next_posts(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=QUIET) as slack:
        jobs, schedule = await tick_runner(slack, "support")
        burst = slack.fake.fail("chat.postMessage", times=10, status=500)

        assert await jobs.run(schedule, a_tick(minutes_ago=1))

        assert burst.hits == 3  # the first attempt and 2 retries, then the tick gives up
        assert digests(slack) == [] and slack.fake.calls_to("chat.postMessage", faulted=False) == []
        last = await jobs.ticks.last(job_id(schedule))
        assert last is not None and last.finished_at is not None
        assert last.error == "Slack said internal_error: see the log"
        assert "Last error: Slack said internal_error: see the log" in await schedules_text(slack)

        slack.fake.clear_faults()  # Slack is back
        assert await jobs.run(schedule, a_tick())

        assert len(digests(slack)) == 1
        last = await jobs.ticks.last(job_id(schedule))
        assert last is not None and last.error is None


async def test_the_scheduler_survives_an_outage_and_posts_once_per_tick_after_it(
    tmp_path: Path,
) -> None:
    fake = fake_workspace()
    outage = fake.fail("chat.postMessage", times=None, status=500)  # until cleared
    key = "digest:fast"
    async with running_bot(tmp_path, config=EVERY_2S, fake=fake) as slack:
        # Ticks come every 2 s (and one at start-up); each tries 3 times and records its error.
        failed = await eventually(
            rows_where(slack, key, lambda r: r.finished_at is not None and r.error), seconds=8
        )
        assert digests(slack) == [] and outage.hits >= 3
        assert failed[0].error == "Slack said internal_error: see the log"

        fake.clear_faults()
        after = failed[-1].scheduled_at
        await eventually(
            rows_where(
                slack, key, lambda r: r.scheduled_at > after and r.finished_at and not r.error
            ),
            seconds=6,
        )

        async def one_post_per_good_tick() -> bool:
            rows = await tick_rows(slack, key)
            finished = [r for r in rows if r.finished_at is not None]
            if len(finished) != len(rows):  # a tick is being posted: look again
                return False
            good = [r for r in finished if not r.error]
            return len(good) >= 1 and len(digests(slack)) == len(good)

        await eventually(one_post_per_good_tick, seconds=5)


async def test_a_tick_failing_on_slacks_503_page_says_so(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=QUIET) as slack:
        jobs, schedule = await tick_runner(slack, "support")
        slack.fake.fail("chat.postMessage", times=3, status=503)  # HTML body

        assert await jobs.run(schedule, a_tick())

        last = await jobs.ticks.last(job_id(schedule))
        assert last is not None and last.error is not None
        assert "503" in last.error, last.error


# --- escalations ---------------------------------------------------------------------------------


async def test_every_page_is_delivered_once_through_429s_and_500s(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:high")
        ben_dm, cleo_dm = "D" + BEN[1:], "D" + CLEO[1:]
        fake = slack.fake
        rules = [
            fake.fail("conversations.open", status=429, retry_after=1, match={"users": BEN}),
            fake.fail("conversations.open", status=503, match={"users": CLEO}),
            fake.fail("chat.postMessage", status=500, match={"channel": ben_dm}),
            fake.fail("chat.postMessage", status=500, match={"channel": cleo_dm}),
        ]

        # Its first pages are retried first (a 1 s Retry-After, backoffs): on a busy machine,
        # or beside another test (pytest -n 2), that is more than the usual 5 s.
        notice = await slack.escalate(card.id, seconds=15)
        # Announced at once; on a busy machine the retried pages may still be on their way
        # then, and the announcement is redrawn to name them when they are delivered.
        await eventually(
            lambda: f"<@{BEN}>" in notice.text and f"<@{CLEO}>" in notice.text, seconds=15
        )
        assert [rule.hits for rule in rules] == [1, 1, 1, 1]
        assert len(pages_to(slack, BEN)) == 1 and len(pages_to(slack, CLEO)) == 1
        posted = [c for c in fake.calls_to("chat.postMessage", faulted=False) if c.ok]
        assert sorted(c.args["channel"] for c in posted) == [CHANNEL, ben_dm, cleo_dm]
        [escalation] = await EscalationStore(slack.serving.runtime.engine).active()
        pages = await EscalationStore(slack.serving.runtime.engine).pages(escalation.id)
        assert sorted(p.status for p in pages) == [PageStatus.SENT, PageStatus.SENT]


async def test_acknowledge_redraws_each_page_once_through_429s_and_500s(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=ONCALL) as slack:
        card = await slack.create("Printer on fire priority:high")
        notice = await slack.escalate(card.id)
        [ben_page], [cleo_page] = pages_to(slack, BEN), pages_to(slack, CLEO)
        fake = slack.fake
        rules = [
            fake.fail("chat.update", status=429, retry_after=1, match={"ts": ben_page.ts}),
            fake.fail("chat.update", status=500, match={"ts": cleo_page.ts}),
        ]

        await slack.press(cleo_page, buttons.PAGE_ACK.id, user=CLEO)

        def redrawn() -> bool:
            return all(
                f"Acknowledged by <@{CLEO}>" in texts(p.blocks) for p in (ben_page, cleo_page)
            )

        await eventually(redrawn, seconds=8)
        assert [rule.hits for rule in rules] == [1, 1]
        await eventually(lambda: "Acknowledged by" in texts(notice.blocks))
        done = Counter(
            (c.args["channel"], c.args["ts"])
            for c in fake.calls_to("chat.update", faulted=False)
            if c.ok
        )
        assert done == {
            (ben_page.channel, ben_page.ts): 1,
            (cleo_page.channel, cleo_page.ts): 1,
            (notice.channel, notice.ts): 1,
        }
        assert len(slack.dms_to(BEN)) == 1 and len(slack.dms_to(CLEO)) == 1  # redrawn, not re-sent
        assert all(buttons.PAGE_ACK.id not in texts(p.blocks) for p in (ben_page, cleo_page))


# --- a burst of commands at a 20 % fault rate ----------------------------------------------------


async def test_a_burst_of_commands_under_a_20_percent_fault_rate_is_answered_once_each(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, config=QUIET) as slack:
        fake = slack.fake
        # chat.postMessage, chat.update and the response_urls each fail 20 % of their calls,
        # each rule from its own seed (one that refuses an early call, whatever the timing), and
        # a request at most once: the clients' retries always get through, so what is proven
        # is "once", not luck (and a command waits ≤ 2 s per faulted call, chained post then
        # answer). response_urls get 429s only: see test_a_response_url_answering_500_is_retried.
        rules = [
            fake.faults(rate=0.2, kinds=[429, 500], seed=seed, methods=[method], max_per_request=1)
            for method, seed in (("chat.postMessage", 7), ("chat.update", 1))
        ]
        rules.append(
            fake.faults(rate=0.2, kinds=[429], seed=5, methods=["response_url"], max_per_request=1)
        )
        texts_sent = [
            "digest support" if n % 5 == 4 else f"create Burst {n:02d} priority:high"
            for n in range(30)
        ]

        sent = await asyncio.gather(*(slack.command(text) for text in texts_sent))

        assert all(s.ack.status_code == 200 for s in sent)

        def all_answered() -> bool:
            return all(s.answers() for s in sent)

        await eventually(all_answered, seconds=15)
        await quiescent()  # a duplicate answer (a retry in flight) would have come by now
        created: list[str] = []
        for text, one in zip(texts_sent, sent, strict=True):
            [answer] = one.answers()  # answered exactly once
            if text.startswith("create"):
                found = _CREATED.search(answer.text)
                assert found, answer.text
                created.append(found.group(1))
            else:
                assert answer.text.startswith("Posted digest support"), answer.text
        assert len(set(created)) == 24
        cards = [m for m in slack.channel_messages() if not is_digest(m)]
        per_conversation = Counter(c for c in created for m in cards if c in texts(m.blocks))
        assert per_conversation == dict.fromkeys(created, 1)  # one card each, no duplicate
        assert len(digests(slack)) == 6
        assert len([c for c in fake.calls_to("chat.postMessage", faulted=False) if c.ok]) == 6

        # Take on an item of the last digest: redrawn in place with chat.update, under the
        # same fault rate.
        last = digests(slack)[-1]
        item = next(
            str(b["block_id"]).removeprefix(ITEM_BLOCK_PREFIX)
            for b in last.blocks
            if str(b.get("block_id", "")).startswith(ITEM_BLOCK_PREFIX)
        )
        await slack.press(last, buttons.DIGEST_TAKE.id, card=item)

        def taken() -> bool:
            shown = {str(b.get("block_id")): texts([b]) for b in last.blocks}
            return f"<@{ANA}>" in shown[ITEM_BLOCK_PREFIX + item]

        await eventually(taken, seconds=10)
        assert len(digests(slack)) == 6  # edited in place, never posted again
        assert all(rule.hits >= 1 for rule in rules), [rule.hits for rule in rules]
        assert {c.method for c in fake.faulted} == {
            "chat.postMessage",
            "chat.update",
            "response_url",
        }


async def test_a_response_url_answering_500_is_retried(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as slack:
        slack.fake.fail("response_url", status=500)

        command = await slack.command("create Printer on fire")

        # A retry comes within 1.5 s; the rest is the create on a loaded machine.
        answer = await answered(command, seconds=10)
        assert answer.text.startswith("Created conversation")
        assert len(slack.fake.faulted) == 1 and len(command.answers()) == 1


# --- the client's retry policy itself ------------------------------------------------------------


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """slack_sdk's retry waits, recorded instead of slept."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    for module in (builtin_async_handlers, async_handler):
        monkeypatch.setattr(module, "asyncio", SimpleNamespace(sleep=sleep))
    return waits


async def test_slack_client_retries_5xx_twice_and_429s_three_times(
    tmp_path: Path, no_sleep: list[float]
) -> None:
    fake = FakeSlack()
    fake.add_channel("C0BILLING", "billing")
    async with serve_fake_slack(fake):
        client = slack_client(bot_settings(tmp_path, fake.api_url))
        fake.fail("chat.postMessage", times=2, status=500)
        assert (await client.chat_postMessage(channel="C0BILLING", text="a"))["ok"]
        fake.fail("chat.postMessage", times=3, status=429)
        assert (await client.chat_postMessage(channel="C0BILLING", text="b"))["ok"]

        fake.fail("chat.postMessage", times=3, status=503)
        with pytest.raises(SlackApiError) as gave_up:
            await client.chat_postMessage(channel="C0BILLING", text="c")
        assert gave_up.value.response.status_code == 503
        # A 500 after two 429s: the retries are one budget per call, the 5xx share is spent.
        fake.clear_faults()
        fake.fail("chat.postMessage", times=2, status=429)
        fake.fail("chat.postMessage", status=500)
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="C0BILLING", text="d")

    assert [m.text for m in fake.messages_in("C0BILLING")] == ["a", "b"]
    assert len(no_sleep) == 2 + 3 + 2 + 2


async def test_slack_client_does_not_wait_out_a_long_retry_after(
    tmp_path: Path, no_sleep: list[float]
) -> None:
    fake = FakeSlack()
    fake.add_channel("C0BILLING", "billing")
    async with serve_fake_slack(fake):
        client = slack_client(bot_settings(tmp_path, fake.api_url))
        fake.fail("chat.postMessage", status=429, retry_after=MAX_RETRY_AFTER)
        assert (await client.chat_postMessage(channel="C0BILLING", text="short wait"))["ok"]
        fake.fail("chat.postMessage", status=429, retry_after=MAX_RETRY_AFTER + 25)
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C0BILLING", text="long wait")

    assert refused.value.response["error"] == "ratelimited"
    assert len(no_sleep) == 1 and MAX_RETRY_AFTER <= no_sleep[0] < MAX_RETRY_AFTER + 1
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["short wait"]


async def test_a_response_url_does_not_wait_out_a_long_retry_after(no_sleep: list[float]) -> None:
    # The same bound as the Web API client: Bolt's respond used to wait out any Retry-After.
    fake = FakeSlack()
    fake.add_channel("C0BILLING", "billing")
    async with serve_fake_slack(fake):
        fake.fail("response_url", status=429, retry_after=MAX_RETRY_AFTER)
        short = await post(fake.new_response_url("C0BILLING", ANA), {"text": "short wait"})
        fake.fail("response_url", status=429, retry_after=MAX_RETRY_AFTER + 25)
        long = await post(fake.new_response_url("C0BILLING", ANA), {"text": "long wait"})

    assert (short.status_code, long.status_code) == (200, 429)
    assert len(no_sleep) == 1 and MAX_RETRY_AFTER <= no_sleep[0] < MAX_RETRY_AFTER + 1
    assert [p.body["text"] for p in fake.responses] == ["short wait"]


async def test_no_retry_outlasts_the_commands_deadline(
    tmp_path: Path, no_sleep: list[float]
) -> None:
    fake = FakeSlack()
    fake.add_channel("C0BILLING", "billing")
    async with serve_fake_slack(fake):
        client = slack_client(bot_settings(tmp_path, fake.api_url))
        url = fake.new_response_url("C0BILLING", ANA)
        # Room for a 0.5-1.5 s backoff after the calls before it on a loaded machine, not for
        # a 3 s Retry-After (3 s plus its 1 s of jitter).
        with deadlines.within(3.9):
            fake.fail("chat.postMessage", status=429, retry_after=3)
            with pytest.raises(SlackApiError):
                await client.chat_postMessage(channel="C0BILLING", text="after the deadline")
            fake.fail("response_url", status=429, retry_after=3)
            assert (await post(url, {"text": "after the deadline"})).status_code == 429
            fake.fail("chat.postMessage", status=500)
            assert (await client.chat_postMessage(channel="C0BILLING", text="a 500"))["ok"]
        with deadlines.within(1.0):
            fake.fail("response_url", status=503)
            assert (await post(url, {"text": "no room for a backoff"})).status_code == 503
        # Outside a command (a digest tick, an escalation sweep) the same wait is taken.
        fake.fail("chat.postMessage", status=429, retry_after=3)
        assert (await client.chat_postMessage(channel="C0BILLING", text="a tick"))["ok"]

    assert [m.text for m in fake.messages_in("C0BILLING")] == ["a 500", "a tick"]
    assert fake.responses == []
    assert len(no_sleep) == 2 and no_sleep[0] < 1.5 and 3 <= no_sleep[1] < 4
