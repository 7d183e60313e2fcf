"""Block Kit drawing: buttons by state, escaping, Slack's limits, modals and reading them back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.commands.result import CommandResult
from bot.devtools.fakeslack.blockkit import check_message_blocks, check_message_text_budget
from bot.errors import InvalidInput
from bot.models import (
    Channel,
    Conversation,
    ConversationCreate,
    ConversationPatch,
    Priority,
    Queue,
    ResultPage,
    Status,
)
from bot.slack.blocks import buttons, modals, refs
from bot.slack.blocks.card import (
    CardContext,
    card_text,
    conversation_card,
)
from bot.slack.blocks.home import home_view
from bot.slack.blocks.listing import conversation_list
from bot.slack.blocks.messages import error_blocks, result_blocks
from bot.slack.blocks.modals import (
    create_modal,
    edit_modal,
    field_errors,
    loading_modal,
    read_create,
    read_edit,
    split_tags,
)
from bot.slack.blocks.mrkdwn import clip, escape, mention, slack_date
from bot.slack.blocks.refs import card_ref_from_block_id

PAGING = (buttons.PAGE_PREVIOUS.id, buttons.PAGE_NEXT.id, buttons.PAGE.id)

WHEN = datetime(2026, 11, 25, 10, 3, tzinfo=UTC)
CONTEXT = CardContext(
    viewer_agent_id="agent-ana",
    queue_names={"q-billing": "Billing"},
    agent_users={"agent-ana": "U0123ABCD"},
    agent_names={"agent-ana": "Ana Horvat", "agent-ben": "Ben Kovac"},
)
INJECTIONS = ("<!channel>", "<!here>", "<@U123>", "<https://x|y>", "<#C123>")


def conversation(**changes: Any) -> Conversation:
    fields: dict[str, Any] = {
        "id": "c-1",
        "topic": "Printer on fire",
        "summary": "Smoke from tray 2",
        "status": Status.OPEN,
        "priority": Priority.HIGH,
        "queueId": "q-billing",
        "agentId": None,
        "channel": Channel.EMAIL,
        "createdAt": WHEN,
        "updatedAt": WHEN + timedelta(minutes=5),
        "tags": ["billing", "vip"],
    }
    fields.update(changes)
    return Conversation(**fields)


def page_of(
    count: int, *, page: int = 0, limit: int = 20, total: int | None = None
) -> ResultPage[Any]:
    items = [conversation(id=f"c-{page * limit + i}") for i in range(count)]
    return ResultPage[Conversation](
        items=items, totalItems=count if total is None else total, page=page, limit=limit
    )


# --- helpers: JSON as Slack receives it, and its limits ----------------------------------------


def as_json(blocks: list[Block]) -> list[dict[str, Any]]:
    """`to_dict()` runs slack_sdk's validators: a broken limit raises here."""
    return [block.to_dict() for block in blocks]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for node in walk(blocks):
        kind = node.get("type")
        assert len(node.get("block_id", "")) <= 255
        assert len(node.get("action_id", "")) <= 255
        if kind == "section":
            assert len(node.get("text", {}).get("text", "")) <= 3000
            assert len(node.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in node.get("fields", []))
        elif kind == "header":
            assert len(node["text"]["text"]) <= 150
        elif kind == "button":
            assert len(node["text"]["text"]) <= 75
            assert len(node.get("value", "")) <= 2000
        elif kind == "static_select":
            assert len(node["options"]) <= 100
            for option in node["options"]:
                assert len(option["text"]["text"]) <= 75
                assert len(option["value"]) <= 150


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [node["text"] for node in walk(blocks) if node.get("type") == "mrkdwn"]


def elements(blocks: list[dict[str, Any]], kind: str = "actions") -> list[dict[str, Any]]:
    return [e for block in blocks if block["type"] == kind for e in block["elements"]]


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for e in elements(blocks) if "action_id" in e]


# --- mrkdwn -------------------------------------------------------------------------------------


@pytest.mark.parametrize("attack", INJECTIONS)
def test_escape_leaves_no_control_characters(attack: str) -> None:
    escaped = escape(f"a & {attack} b")
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("a &amp; &lt;")


