"""The digest message: totals, items with their controls, Slack's limits, redrawing one item."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.devtools.fakeslack.blockkit import check_message_blocks, check_message_text_budget
from bot.digests.model import Digest, DigestItem
from bot.errors import InvalidInput
from bot.models import Conversation, Priority, Status
from bot.slack.blocks import buttons as button_table
from bot.slack.blocks import refs
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.digest import EMPTY, digest_blocks, totals_text
from bot.slack.blocks.digest_item import UNQUEUED, age, digest_item_blocks, item_block_id
from bot.slack.blocks.digest_redraw import replace_item
from bot.slack.blocks.mrkdwn import escape

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CONTEXT = CardContext(
    viewer_agent_id="agent-ana",
    queue_names={"q-billing": "Billing", "q-vip": "VIP"},
    agent_users={"agent-ana": "U0123ABCD"},
    agent_names={"agent-ana": "Ana Horvat", "agent-ben": "Ben Kovac"},
)
INJECTIONS = ("<!channel>", "<!here>", "<@U123>", "<https://x|y>", "<#C123>")
NAME = "morning"


def conversation(**changes: Any) -> Conversation:
    fields: dict[str, Any] = {
        "id": "c-1",
        "topic": "Printer on fire",
        "status": Status.OPEN,
        "priority": Priority.HIGH,
        "queueId": "q-billing",
        "agentId": None,
        "createdAt": NOW - timedelta(hours=3),
        "updatedAt": NOW - timedelta(minutes=30),
    }
    fields.update(changes)
    return Conversation(**fields)


def item(snoozed_until: datetime | None = None, **changes: Any) -> DigestItem:
    return DigestItem(conversation=conversation(**changes), snoozed_until=snoozed_until)


def digest(items: list[DigestItem] | None = None, **changes: Any) -> Digest:
    items = [item()] if items is None else items
    totals: dict[Priority, int] = {}
    for each in items:
        priority = each.conversation.priority
        totals[priority] = totals.get(priority, 0) + 1
    fields: dict[str, Any] = {
        "name": NAME,
        "generated_at": NOW,
        "totals": totals,
        "items": items,
        "more_command": "/conv list priority:high,urgent",
    }
    fields.update(changes)
    return Digest(**fields)


def drawn(shown: Digest, context: CardContext = CONTEXT) -> tuple[str, list[dict[str, Any]]]:
    """`to_dict()` runs slack_sdk's validators; the fake Slack's check is Slack's own limits."""
    text, blocks = digest_blocks(shown, context, now=NOW)
    as_json = [block.to_dict() for block in blocks]
    check_message_blocks(as_json)
    check_message_text_budget(as_json)  # what chat.postMessage adds: msg_blocks_too_long
    return text, as_json


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [node["text"] for node in walk(blocks) if node.get("type") == "mrkdwn"]


def item_sections(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b.get("block_id", "").startswith("dsec|")]


def actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


def action_ids(block: dict[str, Any]) -> list[str]:
    return [element["action_id"] for element in block["elements"]]


def item_json(shown: DigestItem, context: CardContext = CONTEXT) -> list[dict[str, Any]]:
    blocks: list[Block] = digest_item_blocks(shown, context, now=NOW, digest_name=NAME)
    return [block.to_dict() for block in blocks]


# --- the head -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "text"),
    [
        (
            {Priority.HIGH: 5, Priority.URGENT: 2},
            "7 open high-priority conversations — 2 URGENT, 5 HIGH",
        ),
        ({Priority.HIGH: 1}, "1 open high-priority conversation — 1 HIGH"),
        ({Priority.URGENT: 1, Priority.HIGH: 0}, "1 open high-priority conversation — 1 URGENT"),
        (
            {Priority.LOW: 1, Priority.HIGH: 3, Priority.NORMAL: 2},
            "6 open high-priority conversations — 3 HIGH, 2 NORMAL, 1 LOW",
        ),
        ({}, EMPTY),
        ({Priority.HIGH: 0}, EMPTY),
    ],
)
def test_totals_wording(totals: dict[Priority, int], text: str) -> None:
    assert totals_text(totals) == text


