"""Bad input through Slack, clicked: random and truncated block_actions and view_submission
payloads, unknown action ids, forged button values.

Each test runs its hypothesis examples against ONE bot (see tests/reliability/bad_input.py), set
up with a real card, list, digest, page, Home tab and both forms, whose payloads, as Slack would
send them, are the specimens the examples start from. Properties for every example: HTTP 200
(these are all signed), no unhandled exception in the log, everything the bot says is a short
sentence a person can read; a forged button value changes nothing it should not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.devtools.fakeslack import (
    EphemeralMessage,
    StoredMessage,
    StoredView,
    block_actions,
    view_submission,
)
from bot.devtools.fakeslack.payloads import socket_payload
from bot.field_rules import BAD_CHARACTERS, TOPIC_MAX
from bot.models import Conversation, ConversationFilter, Status
from bot.slack.blocks import buttons, limits, modals, refs
from bot.slack.blocks.mrkdwn import clip
from bot.slack.blocks.refs import CARD_BLOCK_PREFIX
from bot.slack.listeners.unknown import OLD_BUTTON
from bot.timestamps import format_timestamp
from tests.reliability.bad_input import (
    CONFIG,
    NASTY,
    SUITE,
    LoopBot,
    Said,
    assert_readable,
    header_texts,
    json_values,
    loop_bot,
    topics,
)
from tests.slack_harness import (
    ANA,
    BEN,
    Card,
    Json,
    find_action,
    select_value,
    text_value,
)

PAGING = (buttons.PAGE_PREVIOUS.id, buttons.PAGE_NEXT.id, buttons.PAGE.id)

# --- the world the examples start from -----------------------------------------------------------


class World:
    """One bot, and a message or view of every kind that carries buttons or inputs (copies: a
    press redraws the live message, and each example must start from the message as drawn).

    Not a dataclass: hypothesis prints the fixture with every failing example, field by field.
    """

    def __init__(
        self,
        bot: LoopBot,
        a: Card,
        b: Card,
        listing: EphemeralMessage,
        digest: StoredMessage,
        page: StoredMessage,
        home: StoredView,
        create_form: StoredView,
        edit_form: StoredView,
    ) -> None:
        self.bot = bot
        self.a, self.b = a.id, b.id  # two conversations, A urgent and B high
        self.card = copy.deepcopy(a.message)  # A's card in the channel
        self.listing = copy.deepcopy(listing)  # `/conv list limit:1`, ephemeral
        self.digest = copy.deepcopy(digest)
        self.page = copy.deepcopy(page)  # Ben's page about A
        self.home = copy.deepcopy(home)
        self.create_form = copy.deepcopy(create_form)
        self.edit_form = copy.deepcopy(edit_form)  # B's
        self.b_card = (b.message.channel, b.message.ts)  # where B's edit form redraws

    def __repr__(self) -> str:
        return f"World(A={self.a}, B={self.b})"

    def press(self, where: str, action_id: str, user: str = ANA) -> Json:
        """The block_actions payload Slack sends for a press, with a fresh response_url."""
        fake = self.bot.slack.fake
        trigger = fake.new_trigger_id(user)
        if where in ("home",):
            action = find_action(self.home.blocks, action_id)
            return _decoded(block_actions(action, user_id=user, trigger_id=trigger, view=self.home))
        if where == "list":
            channel, ts, blocks = self.listing.channel, self.listing.ts, self.listing.blocks
            url = fake.new_response_url(channel, user, message_ts=ts)
            container = {"type": "message", "message_ts": ts, "channel_id": channel}
            # The list (page 1 of 2) draws Next only: Previous and the id lists drawn by older
            # versions carry (`conv.page`) are pressed as that button with their own id.
            drawn = buttons.PAGE_NEXT.id if action_id in PAGING else action_id
            body = block_actions(
                find_action(blocks, drawn) | {"action_id": action_id},
                user_id=user,
                trigger_id=trigger,
                channel_id=channel,
                container={**container, "is_ephemeral": True},
                response_url=url,
            )
            return _decoded(body)
        message = {"card": self.card, "digest": self.digest, "page": self.page}[where]
        url = fake.new_response_url(message.channel, user, message_ts=message.ts)
        body = block_actions(
            find_action(message.blocks, action_id),
            user_id=user,
            trigger_id=trigger,
            channel_id=message.channel,
            message=message,
            response_url=url,
        )
        return _decoded(body)

    def submission(self, form: str, values: Json, user: str = ANA) -> Json:
        fake = self.bot.slack.fake
        view = self.create_form if form == "create" else self.edit_form
        if form == "create":
            # A create form is submitted once (a valid one closes, and the same view sent again
            # is a redelivery, created once): each example is a form of its own.
            view = copy.deepcopy(view)
            view.view["id"] = view.view["root_view_id"] = fake.new_id("V")
        if form == "edit":
            # Each Edit press opens a form holding that press's response_url, which Slack
            # takes five posts on: one form submitted for every example would outlive it.
            view = copy.deepcopy(view)
            metadata = json.loads(view.view["private_metadata"])
            channel, ts = self.b_card
            metadata["response_url"] = fake.new_response_url(channel, user, message_ts=ts)
            view.view["private_metadata"] = json.dumps(metadata)
        trigger = fake.new_trigger_id(user)
        return _decoded(view_submission(view, user_id=user, trigger_id=trigger, values=values))

    def conversations(self) -> dict[str, Conversation]:
        found = self.bot.run(
            self.bot.slack.service.find(ConversationFilter(limit=999, statuses=list(Status)))
        )
        return {c.id: c for c in found.items}


def _decoded(body: str) -> Json:
    return socket_payload(body)


def form_body(payload: Any) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with loop_bot(tmp_path, CONFIG) as bot:
        yield build_world(bot)


def build_world(bot: LoopBot) -> World:
    slack = bot.slack
    a = bot.run(slack.create("Printer on fire priority:urgent #seed"))
    b = bot.run(slack.create("Refund request priority:high"))
    listed = bot.run(slack.command("list limit:1"))
    bot.settle()
    [listing] = listed.answers()
    ephemeral = slack.fake.ephemeral_for(ANA)[-1]
    bot.run(slack.command("digest"))
    bot.run(slack.command(f"escalate {a.id}"))
    bot.settle()
    digest = next(
        m for m in slack.channel_messages() if buttons.DIGEST_TAKE.id in json.dumps(m.blocks)
    )
    page = next(m for m in slack.dms_to(BEN) if buttons.PAGE_ACK.id in json.dumps(m.blocks))
    home = bot.run(slack.open_home(ANA))
    bot.run(slack.command("create"))
    bot.settle()
    create_form = slack.fake.views[slack.fake.calls_to("views.update")[-1].args["view_id"]]
    bot.run(slack.press(b.message, buttons.EDIT.id))
    bot.settle()
    edit_form = slack.fake.views[slack.fake.calls_to("views.update")[-1].args["view_id"]]
    assert listing.blocks and create_form.view["callback_id"] == modals.CREATE_MODAL
    assert edit_form.view["callback_id"] == modals.EDIT_MODAL
    return World(bot, a, b, ephemeral, digest, page, home, create_form, edit_form)


PRESSES = [
    ("card", buttons.TAKE.id),
    ("card", buttons.ROUTE.id),
    ("card", buttons.CLOSE.id),
    ("card", buttons.ESCALATE.id),
    ("card", buttons.PRIORITY.id),
    ("card", buttons.EDIT.id),
    ("list", buttons.SHOW.id),
    ("list", buttons.PAGE_NEXT.id),
    ("list", buttons.PAGE_PREVIOUS.id),
    ("list", buttons.PAGE.id),
    ("digest", buttons.DIGEST_TAKE.id),
    ("digest", buttons.DIGEST_ESCALATE.id),
    ("digest", buttons.DIGEST_CLOSE.id),
    ("digest", buttons.DIGEST_SNOOZE.id),
    ("page", buttons.PAGE_ACK.id),
    ("page", buttons.PAGE_TAKE.id),
    ("home", buttons.HOME_REFRESH.id),
    ("home", buttons.TAKE.id),
]
KNOWN_ACTIONS = {action_id for _, action_id in PRESSES}


def create_values() -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {},
        optional={
            modals.FIELD_TOPIC: field_value(modals.FIELD_TOPIC, text_input()),
            modals.FIELD_SUMMARY: field_value(modals.FIELD_SUMMARY, text_input()),
            modals.FIELD_PRIORITY: field_value(modals.FIELD_PRIORITY, select()),
            modals.FIELD_CHANNEL: field_value(modals.FIELD_CHANNEL, select()),
            modals.FIELD_QUEUE: field_value(modals.FIELD_QUEUE, select()),
            modals.FIELD_TAGS: field_value(modals.FIELD_TAGS, text_input()),
            modals.FIELD_STATUS: field_value(modals.FIELD_STATUS, select()),
        },
    )


def field_value(field: str, element: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({field: element}) | json_values(3)


# Typed into a form: anything JSON can carry, lone surrogates and control characters included.
FORM_TEXT = (
    st.text(max_size=40)
    | st.sampled_from(NASTY)
    | st.integers(1, 6000).map(lambda n: ("Ω " * n)[:n])
    | st.text(st.characters(codec=None), max_size=10)
)


def text_input() -> st.SearchStrategy[Any]:
    return st.builds(text_value, FORM_TEXT) | json_values(2)


def select() -> st.SearchStrategy[Any]:
    values = st.sampled_from(
        ["URGENT", "low", "OPEN", "CLOSED", "EMAIL", "q-billing", "nosuch", "", "🙂"]
    ) | st.text(max_size=10)
    return st.builds(select_value, st.none() | values) | json_values(2)


# --- topics typed into the create form ----------------------------------------------------------

# The form takes text as typed (no tokenizer): quotes, zero-width spaces, control characters and
# lone surrogates included.
FORM_TOPIC = topics(
    st.sampled_from(NASTY) | st.text(min_size=1, max_size=8) | st.text(st.characters(), max_size=4)
)


@settings(SUITE, max_examples=150)
@given(topic=FORM_TOPIC)
@example(topic="nul\x00 and esc\x1b[31m")
@example(topic="lone \ud800 surrogate")
@example(topic='"quoted" \u201csmart\u201d zero\u200bwidth')
def test_a_topic_typed_into_the_create_form_round_trips_or_is_refused_beside_it(
    world: World, topic: str
) -> None:
    stored = topic.strip()
    payload = world.submission(
        "create", {modals.FIELD_TOPIC: {modals.FIELD_TOPIC: text_value(topic)}}
    )
    with world.bot.example() as said:
        ack = world.bot.post(form_body(payload))
        check_ack(ack)
    said.check(topic)
    refused = not stored or len(stored) > TOPIC_MAX or BAD_CHARACTERS.search(stored)
    if refused:
        [sentence] = json.loads(ack.text)["errors"].values()
        assert said.calls("chat.postMessage") == []
        if len(stored) > TOPIC_MAX:  # told first, whatever else is wrong with it
            assert f"the limit is {TOPIC_MAX}" in sentence, sentence
        elif stored and BAD_CHARACTERS.search(stored):
            assert "contains a" in sentence, sentence
        return
    assert ack.text == ""
    [dm] = said.calls("chat.postMessage")
    assert header_texts(dm.args["blocks"]) == [clip(stored, limits.HEADER_TEXT)]
    assert any(c.topic == stored for c in world.conversations().values())


# --- random and truncated payloads ---------------------------------------------------------------

MUTATIONS = ["intact", "drop", "retype", "action-id", "truncate-json", "truncate-form"]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into `node`, shallow ones first (they matter most and shrink best)."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    found.extend((*prefix, key) for key, _ in children)
    for key, child in children:
        if len(prefix) < 4:
            found.extend(paths(child, (*prefix, key)))
    return found


# Draws that do not depend on a length: a length that differs between runs (a timestamp's, a
# token's) would make hypothesis's replay of an example draw something else (a FlakyStrategy).
SPAN = 10**6


def cut(data: st.DataObject, text: str) -> str:
    """`text` cut short, somewhere before its end."""
    return text[: data.draw(st.integers(0, SPAN - 1), label="cut") * len(text) // SPAN]


def pick(data: st.DataObject, items: list[Any], label: str) -> Any:
    return items[data.draw(st.integers(0, SPAN - 1), label=label) % len(items)]


def mutate(payload: Json, data: st.DataObject) -> str:
    """The payload, damaged as the example says, as the form body Slack would post."""
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
        if kind == "intact":
            continue
        if kind in ("drop", "retype") and paths(payload):
            where = pick(data, paths(payload), "path")
            parent: Any = payload
            for key in where[:-1]:
                parent = parent[key]
            if kind == "drop":
                del parent[where[-1]]
            else:
                parent[where[-1]] = data.draw(json_values(), label="value")
        elif (
            kind == "action-id" and isinstance(payload.get("actions"), list) and payload["actions"]
        ):
            first = payload["actions"][0]
            if isinstance(first, dict):
                first["action_id"] = data.draw(
                    st.sampled_from(sorted(KNOWN_ACTIONS)) | st.text(max_size=30)
                )
        elif kind == "truncate-json":
            text = json.dumps(payload)
            return urlencode({"payload": cut(data, text)})
        elif kind == "truncate-form":
            body = form_body(payload)
            return cut(data, body)
    return form_body(payload)


def strings_in(node: Any) -> str:
    """What a payload carries that an answer may quote back: all but the message and the view's
    blocks, which the bot drew itself (its words must still pass as its own)."""
    if isinstance(node, dict):
        node = {k: v for k, v in node.items() if k != "message"}
        if isinstance(node.get("view"), dict):
            node["view"] = {k: v for k, v in node["view"].items() if k != "blocks"}
    return "\n".join(str(leaf) for leaf in _leaves(node))


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    elif node is not None:
        yield node


def check_ack(response: Any) -> None:
    """200; and a form's inline errors, if any, are sentences under its own inputs."""
    assert response.status_code == 200, (response.status_code, response.text[:300])
    if not response.text:
        return
    body = json.loads(response.text)
    assert body.get("response_action") in ("errors", "update", "clear"), body
    if body["response_action"] == "errors":
        fields = {
            modals.FIELD_TOPIC,
            modals.FIELD_SUMMARY,
            modals.FIELD_PRIORITY,
            modals.FIELD_STATUS,
        }
        fields |= {modals.FIELD_CHANNEL, modals.FIELD_QUEUE, modals.FIELD_TAGS}
        assert set(body["errors"]) <= fields, body
        for sentence in body["errors"].values():
            assert_readable(sentence)
            assert len(sentence) <= 300, sentence