def test_escape_does_not_escape_twice() -> None:
    assert escape("&lt;") == "&amp;lt;"


@pytest.mark.parametrize("limit", range(2, 30))
def test_clip_never_splits_an_entity(limit: int) -> None:
    text = escape("ab<c&d>e" * 5)
    clipped = clip(text, limit)
    assert len(clipped) <= limit
    assert clipped.endswith("…")
    assert re.search(r"&(?!amp;|lt;|gt;)", clipped) is None


def test_clip_keeps_short_text_as_is() -> None:
    assert clip("fits", 4) == "fits"
    assert clip("", 10) == ""


def test_slack_date_lets_each_viewer_see_their_time_zone() -> None:
    epoch = int(WHEN.timestamp())
    assert slack_date(WHEN) == (
        f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|2026-11-25 10:03 UTC>"
    )
    assert slack_date(WHEN.replace(tzinfo=None)) == slack_date(WHEN)
    assert slack_date(WHEN, fallback="a|b<c>").endswith("|a/b&lt;c&gt;>")
    assert slack_date(None) == "—"


def test_mention_only_for_user_ids() -> None:
    assert mention("U0123ABCD") == "<@U0123ABCD>"
    assert mention("W0123ABCD") == "<@W0123ABCD>"
    assert mention("U1><!channel") == "U1&gt;&lt;!channel"


# --- the card -----------------------------------------------------------------------------------


def test_card_shows_facts_with_names_and_mentions() -> None:
    blocks = as_json(conversation_card(conversation(agentId="agent-ana"), CONTEXT))
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Printer on fire", "emoji": True},
    }
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields == [
        "*Status*\nOpen",
        "*Priority*\n:large_orange_circle: High",
        "*Queue*\nBilling",
        "*Agent*\n<@U0123ABCD>",
        "*Channel*\nEmail",
        "*Tags*\n#billing #vip",
    ]
    dates = blocks[3]["elements"][0]["text"]
    assert dates.count("<!date^") == 2 and dates.endswith("`c-1`")


@pytest.mark.parametrize(
    ("changes", "queue", "agent", "tags"),
    [
        ({"queueId": "q-x", "agentId": "agent-ben"}, "q-x", "Ben Kovac", "#billing #vip"),
        ({"queueId": None, "agentId": "agent-zed", "tags": []}, "—", "agent-zed", "—"),
        ({"agentId": None, "tags": None}, "Billing", "unassigned", "_not loaded_"),
    ],
)
def test_card_field_fallbacks(changes: dict[str, Any], queue: str, agent: str, tags: str) -> None:
    fields = as_json(conversation_card(conversation(**changes), CONTEXT))[2]["fields"]
    assert [f["text"].split("\n", 1)[1] for f in fields[2:4]] == [queue, agent]
    assert fields[5]["text"] == f"*Tags*\n{tags}"


def test_take_is_offered_to_others_and_hidden_when_mine() -> None:
    others = as_json(conversation_card(conversation(agentId="agent-ben"), CONTEXT))
    mine = as_json(conversation_card(conversation(agentId="agent-ana"), CONTEXT))
    assert action_ids(others) == [
        buttons.TAKE.id,
        buttons.ROUTE.id,
        buttons.CLOSE.id,
        buttons.PRIORITY.id,
        buttons.EDIT.id,
        buttons.REPLY.id,
        buttons.NOTE.id,
        buttons.THREAD.id,
    ]
    assert action_ids(mine) == [
        buttons.ROUTE.id,
        buttons.CLOSE.id,
        buttons.PRIORITY.id,
        buttons.EDIT.id,
        buttons.REPLY.id,
        buttons.NOTE.id,
        buttons.THREAD.id,
    ]


def test_take_stays_for_an_unlinked_viewer_of_an_unassigned_card() -> None:
    blocks = as_json(conversation_card(conversation(agentId=None), CardContext()))
    assert buttons.TAKE.id in action_ids(blocks)