def test_head_and_fallback_text_say_the_totals() -> None:
    shown = digest(totals={Priority.URGENT: 2, Priority.HIGH: 5})
    text, blocks = drawn(shown)
    assert text == "7 open high-priority conversations — 2 URGENT, 5 HIGH"
    assert blocks[0]["type"] == "section"
    assert blocks[0]["text"]["text"] == text


def test_mention_only_while_something_is_urgent() -> None:
    urgent = digest(totals={Priority.URGENT: 1, Priority.HIGH: 2}, mention="S0ONCALL")
    text, blocks = drawn(urgent)
    expected = "<!subteam^S0ONCALL> 3 open high-priority conversations — 1 URGENT, 2 HIGH"
    assert text == expected
    assert blocks[0]["text"]["text"] == expected

    calm = digest(totals={Priority.HIGH: 3}, mention="S0ONCALL")
    text, blocks = drawn(calm)
    assert all("subteam" not in t for t in [text, *mrkdwn_texts(blocks)])

    unset = digest(totals={Priority.URGENT: 3})
    assert "subteam" not in drawn(unset)[0]


def test_a_mention_that_is_not_a_group_id_is_shown_as_text() -> None:
    text, _ = drawn(digest(totals={Priority.URGENT: 1}, mention="<!channel>"))
    assert text.startswith("&lt;!channel&gt; 1 open")


def test_empty_digest_is_one_cheerful_section() -> None:
    text, blocks = drawn(digest(items=[], totals={}, mention="S0ONCALL"))
    assert text == EMPTY == "No open high-priority conversations. :tada:"
    assert len(blocks) == 1
    assert blocks[0]["type"] == "section"
    assert blocks[0]["text"]["text"] == EMPTY


# --- counts per queue ---------------------------------------------------------------------------


def test_counts_per_queue_largest_first_with_names() -> None:
    counts = {UNQUEUED: 1, "q-vip": 2, "q-billing": 3, "q-empty": 0}
    _, blocks = drawn(digest(queue_counts=counts))
    assert blocks[1]["type"] == "context"
    assert blocks[1]["elements"][0]["text"] == "Billing 3 · VIP 2 · unqueued 1"


def test_an_unknown_queue_is_shown_by_its_id() -> None:
    _, blocks = drawn(digest(queue_counts={"q-gone": 4}))
    assert blocks[1]["elements"][0]["text"] == "q-gone 4"


def test_no_counts_no_queue_line() -> None:
    _, blocks = drawn(digest(queue_counts={}))
    assert [b["type"] for b in blocks] == ["section", "section", "actions"]


def test_many_long_queue_names_stay_within_a_context_element() -> None:
    names = {f"q-{i}": f"{i} " + "n" * 95 for i in range(200)}
    context = CardContext(queue_names=names)
    _, blocks = drawn(digest(queue_counts=dict.fromkeys(names, 1)), context)
    line = blocks[1]["elements"][0]["text"]
    assert len(line) <= 3000
    assert line.endswith(" more queues")


# --- items --------------------------------------------------------------------------------------


def test_items_keep_the_given_order() -> None:
    order = ["u-2", "u-1", "h-9", "h-3", "h-4"]
    items = [item(id=i, priority=Priority.URGENT if i[0] == "u" else Priority.HIGH) for i in order]
    _, blocks = drawn(digest(items))
    assert [s["block_id"].removeprefix("dsec|") for s in item_sections(blocks)] == order
    assert [refs.digest_ref_from_block_id(a["block_id"]).id for a in actions(blocks)] == order


def test_an_item_says_what_why_and_who() -> None:
    shown = item(agentId="agent-ana", tags=["billing", "vip"], priority=Priority.URGENT)
    section = item_json(shown)[0]
    assert section["block_id"] == "dsec|c-1"
    assert section["text"]["text"] == (
        ":rotating_light: *Printer on fire*\n"
        "open 3 h · Billing · <@U0123ABCD> · #billing #vip · `c-1`"
    )