@settings(SUITE, max_examples=1500)
@given(data=st.data())
def test_random_and_truncated_payloads_are_acknowledged_and_answered_readably(
    world: World, data: st.DataObject
) -> None:
    kind = data.draw(
        st.sampled_from(["press", "create-form", "edit-form", "anything"]), label="kind"
    )
    if kind == "press":
        where, action_id = data.draw(st.sampled_from(PRESSES), label="press")
        payload: Any = world.press(where, action_id)
    elif kind == "anything":
        payload = data.draw(json_values(12), label="payload")
    else:
        form = kind.removesuffix("-form")
        payload = world.submission(form, data.draw(create_values(), label="values"))
    body = mutate(payload, data) if isinstance(payload, dict) else form_body(payload)
    with world.bot.example() as said:
        check_ack(world.bot.post(body))
    said.check(strings_in(payload))


# --- unknown action ids --------------------------------------------------------------------------


@settings(SUITE, max_examples=100)
@given(
    where=st.sampled_from(["card", "list", "digest", "page", "home"]),
    action_id=st.text(max_size=60).filter(lambda a: a not in KNOWN_ACTIONS),
)
@example(where="card", action_id="conv.reopen")  # a button an older convbot drew
def test_an_unknown_action_id_is_told_to_the_presser(
    world: World, where: str, action_id: str
) -> None:
    source = {
        "card": buttons.TAKE.id,
        "list": buttons.SHOW.id,
        "digest": buttons.DIGEST_TAKE.id,
        "page": buttons.PAGE_ACK.id,
    }
    payload = world.press(where, source.get(where, buttons.HOME_REFRESH.id))
    payload["actions"][0]["action_id"] = action_id
    with world.bot.example() as said:
        check_ack(world.bot.post(form_body(payload)))
    said.check(action_id)
    answers = [post.text for post in said.responses()]
    if where == "home":
        assert answers == []  # nowhere to answer: no response_url on the Home tab
    else:
        assert answers == [OLD_BUTTON]


