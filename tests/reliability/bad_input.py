"""The rig behind the bad-input suites: one running bot per test, driven by hypothesis examples.

Hypothesis runs a test's examples one after another in a plain (sync) function and cannot await.
So `loop_bot` starts the bot (tests/slack_harness.py's `running_bot`: uvicorn on loopback, a
fake Slack) in a task on an event loop of its own, created here and never running between
examples: each example drives the bot with `bot.run(coroutine)`, which runs the loop until that
coroutine is done, and the servers, the bot's listeners and the fake Slack all make progress
meanwhile. Nothing crosses threads, so the fake's records need no locking.

After each example `bot.settle()` runs the loop until every task the example started has ended
(a listener works after its ack), so what the bot said and logged is that example's alone, and
a failure shrinks to the input that caused it.

Logs: `LogWatch` collects WARNING and above from the root logger and from uvicorn's (which does
not propagate): an ERROR is an unhandled exception (Bolt's error handler, `observed`, uvicorn's
"Exception in ASGI application"), and two warnings mean a person got nothing: Slack refusing the
bot's response_url post and Bolt's "Unhandled request" (a 404 to Slack).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.devtools.fakeslack import ResponsePost
from tests.slack_harness import (
    BEN,
    CHANNEL,
    CLEO,
    Json,
    SlackHarness,
    running_bot,
    walk,
)

T = TypeVar("T")

# Derandomized (the same examples on every run, so CI is stable), no deadline (a loaded
# machine is slow), no example database (nothing written beside the repository). The bot is
# deliberately shared by a test's examples: that is the point of the function-scoped fixture.
SUITE = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# A digest that never runs by itself and an on-call policy, so `digest`, `escalate`, `oncall`
# and the digest and page buttons reach real code.
CONFIG: Json = {
    "digests": [
        {"name": "support", "channel": CHANNEL, "cron": "0 0 1 1 *", "skip_if_empty": False}
    ],
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
                "steps": [{"notify": ["schedule:primary", f"user:{CLEO}"], "wait": "1h"}],
            }
        ],
    },
}


# --- logs ----------------------------------------------------------------------------------------


class LogWatch(logging.Handler):
    """WARNING and above, from everywhere (uvicorn's loggers included)."""

    # A person got no answer: Slack refused the post, or Bolt found no listener (a 404).
    SILENCED = ("Slack refused a response_url post", "Unhandled request")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def mark(self) -> int:
        return len(self.records)

    def problems(self, since: int) -> list[str]:
        """Each record since `since` that says the bot failed on its input."""
        found = []
        for record in self.records[since:]:
            message = record.getMessage()
            if record.levelno >= logging.ERROR or message.startswith(self.SILENCED):
                trace = self.format(record) if record.exc_info else ""
                found.append(f"{record.levelname} {record.name}: {message[:300]} {trace[-1500:]}")
        return found

    @contextmanager
    def installed(self) -> Iterator[LogWatch]:
        loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)


# --- the bot on a loop of its own ----------------------------------------------------------------


class LoopBot:
    """A running bot that sync code drives one coroutine at a time (see the module docstring).

    Not a dataclass: hypothesis prints the fixture with every failing example, field by field.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, slack: SlackHarness, logs: LogWatch
    ) -> None:
        self.loop = loop
        self.slack = slack
        self.logs = logs
        self._idle: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"LoopBot({self.slack.bot_url})"

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        async def bounded() -> T:
            # Awaited inline (not wrapped in a task of its own) so that `_settled` sees the
            # task running it as the current task.
            async with asyncio.timeout(timeout):
                return await work

        return self.loop.run_until_complete(bounded())

    def settle(self, timeout: float = 20.0) -> None:
        """Run the loop until the tasks the last example started have all ended."""
        self.run(self._settled(), timeout)

    async def _settled(self) -> None:
        me = asyncio.current_task()
        while busy := [t for t in asyncio.all_tasks() if t is not me and t not in self._idle]:
            await asyncio.wait(busy, timeout=0.05)

    def post(self, body: str | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST `body` to /slack/events: signed now unless `headers` says otherwise."""
        slack = self.slack
        sent = headers if headers is not None else slack.signer.headers_for(body)
        request = slack.http.post(f"{slack.bot_url}/slack/events", content=body, headers=sent)
        return self.run(request)

    @contextmanager
    def example(self) -> Iterator[Said]:
        """Everything the bot says and logs inside the block, checked when it ends."""
        said = Said(
            self, self.logs.mark(), len(self.slack.fake.calls), len(self.slack.fake.responses)
        )
        yield said
        self.settle()
        problems = self.logs.problems(said.log_mark)
        assert not problems, "\n".join(problems)