@pytest.mark.parametrize(
    ("changes", "facts"),
    [
        ({"agentId": "agent-ben", "queueId": "q-vip"}, "open 3 h · VIP · Ben Kovac · `c-1`"),
        ({"agentId": "agent-zed", "queueId": None}, "open 3 h · unqueued · agent-zed · `c-1`"),
        ({"status": Status.WAITING}, "open 3 h · Waiting · Billing · unassigned · `c-1`"),
        ({"topic": None, "tags": []}, "open 3 h · Billing · unassigned · `c-1`"),
        ({"createdAt": None}, "open — · Billing · unassigned · `c-1`"),
    ],
)
def test_item_fallbacks(changes: dict[str, Any], facts: str) -> None:
    text = item_json(item(**changes))[0]["text"]["text"]
    assert text.split("\n")[1] == facts


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "under 1 min"),
        (timedelta(minutes=5), "5 min"),
        (timedelta(minutes=59, seconds=59), "59 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=3, minutes=50), "3 h"),
        (timedelta(hours=23, minutes=59), "23 h"),
        (timedelta(days=2, hours=7), "2 d"),
        (timedelta(minutes=-5), "under 1 min"),  # a clock a little ahead of ours
    ],
)
def test_ages(ago: timedelta, text: str) -> None:
    assert age(NOW - ago, NOW) == text
    section = item_json(item(createdAt=NOW - ago))[0]
    assert f"\nopen {text} · " in section["text"]["text"]


def test_age_of_a_naive_or_missing_moment() -> None:
    assert age(NOW.replace(tzinfo=None) - timedelta(hours=2), NOW) == "2 h"
    assert age(None, NOW) == "—"


def test_buttons_and_select_carry_the_item_ref() -> None:
    shown = item(agentId="agent-ben")
    (_, block) = item_json(shown)
    expected = refs.DigestItemRef(d=NAME, id="c-1", v=shown.conversation.updatedAt)
    assert action_ids(block) == [
        button_table.DIGEST_TAKE.id,
        button_table.DIGEST_ESCALATE.id,
        button_table.DIGEST_CLOSE.id,
        button_table.DIGEST_SNOOZE.id,
    ]
    buttons = [e for e in block["elements"] if e["type"] == "button"]
    assert [b["text"]["text"] for b in buttons] == ["Take", "Escalate", "Close"]
    assert {refs.DigestItemRef.decode(b["value"]) for b in buttons} == {expected}
    assert block["block_id"].startswith("ditem|")
    assert refs.digest_ref_from_block_id(block["block_id"]) == expected
    assert expected.is_current(shown.conversation.updatedAt)
    assert not expected.is_current(NOW)
    (select,) = [e for e in block["elements"] if e["type"] == "static_select"]
    assert [o["value"] for o in select["options"]] == ["1h", "4h", "24h"]
    assert [o["text"]["text"] for o in select["options"]] == ["1 hour", "4 hours", "24 hours"]
    assert "initial_option" not in select
    (close,) = [b for b in buttons if b["action_id"] == button_table.DIGEST_CLOSE.id]
    assert close["style"] == "danger" and close["confirm"]["style"] == "danger"


def test_ref_round_trips_without_a_version() -> None:
    ref = refs.DigestItemRef(d="d", id="c-1")
    assert ref.encode() == '{"d":"d","id":"c-1"}'
    assert refs.DigestItemRef.decode(ref.encode()) == ref
    assert refs.digest_ref_from_block_id("ditem|" + ref.encode()) == ref


@pytest.mark.parametrize("value", [None, "", "{", "[]", '{"id":"c-1"}', '{"d":"x"}', "card|{}"])
def test_garbage_refs_are_invalid_input(value: str | None) -> None:
    with pytest.raises(InvalidInput):
        refs.DigestItemRef.decode(value)
    with pytest.raises(InvalidInput):
        refs.digest_ref_from_block_id(value)


@pytest.mark.parametrize("value", ["card|" + '{"id":"c-1"}', "dsec|c-1", "ditem|"])
def test_foreign_block_ids_are_invalid_input(value: str) -> None:
    with pytest.raises(InvalidInput):
        refs.digest_ref_from_block_id(value)


def test_snooze_values_read_as_durations() -> None:
    assert refs.snooze_duration("1h") == timedelta(hours=1)
    assert refs.snooze_duration("4h") == timedelta(hours=4)
    assert refs.snooze_duration("24h") == timedelta(hours=24)
    for value in (None, "", "2h", "1H"):
        with pytest.raises(InvalidInput):
            refs.snooze_duration(value)


