"""The App Home tab: published when opened, redrawn by Refresh and by every card button on it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError

from bot.devtools.fakeslack import StoredView, app_home_opened
from bot.models import Actor, Conversation, ConversationCreate, ConversationPatch, Priority
from bot.oncall.config import OncallConfig
from bot.service.escalations import EscalationService
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.home import OnCallShift, OnCallStatus, home_view
from bot.slack.context import SlackContext
from bot.slack.home import oncall_status
from tests.slack_harness import (
    ANA,
    BEN,
    CLEO,
    CLOSE,
    DAVE,
    EDIT,
    OPEN,
    REFRESH,
    TAKE,
    SlackHarness,
    action_ids,
    running_bot,
    text_value,
    texts,
)

# The slow tier (tests/conftest.py): the bot and a fake Slack served on loopback.
pytestmark = pytest.mark.slow

SOMEONE = Actor(id="USOMEONE1", surface="slack")


async def conversation(
    slack: SlackHarness, topic: str, priority: Priority, agent: str | None = None
) -> Conversation:
    data = ConversationCreate(topic=topic, priority=priority, agentId=agent)
    return (await slack.service.create(SOMEONE, data)).conversation


def section(home: StoredView, title: str) -> str:
    """The text of the Home tab from `title` up to the next divider."""
    shown = texts(home.blocks)
    start = shown.index(title)
    end = shown.find('"divider"', start)
    return shown[start : end if end != -1 else None]


async def republished(slack: SlackHarness, count: int) -> StoredView:
    await slack.settle("views.publish", count)
    home = slack.fake.home_view(ANA)
    assert home is not None
    return home


async def test_opening_home_shows_mine_and_urgent_unassigned(slack: SlackHarness) -> None:
    await conversation(slack, "Mine and urgent", Priority.URGENT, agent="agent-ana")
    await conversation(slack, "Nobody's and high", Priority.HIGH)
    await conversation(slack, "Nobody's but normal", Priority.NORMAL)
    await conversation(slack, "Ben's", Priority.URGENT, agent="agent-ben")
    home = await slack.open_home(ANA)
    assert home.type == "home"
    assert "Mine and urgent" in section(home, "Assigned to you")
    unassigned = section(home, "Unassigned, high priority")
    assert "Nobody's and high" in unassigned
    assert "Nobody's but normal" not in texts(home.blocks)
    assert "Ben's" not in texts(home.blocks)


async def test_an_unlinked_user_is_told_how_to_link(slack: SlackHarness) -> None:
    await conversation(slack, "Nobody's and high", Priority.HIGH)
    home = await slack.open_home(DAVE)
    mine = section(home, "Assigned to you")
    assert "not linked to a Conversations agent" in mine and "agents:" in mine
    assert "Nobody's and high" in section(home, "Unassigned, high priority")


async def test_the_messages_tab_publishes_nothing(slack: SlackHarness) -> None:
    ack = await slack.event(app_home_opened(ANA, tab="messages"))
    assert ack.status_code == 200
    await slack.open_home(ANA)  # a later Home event is answered, the Messages one was not
    assert len(slack.fake.calls_to("views.publish")) == 1


async def test_refresh_republishes_with_what_changed(slack: SlackHarness) -> None:
    home = await slack.open_home(ANA)
    assert "Nothing here" in section(home, "Unassigned, high priority")
    await conversation(slack, "Arrived since", Priority.URGENT)
    await slack.press_in_view(home, REFRESH)
    home = await republished(slack, 2)
    assert "Arrived since" in section(home, "Unassigned, high priority")


async def test_take_on_home_applies_and_republishes(slack: SlackHarness) -> None:
    first = await conversation(slack, "Take me", Priority.URGENT)
    await conversation(slack, "Leave me", Priority.HIGH)
    home = await slack.open_home(ANA)
    await slack.press_in_view(home, TAKE, card=first.id)
    home = await republished(slack, 2)
    assert "Take me" in section(home, "Assigned to you")
    assert "Take me" not in section(home, "Unassigned, high priority")
    assert "Leave me" in section(home, "Unassigned, high priority")
    assert (await slack.conversation(first.id)).agentId == "agent-ana"
    assert slack.fake.responses == []  # no message anywhere: the Home tab is the answer


async def test_a_stale_home_card_republishes_with_the_reason(slack: SlackHarness) -> None:
    urgent = await conversation(slack, "Changing", Priority.URGENT)
    home = await slack.open_home(ANA)
    await slack.service.update(SOMEONE, urgent.id, ConversationPatch(topic="Moved on"))
    await slack.press_in_view(home, CLOSE, card=urgent.id)
    home = await republished(slack, 2)
    assert "this card was out of date" in texts(home.blocks)
    assert "Moved on" in section(home, "Unassigned, high priority")  # the lists stay
    assert not (await slack.conversation(urgent.id)).is_closed


async def test_a_refused_press_on_home_is_a_warning_above_the_lists(slack: SlackHarness) -> None:
    urgent = await conversation(slack, "Take me", Priority.URGENT)
    home = await slack.open_home(DAVE)
    await slack.press_in_view(home, TAKE, DAVE, card=urgent.id)
    await slack.settle("views.publish", 2)
    home = slack.fake.home_view(DAVE)
    assert home is not None
    assert ":warning: You (UDAVE0004) are not linked to an agent" in texts(home.blocks)
    assert "Take me" in section(home, "Unassigned, high priority")
    assert (await slack.conversation(urgent.id)).agentId is None


async def test_an_edit_from_home_republishes_home(slack: SlackHarness) -> None:
    urgent = await conversation(slack, "Rename me", Priority.URGENT)
    home = await slack.open_home(ANA)
    await slack.press_in_view(home, EDIT, card=urgent.id)
    [filled] = await slack.settle("views.update")
    modal = slack.fake.views[filled.args["view_id"]]
    await slack.submit(modal, {"topic": {"topic": text_value("Renamed")}})
    await slack.settle("chat.postMessage")  # the card, DMed
    home = await republished(slack, 2)
    assert "Renamed" in section(home, "Unassigned, high priority")


async def test_home_is_a_line_per_conversation_most_urgent_first_with_true_counts(
    slack: SlackHarness,
) -> None:
    low, normal, high, urgent = Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT
    mix = [low, normal, high, urgent, normal, high, low, urgent, normal, high, low, normal]
    mine = []
    for n, priority in enumerate(mix):  # 12: more than the tab draws
        mine.append(await conversation(slack, f"Mine {n}", priority, agent="agent-ana"))
        await asyncio.sleep(0.003)  # distinct createdAt: the order within a priority is defined
    await conversation(slack, "Nobody's urgent", urgent)
    home = await slack.open_home(ANA)
    drawn = section(home, "Assigned to you (12)")  # everything assigned, not the rows drawn
    triaged = sorted(mine, key=lambda c: (-c.priority.rank, c.createdAt))
    places = [drawn.find(f"*{c.topic}*") for c in triaged]
    assert -1 not in places[:10] and places[:10] == sorted(places[:10])
    assert places[10:] == [-1, -1] and "…and 2 more" in drawn
    assert "Unassigned, high priority (1)" in texts(home.blocks)
    # Compact: a line and the card's buttons per conversation, no card headers or fields.
    rows = [b for b in home.blocks if b["type"] == "section" and "opened" in texts([b])]
    buttons = [b for b in home.blocks if b.get("block_id", "").startswith("card|")]
    assert len(rows) == len(buttons) == 11
    assert [b["type"] for b in home.blocks].count("header") == 1
    assert not any("fields" in b for b in home.blocks)
    assert OPEN not in action_ids(home.blocks)  # "View" answers beside a message: none here


# --- the "On call" section ----------------------------------------------------------------------


def _wall(moment: datetime) -> str:
    """A schedule's local wall time (schedules here are in UTC), to the minute."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _oncall(*schedules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"oncall": {"schedules": list(schedules), **extra}}


