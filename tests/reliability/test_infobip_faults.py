"""What the Infobip client does when Infobip misbehaves: throttling, errors, timeouts, dropped
connections. Real HTTP on loopback: InfobipBackend -> [fault proxy ->] emulator (with fault
injection) -> a seeded LocalBackend, whose store the tests look into to see what really happened.

Per kind, the client (bot/backends/infobip/http.py, errors.py) today:
- 429: GET retried after Retry-After; POST not retried, RateLimited (nothing was created).
- 503: GET retried; POST refused in Infobip's envelope: BackendUnavailable, nothing created.
- 500: not retried at all (not in the retry statuses); BackendUnavailable, nothing created.
- timeout: GET retried, then BackendUnavailable "did not answer within N s"; POST not retried,
  reported as maybe done.
- drop-before: GET retried; POST not retried (the client cannot tell it was never sent),
  reported as maybe done, nothing created.
- drop-after: GET retried; POST not retried, reported as maybe done, and the conversation exists.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.devtools.emulator import create_emulator_app
from bot.devtools.faults import FaultDice, FaultKind, FaultPlan, fault_proxy, parse_kinds
from bot.devtools.faults.options import add_fault_options, fault_plan
from bot.devtools.loopback import serve_in_background
from bot.errors import BackendUnavailable, RateLimited
from bot.models import Conversation, ConversationCreate, ConversationFilter
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.slack_harness import eventually

MAYBE_CREATED = "may or may not have been created"


@dataclass
class Rig:
    client: InfobipBackend
    store: LocalBackend
    http: FaultDice  # the emulator's: 429, 500, 503, timeout; `rolls` counts requests it saw
    drops: FaultDice  # the proxy's: drop-before, drop-after

    async def stored(self, topic: str) -> list[Conversation]:
        found = await self.store.list(ConversationFilter(limit=100))
        return [c for c in found.items if c.topic == topic]


@asynccontextmanager
async def rig(
    tmp_path: Path,
    http: FaultPlan | None = None,
    drops: FaultPlan | None = None,
    *,
    client_timeout: float = 5.0,
    max_retries: int = 3,
) -> AsyncIterator[Rig]:
    """The client talking to the faulty emulator; through the proxy when `drops` is given."""
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        http_dice, drop_dice = FaultDice(http or FaultPlan()), FaultDice(drops or FaultPlan())
        app = create_emulator_app(store, EMULATOR_KEY, faults=http_dice)
        async with serve_in_background(app) as base_url, AsyncExitStack() as stack:
            if drops is not None:
                target = httpx.URL(base_url)
                assert target.port is not None
                proxy = fault_proxy(target.host, target.port, drop_dice)
                host, port = await stack.enter_async_context(proxy)
                base_url = f"http://{host}:{port}"
            client = InfobipBackend(
                base_url, EMULATOR_KEY, timeout=client_timeout, max_retries=max_retries
            )
            stack.push_async_callback(client.aclose)
            yield Rig(client, store, http_dice, drop_dice)
    finally:
        await engine.dispose()


def first(kind: FaultKind, *, retry_after: float = 1.0, timeout: float = 30.0) -> FaultPlan:
    """The first request (the first exchange, for the proxy) meets `kind`; the rest pass."""
    return always(kind, retry_after=retry_after, timeout=timeout).model_copy(
        update={"max_faults": 1}
    )


def always(kind: FaultKind, *, retry_after: float = 1.0, timeout: float = 30.0) -> FaultPlan:
    return FaultPlan(rate=1.0, kinds=[kind], retry_after=retry_after, timeout=timeout)


# --- the plan and the dice -------------------------------------------------------------------


def test_kinds_parse_from_the_cli_form_and_bad_plans_are_refused() -> None:
    assert parse_kinds("429, 500,,timeout,429") == ["429", "500", "timeout"]
    with pytest.raises(ValueError, match="unknown fault kind 'boom'"):
        parse_kinds("429,boom")
    with pytest.raises(ValidationError, match="at least one fault kind"):
        FaultPlan(rate=0.5)
    with pytest.raises(ValidationError):
        FaultPlan(rate=1.5, kinds=["429"])

    parser = argparse.ArgumentParser()
    add_fault_options(parser)
    args = parser.parse_args(
        ["--faults", "429,drop-after", "--fault-rate", "0.2", "--fault-seed", "7"]
    )
    assert fault_plan(args) == FaultPlan(rate=0.2, kinds=["429", "drop-after"], seed=7)
    assert fault_plan(parser.parse_args([])) is None
    with pytest.raises(ValueError, match="--faults needs --fault-rate"):
        fault_plan(parser.parse_args(["--faults", "503"]))
    with pytest.raises(ValueError, match="need --faults"):
        fault_plan(parser.parse_args(["--fault-rate", "0.5"]))


def test_the_same_seed_rolls_the_same_faults_at_the_planned_rate() -> None:
    plan = FaultPlan(rate=0.3, kinds=["429", "503", "timeout"], seed=7)
    one, two = FaultDice(plan), FaultDice(plan)
    rolls = [one.roll() for _ in range(3000)]
    assert rolls == [two.roll() for _ in range(3000)]
    other = FaultDice(plan.model_copy(update={"seed": 8}))
    assert rolls != [other.roll() for _ in range(3000)]
    for kind in plan.kinds:
        assert 0.08 < rolls.count(kind) / len(rolls) < 0.12  # rate / len(kinds) each

    # A layer only injects its own kinds: the others' rolls pass without a fault.
    http_only = FaultDice(plan.model_copy(update={"kinds": ["429", "drop-before"]}))
    seen = {http_only.roll(among={"429"}) for _ in range(200)}
    assert seen == {"429", None}


def test_a_split_plan_faults_each_request_once_at_the_planned_rate() -> None:
    plan = FaultPlan(rate=1.0, kinds=["503", "drop-before", "drop-after"], seed=3)
    connection, http = plan.split()
    assert connection.kinds == ["drop-before", "drop-after"] and http.kinds == ["503"]
    proxy, emulator = FaultDice(connection), FaultDice(http)
    outcomes = [proxy.roll() or emulator.roll() for _ in range(3000)]
    assert None not in outcomes  # rate 1: every request meets a fault, one only
    for kind in plan.kinds:
        assert 0.3 < outcomes.count(kind) / len(outcomes) < 0.37


# --- 429 -------------------------------------------------------------------------------------


async def test_429_on_a_get_is_retried_after_retry_after_and_succeeds(tmp_path: Path) -> None:
    async with rig(tmp_path, first("429", retry_after=0.4)) as r:
        started = time.monotonic()
        queues = await r.client.list_queues()
        waited = time.monotonic() - started
    assert {q.id for q in queues} == {"q-billing", "q-vip", "q-general"}
    assert r.http.injected == {"429": 1} and r.http.rolls == 2  # refused once, then answered
    assert 0.4 <= waited < 3.0  # Retry-After honoured; the rest a loaded machine's slack


async def test_429_on_a_create_is_not_retried_and_nothing_is_created(tmp_path: Path) -> None:
    # The client retries no POST on an answer, 429 included (http.py: may_retry_status), even
    # though a throttled request was refused before it was carried out.
    async with rig(tmp_path, first("429", retry_after=2)) as r:
        with pytest.raises(RateLimited) as caught:
            await r.client.create(ConversationCreate(topic="Throttled"))
        assert caught.value.retry_after == 2.0
        assert "try again in 2 seconds" in str(caught.value)
        assert await r.stored("Throttled") == []
        # Doing what the message says works, and makes exactly one.
        created = await r.client.create(ConversationCreate(topic="Throttled"))
        assert [c.id for c in await r.stored("Throttled")] == [created.id]
    assert r.http.injected == {"429": 1}


# --- 500 / 503 -------------------------------------------------------------------------------


async def test_503_on_a_get_is_retried_and_succeeds(tmp_path: Path) -> None:
    async with rig(tmp_path, first("503")) as r:
        assert len(await r.client.list_queues()) == 3
    assert r.http.injected == {"503": 1} and r.http.rolls == 2


async def test_500_on_a_get_is_not_retried(tmp_path: Path) -> None:
    # 500 is not among the retried statuses (429, 502, 503, 504), not even for a GET.
    async with rig(tmp_path, first("500")) as r:
        with pytest.raises(BackendUnavailable, match=r"Infobip is failing \(HTTP 500\)"):
            await r.client.list_queues()
        assert len(await r.client.list_queues()) == 3  # the next call goes through
    assert r.http.injected == {"500": 1} and r.http.rolls == 2


@pytest.mark.parametrize("kind", ["500", "503"])
async def test_5xx_on_a_create_is_reported_once_and_nothing_is_created(
    tmp_path: Path, kind: FaultKind
) -> None:
    # Infobip's envelope on the 5xx reads as a clear refusal (errors.py), so the message does
    # not say "maybe"; and it is right: the emulator refused before handling the request.
    async with rig(tmp_path, first(kind)) as r:
        with pytest.raises(BackendUnavailable) as caught:
            await r.client.create(ConversationCreate(topic="Refused"))
        assert f"Infobip is failing (HTTP {kind})" in str(caught.value)
        assert MAYBE_CREATED not in str(caught.value)
        assert await r.stored("Refused") == []
    assert r.http.injected == {kind: 1} and r.http.rolls == 1  # sent once, never repeated


# --- timeouts --------------------------------------------------------------------------------


async def test_a_get_that_times_out_is_retried_then_reported_readably(tmp_path: Path) -> None:
    started = time.monotonic()
    async with rig(tmp_path, always("timeout", timeout=20), client_timeout=0.3, max_retries=1) as r:
        with pytest.raises(BackendUnavailable) as caught:
            await r.client.list_queues()
    message = str(caught.value)
    assert "did not answer within 0.3 s (ReadTimeout)" in message
    assert "try again in a minute" in message and EMULATOR_KEY not in message
    assert r.http.injected == {"timeout": 2}  # the first try and one retry
    # The stalls ended when the client hung up: the emulator stopped at once, not in 20 s
    # (half of that is room for a loaded machine's set-up and teardown of the rig).
    assert time.monotonic() - started < 10


async def test_a_create_that_times_out_is_not_retried_and_reported_as_unsure(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, first("timeout", timeout=20), client_timeout=0.3) as r:
        with pytest.raises(BackendUnavailable) as caught:
            await r.client.create(ConversationCreate(topic="Stalled"))
        assert "did not answer (ReadTimeout)" in str(caught.value)
        assert MAYBE_CREATED in str(caught.value)
        assert await r.stored("Stalled") == []  # the stalled request was never handled
    assert r.http.injected == {"timeout": 1}


# --- dropped connections ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drop-before", "drop-after"])
async def test_a_dropped_get_is_retried_and_succeeds(tmp_path: Path, kind: FaultKind) -> None:
    async with rig(tmp_path, drops=first(kind)) as r:
        assert len(await r.client.list_queues()) == 3
    assert r.drops.injected == {kind: 1}
    # drop-before: the first try never reached the emulator; drop-after: it did.
    assert r.http.rolls == (1 if kind == "drop-before" else 2)


async def test_a_create_dropped_before_it_is_sent_is_reported_and_not_created(
    tmp_path: Path,
) -> None:
    # The request never left the proxy, but to the client it looks like a lost answer: it does
    # not retry the POST (only connect errors prove a request unsent) and says "maybe".
    async with rig(tmp_path, drops=first("drop-before")) as r:
        with pytest.raises(BackendUnavailable, match=MAYBE_CREATED):
            await r.client.create(ConversationCreate(topic="Never sent"))
        assert await r.stored("Never sent") == []
    assert r.drops.injected == {"drop-before": 1}


async def test_a_create_whose_answer_is_dropped_is_unsure_yet_done(tmp_path: Path) -> None:
    # The ambiguous failure: the emulator created the conversation, the answer never arrived.
    # Every exchange is dropped, so nothing the client could do afterwards gets an answer.
    async with rig(tmp_path, drops=always("drop-after"), max_retries=1) as r:
        with pytest.raises(BackendUnavailable, match=MAYBE_CREATED) as caught:
            await r.client.create(ConversationCreate(topic="Lost answer"))
        # The connection closed with nothing read: h11 says RemoteProtocolError ("Server
        # disconnected without sending a response"); a reset would be a ReadError.
        assert "did not answer (RemoteProtocolError)" in str(caught.value) or (
            "did not answer (ReadError)" in str(caught.value)
        )
        assert len(await r.stored("Lost answer")) == 1  # it DOES exist
    assert r.drops.injected["drop-after"] >= 1


async def test_a_create_whose_answer_is_dropped_once_never_makes_a_duplicate(
    tmp_path: Path,
) -> None:
    # Only the create's answer is lost; the client either reports the create as unsure or
    # finds the conversation it made. Either way there is exactly one.
    async with rig(tmp_path, drops=first("drop-after")) as r:
        try:
            created: Conversation | None = await r.client.create(
                ConversationCreate(topic="Answer lost once")
            )
        except BackendUnavailable as error:
            assert MAYBE_CREATED in str(error)
            created = None
        stored = await r.stored("Answer lost once")
        assert len(stored) == 1
        assert created is None or created.id == stored[0].id
    assert r.drops.injected == {"drop-after": 1}


async def echo_client_port(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the port the request came from: one per proxied connection."""
    if scope["type"] != "http":
        return
    port = str(scope["client"][1]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": port})


async def test_the_proxy_rolls_once_per_exchange_on_a_keep_alive_connection() -> None:
    def outcomes(seed: int) -> list[FaultKind | None]:
        dice = FaultDice(FaultPlan(rate=0.5, kinds=["drop-before"], seed=seed))
        return [dice.roll() for _ in range(4)]

    seed = next(s for s in range(1000) if outcomes(s) == [None, None, "drop-before", None])
    dice = FaultDice(FaultPlan(rate=0.5, kinds=["drop-before"], seed=seed))
    async with (
        serve_in_background(echo_client_port) as base_url,
        fault_proxy("127.0.0.1", httpx.URL(base_url).port or 0, dice) as (host, port),
        httpx.AsyncClient(base_url=f"http://{host}:{port}") as client,
    ):
        one = (await client.get("/")).text
        two = (await client.get("/")).text
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.get("/")
        three = (await client.get("/")).text
    assert one == two  # two exchanges on one kept-alive connection, each rolled
    assert three != one  # the drop closed it; the next request came on a new one
    assert dice.injected == {"drop-before": 1} and dice.rolls == 4


# --- all at once, and from the command line --------------------------------------------------


async def test_a_seeded_mix_of_faults_is_survived_by_gets_and_repeats_exactly(
    tmp_path: Path,
) -> None:
    plan = FaultPlan(
        rate=0.3, kinds=["429", "503", "drop-before", "drop-after"], retry_after=0, seed=11
    )
    connection, http = plan.split()
    seen = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        async with rig(tmp_path / run, http, connection, max_retries=5) as r:
            for _ in range(15):
                assert len(await r.client.list_queues()) == 3
        seen.append(r.http.injected + r.drops.injected)
    assert seen[0] == seen[1]  # the same seed, the same faults
    assert set(seen[0]) == {"429", "503", "drop-before", "drop-after"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator_process(tmp_path: Path, *options: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFOBIP_", "SLACK_"))}
    args = ["emulator", "--port", str(port), "--api-key", "cli-key", *options]
    log = tmp_path / "emulator.log"
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, stderr=stderr
        ) as process,
    ):
        try:
            deadline = time.monotonic() + 60  # a start-up on a loaded machine
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the emulator did not start"
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_emulator_command_injects_answers_and_drops(tmp_path: Path) -> None:
    options = ["--faults", "503,drop-before", "--fault-rate", "1", "--fault-seed", "5"]
    with emulator_process(tmp_path, *options) as base_url:
        outcomes = []
        for _ in range(12):
            try:
                with httpx.Client(base_url=base_url, timeout=5) as client:
                    response = client.get("/ccaas/1/queues", headers={"Authorization": "App x"})
                outcomes.append(str(response.status_code))
            except (httpx.RemoteProtocolError, httpx.ReadError):
                outcomes.append("dropped")
    # Rate 1: every request fails, each way about as often (the same each run: seeded).
    assert set(outcomes) == {"503", "dropped"}, outcomes


async def test_faults_do_not_hold_up_other_requests(tmp_path: Path) -> None:
    # A stalled request is a sleep, not a lock: the others are answered meanwhile.
    plan = FaultPlan(rate=1.0, kinds=["timeout"], max_faults=1, timeout=1.0)
    async with rig(tmp_path, plan, client_timeout=5.0) as r:
        started = time.monotonic()
        stalled = asyncio.create_task(r.client.list_queues())
        await eventually(lambda: r.http.injected.get("timeout") == 1)  # it is stalling now
        assert len(await r.client.list_queues()) == 3
        assert not stalled.done()  # answered while the other still waits
        # The stalled one gets its 503 after the stall, which a GET retries: then it passes.
        assert len(await stalled) == 3
        assert time.monotonic() - started >= 1.0
    assert r.http.injected == {"timeout": 1}