@dataclass
class Said:
    """What the bot said (to Slack) and logged since the start of one example."""

    bot: LoopBot
    log_mark: int
    call_mark: int
    response_mark: int

    def responses(self) -> list[ResponsePost]:
        return self.bot.slack.fake.responses[self.response_mark :]

    def calls(self, *methods: str) -> list[Any]:
        return [c for c in self.bot.slack.fake.calls[self.call_mark :] if c.method in methods]

    def check(self, typed: str = "") -> None:
        """Every message, answer and view the bot sent is one a person can read."""
        for post in self.responses():
            assert_readable(post.text, typed)
        for call in self.calls("chat.postMessage", "chat.postEphemeral", "chat.update"):
            assert_readable(str(call.args.get("text") or ""), typed)
        for call in self.calls("views.open", "views.update", "views.push", "views.publish"):
            assert_no_leak(view_text(call.args.get("view")), typed)
        refused = [
            f"{c.method}: {c.error}"
            for c in self.bot.slack.fake.calls[self.call_mark :]
            if not c.ok and c.error in BOT_MISTAKES
        ]
        assert not refused, refused


# Slack's refusals that mean the bot built a bad call (as opposed to a forged id Slack does not
# know, which is the input's fault).
BOT_MISTAKES = frozenset({"invalid_blocks", "invalid_arguments", "invalid_json", "no_text"})


@contextmanager
def loop_bot(tmp_path: Path, config: Json | None = None) -> Iterator[LoopBot]:
    """The bot running on its own loop for a whole test (see the module docstring)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started: asyncio.Future[SlackHarness] = loop.create_future()

    async def hold() -> None:
        try:
            async with running_bot(tmp_path, config=config) as slack:
                # Hypothesis sends hundreds of examples a second from one person, far faster
                # than anyone types: Slack's per-channel posting limit would only make the bot
                # wait out 429s (tests/test_fakeslack_rules.py and test_slack_faults.py cover
                # those). Every other rule of the fake stays on.
                slack.fake.rate_limits.enabled = False
                started.set_result(slack)
                await stop.wait()
        except BaseException as error:
            if not started.done():
                started.set_exception(error)
            raise

    logs = LogWatch()
    with logs.installed():
        holder = loop.create_task(hold())
        try:
            slack = loop.run_until_complete(asyncio.wait_for(started, 30))
            bot = LoopBot(loop, slack, logs)
            bot.run(asyncio.sleep(0.05))  # the servers' own tasks are now all running
            bot._idle = set(asyncio.all_tasks(loop))
            yield bot
        finally:
            stop.set()
            loop.run_until_complete(asyncio.wait([holder], timeout=30))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            if holder.done() and not holder.cancelled() and started.done():
                holder.exception()  # retrieved: a start-up failure was raised above already


# --- what a person can read ----------------------------------------------------------------------

ANSWER_MAX = 1500  # the answer's `text` (notification line): a sentence or a card's headline
# What a trace, a repr or a serialised object would leave in a message.
LEAKS = (
    "Traceback",
    "Exception",
    "Error(",
    "Error:",
    "{'",
    "'}",
    '{"',
    "<class",
    "object at 0x",
    "None",
    "null",
    "NaN",
    "undefined",
    "ValidationError",
    "pydantic",
    "sqlalchemy",
    'File "',
)
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def unescape(text: str) -> str:
    """What Slack shows for mrkdwn: its three entities decoded."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def bot_words(text: str, typed: str = "") -> str:
    """`text` without the words of `typed`: an answer may quote what was typed
    (`Unknown command '{'.` is no leak of a dict)."""
    shown = text
    for piece in sorted(_pieces(typed), key=len, reverse=True):
        shown = shown.replace(piece, " ")
    return shown


def assert_no_leak(text: str, typed: str = "") -> None:
    """No trace, repr or serialised object in what the bot itself wrote."""
    shown = bot_words(text, typed)
    for leak in LEAKS:
        if leak in shown:
            raise AssertionError(f"{leak!r} leaks into what the bot sent: {text[:600]!r}")


_SEPARATORS = re.compile(r"[\s:,=\"\u201c\u201d#]+")