def test_take_is_hidden_when_the_item_is_the_viewers() -> None:
    mine = actions(item_json(item(agentId="agent-ana")))[0]
    others = actions(item_json(item(agentId="agent-ben")))[0]
    assert button_table.DIGEST_TAKE.id not in action_ids(mine)
    assert button_table.DIGEST_TAKE.id in action_ids(others)


def test_take_stays_when_the_viewer_is_unknown() -> None:
    for agent in (None, "agent-ana"):
        block = actions(item_json(item(agentId=agent), CardContext()))[0]
        assert button_table.DIGEST_TAKE.id in action_ids(block)
    unassigned = actions(item_json(item(agentId=None)))[0]
    assert button_table.DIGEST_TAKE.id in action_ids(unassigned)


def test_closed_items_have_no_actions() -> None:
    blocks = item_json(item(status=Status.CLOSED, closedAt=NOW, snoozed_until=NOW))
    assert [b["type"] for b in blocks] == ["section"]
    text = blocks[0]["text"]["text"]
    assert text.split("\n")[1].startswith("closed · Billing")
    assert "snoozed" not in text


def test_snoozed_items_say_until_when_and_offer_no_snooze() -> None:
    until = NOW + timedelta(hours=4)
    blocks = item_json(item(snoozed_until=until))
    text = blocks[0]["text"]["text"]
    assert f"\n:zzz: snoozed until <!date^{int(until.timestamp())}^" in text
    assert action_ids(blocks[1]) == [
        button_table.DIGEST_TAKE.id,
        button_table.DIGEST_ESCALATE.id,
        button_table.DIGEST_CLOSE.id,
    ]


def test_an_id_too_long_for_a_block_id_keeps_the_buttons_and_drops_the_select() -> None:
    # The longest ids a press may carry (bot/field_rules.py) overflow a block_id.
    long_id = "x" * 250
    blocks = item_json(item(id=long_id))
    check_message_blocks(blocks)
    assert blocks[0]["block_id"] == item_block_id(long_id)
    assert len(blocks[0]["block_id"]) <= 255
    assert "block_id" not in blocks[1]
    assert action_ids(blocks[1]) == [
        button_table.DIGEST_TAKE.id,
        button_table.DIGEST_ESCALATE.id,
        button_table.DIGEST_CLOSE.id,
    ]
    assert refs.DigestItemRef.decode(blocks[1]["elements"][0]["value"]).id == long_id


def test_an_item_listed_twice_is_drawn_once() -> None:
    _, blocks = drawn(digest([item(id="a"), item(id="b"), item(id="a")], totals={"HIGH": 2}))
    assert [s["block_id"] for s in item_sections(blocks)] == ["dsec|a", "dsec|b"]


# --- limits -------------------------------------------------------------------------------------


def test_a_thousand_items_fit_in_fifty_blocks_and_say_how_many_more() -> None:
    items = [
        item(id=f"c-{i:04}", priority=Priority.URGENT if i < 100 else Priority.HIGH)
        for i in range(1000)
    ]
    shown = digest(
        items,
        totals={Priority.URGENT: 100, Priority.HIGH: 1100},  # 200 more than were fetched
        queue_counts={"q-billing": 1000},
        mention="S0ONCALL",
    )
    text, blocks = drawn(shown)
    assert len(blocks) <= 50
    sections = item_sections(blocks)
    assert [s["block_id"] for s in sections] == [f"dsec|c-{i:04}" for i in range(len(sections))]
    assert len(sections) == 23  # head, queues, 23 x (section, actions), "…and N more"
    assert blocks[-1]["elements"][0]["text"] == (
        f"…and {1200 - len(sections)} more — `/conv list priority:high,urgent`"
    )
    assert text.startswith("<!subteam^S0ONCALL> 1200 open")


def test_items_not_fetched_are_counted_too() -> None:
    shown = digest([item(id="a"), item(id="b")], totals={Priority.HIGH: 9})
    _, blocks = drawn(shown)
    assert len(item_sections(blocks)) == 2
    assert blocks[-1]["elements"][0]["text"] == "…and 7 more — `/conv list priority:high,urgent`"


