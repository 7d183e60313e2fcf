"""A fake of Slack for tests and local development: a real HTTP server on loopback.

- `FakeSlack` (recorder): the workspace's state, every call the bot made, fault injection;
- `create_fake_slack_app` / `serve_fake_slack` (server): Slack's Web API under `/api/{method}`,
  response_urls under `/response/{token}` and Socket Mode under `/socket-mode/{ticket}`;
- `SlackSigner` and the payload builders (signing, payloads): requests as Slack sends them to
  the bot, signed with the app's signing secret; the `*_payload` builders give the same as the
  dict a Socket Mode envelope carries;
- Socket Mode (socket_mode): `apps.connections.open` with an `xapp-…` token, `hello`, then
  `await fake.send_envelope("slash_commands", slash_command_payload(…))` and
  `await fake.wait_for_ack(envelope_id)`.

    fake = FakeSlack()
    async with serve_fake_slack(fake) as base_url:
        client = AsyncWebClient(token="xoxb-test", base_url=f"{base_url}/api/")
"""

from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.message_events import message_changed, message_deleted, message_event
from bot.devtools.fakeslack.payloads import (
    app_home_opened,
    block_actions,
    block_actions_payload,
    button_action,
    event_callback,
    event_callback_payload,
    message_action,
    message_action_payload,
    slash_command,
    slash_command_payload,
    socket_payload,
    view_submission,
    view_submission_payload,
)
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import (
    EphemeralMessage,
    ResponsePost,
    SlackCall,
    SlackChannel,
    SlackUser,
    StoredMessage,
    StoredView,
)
from bot.devtools.fakeslack.server import create_fake_slack_app, serve_fake_slack
from bot.devtools.fakeslack.signing import SlackSigner
from bot.devtools.fakeslack.socket_mode import (
    SocketAck,
    SocketConnection,
    SocketEnvelope,
    SocketMode,
)

__all__ = [
    "EphemeralMessage",
    "FakeSlack",
    "ResponsePost",
    "SlackCall",
    "SlackChannel",
    "SlackRefusal",
    "SlackSigner",
    "SlackUser",
    "SocketAck",
    "SocketConnection",
    "SocketEnvelope",
    "SocketMode",
    "StoredMessage",
    "StoredView",
    "app_home_opened",
    "block_actions",
    "block_actions_payload",
    "button_action",
    "create_fake_slack_app",
    "event_callback",
    "event_callback_payload",
    "message_action",
    "message_action_payload",
    "message_changed",
    "message_deleted",
    "message_event",
    "serve_fake_slack",
    "slash_command",
    "slash_command_payload",
    "socket_payload",
    "view_submission",
    "view_submission_payload",
]
