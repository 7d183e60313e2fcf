"""What no other listener takes: a button, form or shortcut of an older convbot, another slash
command.

Registered last (Bolt tries listeners in order). Without these Bolt answered 404, which Slack
shows the person as a bare error; here they are told, in a sentence, what to do instead.
"""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.blocks.modals import problem_modal
from bot.slack.listeners.commands import SLASH_COMMAND

ANYTHING = re.compile(r".*", re.DOTALL)
OLD_BUTTON = (
    "That button belongs to an older message and does nothing now; "
    f"type `{SLASH_COMMAND} help` to see what you can do."
)
OLD_FORM = (
    "This form is from an older version of convbot and cannot be saved; close it and open "
    f"it again (`{SLASH_COMMAND} help` lists the commands)."
)

OLD_SHORTCUT = (
    "That shortcut belongs to an older version of convbot and does nothing now; "
    f"type `{SLASH_COMMAND} help` to see what you can do."
)

OTHER_COMMAND = f"convbot answers `{SLASH_COMMAND}` only; type `{SLASH_COMMAND} help`."


def register(app: AsyncApp) -> None:
    @app.block_action(ANYTHING)
    async def unknown_button(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        if respond.response_url is not None:  # a modal or the Home tab has no reply to give
            await respond(text=OLD_BUTTON, response_type="ephemeral", replace_original=False)

    @app.view(ANYTHING)
    async def unknown_form(ack: AsyncAck) -> None:
        await ack(response_action="update", view=problem_modal("convbot", OLD_FORM))

    @app.shortcut(ANYTHING)
    async def unknown_shortcut(ack: AsyncAck, respond: AsyncRespond) -> None:
        # A shortcut an older manifest declared: a message shortcut has a response_url.
        await ack()
        if respond.response_url is not None:
            await respond(text=OLD_SHORTCUT, response_type="ephemeral", replace_original=False)

    @app.command(ANYTHING)
    async def unknown_command(ack: AsyncAck) -> None:
        await ack(text=OTHER_COMMAND)