def test_no_more_line_when_everything_is_drawn() -> None:
    _, blocks = drawn(digest([item(id="a"), item(id="b")]))
    assert not any("more" in t for t in mrkdwn_texts(blocks))


def test_huge_user_text_stays_within_limits() -> None:
    items = [
        item(
            id=f"c-{i}",
            topic="<&>" * 400,
            tags=[f"tag-{j}-{'x' * 90}" for j in range(50)],
            queueId="q-long",
            agentId="agent-long",
        )
        for i in range(60)
    ]
    context = CardContext(
        queue_names={"q-long": "Q&" * 3000}, agent_names={"agent-long": "A<" * 3000}
    )
    shown = digest(items, queue_counts={"q-long": 60}, more_command="/conv list " + "x" * 5000)
    _, blocks = drawn(shown, context)
    assert len(blocks) <= 50
    for section in item_sections(blocks):
        assert len(section["text"]["text"]) <= 3000
    more = 60 - len(item_sections(blocks))  # as many as fit in Slack's text budget
    assert blocks[-1]["elements"][0]["text"].startswith(f"…and {more} more — `/conv list xx")


@pytest.mark.parametrize("attack", INJECTIONS)
def test_user_text_never_pings_or_links(attack: str) -> None:
    hostile = item(topic=f"hi {attack}", queueId="q-evil", agentId="agent-evil", tags=["ok"])
    context = CardContext(
        queue_names={"q-evil": f"Billing {attack}"}, agent_names={"agent-evil": attack}
    )
    shown = digest(
        [hostile, item(id="c-2", queueId=attack)],
        totals={Priority.URGENT: 1, Priority.HIGH: 5},
        queue_counts={"q-evil": 1, attack: 1},
        more_command=f"/conv list {attack}",
        mention=attack,
    )
    text, blocks = drawn(shown, context)
    for mrkdwn in [text, *mrkdwn_texts(blocks)]:
        assert attack not in mrkdwn
    queues = blocks[1]["elements"][0]["text"]
    assert f"Billing {escape(attack)} 1" in queues
    assert f"{escape(attack)} 1" in queues
    assert f"*hi {escape(attack)}*" in item_sections(blocks)[0]["text"]["text"]


def test_topic_is_escaped_and_clipped() -> None:
    text = item_json(item(topic="A & B <b> " + "z" * 500))[0]["text"]["text"]
    topic = text.split("\n")[0]
    assert topic.startswith(":large_orange_circle: *A &amp; B &lt;b&gt; zz")
    assert topic.endswith("…*")
    assert len(topic) < 250


# --- redrawing one item -------------------------------------------------------------------------


