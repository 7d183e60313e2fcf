"""Bolt listeners by kind. Each acks at once, calls one service method, draws the result."""

from slack_bolt.async_app import AsyncApp

from bot.slack.context import SlackContext
from bot.slack.listeners import actions, commands, digest_items, events, pages, unknown, views

# What the app listens to: manifest.yml must declare exactly these (tests/test_manifest.py).
SLASH_COMMANDS: tuple[str, ...] = (commands.SLASH_COMMAND,)
BOT_EVENTS: tuple[str, ...] = (events.HOME_OPENED,)


def register_listeners(app: AsyncApp, deps: SlackContext) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    digest_items.register(app, deps)
    pages.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
    unknown.register(app)  # last: it takes whatever the others did not