def _schedule(name: str, users: list[str], **extra: Any) -> dict[str, Any]:
    rotation = {"users": users, "shift": "7d", "start": "2026-01-05T09:00"}
    return {"name": name, "rotation": rotation, **extra}


def _override(user: str, start: datetime, end: datetime) -> dict[str, str]:
    return {"user": user, "from": _wall(start), "to": _wall(end)}


async def test_home_says_the_viewer_is_on_call_and_until_when(tmp_path: Path) -> None:
    now = _minute(datetime.now(UTC))
    until = now + timedelta(days=2)
    primary = _schedule(
        "primary", [BEN], overrides=[_override(ANA, now - timedelta(hours=1), until)]
    )
    config = _oncall(primary, _schedule("secondary", [BEN]))
    async with running_bot(tmp_path, config=config) as slack:
        home = await slack.open_home(ANA)
        on_call = section(home, "*On call*")
        assert f"You are on call for *primary* until <!date^{int(until.timestamp())}^" in on_call
        assert f"secondary: <@{BEN}> now" in on_call
        assert "primary:" not in on_call  # her own schedule is not repeated as "who is on call"
        assert "escalation" not in on_call  # none are running
        # The lists follow, as before.
        assert texts(home.blocks).index("*On call*") < texts(home.blocks).index("Assigned to you")
        assert "Nothing here" in section(home, "Unassigned, high priority")