def slack_echo(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a press sends back: the same blocks, with a block_id Slack made up where we set none."""
    echoed = copy.deepcopy(blocks)
    for index, block in enumerate(echoed):
        block.setdefault("block_id", f"slack{index}")
    return echoed


def three_items(**changes: Any) -> tuple[Digest, list[dict[str, Any]]]:
    items = [
        item(id="u-1", priority=Priority.URGENT),
        item(id="h-1", agentId="agent-ben"),
        item(id="h-2"),
    ]
    shown = digest(items, queue_counts={"q-billing": 3}, mention="S0ONCALL", **changes)
    return shown, slack_echo(drawn(shown)[1])


def test_replace_item_redraws_only_that_item_and_the_head() -> None:
    _, before = three_items()
    kept = copy.deepcopy(before)
    taken = item(id="h-1", agentId="agent-ana", updatedAt=NOW)
    totals = {Priority.URGENT: 1, Priority.HIGH: 2}
    after = replace_item(before, taken, totals, CONTEXT, now=NOW)
    assert before == kept  # the input is not modified
    check_message_blocks(after)
    assert len(after) == len(before)
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    h1 = next(i for i, b in enumerate(before) if b["block_id"] == "dsec|h-1")
    assert changed == [h1, h1 + 1]  # the head's text is the same: the totals did not change
    assert "<@U0123ABCD>" in after[h1]["text"]["text"]
    assert button_table.DIGEST_TAKE.id not in action_ids(after[h1 + 1])  # it is mine now
    assert refs.digest_ref_from_block_id(after[h1 + 1]["block_id"]) == refs.DigestItemRef(
        d=NAME, id="h-1", v=NOW
    )


def test_replace_item_after_close_updates_the_totals_and_drops_the_actions() -> None:
    _, before = three_items()
    closed = item(id="u-1", priority=Priority.URGENT, status=Status.CLOSED, updatedAt=NOW)
    after = replace_item(before, closed, {Priority.HIGH: 2}, CONTEXT, now=NOW)
    check_message_blocks(after)
    assert len(after) == len(before) - 1
    assert after[0]["text"]["text"] == "2 open high-priority conversations — 2 HIGH"
    assert after[0]["block_id"] == before[0]["block_id"]
    u1 = next(i for i, b in enumerate(after) if b["block_id"] == "dsec|u-1")
    assert after[u1]["text"]["text"].split("\n")[1].startswith("closed · ")
    assert after[u1 + 1]["block_id"] == "dsec|h-1"
    assert after[1] == before[1]  # the queue line
    assert after[u1 + 1 :] == before[u1 + 2 :]  # the other items


def test_replace_item_keeps_the_mention_while_something_is_urgent() -> None:
    _, before = three_items()
    assert before[0]["text"]["text"].startswith("<!subteam^S0ONCALL> 3 open")
    snoozed = item(id="h-2", snoozed_until=NOW + timedelta(hours=1))
    totals = {Priority.URGENT: 1, Priority.HIGH: 2}
    after = replace_item(before, snoozed, totals, CONTEXT, now=NOW)
    assert after[0] == before[0]
    h2 = next(i for i, b in enumerate(after) if b["block_id"] == "dsec|h-2")
    assert ":zzz: snoozed until" in after[h2]["text"]["text"]
    assert button_table.DIGEST_SNOOZE.id not in action_ids(after[h2 + 1])
    assert refs.digest_ref_from_block_id(after[h2 + 1]["block_id"]).d == NAME


def test_replace_item_not_drawn_redraws_only_the_head() -> None:
    _, before = three_items()
    elsewhere = item(id="not-drawn")
    after = replace_item(before, elsewhere, {Priority.HIGH: 2}, CONTEXT, now=NOW)
    assert after[0]["text"]["text"] == "2 open high-priority conversations — 2 HIGH"
    assert after[1:] == before[1:]


def test_replace_item_until_nothing_is_left() -> None:
    shown = digest([item(id="only")], mention="S0ONCALL")
    before = slack_echo(drawn(shown)[1])
    closed = item(id="only", status=Status.CLOSED)
    after = replace_item(before, closed, {}, CONTEXT, now=NOW)
    check_message_blocks(after)
    assert after[0]["text"]["text"] == EMPTY
    assert [b["type"] for b in after] == ["section", "section"]


def test_replace_item_in_a_full_message_stays_within_fifty_blocks() -> None:
    items = [item(id="c-0", status=Status.CLOSED)] + [item(id=f"c-{i}") for i in range(1, 100)]
    before = slack_echo(drawn(digest(items, queue_counts={"q-billing": 100}))[1])
    assert len(before) == 50  # head, queues, c-0 without actions, 23 items, "…and 76 more"
    reopened = item(id="c-0", agentId="agent-ben")  # would need one block more than it had
    after = replace_item(before, reopened, {Priority.HIGH: 100}, CONTEXT, now=NOW)
    check_message_blocks(after)
    assert len(after) == 50
    assert after[2]["block_id"] == "dsec|c-0" and "Ben Kovac" in after[2]["text"]["text"]
    assert after[3:] == before[3:]


def test_forty_long_items_stay_within_slacks_text_budget_and_say_how_many_more() -> None:
    # max_items 40 with long topics and tags once came to ~17,000 characters: Slack refuses
    # such a message (msg_blocks_too_long) and every tick of the digest failed.
    items = [
        item(
            id=f"c-{n:02}-" + "x" * 200,
            topic=f"Topic {n} " + "long words " * 30,
            tags=[f"tag{t}-" + "y" * 40 for t in range(10)],
        )
        for n in range(40)
    ]
    _, blocks = drawn(digest(items))  # checks the budget too
    shown = item_sections(blocks)
    assert 0 < len(shown) < 40
    more = blocks[-1]["elements"][0]["text"]
    assert more.startswith(f"…and {40 - len(shown)} more")
