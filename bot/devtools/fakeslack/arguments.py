"""A Web API call's arguments, read as Slack reads them, and the users, channels, messages and
views they name: each refused with the error code Slack's method documentation gives."""

from __future__ import annotations

from bot.devtools.fakeslack.blockkit import (
    BlockKitError,
    BlocksTooLong,
    check_message_blocks,
    check_message_text_budget,
    check_view,
)
from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import (
    JsonDict,
    SlackChannel,
    SlackUser,
    StoredMessage,
    StoredView,
)

MAX_TEXT = 40_000  # chat.postMessage: longer text is `msg_too_long`
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MODAL_STACK = 3  # views.push beyond three modals is `push_limit_reached`


def required(args: JsonDict, key: str, error: str = "invalid_arguments") -> str:
    value = args.get(key)
    if value is None or value == "":
        raise SlackRefusal(error)
    return str(value)


def optional(args: JsonDict, key: str) -> str | None:
    value = args.get(key)
    return None if value is None or value == "" else str(value)


def object_list(args: JsonDict, key: str, error: str, limit: int) -> list[JsonDict] | None:
    """A list-of-objects argument (blocks, attachments): None when absent."""
    value = args.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SlackRefusal(error)
    if len(value) > limit:
        why = f"no more than {limit} items allowed [json-pointer:/{key}]"
        raise SlackRefusal(error, why, fields={"errors": [why]})
    return value


def message_blocks(args: JsonDict) -> list[JsonDict] | None:
    """The message's blocks, refused as Slack refuses them: `invalid_blocks` with an `errors`
    list; `msg_blocks_too_long` (no details, as Slack) when their text is too long in all."""
    blocks = object_list(args, "blocks", "invalid_blocks", MAX_MESSAGE_BLOCKS)
    if blocks is not None:
        try:
            check_message_blocks(blocks)
            check_message_text_budget(blocks)
        except BlockKitError as broken:
            raise SlackRefusal(
                "invalid_blocks", broken.errors, fields={"errors": broken.errors}
            ) from None
        except BlocksTooLong:
            raise SlackRefusal("msg_blocks_too_long") from None
    return blocks


def message_attachments(args: JsonDict) -> list[JsonDict] | None:
    return object_list(args, "attachments", "invalid_attachments", 100)


def message_text(args: JsonDict) -> str:
    text = optional(args, "text") or ""
    if len(text) > MAX_TEXT:
        raise SlackRefusal("msg_too_long")
    return text


def message_metadata(args: JsonDict) -> JsonDict | None:
    value = args.get("metadata")
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise SlackRefusal("invalid_metadata_format")
    return value


def find_user(fake: FakeSlack, user_id: str) -> SlackUser:
    user = fake.users.get(user_id)
    if user is None:
        raise SlackRefusal("user_not_found")
    return user


def find_channel(fake: FakeSlack, ref: str) -> SlackChannel:
    channel = fake.find_channel(ref)
    if channel is None:
        raise SlackRefusal("channel_not_found")
    return channel


def visible_channel(fake: FakeSlack, args: JsonDict) -> SlackChannel:
    """A conversation by id as the bot sees it: a private one it is not in does not exist to it
    (Slack answers `channel_not_found` to a bot token there, not `not_in_channel`)."""
    channel = fake.channels.get(required(args, "channel", "channel_not_found"))
    if channel is None or (channel.is_private and not channel.is_member):
        raise SlackRefusal("channel_not_found")
    return channel


def channel_to_post_in(fake: FakeSlack, ref: str) -> SlackChannel:
    """Where chat.post* lands: a channel by id or name, or the bot's DM when given a user id."""
    if ref[:1] in ("U", "W") and ref in fake.users:
        return fake.dm_with(ref)[0]
    channel = find_channel(fake, ref)
    if channel.is_archived:
        raise SlackRefusal("is_archived")
    if not channel.is_member:
        raise SlackRefusal("not_in_channel")
    return channel


def stored_message(fake: FakeSlack, args: JsonDict, ts_key: str) -> StoredMessage:
    channel = find_channel(fake, required(args, "channel", "channel_not_found"))
    message = fake.message(channel.id, required(args, ts_key, "message_not_found"))
    if message is None:
        raise SlackRefusal("message_not_found")
    return message


def view_arg(args: JsonDict, *types: str) -> JsonDict:
    view = args.get("view")
    if not isinstance(view, dict) or view.get("type") not in types:
        raise SlackRefusal("invalid_arguments")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        raise SlackRefusal("invalid_arguments")
    if view["type"] == "modal" and not isinstance(view.get("title"), dict):
        raise SlackRefusal("invalid_arguments")
    try:
        check_view(view)
    except BlockKitError as broken:
        raise SlackRefusal("invalid_arguments", broken.errors) from None
    return view


def check_external_id(fake: FakeSlack, view: JsonDict, own_id: str | None = None) -> None:
    external_id = view.get("external_id")
    if external_id:
        holder = fake.view_by_external_id(str(external_id))
        if holder is not None and holder.id != own_id:
            raise SlackRefusal("duplicate_external_id")


def check_hash(args: JsonDict, stored: StoredView) -> None:
    given = optional(args, "hash")
    if given is not None and given != stored.hash:
        raise SlackRefusal("hash_conflict")