async def test_home_shows_who_is_on_call_when_the_viewer_is_not(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    # A daily window that opens in two hours: nobody is on call for "nights" right now.
    opens, closes = now + timedelta(hours=2), now + timedelta(hours=3)
    window = {
        "days": "MON,TUE,WED,THU,FRI,SAT,SUN",
        "from": f"{opens:%H:%M}",
        "to": f"{closes:%H:%M}",
    }
    config = _oncall(_schedule("primary", [BEN]), _schedule("nights", [CLEO], restrict=[window]))
    async with running_bot(tmp_path, config=config) as slack:
        home = await slack.open_home(ANA)
        on_call = section(home, "*On call*")
        assert "You are not on call." in on_call
        assert "You are on call for" not in on_call and "next on-call shift" not in on_call
        assert f"primary: <@{BEN}> now" in on_call
        assert "nights: nobody now" in on_call


async def test_home_shows_the_viewers_next_shift(tmp_path: Path) -> None:
    starts = _minute(datetime.now(UTC)) + timedelta(days=10)
    soon = _schedule(
        "primary", [BEN], overrides=[_override(ANA, starts, starts + timedelta(days=1))]
    )
    later = datetime.now(UTC) + timedelta(days=90)  # beyond 60 days: not mentioned
    far = _schedule(
        "secondary", [BEN], overrides=[_override(ANA, later, later + timedelta(days=1))]
    )
    async with running_bot(tmp_path, config=_oncall(far, soon)) as slack:
        home = await slack.open_home(ANA)
        on_call = section(home, "*On call*")
        expected = f"Your next on-call shift: *primary* from <!date^{int(starts.timestamp())}^"
        assert expected in on_call
        assert "not on call" not in on_call
        assert f"primary: <@{BEN}> now" in on_call and f"secondary: <@{BEN}> now" in on_call


POLICY = [{"name": "default", "steps": [{"notify": ["schedule:primary"], "wait": "5m"}]}]


async def test_home_counts_running_escalations(tmp_path: Path) -> None:
    config = _oncall(_schedule("primary", [BEN]), policies=POLICY)
    async with running_bot(tmp_path, config=config) as slack:
        home = await slack.open_home(ANA)
        assert "escalation" not in section(home, "*On call*")

        for topic in ("Printer on fire", "Server on fire"):
            card = await slack.create(f"{topic} priority:urgent")
            await slack.escalate(card.id)
        await slack.press_in_view(home, REFRESH)

        home = await republished(slack, 2)
        on_call = section(home, "*On call*")
        assert "2 escalations are running — `/conv escalations`" in on_call


async def test_home_without_oncall_schedules_has_no_oncall_section(slack: SlackHarness) -> None:
    home = await slack.open_home(ANA)
    shown = texts(home.blocks)
    assert "On call" not in shown and "on call" not in shown
    assert "escalation" not in shown


async def test_a_failing_escalation_read_leaves_the_count_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(self: EscalationService) -> list[Any]:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    config = _oncall(_schedule("primary", [BEN]), policies=POLICY)
    async with running_bot(tmp_path, config=config) as slack:
        card = await slack.create("Printer on fire priority:urgent")
        await slack.escalate(card.id)
        monkeypatch.setattr(EscalationService, "active", failing)

        home = await slack.open_home(ANA)

        on_call = section(home, "*On call*")
        assert f"primary: <@{BEN}> now" in on_call and "escalation" not in on_call
        assert "Assigned to you" in texts(home.blocks)


def _deps(config: OncallConfig, active: Any = None) -> SlackContext:
    async def nothing() -> list[Any]:
        return []

    return cast(
        SlackContext,
        SimpleNamespace(
            config=SimpleNamespace(oncall=config),
            escalations=SimpleNamespace(active=active or nothing),
        ),
    )


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


async def test_no_schedules_means_no_status_and_no_query() -> None:
    async def unexpected() -> list[Any]:
        raise AssertionError("escalations were read with no schedules configured")

    assert await oncall_status(_deps(OncallConfig(), unexpected), ANA, NOW) is None


async def test_the_next_shift_is_found_past_many_handoffs() -> None:
    # Hourly turns: Ana's comes after 30 others, more than one batch of handoffs.
    hourly = {"users": [BEN, CLEO] * 15 + [ANA], "shift": "1h", "start": "2026-03-02T12:00"}
    config = OncallConfig.model_validate({"schedules": [{"name": "hourly", "rotation": hourly}]})
    status = await oncall_status(_deps(config), ANA, NOW)
    assert status is not None
    assert status.on_call == []
    assert status.next_shift == OnCallShift("hourly", NOW + timedelta(hours=30))
    assert status.others == [("hourly", BEN)]
    assert status.escalations == 0
    mine = await oncall_status(_deps(config), ANA, NOW + timedelta(hours=30, minutes=5))
    assert mine is not None and mine.on_call == [OnCallShift("hourly", NOW + timedelta(hours=31))]
    assert mine.next_shift is None and mine.others == []


async def test_a_shift_more_than_60_days_away_is_not_on_call() -> None:
    rotation = {"users": [BEN, ANA], "shift": "61d", "start": "2026-03-02T12:00"}
    config = OncallConfig.model_validate({"schedules": [{"name": "long", "rotation": rotation}]})
    status = await oncall_status(_deps(config), ANA, NOW)
    assert status is not None and status.next_shift is None and status.on_call == []
    closer = await oncall_status(_deps(config), ANA, NOW + timedelta(days=2))
    assert closer is not None
    assert closer.next_shift == OnCallShift("long", NOW + timedelta(days=61))


def test_a_crowded_oncall_section_stays_within_block_kit_limits() -> None:
    names = [f"schedule-{n:03d}-{'x' * 50}" for n in range(300)]
    status = OnCallStatus(
        on_call=[OnCallShift(name, NOW) for name in names],
        next_shift=None,
        others=[(name, BEN if n % 2 else None) for n, name in enumerate(names)],
        escalations=12,
    )
    view = home_view(None, None, CardContext(), linked=True, oncall=status).to_dict()
    blocks = view["blocks"]
    assert len(blocks) <= 100
    section_text = blocks[3]["text"]["text"]
    others_text = blocks[4]["elements"][0]["text"]
    assert len(section_text) <= 3000 and len(others_text) <= 3000
    assert section_text.startswith("*On call*\n:pager: You are on call for *schedule-000-")
    assert section_text.endswith("more — `/conv oncall`")
    assert others_text.startswith("schedule-000-") and others_text.endswith("`/conv oncall`")
    assert "12 escalations are running" in json.dumps(blocks)
    assert "<!date^" in section_text.splitlines()[1]  # whole lines only: no token cut in half