# --- forged button values ------------------------------------------------------------------------

CARD_ACTIONS = [
    buttons.TAKE.id,
    buttons.ROUTE.id,
    buttons.CLOSE.id,
    buttons.ESCALATE.id,
    buttons.EDIT.id,
    buttons.SHOW.id,
]
DIGEST_ACTIONS = [buttons.DIGEST_TAKE.id, buttons.DIGEST_ESCALATE.id, buttons.DIGEST_CLOSE.id]
VERSION_SHIFTS = [
    timedelta(milliseconds=1),
    timedelta(milliseconds=-1),
    timedelta(seconds=-1),
    timedelta(days=-400),
    timedelta(days=3650),
]
ODD_VERSIONS = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2025-13-45T99:99:99.000+0000",
    "yesterday",
    "",
    123456789,
    1e308,
    True,
    None,
    [],
    {},
]
ODD_IDS = ["nosuch", "", "x" * 5000, "../a", "'; DROP TABLE conversations; --", "🙂", 7, None, []]


def forged_ref(world: World, data: st.DataObject, current: dict[str, Conversation]) -> Any:
    """A card's value as no card of this bot drew it: another conversation's id with this one's
    version, this one at another version, odd ids and versions, or garbage."""
    a, b = current[world.a], current[world.b]
    assert a.updatedAt is not None and b.updatedAt is not None
    kind = data.draw(st.sampled_from(["other-id", "other-version", "odd", "no-version", "garbage"]))
    if kind == "other-id":
        return {"id": b.id, "v": format_timestamp(a.updatedAt)}
    if kind == "other-version":
        shift = data.draw(st.sampled_from(VERSION_SHIFTS))
        return {"id": a.id, "v": format_timestamp(a.updatedAt + shift)}
    if kind == "no-version":
        return {"id": data.draw(st.sampled_from([a.id, b.id]))}
    if kind == "odd":
        return {
            "id": data.draw(st.sampled_from([a.id, *ODD_IDS])),
            "v": data.draw(st.sampled_from(ODD_VERSIONS)),
        }
    return data.draw(json_values(4))


