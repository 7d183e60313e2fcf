"""200 mixed commands from Slack while one Infobip request in five meets a fault.

The bot runs for real (tests/slack_harness.py) with the Infobip client pointed at the emulator
through the fault proxy: the emulator answers 429 (Retry-After), 500, 503 or stalls past the
client's timeout; the proxy drops connections before a request reaches the emulator or after
it was carried out (the answer lost). All six kinds come up evenly at a seeded 20 % rate.

People work through it as people do: each of 50 conversations is created (again, when told
Infobip refused), then worked on with commands and card buttons one step at a time; lists and
shows run beside them. At most IN_FLIGHT commands are in flight at once, and never two on the
same conversation, so every answer can be checked against the store and the audit log:

- every request is acked 200 and answered exactly once, with the result or one readable
  sentence (never a trace, JSON or our "something went wrong" for an unexpected error);
- the conversations created are exactly those the creates were answered with: none twice,
  none the user was not told about;
- the audit log holds one entry per change answered as done and nothing else, and replaying
  it gives what the store holds: no change happened that the log (and the user) missed.

What makes the last two hold when an answer is lost: the Infobip client looks for a create
whose answer was lost (bot/backends/infobip/lost_creates.py), and the service reads a
conversation back after a change failed, to see whether it was made all the same (`settle`,
`retag` in bot/service/settling.py; one case at a time in tests/test_lost_answers_settled.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import bot.backends.infobip
from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.devtools.emulator import create_emulator_app
from bot.devtools.fakeslack import ResponsePost, StoredMessage
from bot.devtools.faults import FAULT_KINDS, FaultDice, FaultPlan, fault_proxy
from bot.devtools.loopback import serve_in_background
from bot.field_rules import LIMIT_MAX
from bot.models import Conversation, ConversationFilter
from bot.slack.blocks import buttons
from bot.slack.blocks.messages import UNEXPECTED
from tests.conftest import EMULATOR_KEY, seeded_local, sqlite_engine
from tests.quiescence import quiescent
from tests.slack_harness import (
    CHANNEL,
    Sent,
    SlackHarness,
    eventually,
    find_action,
    running_bot,
    selected,
    texts,
)

PLAN = FaultPlan(
    rate=0.2,
    kinds=list(FAULT_KINDS),  # 429, 500, 503, timeout, drop-before, drop-after
    retry_after=1.0,
    timeout=10.0,  # a stall outlasts the client's timeout, and ends when the client hangs up
    seed=606,
)
# The bot's Infobip timeout here (10 s in production): what a stall costs, yet far above any
# answer the emulator is slow to give on a loaded machine (which would be a timeout not planned).
CLIENT_TIMEOUT = 3.0
COMMANDS = 200
SCRIPTS = 50  # conversations worked on (each begins with a create)
STEPS_EACH = 3  # planned after each create
READS = 16  # lists and shows beside them
IN_FLIGHT = 12
ANSWER_WAIT = 30.0  # generous: a loaded 2-core machine, and retries that wait
TOPIC = "Mixed"
TAGS = ("vip", "refund", "loud", "later")
# No channel: the contract's conversations carry none, so the bot, through Infobip, records it
# as not reported while the store behind the emulator knows it.
FIELDS = ("topic", "summary", "status", "priority", "queueId", "agentId", "tags")
UNSURE = "may or may not have been"
STEPS = (  # what is done to a conversation after its create; a close comes last, if at all
    "update-priority",
    "update-summary",
    "update-queue",
    "assign",
    "take",
    "unassign",
    "route",
    "tag",
    "untag",
    "show",
    "press-take",
    "press-priority",
)
COMMAND_KINDS = {s if s.startswith("press-") else s.split("-")[0] for s in STEPS}
_CREATED = re.compile(r"Created conversation ([\w-]+)")
_NOT_A_SENTENCE = re.compile(r"Traceback|Exception|\bNone\b|[{}]|\bat 0x|requestError|\n")


# --- the rig ---------------------------------------------------------------------------------


@dataclass
class Infobip:
    base_url: str  # the proxy's
    store: LocalBackend  # what the emulator serves, read directly (no faults)
    answers: FaultDice  # the emulator's: 429, 500, 503, timeout
    drops: FaultDice  # the proxy's: drop-before, drop-after

    @property
    def injected(self) -> Counter[str]:
        return Counter({**self.answers.injected, **self.drops.injected})


@asynccontextmanager
async def faulty_infobip(tmp_path: Path, plan: FaultPlan) -> AsyncIterator[Infobip]:
    connection, http = plan.split()
    engine = await sqlite_engine(tmp_path / "emulator.db")
    try:
        store = await seeded_local(engine)
        answers, drops = FaultDice(http), FaultDice(connection)
        app = create_emulator_app(store, EMULATOR_KEY, faults=answers)
        async with serve_in_background(app) as emulator_url:
            target = httpx.URL(emulator_url)
            assert target.port is not None
            async with fault_proxy(target.host, target.port, drops) as (host, port):
                yield Infobip(f"http://{host}:{port}", store, answers, drops)
    finally:
        await engine.dispose()


class QuickInfobip(InfobipBackend):
    """The bot's client with a shorter timeout, so that a stalled request costs less."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, **{"timeout": CLIENT_TIMEOUT, **options})


