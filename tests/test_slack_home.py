"""The App Home tab: published when opened, redrawn by Refresh and by every card button on it."""

from __future__ import annotations

from bot.fakeslack import StoredView, app_home_opened
from bot.models import Actor, Conversation, ConversationCreate, ConversationPatch, Priority
from tests.slack_harness import (
    ANA,
    CLOSE,
    DAVE,
    EDIT,
    REFRESH,
    TAKE,
    SlackHarness,
    text_value,
    texts,
)

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
    await slack.service.update(SOMEONE, urgent.id, ConversationPatch(summary="moved on"))
    await slack.press_in_view(home, CLOSE, card=urgent.id)
    home = await republished(slack, 2)
    assert "this card was out of date" in texts(home.blocks)
    assert "moved on" in section(home, "Unassigned, high priority")  # the lists stay
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