def test_escalate_only_when_escalation_is_enabled() -> None:
    enabled = CardContext(escalation_enabled=True)
    blocks = as_json(conversation_card(conversation(), enabled))
    assert action_ids(blocks) == [
        buttons.TAKE.id,
        buttons.ROUTE.id,
        buttons.CLOSE.id,
        buttons.ESCALATE.id,
        buttons.PRIORITY.id,
        buttons.EDIT.id,
        buttons.REPLY.id,
        buttons.NOTE.id,
        buttons.THREAD.id,
    ]


def test_closed_card_has_no_actions() -> None:
    closed = conversation(status=Status.CLOSED, closedAt=WHEN)
    blocks = as_json(conversation_card(closed, CONTEXT))
    assert all(block["type"] != "actions" for block in blocks)
    assert blocks[3]["elements"][0]["text"].count("<!date^") == 3


@pytest.mark.parametrize("status", [Status.OPEN, Status.WAITING, Status.SOLVED])
def test_every_button_carries_the_card_version(status: Status) -> None:
    shown = conversation(status=status)
    blocks = as_json(conversation_card(shown, CONTEXT))
    actions, talking = [b for b in blocks if b["type"] == "actions"]
    expected = refs.CardRef(id="c-1", v=shown.updatedAt)
    buttons = [e for e in actions["elements"] + talking["elements"] if e["type"] == "button"]
    assert len(buttons) == 7
    assert {refs.CardRef.decode(b["value"]) for b in buttons} == {expected}
    assert card_ref_from_block_id(actions["block_id"]) == expected
    # The talking block's id is shaped like the first's: its own prefix, the same CardRef.
    assert talking["block_id"] == refs.TALK_BLOCK_PREFIX + expected.encode()
    assert expected.is_current(shown.updatedAt)


def test_priority_select_starts_at_the_current_priority() -> None:
    blocks = as_json(conversation_card(conversation(priority=Priority.LOW), CONTEXT))
    (select,) = [e for e in elements(blocks) if e["type"] == "static_select"]
    assert [o["value"] for o in select["options"]] == ["URGENT", "HIGH", "NORMAL", "LOW"]
    assert select["initial_option"]["value"] == "LOW"


def test_close_asks_for_confirmation() -> None:
    blocks = as_json(conversation_card(conversation(topic="x" * 1000), CONTEXT))
    (close,) = [e for e in elements(blocks) if e["action_id"] == buttons.CLOSE.id]
    assert close["style"] == "danger"
    assert close["confirm"]["style"] == "danger"
    assert len(close["confirm"]["text"]["text"]) <= 300


@pytest.mark.parametrize("block_id", [None, "", "other", "card|", "card|{not json", "card|{}"])
def test_card_ref_from_a_foreign_block_id_is_invalid_input(block_id: str | None) -> None:
    with pytest.raises(InvalidInput):
        card_ref_from_block_id(block_id)


def test_an_id_too_long_for_a_block_id_drops_only_the_select() -> None:
    blocks = as_json(conversation_card(conversation(id="x" * 240), CONTEXT))
    assert action_ids(blocks) == [
        buttons.TAKE.id,
        buttons.ROUTE.id,
        buttons.CLOSE.id,
        buttons.EDIT.id,
        buttons.REPLY.id,
        buttons.NOTE.id,
        buttons.THREAD.id,
    ]
    assert_within_limits(blocks, 50)


@pytest.mark.parametrize("attack", INJECTIONS)
def test_user_text_never_pings_or_links(attack: str) -> None:
    hostile = conversation(
        topic=f"hi {attack}",
        summary=f"see {attack}",
        tags=["billing"],
        queueId=attack,
        agentId="agent-x",
    )
    context = CardContext(agent_names={"agent-x": attack})
    blocks = as_json(conversation_card(hostile, context, note=f"note {attack}"))
    for text in mrkdwn_texts(blocks):
        assert attack not in text
    assert attack not in card_text(hostile)
    assert escape(attack) in card_text(hostile)