# --- the work --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request and the one answer it got."""

    kind: str  # create, update, assign, take, …, press-take, press-priority, list, show
    text: str  # what was typed, or which button was pressed
    sent: Sent
    answer: ResponsePost
    conversation: str | None = None
    topic: str | None = None  # creates
    tags: tuple[str, ...] = ()  # creates

    @property
    def failed(self) -> bool:
        """Told as one `:warning:` line (an ephemeral error reply)."""
        blocks = self.answer.blocks
        first = (blocks[0].get("text") or {}) if blocks else {}
        return str(first.get("text", "")).startswith(":warning:")

    @property
    def sentence(self) -> str:
        return self.answer.text

    @property
    def created(self) -> str | None:
        """The id a create was answered with (also when only its tagging failed)."""
        found = _CREATED.search(self.answer.text) if self.kind == "create" else None
        return found.group(1) if found else None

    @property
    def changed(self) -> bool:
        """Answered as a change that was made (not "nothing to change", not a read)."""
        if self.failed:  # a part of it may be done, and said so: "Tagged X vip only: …"
            return self.kind in ("tag", "untag") and " only: " in self.sentence
        if self.kind in ("list", "show"):
            return False
        if self.kind.startswith("press-"):
            return ":information_source:" not in texts(self.answer.blocks)
        return self.answer.response_type == "in_channel"  # no-ops are told to their author only

    @property
    def audited_as(self) -> str:
        return {
            "take": "assign",
            "press-take": "assign",
            "press-priority": "update",
        }.get(self.kind, self.kind)


@dataclass
class Script:
    """One conversation's life: a create, then steps (kinds drawn up front, from the seed)."""

    number: int
    create: str
    topic: str
    tags: tuple[str, ...]
    steps: list[tuple[str, str]]  # (kind, what it sets)


def step(kind: str, rng: random.Random) -> tuple[str, str]:
    """A step and the value it sets: a priority, a queue, a tag, or which tag to remove."""
    if kind == "update-queue":
        return kind, rng.choice(["Billing", "General"])
    if kind == "tag":
        return kind, rng.choice(TAGS)
    if kind == "untag":
        return kind, str(rng.randrange(len(TAGS)))
    return kind, rng.choice(["low", "normal", "high", "urgent"])


def plan_work(seed: int) -> tuple[list[Script], list[str]]:
    rng = random.Random(seed)
    scripts = []
    for n in range(SCRIPTS):
        topic = f"{TOPIC} {n:03d} " + rng.choice(["printer", "invoice", "login", "refund", "vpn"])
        options = []
        if rng.random() < 0.5:
            options.append("priority:" + rng.choice(["low", "normal", "high", "urgent"]))
        if rng.random() < 0.3:
            options.append(f'summary:"floor {rng.randint(1, 9)}"')
        if rng.random() < 0.2:
            options.append("queue:" + rng.choice(["Billing", "VIP", "General"]))
        tags = tuple(rng.sample(TAGS, rng.choice([1, 2]))) if rng.random() < 0.3 else ()
        options += [f"#{t}" for t in tags]
        steps = [step(rng.choice(STEPS), rng) for _ in range(STEPS_EACH)]
        if rng.random() < 0.4:
            steps[-1] = ("close", "")
        scripts.append(Script(n, " ".join(["create", topic, *options]), topic, tags, steps))
    reads = [
        rng.choice(
            [
                "list",
                "list priority:high,urgent",
                "list tag:vip",
                "list queue:Billing status:open,waiting",
                "list agent:me",
                "show no-such-conversation",
            ]
        )
        for _ in range(READS)
    ]
    return scripts, reads