def _pieces(typed: str) -> set[str]:
    pieces: set[str] = set()
    # As typed, as Slack escapes it, and as the tokenizer normalises it (no zero-width spaces).
    plain = typed.replace("\u200b", "").replace("\ufeff", "")
    variants = {typed, unescape(typed), slack_escaped(typed), plain, unescape(plain)}
    variants.add(slack_escaped(plain))  # the bot escapes what it quotes, after normalising
    # Messages show invisible characters as escapes (`\\x1b`), as bot/commands/values.py does.
    variants |= {"".join(c if c.isprintable() else ascii(c)[1:-1] for c in v) for v in variants}
    for variant in variants:
        for piece in [*variant.split(), *_SEPARATORS.split(variant)]:
            if piece:
                pieces.update((piece, piece[:39]))  # messages shorten a word to 40 with `…`
    return pieces


def assert_readable(text: str, typed: str = "") -> None:
    """Non-empty, short, words (not JSON, not a trace). `typed` is what the person sent: an
    answer may quote it (a card shows the topic twice: in the line and in its header)."""
    assert text.strip(), "an empty answer"
    longest = ANSWER_MAX + 2 * len(slack_escaped(typed))
    assert len(text) <= longest, f"an answer of {len(text)} characters: {text[:300]!r}…"
    own = bot_words(text, typed)
    assert len(_LETTERS.findall(own)) >= 3, f"no words of the bot's own in: {text[:300]!r}"
    assert not own.lstrip().startswith(("{", "[")), f"JSON for an answer: {text[:300]!r}"
    assert_no_leak(text, typed)


def view_text(view: object) -> str:
    """The words a view shows: its texts and the values its inputs start with."""
    shown = []
    for node in walk(view):
        for key in ("text", "initial_value"):
            if isinstance(node.get(key), str):
                shown.append(node[key])
    return "\n".join(shown)


def header_texts(blocks: list[Json]) -> list[str]:
    return [str(b["text"]["text"]) for b in walk(blocks) if b.get("type") == "header"]


# --- Slack-shaped text ---------------------------------------------------------------------------

# What people paste: mrkdwn and Slack markup, SQL, scripts, format strings, RTL and bidi controls,
# zero-width joiners, emoji sequences, combining marks, look-alikes.
NASTY = [
    "*bold*",
    "_it_",
    "~strike~",
    "`code`",
    "```block```",
    "> quote",
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<@UANA00001>",
    "<@U0>",
    "<#CSUPPORT01|support>",
    "<!subteam^S123|team>",
    "<https://evil.example|click>",
    "<mailto:a@b.c|mail>",
    "&amp;",
    "&lt;",
    "&gt;",
    "&",
    "<",
    ">",
    "'; DROP TABLE conversations; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM audit_log;--",
    "%s%s%n",
    "{0}{1}",
    "{{topic}}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "\\",
    "\\n",
    "%0A",
    "+",
    "%",
    "שלום עולם",
    "مرحبا بالعالم",
    "\u200f",
    "\u200e",
    "\u202e",
    "\u2066",
    "\u200c",
    "\u200d",
    "\u2060",
    "👨\u200d👩\u200d👧\u200d👦",
    "👍🏽",
    "🏳️\u200d🌈",
    "🔥",
    "e\u0301",
    "Z\u0351\u0352\u0353",
    "\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48",  # fullwidth
    "\U0001d518\U0001d52b\U0001d526",  # mathematical fraktur
    "İstanbul",
    "ß",
    ":smile:",
    ":warning:",
    "#billing",
    "@here",
    "None",
    "null",
]

# Printable, no surrogates (a form body is UTF-8: Slack cannot send a lone surrogate there).
ANY_CHAR = st.characters(exclude_categories=("Cs",))
WORDY = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=12,
)


# Lengths around Slack's header limit (150) and the topic limit (1000).
TOPIC_LENGTHS = [0, 20, 148, 149, 150, 151, 152, 300, 999, 1000, 1001, 1400]


def topics(part: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Topics of a few `part`s, some padded to a length around a limit."""
    return st.builds(
        lambda parts, pad, length: (
            (" ".join(parts) + " " + pad * length)[: max(length, 1)] if length else " ".join(parts)
        ),
        st.lists(part, min_size=1, max_size=8),
        st.sampled_from(["x", "é", "🔥", "ש", "&", "<", "\u200d", "a b "]),
        st.sampled_from(TOPIC_LENGTHS),
    )


def slack_escaped(text: str) -> str:
    """Slack HTML-escapes `&`, `<` and `>` in what people type after a slash command."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (lone surrogates included: JSON can carry them as escapes)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def now() -> int:
    return int(time.time())
