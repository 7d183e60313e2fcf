"""The shapes of the ids and names people write in convbot.yml and in commands, defined once.

Slack ids: the first letter says what the id names — C a channel, G a private channel made
before Slack gave those C ids too (or a group DM), D a direct message, U a user (W on Enterprise
Grid), S a user group. The rest is upper-case letters and digits; Slack promises no length, so a
generous one bounds what a typo can make us send.

Match the compiled patterns with `fullmatch`: a YAML block scalar ends in a newline, and `match`
with `$` would let "C0123\\n" through to Slack. This module imports nothing of the bot, so
config, on-call config, commands and the Slack layer can all use it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_REST = "[A-Z0-9]{2,30}"

USER_ID_SHAPE = f"[UW]{_REST}"
USER_ID = re.compile(USER_ID_SHAPE)
"""A person: `user:` targets, `permissions:` users, mentions (`<@U…>`)."""

USERGROUP_ID = re.compile(f"S{_REST}")
"""A user group: a digest's `mention:`, `usergroup:` targets, `permissions:` user groups."""

CHANNEL_ID = re.compile(f"[CG]{_REST}")
"""A channel people share: an on-call `channel:` target. Not a DM (D…): a page for one person
is `user:U…`: the bot opens the DM itself (conversations.open) and knows whom it paged, so the
escalation's announcement can name them (`<@U…>`), which a DM's id cannot."""

POSTABLE_CHANNEL_ID = re.compile(f"[CGD]{_REST}")
"""Anywhere the bot may post a message for whoever reads it: a digest's `channel:`. A DM is
allowed — chat.postMessage takes a DM's id, the bot is always in its own DMs, and a digest sent
to one person's DM with the bot is a use we support (`bot.slack.channels.is_direct_message`)."""

CONFIG_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""A name people give in convbot.yml and type back in commands: `digests[].name`,
`oncall.schedules`, `oncall.policies` (`/conv digest NAME`, `schedule:NAME`, `policy:NAME`).
Anchored, for pydantic's `Field(pattern=…)` (Rust regex: `$` is the end of the text)."""
CONFIG_NAME = re.compile(CONFIG_NAME_PATTERN)

USER_ID_HINT = "use the id that starts with U or W (profile → ⋯ → Copy member ID)"


def _user_id(value: str) -> str:
    if not USER_ID.fullmatch(value):
        raise ValueError(f"'{value[:40]}' is not a Slack user id; {USER_ID_HINT}, e.g. U0123456789")
    return value


def _usergroup_id(value: str) -> str:
    if not USERGROUP_ID.fullmatch(value):
        raise ValueError(
            f"'{value[:40]}' is not a Slack user group id; use the id that starts with S,"
            " e.g. S0LEADS"
        )
    return value


# For convbot.yml sections listing people: a name or an e-mail there would match nobody, silently.
UserId = Annotated[str, AfterValidator(_user_id)]
UsergroupId = Annotated[str, AfterValidator(_usergroup_id)]