def as_value(ref: Any, data: st.DataObject, *, strings: bool = False) -> Any:
    """How the forged ref travels: JSON, JSON cut short, or not a string at all (`strings`: a
    block_id, which the intake refuses unless a string; tests/reliability/test_bad_input.py)."""
    how = data.draw(st.sampled_from(["json", "json", "cut", "text", *([] if strings else ["raw"])]))
    text = json.dumps(ref)
    if how == "cut":
        return cut(data, text)
    if how == "raw":
        return ref
    if how == "text":
        return data.draw(st.text(max_size=40))
    return text


def state_of(world: World) -> dict[str, tuple[Any, ...]]:
    return {
        c.id: (c.topic, c.status, c.priority, c.agentId, c.queueId, c.updatedAt, c.tags)
        for c in world.conversations().values()
    }


@settings(SUITE, max_examples=1000)
@given(data=st.data())
def test_a_forged_button_value_changes_nothing_and_is_answered(
    world: World, data: st.DataObject
) -> None:
    before = state_of(world)
    current = world.conversations()
    group = data.draw(
        st.sampled_from(["card", "priority", "page-list", "digest", "snooze", "page"])
    )
    if group == "card":
        action_id = data.draw(st.sampled_from(CARD_ACTIONS))
        payload = world.press("list" if action_id == buttons.SHOW.id else "card", action_id)
        payload["actions"][0]["value"] = as_value(forged_ref(world, data, current), data)
    elif group == "priority":
        payload = world.press("card", buttons.PRIORITY.id)
        ref = forged_ref(world, data, current)
        payload["actions"][0]["block_id"] = CARD_BLOCK_PREFIX + as_value(ref, data, strings=True)
        option = data.draw(st.sampled_from(["LOW", "urgent", "nope", "", None]))
        payload["actions"][0]["selected_option"] = {"value": option}
    elif group == "page-list":
        payload = world.press("list", buttons.PAGE.id)
        query = data.draw(
            st.sampled_from(
                [
                    "list",
                    "list status:closed",
                    f"close {world.a}",
                    "create Sneaky",
                    f"update {world.b} priority:low",
                    "help",
                    "list page:2",
                    "",
                ]
            )
            | st.text(max_size=40)
        )
        page = data.draw(st.sampled_from([1, 2, 0, -1, 10**12]) | st.integers())
        payload["actions"][0]["value"] = as_value({"q": query, "p": page}, data)
    elif group in ("digest", "snooze"):
        ref = forged_ref(world, data, current)
        item = {
            "d": data.draw(st.sampled_from(["support", "nosuch", "", "x" * 300])),
            **(ref if isinstance(ref, dict) else {}),
        }
        if group == "digest":
            payload = world.press("digest", data.draw(st.sampled_from(DIGEST_ACTIONS)))
            payload["actions"][0]["value"] = as_value(item, data)
        else:
            payload = world.press("digest", buttons.DIGEST_SNOOZE.id)
            block = as_value(item, data, strings=True)
            payload["actions"][0]["block_id"] = refs.DIGEST_ITEM_BLOCK_PREFIX + block
            payload["actions"][0]["selected_option"] = {
                "value": data.draw(st.sampled_from(["1h", "1y", "", None]))
            }
    else:
        payload = world.press(
            "page", data.draw(st.sampled_from([buttons.PAGE_ACK.id, buttons.PAGE_TAKE.id]))
        )
        escalation = data.draw(st.sampled_from(["nosuch", "", "x" * 3000, 7]) | json_values(3))
        payload["actions"][0]["value"] = as_value({"e": escalation}, data)

    with world.bot.example() as said:
        check_ack(world.bot.post(form_body(payload)))
    said.check(strings_in(payload["actions"]))
    assert state_of(world) == before, "a forged value changed a conversation"
    assert_answered(said, payload)


def assert_answered(said: Said, payload: Json) -> None:
    """The presser heard back: a reply beside the message, the form with its problem, or the
    message redrawn."""
    action_id = payload["actions"][0]["action_id"]
    if action_id == buttons.EDIT.id:
        shown = said.calls("views.update") or said.calls("views.open") or said.responses()
        assert shown, "no form and no reason"
        return
    assert said.responses() or said.calls("chat.update"), f"no answer to {action_id}"