def test_huge_user_text_stays_within_limits() -> None:
    huge = conversation(
        topic="<" * 1000,
        summary="&" * 4000,
        tags=[f"tag-{i}-{'x' * 90}" for i in range(200)],
        queueId="q-long",
    )
    context = CardContext(queue_names={"q-long": "Q" * 5000}, agent_names={})
    blocks = as_json(conversation_card(huge, context, note="n" * 10_000, snoozed_until=WHEN))
    assert_within_limits(blocks, 50)
    assert blocks[0]["text"]["text"].endswith("…")
    assert blocks[1]["text"]["text"].endswith("&amp;…")
    assert "\n#tag-0-" in blocks[2]["fields"][5]["text"]


def test_card_text_is_one_escaped_line() -> None:
    assert card_text(conversation(topic="A & B")) == "HIGH · A &amp; B (OPEN)"
    assert card_text(conversation(topic=None)) == "HIGH · c-1 (OPEN)"


def test_note_and_snooze_are_shown() -> None:
    blocks = as_json(
        conversation_card(conversation(), CONTEXT, note="Out of date", snoozed_until=WHEN)
    )
    texts = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert texts[1] == ":information_source: Out of date"
    assert texts[2].startswith(":zzz: Snoozed until <!date^")


# --- the list -----------------------------------------------------------------------------------


def test_empty_list_is_one_friendly_section() -> None:
    blocks = as_json(conversation_list(page_of(0), "list tag:<!here>", CONTEXT, "No match."))
    assert len(blocks) == 1
    assert "No conversations match `list tag:&lt;!here&gt;`" in blocks[0]["text"]["text"]


def test_rows_view_the_card() -> None:
    blocks = as_json(conversation_list(page_of(2), "list", CONTEXT, "2 conversations."))
    assert [b["type"] for b in blocks] == ["section", "section", "section"]
    row = blocks[1]
    assert row["accessory"]["action_id"] == buttons.SHOW.id
    assert row["accessory"]["text"]["text"] == "View"  # not "Open", the status beside it
    assert refs.CardRef.decode(row["accessory"]["value"]).id == "c-0"
    assert row["text"]["text"].startswith(":large_orange_circle: *Printer on fire*\nOpen · Billing")


@pytest.mark.parametrize(
    ("page", "total", "buttons"),
    [
        (0, 20, []),
        (0, 45, [("Next page", 2)]),
        (1, 45, [("Previous page", 1), ("Next page", 3)]),
        (2, 45, [("Previous page", 2)]),
        (9, 45, [("Previous page", 3)]),  # past the end: back to the last page with rows
    ],
)
def test_paging_buttons(page: int, total: int, buttons: list[tuple[str, int]]) -> None:
    count = max(0, min(20, total - page * 20))
    listed = page_of(count, page=page, limit=20, total=total)
    blocks = as_json(conversation_list(listed, "list priority:high", CONTEXT, "Some."))
    paging = [e for e in elements(blocks) if e["action_id"] in PAGING]
    decoded = [(e["text"]["text"], refs.PageRef.decode(e["value"])) for e in paging]
    assert decoded == [(t, refs.PageRef(q="list priority:high", p=p)) for t, p in buttons]


def test_a_hundred_rows_fit_in_one_message() -> None:
    listed = page_of(100, limit=100, total=250)
    blocks = as_json(conversation_list(listed, "list limit:100", CONTEXT, "1-100 of 250."))
    assert len(blocks) == 50
    assert_within_limits(blocks, 50)
    more = blocks[-2]["elements"][0]["text"]
    assert more.startswith("…and 53 more on this page")
    assert sum(1 for b in blocks if b.get("accessory")) == 47


def test_a_page_of_long_topics_stays_within_slacks_text_budget() -> None:
    listed = page_of(50, limit=50, total=120)
    for n, row in enumerate(listed.items):
        row.topic = f"Row {n} " + "word " * 40
    blocks = as_json(conversation_list(listed, "list limit:50", CONTEXT, "1-50 of 120."))
    check_message_blocks(blocks)
    check_message_text_budget(blocks)  # what Slack answers msg_blocks_too_long to
    rows = sum(1 for b in blocks if b.get("accessory"))
    assert 0 < rows < 50
    assert blocks[-2]["elements"][0]["text"].startswith(f"…and {50 - rows} more on this page")
    assert {e["action_id"] for e in blocks[-1]["elements"]} == {buttons.PAGE_NEXT.id}


