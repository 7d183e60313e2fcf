"""The table of buttons (bot/slack/blocks/buttons.py) is total: whatever is drawn is in it, and
every entry has its listener, its middleware, and (when it applies something) its effect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, get_args

import pytest

from bot.config import Action
from bot.digests.model import Digest, DigestItem
from bot.messages import Direction, Message, Note
from bot.models import Conversation, Priority, ResultPage, Status
from bot.service.effects import ConversationEffect
from bot.slack.blocks.buttons import BUTTONS, BY_ID, Answer, Button
from bot.slack.blocks.card import CardContext, conversation_card
from bot.slack.blocks.digest import digest_blocks
from bot.slack.blocks.home import home_view
from bot.slack.blocks.listing import conversation_list
from bot.slack.blocks.page import page_buttons
from bot.slack.blocks.transcript import Authors, Post, transcript_posts
from bot.slack.listeners import listener_for, register_listeners
from bot.state.escalations import EscalationRecord, EscalationStatus

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CONTEXT = CardContext(escalation_enabled=True)


def _conversation(**changes: Any) -> Conversation:
    fields: dict[str, Any] = {
        "id": "c-1",
        "topic": "Printer on fire",
        "status": Status.OPEN,
        "priority": Priority.HIGH,
        "agentId": "agent-ben",
        "createdAt": NOW - timedelta(hours=1),
        "updatedAt": NOW - timedelta(minutes=5),
    }
    fields.update(changes)
    return Conversation(**fields)


def _page(items: list[Conversation]) -> ResultPage[Conversation]:
    return ResultPage(items=items, page=1, limit=1, totalItems=3)


def _action_ids(blocks: Any) -> Iterator[str]:
    """Every action_id anywhere in some drawn blocks (dicts, lists, slack_sdk objects)."""
    if hasattr(blocks, "to_dict"):
        blocks = blocks.to_dict()
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "action_id" and isinstance(value, str):
                yield value
            else:
                yield from _action_ids(value)
    elif isinstance(blocks, list | tuple):
        for each in blocks:
            yield from _action_ids(each)


def _everything_drawn() -> dict[str, set[str]]:
    """action ids by where they were drawn, each surface drawn with all its buttons showing."""
    mine = _conversation()
    record = EscalationRecord(
        id="e-1",
        conversation_id=mine.id,
        policy="default",
        started_by="U1",
        started_at=NOW,
        status=EscalationStatus.ACTIVE,
        step=1,
        round=0,
        next_at=None,
    )
    digest = Digest(
        name="morning",
        generated_at=NOW,
        totals={Priority.HIGH: 1},
        items=[DigestItem(conversation=mine)],
        more_command="/conv list priority:high",
    )
    home = home_view(_page([mine]), _page([mine]), CONTEXT, linked=True)
    return {
        "card": set(_action_ids(conversation_card(mine, CONTEXT))),
        "list": set(_action_ids(conversation_list(_page([mine]), "list", CONTEXT, "1 of 3"))),
        "home": set(_action_ids(home)),
        "digest item": set(_action_ids(digest_blocks(digest, CONTEXT, now=NOW)[1])),
        "page": set(_action_ids(page_buttons(record, conversation=mine, context=CONTEXT))),
        "transcript": set(_action_ids([post.blocks for post in _transcript()])),
    }


def _transcript() -> list[Post]:
    """A transcript with more messages than it shows: its Older button drawn."""
    message = Message(id="m-1", direction=Direction.INBOUND, createdAt=NOW, content={"text": "hi"})
    page = ResultPage(items=[message], page=0, limit=1, totalItems=2)
    notes: ResultPage[Note] = ResultPage(items=[], totalItems=0)
    return transcript_posts("c-1", page, notes, Authors(), "1.000001")


def test_every_drawn_action_id_is_in_the_table() -> None:
    drawn = _everything_drawn()
    for surface, ids in drawn.items():
        assert ids, surface
        assert ids <= set(BY_ID), (surface, ids - set(BY_ID))


def test_every_entry_is_drawn_where_it_says() -> None:
    drawn = _everything_drawn()
    for button in BUTTONS:
        for surface in button.drawn_on:
            # The Home tab shows cards too: a card's buttons are drawn there as well.
            seen = drawn[surface] | (drawn["home"] if surface == "card" else set())
            assert button.id in seen, (button.id, surface)


def test_action_ids_are_unique() -> None:
    assert len(BY_ID) == len(BUTTONS)


@pytest.mark.parametrize("button", BUTTONS, ids=lambda button: button.id)
def test_a_button_that_changes_a_conversation_has_an_effect_and_a_permission(
    button: Button,
) -> None:
    if button.answer in (Answer.CARD_PRESS, Answer.ITEM_PRESS):
        assert isinstance(button.effect, ConversationEffect)
    if button.answer in (Answer.CARD_PRESS, Answer.ITEM_PRESS, Answer.ITEM_SNOOZE):
        assert button.permission in get_args(Action)
    if button.answer is Answer.PAGE_PRESS:
        assert button.permission == "acknowledge"


class _RecordingApp:
    """Enough of Bolt's AsyncApp to see what registration asks for."""

    def __init__(self) -> None:
        self.actions: dict[str, list[Any]] = {}

    def action(self, constraint: Any, middleware: list[Any] | None = None) -> Callable[..., Any]:
        def register(listener: Callable[..., Any]) -> Callable[..., Any]:
            self.actions[constraint] = list(middleware or [])
            return listener

        return register

    def _any(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return lambda listener: listener

    command = view = event = block_action = shortcut = _any


def test_every_entry_registers_its_listener_behind_the_press_middleware() -> None:
    app = _RecordingApp()
    deps = SimpleNamespace(
        service=object(),
        escalations=object(),
        claims=object(),
        identity=object(),
        presses=object(),
        page_answers=object(),
    )
    register_listeners(app, deps)  # type: ignore[arg-type]
    assert set(app.actions) == set(BY_ID)
    assert all(len(middleware) == 1 for middleware in app.actions.values())


@pytest.mark.parametrize("answer", list(Answer))
def test_every_kind_of_press_has_a_listener(answer: Answer) -> None:
    deps = SimpleNamespace(service=object(), escalations=object(), claims=object())
    assert callable(listener_for(answer, deps, object(), object()))  # type: ignore[arg-type]
