"""Bolt listeners by kind. Each acks at once, calls one service method, draws the result."""

from typing import assert_never

from slack_bolt.async_app import AsyncApp

from bot.service.page_answers import PageAnswers
from bot.service.presses import Presses
from bot.slack.blocks.buttons import BUTTONS, Answer
from bot.slack.context import SlackContext
from bot.slack.listeners import (
    actions,
    commands,
    digest_items,
    events,
    pages,
    shortcuts,
    talk,
    thread_messages,
    threads,
    unknown,
    views,
)
from bot.slack.listeners.press_context import Listener, read_press

# What the app listens to: manifest.yml must declare exactly these (tests/test_manifest.py).
SLASH_COMMANDS: tuple[str, ...] = (commands.SLASH_COMMAND,)
BOT_EVENTS: tuple[str, ...] = (events.HOME_OPENED, *thread_messages.SUBSCRIPTIONS)
MESSAGE_SHORTCUTS: tuple[str, ...] = shortcuts.SHORTCUTS


def register_listeners(app: AsyncApp, deps: SlackContext) -> None:
    presses, answers = deps.presses, deps.page_answers
    commands.register(app, deps)
    # Every button and select in the table, each behind the middleware that reads its press.
    for button in BUTTONS:
        listener = listener_for(button.answer, deps, presses, answers)
        app.action(button.id, middleware=[read_press(button, deps.identity)])(listener)
    views.register(app, deps, presses)
    talk.register(app, deps)
    shortcuts.register(app, deps)
    events.register(app, deps)
    thread_messages.register(app, deps)
    unknown.register(app)  # last: it takes whatever the others did not


def listener_for(
    answer: Answer, deps: SlackContext, presses: Presses, answers: PageAnswers
) -> Listener:
    """The listener that answers a press of this kind (every kind: the type checker says so)."""
    match answer:
        case Answer.CARD_PRESS:
            return actions.card_press(deps, presses)
        case Answer.ITEM_PRESS:
            return digest_items.item_press(deps, presses)
        case Answer.ITEM_SNOOZE:
            return digest_items.item_snooze(deps, presses)
        case Answer.PAGE_PRESS:
            return pages.page_press(deps, answers)
        case Answer.SHOW:
            return actions.show(deps)
        case Answer.LIST_PAGE:
            return actions.list_page(deps)
        case Answer.HOME_REFRESH:
            return actions.home_refresh(deps)
        case Answer.EDIT_FORM:
            return actions.edit_form(deps)
        case Answer.REPLY_FORM:
            return talk.reply_form(deps)
        case Answer.NOTE_FORM:
            return talk.note_form(deps)
        case Answer.THREAD:
            return threads.thread_press(deps)
        case Answer.OLDER:
            return threads.older_press(deps)
        case _:
            assert_never(answer)