def test_a_command_too_long_for_a_button_says_how_to_page() -> None:
    listed = page_of(20, total=45)
    blocks = as_json(conversation_list(listed, "list " + "x" * 2000, CONTEXT, "Some."))
    assert not set(PAGING) & set(action_ids(blocks))
    assert "page:N" in blocks[-1]["elements"][0]["text"]


# --- modals -------------------------------------------------------------------------------------


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert all(b["element"]["action_id"] == block_id for block_id, b in found.items())
    return found


QUEUES = [Queue(id="q-vip", name="VIP"), Queue(id="q-billing", name="Billing")]


def test_create_modal_fields_and_defaults() -> None:
    view = create_modal(QUEUES, private_metadata="C123").to_dict()
    assert view["callback_id"] == modals.CREATE_MODAL
    assert view["private_metadata"] == "C123"
    assert (view["title"]["text"], view["submit"]["text"], view["close"]["text"]) == (
        "New conversation",
        "Create",
        "Cancel",
    )
    fields = inputs(view)
    assert list(fields) == [
        modals.FIELD_TOPIC,
        modals.FIELD_SUMMARY,
        modals.FIELD_PRIORITY,
        modals.FIELD_CHANNEL,
        modals.FIELD_QUEUE,
        modals.FIELD_TAGS,
    ]
    assert fields[modals.FIELD_TOPIC]["element"]["max_length"] == 1000
    assert fields[modals.FIELD_TOPIC]["optional"] is False
    assert fields[modals.FIELD_SUMMARY]["element"]["multiline"] is True
    assert fields[modals.FIELD_SUMMARY]["element"]["max_length"] == 3000  # Slack's most
    assert fields[modals.FIELD_PRIORITY]["element"]["initial_option"]["value"] == "NORMAL"
    channel = fields[modals.FIELD_CHANNEL]["element"]
    assert channel["initial_option"]["value"] == "NO_CHANNEL"
    assert len(channel["options"]) == len(Channel)
    queue = fields[modals.FIELD_QUEUE]
    assert queue["optional"] is True
    assert [o["text"]["text"] for o in queue["element"]["options"]] == ["Billing", "VIP"]
    assert "initial_option" not in queue["element"]
    assert (
        fields[modals.FIELD_TAGS]["hint"]["text"] == "space- or comma-separated, e.g. billing vip"
    )


def test_create_modal_while_queues_load_and_when_there_are_none() -> None:
    loading = create_modal(None).to_dict()
    assert modals.FIELD_QUEUE not in inputs(loading)
    assert any("Loading queues…" in t for t in mrkdwn_texts(loading["blocks"]))
    empty = create_modal([]).to_dict()
    assert modals.FIELD_QUEUE not in inputs(empty)
    assert any("No queues are configured" in t for t in mrkdwn_texts(empty["blocks"]))


def test_create_modal_with_many_long_named_queues_stays_within_limits() -> None:
    queues = [Queue(id=f"q-{i:03}", name=f"{i:03} " + "n" * 200) for i in range(150)]
    view = create_modal([*queues, Queue(id="x" * 151, name="unsendable")]).to_dict()
    queue = inputs(view)[modals.FIELD_QUEUE]
    assert len(queue["element"]["options"]) == 100
    assert all(len(o["text"]["text"]) <= 75 for o in queue["element"]["options"])
    assert queue["hint"]["text"].startswith("Showing 100 of 150")


def test_edit_modal_is_prefilled() -> None:
    shown = conversation(status=Status.WAITING, priority=Priority.URGENT)
    view = edit_modal(shown, QUEUES, private_metadata='{"card":{"id":"c-1"}}').to_dict()
    assert view["callback_id"] == modals.EDIT_MODAL
    assert view["private_metadata"] == '{"card":{"id":"c-1"}}'
    fields = inputs(view)
    assert list(fields) == [
        modals.FIELD_TOPIC,
        modals.FIELD_SUMMARY,
        modals.FIELD_STATUS,
        modals.FIELD_PRIORITY,
        modals.FIELD_QUEUE,
    ]
    assert fields[modals.FIELD_TOPIC]["element"]["initial_value"] == "Printer on fire"
    assert fields[modals.FIELD_SUMMARY]["element"]["initial_value"] == "Smoke from tray 2"
    assert fields[modals.FIELD_STATUS]["element"]["initial_option"]["value"] == "WAITING"
    assert fields[modals.FIELD_PRIORITY]["element"]["initial_option"]["value"] == "URGENT"
    assert fields[modals.FIELD_QUEUE]["element"]["initial_option"]["value"] == "q-billing"