@dataclass
class Workload:
    slack: SlackHarness
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(IN_FLIGHT))
    budget: int = COMMANDS
    outcomes: list[Outcome] = field(default_factory=list)

    async def run(self, scripts: list[Script], reads: list[str]) -> None:
        async with asyncio.TaskGroup() as group:
            for script in scripts:
                group.create_task(self.script(script))
            for text in reads:
                group.create_task(self.command("list" if text.startswith("list") else "show", text))
        while self.budget > 0:  # more scripts than planned for stopped early: top up
            await self.command("list", "list")

    async def script(self, script: Script) -> None:
        conversation: str | None = None
        for _attempt in range(3):  # a person told "Infobip is failing" tries again
            done = await self.command("create", script.create, topic=script.topic, tags=script.tags)
            if done is None:
                return
            conversation = done.created
            if conversation is not None or UNSURE in done.sentence:
                break  # made, or maybe made: then a person would look before trying again
        if conversation is None:
            return
        tags = set(script.tags)
        for kind, value in script.steps:
            if kind == "untag" and not tags:
                kind, value = "tag", TAGS[int(value)]  # nothing to untag: a person would not try
            text = step_text(kind, value, conversation, tags)
            if kind.startswith("press-"):
                done = await self.press(kind, conversation, value)
            else:
                done = await self.command(kind.split("-")[0], text, conversation=conversation)
            if done is None:
                return
            if done.changed and kind == "tag":
                tags.add(text.split()[-1])
            if done.changed and kind == "untag":
                tags.discard(text.split()[-1])

    def _spend(self) -> bool:
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    async def command(
        self,
        kind: str,
        text: str,
        *,
        conversation: str | None = None,
        topic: str | None = None,
        tags: tuple[str, ...] = (),
    ) -> Outcome | None:
        async with self.gate:
            if not self._spend():
                return None
            sent = await self.slack.command(text)
            answer = await answered(sent)
        outcome = Outcome(kind, text, sent, answer, conversation, topic, tags)
        self.outcomes.append(outcome)
        return outcome

    async def press(self, kind: str, conversation: str, value: str) -> Outcome | None:
        """Take or set the priority on the conversation's latest card in the channel; a show
        when it has no card with that button (a closed one has none)."""
        action = buttons.TAKE.id if kind == "press-take" else buttons.PRIORITY.id
        card = latest_card(self.slack, conversation, action)
        if card is None:
            return await self.command("show", f"show {conversation}", conversation=conversation)
        chosen = (
            {"selected_option": selected(value.upper())} if action == buttons.PRIORITY.id else {}
        )
        async with self.gate:
            if not self._spend():
                return None
            sent = await self.slack.press(card, action, card=conversation, **chosen)
            answer = await answered(sent)
        outcome = Outcome(kind, f"{kind} {conversation} {value}", sent, answer, conversation)
        self.outcomes.append(outcome)
        return outcome


def step_text(kind: str, value: str, conversation: str, tags: set[str]) -> str:
    match kind:
        case "update-priority":
            return f"update {conversation} priority:{value}"
        case "update-summary":
            return f'update {conversation} summary:"now {value}"'
        case "update-queue":
            return f"update {conversation} queue:{value}"
        case "assign":
            return f"assign {conversation} agent-ben"
        case "tag":
            return f"tag {conversation} {value}"
        case "untag":  # one it has
            have = sorted(tags)
            return f"untag {conversation} {have[int(value) % len(have)]}"
        case _:
            return f"{kind} {conversation}"


async def answered(sent: Sent) -> ResponsePost:
    assert sent.ack.status_code == 200, (sent.ack.status_code, sent.ack.text)
    return (await eventually(sent.answers, seconds=ANSWER_WAIT))[0]


def latest_card(slack: SlackHarness, conversation: str, action: str) -> StoredMessage | None:
    for message in reversed(slack.channel_messages(CHANNEL)):
        shown = texts(message.blocks)
        if conversation in shown and f'"action_id": "{action}"' in shown:
            try:
                find_action(message.blocks, action, card=conversation)
            except AssertionError:
                continue
            return message
    return None


# --- what the store and the audit log say ----------------------------------------------------


def snapshot(conversation: Conversation) -> dict[str, Any]:
    state = conversation.model_dump(mode="json", include=set(FIELDS))
    state["tags"] = sorted(state.get("tags") or [])
    return state


async def everything(store: LocalBackend) -> list[Conversation]:
    page = await store.list(ConversationFilter(limit=LIMIT_MAX))
    assert page.totalItems == len(page.items) < LIMIT_MAX
    return [await store.get(c.id) for c in page.items]  # with their tags


def readable(outcome: Outcome) -> bool:
    sentence = outcome.sentence
    return (
        0 < len(sentence) <= 400
        and sentence.rstrip().endswith((".", ")"))
        and not _NOT_A_SENTENCE.search(sentence)
        and sentence != UNEXPECTED
    )


