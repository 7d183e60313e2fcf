"""The Web API methods the fake serves, over `FakeSlack`'s state, answering as Slack does.

Each method takes the call's arguments (already merged and JSON-decoded by `server`) and returns
the answer's fields without `ok`, or raises `SlackRefusal` with the error code Slack's method
documentation names. Answers carry what slack_sdk and Bolt read (ids, ts, hashes, objects).
The app-level methods (`APP_LEVEL_METHODS`, app token `xapp-…` only) also take that token.
Arguments are read in arguments.py, answers drawn in objects.py; the views.* methods are views.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.devtools.fakeslack.arguments import (
    MAX_MESSAGE_BLOCKS,
    channel_to_post_in,
    find_channel,
    find_user,
    message_attachments,
    message_blocks,
    message_metadata,
    message_text,
    object_list,
    optional,
    required,
    stored_message,
    visible_channel,
)
from bot.devtools.fakeslack.blockkit import (
    BlockKitError,
    check_message_blocks,
)
from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.objects import channel_object, im_object, message_object, user_object
from bot.devtools.fakeslack.reactions import reactions_add
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import (
    JsonDict,
    SlackChannel,
    truthy,
)
from bot.devtools.fakeslack.scopes import check_scope
from bot.devtools.fakeslack.views import views_open, views_publish, views_push, views_update

Method = Callable[[FakeSlack, JsonDict], JsonDict]
AppLevelMethod = Callable[[FakeSlack, JsonDict, str], JsonDict]


# --- the methods ---------------------------------------------------------------------------------


def auth_test(fake: FakeSlack, args: JsonDict) -> JsonDict:
    return {
        "url": f"https://{fake.team_domain}.slack.com/",
        "team": fake.team_name,
        "user": fake.bot_name,
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(fake: FakeSlack, args: JsonDict) -> JsonDict:
    channel = channel_to_post_in(fake, required(args, "channel", "channel_not_found"))
    text, blocks, attachments = message_text(args), message_blocks(args), message_attachments(args)
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message = fake.store_message(
        channel.id,
        text=text,
        blocks=blocks,
        thread_ts=optional(args, "thread_ts"),
        attachments=attachments,
        metadata=message_metadata(args),
    )
    return {"channel": channel.id, "ts": message.ts, "message": message_object(fake, message)}


def chat_update(fake: FakeSlack, args: JsonDict) -> JsonDict:
    message = stored_message(fake, args, "ts")
    if message.user != fake.bot_user_id:
        raise SlackRefusal("cant_update_message")
    text, blocks, attachments = message_text(args), message_blocks(args), message_attachments(args)
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message.text = text
    message.blocks = list(blocks or [])
    if attachments is not None:  # Slack keeps the previous attachments unless given new ones
        message.attachments = list(attachments)
    metadata = message_metadata(args)
    if metadata is not None:
        message.metadata = metadata
    message.edited = True
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": message_object(fake, message),
    }


def chat_post_ephemeral(fake: FakeSlack, args: JsonDict) -> JsonDict:
    channel = channel_to_post_in(fake, required(args, "channel", "channel_not_found"))
    user = find_user(fake, required(args, "user", "user_not_found"))
    if channel.members is not None and user.id not in channel.members:
        raise SlackRefusal("user_not_in_channel")
    text, attachments = message_text(args), message_attachments(args)
    blocks = object_list(args, "blocks", "invalid_blocks", MAX_MESSAGE_BLOCKS)
    try:
        check_message_blocks(blocks or [])
    except BlockKitError as broken:
        errors = broken.errors
        raise SlackRefusal("invalid_blocks", errors, fields={"errors": errors}) from None
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message = fake.store_ephemeral(
        channel.id, user.id, text=text, blocks=blocks, thread_ts=optional(args, "thread_ts")
    )
    return {"message_ts": message.ts}


def chat_delete(fake: FakeSlack, args: JsonDict) -> JsonDict:
    message = stored_message(fake, args, "ts")
    if message.user != fake.bot_user_id:
        raise SlackRefusal("cant_delete_message")
    fake.delete_message(message.channel, message.ts)
    return {"channel": message.channel, "ts": message.ts}


def chat_get_permalink(fake: FakeSlack, args: JsonDict) -> JsonDict:
    """docs.slack.dev/reference/methods/chat.getPermalink: `channel` and `message_ts` are
    required; a channel the bot cannot see (a private one it is not in) is `channel_not_found`,
    a ts that is no message there `message_not_found`. A reply's link names its thread
    (`?thread_ts=…&cid=…`), as Slack's own example shows."""
    visible_channel(fake, args)
    message = stored_message(fake, args, "message_ts")
    permalink = (
        f"https://{fake.team_domain}.slack.com/archives/{message.channel}/"
        f"p{message.ts.replace('.', '')}"
    )
    if message.thread_ts is not None and message.thread_ts != message.ts:
        permalink += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return {"channel": message.channel, "permalink": permalink}


