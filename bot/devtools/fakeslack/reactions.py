"""reactions.add, as strict as Slack (https://api.slack.com/methods/reactions.add, now
docs.slack.dev/reference/methods/reactions.add).

- Arguments: `channel`, `name` and `timestamp` are all required; without `channel` or
  `timestamp` Slack names no item (`no_item_specified`).
- Scope `reactions:write` (the method's "Required scopes"; checked in scopes.py); rate Tier 3
  (rate_limits.py).
- `name` is an emoji's name without colons (the reference's example: `thumbsup`): one that is
  neither a standard emoji nor the workspace's own is `invalid_name`. The fake knows the
  standard names in STANDARD_EMOJI (a subset of Slack's; add one when the bot needs it) and no
  custom ones.
- A channel the bot cannot see is `channel_not_found`, an archived one `is_archived`, a ts
  that is no message there `message_not_found`, the same reaction by the same user twice
  `already_reacted`. A reaction shows in the message's `reactions` ({name, users, count}), as
  conversations.replies returns it.
"""

from __future__ import annotations

from bot.devtools.fakeslack.arguments import optional, required, visible_channel
from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import JsonDict

STANDARD_EMOJI = frozenset(
    {
        "+1",
        "thumbsup",
        "-1",
        "thumbsdown",
        "white_check_mark",
        "heavy_check_mark",
        "x",
        "warning",
        "memo",
        "eyes",
        "speech_balloon",
        "thread",
        "lock",
        "hourglass",
        "hourglass_flowing_sand",
        "no_entry",
        "no_entry_sign",
        "pencil",
        "pencil2",
        "email",
        "envelope",
        "outbox_tray",
        "inbox_tray",
        "tada",
        "rotating_light",
        "fire",
        "heart",
        "pray",
        "raised_hands",
        "wave",
    }
)


def reactions_add(fake: FakeSlack, args: JsonDict) -> JsonDict:
    if optional(args, "channel") is None or optional(args, "timestamp") is None:
        raise SlackRefusal("no_item_specified")
    channel = visible_channel(fake, args)
    if channel.is_archived:
        raise SlackRefusal("is_archived")
    name = required(args, "name", "invalid_name")
    if name not in STANDARD_EMOJI:
        raise SlackRefusal("invalid_name")
    message = fake.message(channel.id, required(args, "timestamp", "no_item_specified"))
    if message is None:
        raise SlackRefusal("message_not_found")
    users = message.reactions.setdefault(name, [])
    if fake.bot_user_id in users:
        raise SlackRefusal("already_reacted")
    users.append(fake.bot_user_id)
    return {}