# --- the test --------------------------------------------------------------------------------


async def test_200_mixed_commands_under_20_percent_infobip_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bot.backends.infobip, "InfobipBackend", QuickInfobip)
    caplog.set_level(logging.INFO, logger="bot")
    caplog.set_level(logging.DEBUG, logger="bot.backends.infobip.http")
    scripts, reads = plan_work(seed=PLAN.seed or 0)
    async with faulty_infobip(tmp_path, PLAN) as infobip:
        before = {c.id for c in await everything(infobip.store)}
        settings = {"infobip_base_url": infobip.base_url, "infobip_api_key": EMULATOR_KEY}
        async with running_bot(tmp_path, **settings) as slack:
            work = Workload(slack)
            await work.run(scripts, reads)
            outcomes = work.outcomes
            await quiescent()  # once: a second answer to anything would have come by now
            audit = await slack.audit()
        stored = await everything(infobip.store)

    # Every request acked and answered once: the result, or one readable sentence.
    assert len(outcomes) == COMMANDS
    for outcome in outcomes:
        assert outcome.sent.ack.status_code == 200
        assert len(outcome.sent.answers()) == 1, (outcome.text, outcome.sent.answers())
        if outcome.failed:
            assert readable(outcome), (outcome.text, outcome.sentence)
    failures = [o for o in outcomes if o.failed]

    # Conversations created: exactly those the creates were answered with, once each.
    creates = [o for o in outcomes if o.kind == "create"]
    told = {o.created: o.topic for o in creates if o.created is not None}
    new = [c for c in stored if c.id not in before]
    twice = [topic for topic, n in Counter(c.topic for c in new).items() if n > 1]
    assert not twice, [(o.text, o.sentence) for o in creates if o.topic in twice]
    untold = [c.topic for c in new if c.id not in told]
    assert not untold, [(o.text, o.sentence) for o in creates if o.topic in untold]
    assert {c.id: c.topic for c in new} == told
    assert len(stored) == len(before) + len(told)

    # The audit log: one entry per change answered as done, nothing else.
    expected: Counter[tuple[str | None, str]] = Counter()
    for outcome in outcomes:
        if outcome.kind == "create" and outcome.created is not None:
            expected[outcome.created, "create"] += 1
            if outcome.tags and (not outcome.failed or " and tagged it " in outcome.sentence):
                expected[outcome.created, "tag"] += 1
        elif outcome.changed:
            expected[outcome.conversation, outcome.audited_as] += 1
    logged = Counter((entry.conversation_id, entry.action) for entry in audit)
    assert logged == expected, (logged - expected, expected - logged)

    # ... and replaying it gives what the store holds: no change happened unlogged.
    replayed: dict[str, dict[str, Any]] = {}
    for entry in audit:
        assert entry.conversation_id is not None and entry.after is not None
        replayed.setdefault(entry.conversation_id, {}).update(entry.after)
    unlogged = []
    for conversation in new:
        state = {k: v for k, v in replayed[conversation.id].items() if k in FIELDS}
        state["tags"] = sorted(state.get("tags") or [])
        if state != snapshot(conversation):
            unlogged.append(
                (
                    conversation.id,
                    {k: (v, state[k]) for k, v in snapshot(conversation).items() if state[k] != v},
                    [
                        (o.text, o.sentence)
                        for o in outcomes
                        if o.conversation == conversation.id or o.created == conversation.id
                    ],
                )
            )
    assert not unlogged, "\n".join(map(str, unlogged))

    # The faults happened, every kind of them, and so did every kind of answer.
    injected = infobip.injected
    assert set(injected) == set(FAULT_KINDS), injected
    kinds = Counter(o.kind for o in outcomes)
    assert set(kinds) == {*COMMAND_KINDS, "create", "close", "list", "show"}, kinds
    assert len(told) >= SCRIPTS * 0.7 and len(failures) >= 10
    timeouts = sum("ReadTimeout in" in r.getMessage() for r in caplog.records)
    settled = sum("yet took effect" in r.getMessage() for r in caplog.records)
    found = sum("answer was lost; found" in r.getMessage() for r in caplog.records)
    print(
        f"\n{COMMANDS} commands ({dict(kinds)}); {len(told)} creates answered as created "
        f"({found} found after a lost answer); {len(failures)} answered with a sentence "
        f"({sum(UNSURE in o.sentence for o in failures)} unsure); {settled} changes that "
        f"failed yet took effect, told and audited as made; {len(audit)} audit entries; "
        f"faults injected: {dict(injected)} in {infobip.drops.rolls} requests; the client "
        f"timed out {timeouts} times"
    )
