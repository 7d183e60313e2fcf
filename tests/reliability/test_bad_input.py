"""Bad input through Slack, typed: random `/conv` text, odd topics, forged signatures.

Hypothesis generates the inputs (derandomized: the same examples on every run); each test runs
them against ONE bot, started once for the test (see tests/reliability/bad_input.py for how a
sync hypothesis test drives an async bot). Properties for every example: Slack gets a 200 (401
for a request Slack did not sign, or signed more than five minutes ago), never a 5xx; the bot
logs no unhandled exception; every answer is a short sentence a person can read. Topics
round-trip unchanged through create -> card -> show -> the edit form, or are cut to Slack's limit
with an ellipsis, or are refused with the limit named.

The payloads Slack sends for buttons and forms are in test_bad_input_payloads.py.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.commands.registry import SUBCOMMANDS
from bot.devtools.fakeslack import ResponsePost, slash_command
from bot.field_rules import TOPIC_MAX
from bot.slack.blocks import limits
from bot.slack.blocks.mrkdwn import clip
from bot.slack.text import from_slack
from tests.reliability.bad_input import (
    ANY_CHAR,
    CONFIG,
    NASTY,
    SUITE,
    WORDY,
    LoopBot,
    header_texts,
    loop_bot,
    slack_escaped,
    topics,
    unescape,
)
from tests.slack_harness import ANA, CHANNEL, EDIT, SECRET, Sent, eventually, walk

# --- one bot per test --------------------------------------------------------------------------


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[LoopBot]:
    with loop_bot(tmp_path, CONFIG) as running:
        yield running


@pytest.fixture
def ids(bot: LoopBot) -> list[str]:
    """Two real conversations, so that generated commands also act on something that exists."""
    cards = [bot.run(bot.slack.create(f"Seed {n} priority:high #seed")) for n in range(2)]
    return [card.id for card in cards]


# --- random /conv text -------------------------------------------------------------------------

ID_SLOTS = ("@ID0", "@ID1")  # replaced by the real ids at run time
ODD_IDS = [
    *ID_SLOTS,
    "nosuch",
    "0",
    "-1",
    "x" * 255,
    "x" * 256,
    "9" * 400,
    "a.b:c-d_e",
    "ID\n",
    "../../etc/passwd",
    "🙂",
    "<@UANA00001>",
    "' OR '1'='1",
]
KEYS = [
    "summary",
    "priority",
    "status",
    "channel",
    "queue",
    "agent",
    "topic",
    "tag",
    "since",
    "sort",
    "limit",
    "page",
    "policy",
    "at",
    "PRIORITY",
    "Status",
    "prio",
    "",
    ":",
]
VALUES = [
    "high",
    "URGENT",
    "hgih",
    "closed",
    "open,waiting,",
    ",",
    "",
    "email",
    "live-chat",
    "me",
    "none",
    "<@UANA00001>",
    "q1,q1",
    "Billing",
    "2h",
    "0d",
    "99999999w",
    "9999999m",
    "2026-11-01",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30",
    "created:asc",
    "topic:sideways",
    "5",
    "0",
    "-1",
    "100",
    "101",
    "99999999999999999999",
    "1e9",
    "now",
    '"2026-12-25 03:00"',
    "2026-12-25T03:00",
    '"unbalanced',
    '"a b"',
    "\u201csmart\u201d",
    "🙂",
]
TAGS = ["#", "##", "#ok", "#seed", "#" + "t" * 101, "#ünï", "#a,b", "#🙂", "#-", "#.", "# x"]
QUOTES = ['"', "\u201c", "\u201d", "'", "`", '""', '"a "b" c"']
SPACES = [" ", "  ", "\n", "\t", "\u00a0", "\u3000", "\u200b", "\ufeff"]

FRAGMENT = (
    st.sampled_from([*SUBCOMMANDS, "craete", "lsit", "HELP", "Show", "tagg", "-h", "--help"])
    | st.sampled_from(ODD_IDS)
    | st.builds(lambda k, v: f"{k}:{v}", st.sampled_from(KEYS), st.sampled_from(VALUES) | WORDY)
    | st.sampled_from(TAGS)
    | st.sampled_from(QUOTES)
    | st.sampled_from(NASTY)
    | WORDY
)
GRAMMAR_LIKE = st.builds(
    lambda name, parts, gap: name + gap + gap.join(parts),
    st.sampled_from(SUBCOMMANDS),
    st.lists(FRAGMENT, max_size=10),
    st.sampled_from(SPACES),
)
COMMAND_TEXT = (
    GRAMMAR_LIKE
    | GRAMMAR_LIKE
    | st.lists(FRAGMENT, max_size=12).map(" ".join)
    | st.text(ANY_CHAR, max_size=200)
    | st.builds(lambda word, n: (word + " ") * n, st.sampled_from(NASTY), st.integers(200, 1200))
)


def typed_command(text: str, ids: list[str]) -> str:
    for slot, real in zip(ID_SLOTS, ids, strict=True):
        text = text.replace(slot, real)
    return text


@settings(SUITE, max_examples=1500)
@given(text=COMMAND_TEXT, escaped=st.booleans())
@example(text="list since:0001-01-01", escaped=True)
@example(text='update @ID0 topic:"\'; DROP TABLE conversations; --"', escaped=True)
@example(text="show " + "9" * 400, escaped=True)
@example(text='create "unbalanced <!here> *bold*', escaped=True)
def test_random_slash_command_text_gets_one_readable_answer(
    bot: LoopBot, ids: list[str], text: str, escaped: bool
) -> None:
    typed = typed_command(text, ids)
    sent = slack_escaped(typed) if escaped else typed
    with bot.example() as said:
        command = bot.run(bot.slack.command(sent))
        assert command.ack.status_code == 200, command.ack.text
        assert command.ack.text == ""  # acked at once; the answer follows on the response_url
    said.check(typed)
    if from_slack(sent).strip().lower() == "create":
        assert said.calls("views.open"), "a bare create opens the form"
        return
    words = from_slack(sent).split()
    if words and words[0].lower() in ("reply", "note") and said.calls("views.open"):
        return  # a reply (or a note without its text) is answered by its form, which says why not
    # A started escalation is announced in the channel itself (so it can be redrawn when it
    # ends); everything else answers on the response_url.
    answers = command.answers() or said.calls("chat.postMessage")
    assert answers, f"no answer to /conv {sent!r}"


# --- topics: round-trips, limits ---------------------------------------------------------------

CREATE_KEYS = {"summary", "priority", "status", "channel", "queue", "agent"}
# What the tokenizer changes by design (quotes group words; zero-width spaces are dropped) or
# refuses (control characters) is kept out of the alphabet of topics that must round-trip.
_NOT_VERBATIM = '"\u201c\u201d\u201e\u201f\u200b\ufeff'
TOPIC_CHAR = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters=_NOT_VERBATIM
) | st.sampled_from(" \u00a0\n")
TOPIC_PART = st.sampled_from([n for n in NASTY if not set(n) & set(_NOT_VERBATIM)]) | st.text(
    TOPIC_CHAR, min_size=1, max_size=8
)
TOPIC = topics(TOPIC_PART)


@settings(SUITE, max_examples=400)
@given(topic=TOPIC)
@example(topic="'; DROP TABLE conversations; --")
@example(topic="<!here> *bold* _it_ `code` <@UANA00001> &amp; &lt;b&gt;")
@example(topic="مرحبا \u202eevil\u202c 👨\u200d👩\u200d👧\u200d👦")
@example(topic="x" * 150)
@example(topic="x" * 151)
@example(topic="y" * TOPIC_MAX)
@example(topic="z" * (TOPIC_MAX + 1))
def test_a_topic_round_trips_through_create_card_show_and_edit(bot: LoopBot, topic: str) -> None:
    slack = bot.slack
    typed = f'create "{topic}"'
    key, colon, _ = topic.partition(":")
    by_grammar = (len(topic) > 1 and topic.startswith("#")) or (
        colon and key.lower() in CREATE_KEYS
    )
    stored = topic.strip()
    with bot.example() as said:
        command = bot.run(slack.command(slack_escaped(typed)))
        assert command.ack.status_code == 200
        [answer] = bot.run(_answers(command, 1))
    said.check(typed)
    if by_grammar or not stored:
        return  # a tag, an option or nothing: the grammar's business (tests/test_parser.py)
    if len(stored) > TOPIC_MAX:
        # Refused, saying why, and nothing is created.
        assert f"the limit is {TOPIC_MAX}" in answer.text, answer.text
        assert answer.response_type == "ephemeral"
        return
    conversation_id = answer.text.split("Created conversation ", 1)[1].split(".", 1)[0]
    assert bot.run(slack.conversation(conversation_id)).topic == stored
    header = clip(stored, limits.HEADER_TEXT)  # plain_text: as typed, cut with `…`
    assert header_texts(answer.blocks) == [header]
    if len(stored) > limits.HEADER_TEXT:
        assert header.endswith("…") and stored.startswith(header[:-1].rstrip())
    fallback = unescape(answer.text)  # mrkdwn: what Slack shows after its own unescaping
    if len(slack_escaped(stored)) <= limits.HEADER_TEXT:
        assert f"· {stored} (OPEN)" in fallback, fallback

    with bot.example() as said:
        shown = bot.run(slack.command(f"show {conversation_id}"))
        [show] = bot.run(_answers(shown, 1))
        assert header_texts(show.blocks) == [header]
        # The edit form starts from the topic exactly as stored, or saving it would corrupt it.
        message = next(
            m for m in slack.channel_messages(CHANNEL) if conversation_id in str(m.blocks)
        )
        bot.run(slack.press(message, EDIT, ANA, card=conversation_id))
    said.check(typed)
    [filled] = said.calls("views.update")
    [topic_input] = [n for n in walk(filled.args["view"]) if n.get("action_id") == "topic"]
    assert topic_input.get("initial_value") == stored


async def _answers(command: Sent, count: int) -> list[ResponsePost]:
    return await eventually(lambda: command.answers() if len(command.answers()) >= count else None)


# --- signatures and replays --------------------------------------------------------------------

FORGERIES = [
    "wrong-secret",
    "tampered-body",
    "stale",
    "future",
    "no-signature",
    "no-timestamp",
    "timestamp-not-a-number",
    "v1-signature",
    "empty-signature",
    "other-body",
]


def _sign(secret: str, body: bytes, timestamp: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def forged_headers(kind: str, body: bytes, age: int) -> tuple[bytes, dict[str, str]]:
    """`body` and headers Slack did not send: what an attacker or a replayer would."""
    now = int(time.time())
    stamp = str(now)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if kind == "stale":
        stamp = str(now - 301 - age)
    elif kind == "future":
        stamp = str(now + 301 + age)
    signature = _sign(SECRET, body, stamp)
    if kind == "wrong-secret":
        signature = _sign(SECRET + "x", body, stamp)
    elif kind == "tampered-body":
        body = body + b"&x=1"
    elif kind == "v1-signature":
        signature = "v1=" + signature[3:]
    elif kind == "empty-signature":
        signature = ""
    elif kind == "other-body":
        signature = _sign(SECRET, body + b" ", stamp)
    elif kind == "timestamp-not-a-number":
        stamp = f"{stamp}.5x"
    if kind != "no-signature":
        headers["X-Slack-Signature"] = signature
    if kind != "no-timestamp":
        headers["X-Slack-Request-Timestamp"] = stamp
    return body, headers


BODIES = (
    st.builds(
        lambda text: slash_command(
            text, user_id=ANA, channel_id=CHANNEL, response_url="http://x/", trigger_id="1"
        ).encode(),
        COMMAND_TEXT,
    )
    | st.builds(
        lambda cut, text: urlencode({"payload": text})[:cut].encode(),
        st.integers(0, 80),
        st.just('{"type":"block_actions","actions":[{"action_id":"conv.take"}]}'),
    )
    | st.binary(max_size=300)
    | st.text(max_size=100).map(str.encode)
)


@settings(SUITE, max_examples=500)
@given(body=BODIES, kind=st.sampled_from(FORGERIES), age=st.integers(0, 10**9))
def test_a_request_slack_did_not_sign_just_now_is_refused_with_401(
    bot: LoopBot, body: bytes, kind: str, age: int
) -> None:
    sent, headers = forged_headers(kind, body, age)
    with bot.example() as said:
        response = bot.post(sent, headers)
        assert response.status_code == 401, (response.status_code, response.text[:200])
    assert said.responses() == [] and said.calls(*_ANY_METHOD) == []


_ANY_METHOD = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "views.open",
    "views.update",
    "views.publish",
    "users.info",
)


@pytest.mark.parametrize(("age", "status"), [(301, 401), (600, 401), (290, 200), (0, 200)])
def test_a_signature_is_good_for_five_minutes(bot: LoopBot, age: int, status: int) -> None:
    """A valid signature over a timestamp 301 s old is a replay; 290 s is a slow network."""
    response_url = bot.slack.fake.new_response_url(CHANNEL, ANA)
    body = slash_command(
        "help", user_id=ANA, channel_id=CHANNEL, response_url=response_url, trigger_id="1"
    )
    with bot.example():
        response = bot.post(
            body, bot.slack.signer.headers_for(body, timestamp=int(time.time()) - age)
        )
    assert response.status_code == status
