"""A fake of Slack for tests and local development: a real HTTP server on loopback.

- `FakeSlack` (recorder): the workspace's state, every call the bot made, fault injection;
- `create_fake_slack_app` / `serve_fake_slack` (server): Slack's Web API under `/api/{method}`
  and response_urls under `/response/{token}`;
- `SlackSigner` and the payload builders (signing, payloads): requests as Slack sends them to
  the bot, signed with the app's signing secret.

    fake = FakeSlack()
    async with serve_fake_slack(fake) as base_url:
        client = AsyncWebClient(token="xoxb-test", base_url=f"{base_url}/api/")
"""

from bot.fakeslack.errors import SlackRefusal
from bot.fakeslack.payloads import (
    app_home_opened,
    block_actions,
    button_action,
    event_callback,
    slash_command,
    view_submission,
)
from bot.fakeslack.recorder import (
    EphemeralMessage,
    FakeSlack,
    ResponsePost,
    SlackCall,
    SlackChannel,
    SlackUser,
    StoredMessage,
    StoredView,
)
from bot.fakeslack.server import create_fake_slack_app, serve_fake_slack
from bot.fakeslack.signing import SlackSigner

__all__ = [
    "EphemeralMessage",
    "FakeSlack",
    "ResponsePost",
    "SlackCall",
    "SlackChannel",
    "SlackRefusal",
    "SlackSigner",
    "SlackUser",
    "StoredMessage",
    "StoredView",
    "app_home_opened",
    "block_actions",
    "button_action",
    "create_fake_slack_app",
    "event_callback",
    "serve_fake_slack",
    "slash_command",
    "view_submission",
]