REPLIES_LIMIT_MAX = 1000


def conversations_replies(fake: FakeSlack, args: JsonDict) -> JsonDict:
    """docs.slack.dev/reference/methods/conversations.replies: the thread under `ts` (its
    parent first, then the replies, oldest first), `limit` at a time (default and most 1000)
    with a `next_cursor`; `channel_not_found` for a channel the bot cannot see,
    `thread_not_found` for a ts that is no message there. `oldest`: only replies after it
    (at it too with `inclusive`); the parent stays first. Each message's `metadata` is in the
    answer only with `include_all_metadata` (Slack's message metadata guide)."""
    channel = visible_channel(fake, args)
    ts = required(args, "ts", "thread_not_found")
    parent = fake.message(channel.id, ts)
    if parent is None or (parent.thread_ts is not None and parent.thread_ts != parent.ts):
        raise SlackRefusal("thread_not_found")
    try:
        limit = int(optional(args, "limit") or REPLIES_LIMIT_MAX)
        start = int(optional(args, "cursor") or 0)
        oldest = float(optional(args, "oldest") or 0)
    except ValueError:
        raise SlackRefusal("invalid_arguments") from None
    inclusive = truthy(args.get("inclusive"))
    thread = [parent] + [
        m
        for m in fake.messages_in(channel.id)
        if m.thread_ts == ts
        and m.ts != ts
        and (float(m.ts) > oldest or (inclusive and float(m.ts) == oldest))
    ]
    limit = max(1, min(limit, REPLIES_LIMIT_MAX))
    page = thread[start : start + limit]
    with_metadata = truthy(args.get("include_all_metadata"))
    messages = []
    for message in page:
        drawn = message_object(fake, message)
        if not with_metadata:
            drawn.pop("metadata", None)
        messages.append(drawn)
    more = start + limit < len(thread)
    return {
        "messages": messages,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def conversations_open(fake: FakeSlack, args: JsonDict) -> JsonDict:
    channel_ref, users_arg = optional(args, "channel"), optional(args, "users")
    return_im = truthy(args.get("return_im"))
    if channel_ref is not None:
        channel = find_channel(fake, channel_ref)
        if not (channel.is_im or channel.is_mpim):
            raise SlackRefusal("method_not_supported_for_channel_type")
        already_open = True
    elif users_arg is not None:
        user_ids = [u.strip() for u in users_arg.split(",") if u.strip()]
        for user_id in user_ids:
            find_user(fake, user_id)
        if len(user_ids) == 1:
            channel, already_open = fake.dm_with(user_ids[0])
        else:
            channel, already_open = _group_dm(fake, user_ids)
    else:
        raise SlackRefusal("users_list_not_supplied")
    answer: JsonDict = {"channel": im_object(channel) if return_im else {"id": channel.id}}
    if already_open:
        answer["no_op"] = True
        answer["already_open"] = True
    return answer


def _group_dm(fake: FakeSlack, user_ids: list[str]) -> tuple[SlackChannel, bool]:
    members = {*user_ids, fake.bot_user_id}
    for channel in fake.channels.values():
        if channel.is_mpim and channel.members == members:
            return channel, True
    channel_id = fake.new_id("G")
    name = "mpdm-" + "--".join(fake.users[u].name for u in user_ids) + "-1"
    channel = fake.add_channel(channel_id, name, is_private=True, members=members)
    channel.is_mpim = True
    return channel, False


def conversations_info(fake: FakeSlack, args: JsonDict) -> JsonDict:
    return {"channel": channel_object(visible_channel(fake, args))}


def conversations_join(fake: FakeSlack, args: JsonDict) -> JsonDict:
    """Join a public channel; only those can be joined (DMs and private channels need an
    invite). Already in it: Slack answers ok with the `already_in_channel` warning."""
    channel = visible_channel(fake, args)
    if channel.is_archived:
        raise SlackRefusal("is_archived")
    if channel.is_private or channel.is_im or channel.is_mpim:
        raise SlackRefusal("method_not_supported_for_channel_type")
    answer: JsonDict = {}
    if channel.is_member:
        answer = {
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }
    channel.is_member = True
    if channel.members is not None:
        channel.members.add(fake.bot_user_id)
    return {"channel": channel_object(channel), **answer}


def users_info(fake: FakeSlack, args: JsonDict) -> JsonDict:
    user = find_user(fake, required(args, "user", "user_not_found"))
    return {"user": user_object(fake, user)}


def users_lookup_by_email(fake: FakeSlack, args: JsonDict) -> JsonDict:
    user = fake.user_by_email(required(args, "email", "users_not_found"))
    if user is None:
        raise SlackRefusal("users_not_found")
    return {"user": user_object(fake, user)}


def usergroups_users_list(fake: FakeSlack, args: JsonDict) -> JsonDict:
    group_id = required(args, "usergroup", "no_such_subteam")
    if group_id not in fake.usergroups:
        raise SlackRefusal("no_such_subteam")
    return {"users": list(fake.usergroups[group_id])}


def team_info(fake: FakeSlack, args: JsonDict) -> JsonDict:
    return {
        "team": {
            "id": fake.team_id,
            "name": fake.team_name,
            "domain": fake.team_domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "url": f"https://{fake.team_domain}.slack.com/",
        }
    }


def apps_connections_open(fake: FakeSlack, args: JsonDict, app_token: str) -> JsonDict:
    """A one-use Socket Mode WebSocket URL for the app whose token this is."""
    return {"url": fake.socket_mode_url(fake.socket_mode.issue_ticket(app_token))}


APP_LEVEL_METHODS: dict[str, AppLevelMethod] = {
    "apps.connections.open": apps_connections_open,
}

METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.delete": chat_delete,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.update": views_update,
    "views.push": views_push,
    "views.publish": views_publish,
    "conversations.open": conversations_open,
    "conversations.info": conversations_info,
    "conversations.replies": conversations_replies,
    "conversations.join": conversations_join,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "team.info": team_info,
    "reactions.add": reactions_add,
}


def call(fake: FakeSlack, method: str, args: JsonDict, token: str = "") -> JsonDict:
    """Run one Web API method: Slack's whole answer body, `ok` included.

    `token` (already checked by `server`) is handed to the app-level methods only.
    """
    handler: Callable[[], JsonDict]
    if method in APP_LEVEL_METHODS:
        handler = partial(APP_LEVEL_METHODS[method], fake, args, token)
    elif method in METHODS:
        handler = partial(METHODS[method], fake, args)
    else:
        return {"ok": False, "error": "unknown_method", "req_method": method}
    try:
        if method in METHODS:
            check_scope(fake, method, args, fake.scopes)
        return {"ok": True, **handler()}
    except SlackRefusal as refusal:
        return refusal.answer()