def test_edit_modal_with_an_unknown_queue_selects_none() -> None:
    shown = conversation(queueId="q-gone", summary=None)
    fields = inputs(edit_modal(shown, QUEUES, private_metadata="").to_dict())
    assert "initial_option" not in fields[modals.FIELD_QUEUE]["element"]
    assert "initial_value" not in fields[modals.FIELD_SUMMARY]["element"]


def test_loading_modal_opens_instantly_with_a_short_title() -> None:
    view = loading_modal("A title far longer than Slack allows", modals.EDIT_MODAL).to_dict()
    assert view["callback_id"] == modals.EDIT_MODAL
    assert len(view["title"]["text"]) <= 24
    assert "submit" not in view


def state(**entries: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """`view.state.values` shaped like Slack's: block_id → action_id → element state."""
    return {name: {name: entry} for name, entry in entries.items()}


def text_value(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def chosen(value: str | None) -> dict[str, Any]:
    option = (
        None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
    )
    return {"type": "static_select", "selected_option": option}


def test_read_create_from_a_real_shaped_submission() -> None:
    values = state(
        topic=text_value("  Printer on fire "),
        summary=text_value(None),
        priority=chosen("HIGH"),
        channel=chosen("EMAIL"),
        queue=chosen("q-billing"),
        tags=text_value("billing, #vip  billing"),
    )
    fields = read_create(values)
    assert fields == {
        "topic": "Printer on fire",
        "priority": "HIGH",
        "channel": "EMAIL",
        "queueId": "q-billing",
        "tags": ["billing", "vip"],
    }
    created, errors = field_errors(ConversationCreate, fields)
    assert errors == {}
    assert created is not None and created.priority is Priority.HIGH


@pytest.mark.parametrize(
    "values",
    [
        None,
        {},
        {"topic": None},
        {"topic": {}},
        {"topic": {"topic": None}},
        state(topic=text_value(None), priority=chosen(None), queue=None),
        {"priority": {"priority": {"type": "static_select"}}},
    ],
)
def test_truncated_submissions_read_as_missing_fields(values: Any) -> None:
    assert read_create(values) == {}
    assert "topic" not in read_edit(values) or read_edit(values)["topic"] == ""
    _, errors = field_errors(ConversationCreate, read_create(values))
    assert errors == {modals.FIELD_TOPIC: "Give the conversation a topic."}


@pytest.mark.parametrize(
    "values",
    [
        "not a mapping",
        {"topic": "not a mapping"},
        {"topic": {"topic": "not a mapping"}},
        {"topic": {"topic": {"value": 42}}},
        {"priority": {"priority": {"selected_option": "HIGH"}}},
        {"priority": {"priority": {"selected_option": {"value": None}}}},
    ],
)
def test_malformed_submissions_are_invalid_input(values: Any) -> None:
    with pytest.raises(InvalidInput):
        read_create(values)
    with pytest.raises(InvalidInput):
        read_edit(values)


def test_read_edit_treats_cleared_inputs_as_changes_and_missing_ones_as_none() -> None:
    values = state(
        topic=text_value(" New topic "),
        summary=text_value(""),
        status=chosen("SOLVED"),
        priority=chosen("LOW"),
        queue=chosen(None),
    )
    fields = read_edit(values)
    assert fields == {"topic": "New topic", "summary": None, "status": "SOLVED", "priority": "LOW"}
    patch, errors = field_errors(ConversationPatch, fields)
    assert errors == {}
    assert patch is not None and patch.changes() == {
        "topic": "New topic",
        "summary": None,
        "status": "SOLVED",
        "priority": "LOW",
    }
    assert read_edit(state(status=chosen("OPEN"))) == {"status": "OPEN"}


def test_field_errors_name_the_input_and_the_limit() -> None:
    fields: dict[str, object] = {
        "topic": "t" * 1203,
        "summary": "s" * 4001,
        "tags": ["ok", "not ok"],
        "priority": "SOMETIMES",
    }
    model, errors = field_errors(ConversationCreate, fields)
    assert model is None
    assert errors[modals.FIELD_TOPIC] == "The topic is 1203 characters; the limit is 1000."
    assert errors[modals.FIELD_SUMMARY] == "The summary is 4001 characters; the limit is 4000."
    assert errors[modals.FIELD_TAGS].startswith("Tag 'not ok' is not valid")
    assert errors[modals.FIELD_PRIORITY].startswith("Choose one of")
    assert all(len(sentence) <= 300 for sentence in errors.values())


def test_field_errors_for_an_edit() -> None:
    _, errors = field_errors(ConversationPatch, {"topic": "", "status": "DONE", "queueId": 5})
    assert errors[modals.FIELD_TOPIC] == "Give the conversation a topic."
    assert errors[modals.FIELD_STATUS].startswith("Choose one of")
    assert modals.FIELD_QUEUE in errors


def test_field_errors_for_fields_without_an_input_land_on_the_topic() -> None:
    _, errors = field_errors(ConversationCreate, {"topic": "x", "colour": "red"})
    assert list(errors) == [modals.FIELD_TOPIC]


def test_split_tags() -> None:
    assert split_tags(" a,b  #c,,a\nd ") == ["a", "b", "c", "d"]
    assert split_tags(" , # ") == []


# --- the Home tab -------------------------------------------------------------------------------


def home_json(*args: Any, **kwargs: Any) -> dict[str, Any]:
    view = home_view(*args, **kwargs).to_dict()
    assert view["type"] == "home"
    assert_within_limits(view["blocks"], 100)
    return view


def test_home_lists_both_groups_with_working_card_buttons() -> None:
    assigned = ResultPage[Conversation](
        items=[conversation(id="a-1", agentId="agent-ana")], totalItems=1
    )
    unassigned = ResultPage[Conversation](items=[conversation(id="u-1")], totalItems=1)
    view = home_json(assigned, unassigned, CONTEXT, linked=True)
    blocks = view["blocks"]
    assert blocks[1]["elements"][0]["action_id"] == buttons.HOME_REFRESH.id
    texts = mrkdwn_texts(blocks)
    assert "*Assigned to you (1)*" in texts and "*Unassigned, high priority (1)*" in texts
    cards = [b for b in blocks if b.get("block_id", "").startswith("card|")]
    assert [card_ref_from_block_id(b["block_id"]).id for b in cards] == ["a-1", "u-1"]
    assert buttons.TAKE.id not in action_ids(cards[:1])  # already mine
    assert buttons.TAKE.id in action_ids(cards[1:])


def test_home_without_a_link_explains_how_to_link() -> None:
    unassigned = ResultPage[Conversation](items=[conversation(id="u-1")], totalItems=1)
    blocks = home_json(None, unassigned, CONTEXT, linked=False)["blocks"]
    assert any("`agents:`" in t and "convbot.yml" in t for t in mrkdwn_texts(blocks))


def test_home_shows_a_problem_instead_of_the_lists() -> None:
    blocks = home_json(None, None, CONTEXT, linked=True, problem="Infobip <is> down")["blocks"]
    assert blocks[-1]["text"]["text"] == ":warning: Infobip &lt;is&gt; down"
    assert not any("Assigned to you" in t for t in mrkdwn_texts(blocks))


def test_home_fits_100_blocks_and_says_how_many_more() -> None:
    many = [conversation(id=f"a-{i}", summary="s", tags=["x"]) for i in range(50)]
    assigned = ResultPage[Conversation](items=many, totalItems=80, limit=50)
    others = [conversation(id=f"u-{i}") for i in range(50)]
    unassigned = ResultPage[Conversation](items=others, totalItems=50, limit=50)
    texts = mrkdwn_texts(home_json(assigned, unassigned, CONTEXT, linked=True)["blocks"])
    more = [t for t in texts if t.startswith("…and")]
    assert len(more) == 2
    assert "/conv list agent:me" in more[0]


def test_home_draws_a_conversation_once_and_empty_groups_kindly() -> None:
    twice = conversation(id="same")
    page = ResultPage[Conversation](items=[twice], totalItems=1)
    blocks = home_json(page, page, CONTEXT, linked=True)["blocks"]
    assert sum(1 for b in blocks if b.get("block_id", "").startswith("card|")) == 1
    empty = ResultPage[Conversation](items=[], totalItems=0)
    texts = mrkdwn_texts(home_json(empty, None, CONTEXT, linked=True)["blocks"])
    assert "Nothing here. :tada:" in texts and "Not loaded." in texts


# --- replies ------------------------------------------------------------------------------------


def test_error_blocks_are_one_escaped_warning() -> None:
    (block,) = as_json(error_blocks("No conversation <!channel>."))
    assert block["text"]["text"] == ":warning: No conversation &lt;!channel&gt;."


def test_result_blocks_for_help_keep_code_and_escape_brackets() -> None:
    result = CommandResult(kind="help", headline="convbot help", text="`take <id>`\nTakes it.")
    text, blocks = result_blocks(result, CONTEXT, "help take")
    assert text == "convbot help"
    (section,) = as_json(blocks)
    assert section["text"]["text"] == "`take &lt;id&gt;`\nTakes it."


def test_result_blocks_for_long_help_split_into_sections() -> None:
    long_help = "\n".join(f"`line {i}` " + "w" * 200 for i in range(100))
    result = CommandResult(kind="help", headline="help", text=long_help)
    _, blocks = result_blocks(result, CONTEXT, "help")
    assert_within_limits(as_json(blocks), 50)
    assert len(blocks) > 1


def test_result_blocks_for_a_conversation() -> None:
    result = CommandResult(
        kind="conversation", headline="Created <conversation> c-1.", conversation=conversation()
    )
    text, blocks = result_blocks(result, CONTEXT, "create Printer on fire")
    drawn = as_json(blocks)
    assert text == "Created &lt;conversation&gt; c-1. HIGH · Printer on fire (OPEN)"
    assert drawn[0]["elements"][0]["text"] == "Created &lt;conversation&gt; c-1."
    assert drawn[1]["type"] == "header"
    assert buttons.TAKE.id in action_ids(drawn)


def test_result_blocks_for_a_page() -> None:
    listed = page_of(20, total=45)
    result = CommandResult(kind="page", headline="1-20 of 45 conversations.", page=listed)
    text, blocks = result_blocks(result, CONTEXT, "list status:open")
    drawn = as_json(blocks)
    assert text == "1-20 of 45 conversations."
    assert drawn[0]["text"]["text"] == "1-20 of 45 conversations."
    (next_page,) = [e for e in elements(drawn) if e["action_id"] == buttons.PAGE_NEXT.id]
    assert refs.PageRef.decode(next_page["value"]) == refs.PageRef(q="list status:open", p=2)


def test_result_blocks_without_a_payload_show_the_headline() -> None:
    result = CommandResult(kind="conversation", headline="Done <now>.")
    text, blocks = result_blocks(result, CONTEXT, "close c-1")
    assert text == "Done &lt;now&gt;."
    assert as_json(blocks)[0]["text"]["text"] == "Done &lt;now&gt;."


@pytest.mark.parametrize(
    ("link", "drawn"),
    [
        ("https://acme.slack.com/archives/C0123ABCD/p1700000000000100", True),
        ("https://acme.enterprise.slack.com/archives/C0123ABCD/p1700000000000100", True),
        ("https://evil.example/archives/C0123ABCD/p1", False),  # not Slack's
        ("https://acme.slack.com.evil.example/archives/x", False),
        ("https://acme.slack.com/archives/C1|Your bank", False),  # would add a label
    ],
)
def test_from_a_slack_message_links_only_to_a_slack_permalink(link: str, drawn: bool) -> None:
    blocks = as_json(conversation_card(conversation(), CONTEXT, slack_message=link))
    text = json.dumps(blocks)
    assert ("From a Slack message" in text) is drawn
