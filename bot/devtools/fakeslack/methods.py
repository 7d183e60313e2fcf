"""The Web API methods the fake serves, over `FakeSlack`'s state, answering as Slack does.

Each method takes the call's arguments (already merged and JSON-decoded by `server`) and returns
the answer's fields without `ok`, or raises `SlackRefusal` with the error code Slack's method
documentation names. Answers carry what slack_sdk and Bolt read (ids, ts, hashes, objects).
The app-level methods (`APP_LEVEL_METHODS`, app token `xapp-…` only) also take that token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    truthy,
)
from bot.devtools.fakeslack.scopes import check_scope

Method = Callable[[FakeSlack, JsonDict], JsonDict]
AppLevelMethod = Callable[[FakeSlack, JsonDict, str], JsonDict]

MAX_TEXT = 40_000  # chat.postMessage: longer text is `msg_too_long`
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MODAL_STACK = 3  # views.push beyond three modals is `push_limit_reached`


# --- argument readers ----------------------------------------------------------------------------


def _required(args: JsonDict, key: str, error: str = "invalid_arguments") -> str:
    value = args.get(key)
    if value is None or value == "":
        raise SlackRefusal(error)
    return str(value)


def _optional(args: JsonDict, key: str) -> str | None:
    value = args.get(key)
    return None if value is None or value == "" else str(value)


def _object_list(args: JsonDict, key: str, error: str, limit: int) -> list[JsonDict] | None:
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


def _blocks(args: JsonDict) -> list[JsonDict] | None:
    """The message's blocks, refused as Slack refuses them: `invalid_blocks` with an `errors`
    list; `msg_blocks_too_long` (no details, as Slack) when their text is too long in all."""
    blocks = _object_list(args, "blocks", "invalid_blocks", MAX_MESSAGE_BLOCKS)
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


def _attachments(args: JsonDict) -> list[JsonDict] | None:
    return _object_list(args, "attachments", "invalid_attachments", 100)


def _text(args: JsonDict) -> str:
    text = _optional(args, "text") or ""
    if len(text) > MAX_TEXT:
        raise SlackRefusal("msg_too_long")
    return text


def _metadata(args: JsonDict) -> JsonDict | None:
    value = args.get("metadata")
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise SlackRefusal("invalid_metadata_format")
    return value


# --- objects as Slack answers them ---------------------------------------------------------------


def message_object(fake: FakeSlack, message: StoredMessage) -> JsonDict:
    """A message as chat.postMessage/chat.update answer it under `message`."""
    out = {**message.as_slack(), "team": fake.team_id}
    if message.bot_id is not None:
        out["app_id"] = fake.app_id
        out["bot_profile"] = {
            "id": message.bot_id,
            "app_id": fake.app_id,
            "name": fake.bot_name,
            "deleted": False,
            "team_id": fake.team_id,
        }
    return out


def user_object(fake: FakeSlack, user: SlackUser) -> JsonDict:
    """A user as users.info and users.lookupByEmail answer it: the e-mail only to a token with
    `users:read.email` (users.info's reference)."""
    profile: JsonDict = {
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "team": fake.team_id,
    }
    if user.email is not None and "users:read.email" in fake.scopes:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = fake.bot_id if user.id == fake.bot_user_id else None
    return {
        "id": user.id,
        "team_id": fake.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": user.tz,
        "tz_offset": _utc_offset_seconds(user.tz),
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": int(time.time()),
        "is_email_confirmed": user.email is not None,
    }


def _utc_offset_seconds(tz: str) -> int:
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def _im_object(channel: SlackChannel) -> JsonDict:
    return {
        "id": channel.id,
        "created": channel.created,
        "is_im": channel.is_im,
        "is_mpim": channel.is_mpim,
        "is_org_shared": False,
        "user": channel.user,
        "is_user_deleted": False,
        "priority": 0,
        "last_read": "0000000000.000000",
        "latest": None,
        "unread_count": 0,
        "unread_count_display": 0,
        "is_open": True,
    }


def channel_object(channel: SlackChannel) -> JsonDict:
    """A conversation as conversations.info and conversations.join answer it under `channel`.

    Private channels made since 2021 are `is_channel` with `is_private`; only the older ones,
    whose ids start with G, are `is_group` (Slack's conversation object documentation).
    """
    is_dm = channel.is_im or channel.is_mpim
    is_group = channel.is_private and not is_dm and channel.id.startswith("G")
    out: JsonDict = {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": not is_dm and not is_group,
        "is_group": is_group,
        "is_im": channel.is_im,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private or is_dm,
        "is_archived": channel.is_archived,
        "is_general": False,
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": channel.is_member,
        "created": channel.created,
        "unlinked": 0,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
    }
    if channel.is_im:
        out["user"] = channel.user
    return out


def _view_object(
    fake: FakeSlack,
    view_id: str,
    given: JsonDict,
    *,
    root_view_id: str,
    previous_view_id: str | None,
) -> JsonDict:
    """A view as views.open/update/push/publish answer it: the given view plus Slack's fields."""
    return {
        "id": view_id,
        "team_id": fake.team_id,
        "type": given["type"],
        "blocks": given.get("blocks") or [],
        "private_metadata": given.get("private_metadata") or "",
        "callback_id": given.get("callback_id") or "",
        "state": {"values": {}},
        "hash": fake.new_hash(),
        "title": given.get("title"),
        "clear_on_close": bool(given.get("clear_on_close", False)),
        "notify_on_close": bool(given.get("notify_on_close", False)),
        "close": given.get("close"),
        "submit": given.get("submit"),
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id,
        "app_id": fake.app_id,
        "external_id": given.get("external_id") or "",
        "app_installed_team_id": fake.team_id,
        "bot_id": fake.bot_id,
    }


# --- lookups shared by methods -------------------------------------------------------------------


def _user(fake: FakeSlack, user_id: str) -> SlackUser:
    user = fake.users.get(user_id)
    if user is None:
        raise SlackRefusal("user_not_found")
    return user


def _channel(fake: FakeSlack, ref: str) -> SlackChannel:
    channel = fake.find_channel(ref)
    if channel is None:
        raise SlackRefusal("channel_not_found")
    return channel


def _visible_channel(fake: FakeSlack, args: JsonDict) -> SlackChannel:
    """A conversation by id as the bot sees it: a private one it is not in does not exist to it
    (Slack answers `channel_not_found` to a bot token there, not `not_in_channel`)."""
    channel = fake.channels.get(_required(args, "channel", "channel_not_found"))
    if channel is None or (channel.is_private and not channel.is_member):
        raise SlackRefusal("channel_not_found")
    return channel


def _channel_to_post_in(fake: FakeSlack, ref: str) -> SlackChannel:
    """Where chat.post* lands: a channel by id or name, or the bot's DM when given a user id."""
    if ref[:1] in ("U", "W") and ref in fake.users:
        return fake.dm_with(ref)[0]
    channel = _channel(fake, ref)
    if channel.is_archived:
        raise SlackRefusal("is_archived")
    if not channel.is_member:
        raise SlackRefusal("not_in_channel")
    return channel


def _stored_message(fake: FakeSlack, args: JsonDict, ts_key: str) -> StoredMessage:
    channel = _channel(fake, _required(args, "channel", "channel_not_found"))
    message = fake.message(channel.id, _required(args, ts_key, "message_not_found"))
    if message is None:
        raise SlackRefusal("message_not_found")
    return message


def _view_arg(args: JsonDict, *types: str) -> JsonDict:
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


def _check_external_id(fake: FakeSlack, view: JsonDict, own_id: str | None = None) -> None:
    external_id = view.get("external_id")
    if external_id:
        holder = fake.view_by_external_id(str(external_id))
        if holder is not None and holder.id != own_id:
            raise SlackRefusal("duplicate_external_id")


def _check_hash(args: JsonDict, stored: StoredView) -> None:
    given = _optional(args, "hash")
    if given is not None and given != stored.hash:
        raise SlackRefusal("hash_conflict")


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
    channel = _channel_to_post_in(fake, _required(args, "channel", "channel_not_found"))
    text, blocks, attachments = _text(args), _blocks(args), _attachments(args)
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message = fake.store_message(
        channel.id,
        text=text,
        blocks=blocks,
        thread_ts=_optional(args, "thread_ts"),
        attachments=attachments,
        metadata=_metadata(args),
    )
    return {"channel": channel.id, "ts": message.ts, "message": message_object(fake, message)}


def chat_update(fake: FakeSlack, args: JsonDict) -> JsonDict:
    message = _stored_message(fake, args, "ts")
    if message.user != fake.bot_user_id:
        raise SlackRefusal("cant_update_message")
    text, blocks, attachments = _text(args), _blocks(args), _attachments(args)
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message.text = text
    message.blocks = list(blocks or [])
    if attachments is not None:  # Slack keeps the previous attachments unless given new ones
        message.attachments = list(attachments)
    metadata = _metadata(args)
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
    channel = _channel_to_post_in(fake, _required(args, "channel", "channel_not_found"))
    user = _user(fake, _required(args, "user", "user_not_found"))
    if channel.members is not None and user.id not in channel.members:
        raise SlackRefusal("user_not_in_channel")
    text, attachments = _text(args), _attachments(args)
    blocks = _object_list(args, "blocks", "invalid_blocks", MAX_MESSAGE_BLOCKS)
    try:
        check_message_blocks(blocks or [])
    except BlockKitError as broken:
        errors = broken.errors
        raise SlackRefusal("invalid_blocks", errors, fields={"errors": errors}) from None
    if not text and not blocks and not attachments:
        raise SlackRefusal("no_text")
    message = fake.store_ephemeral(
        channel.id, user.id, text=text, blocks=blocks, thread_ts=_optional(args, "thread_ts")
    )
    return {"message_ts": message.ts}


def chat_delete(fake: FakeSlack, args: JsonDict) -> JsonDict:
    message = _stored_message(fake, args, "ts")
    if message.user != fake.bot_user_id:
        raise SlackRefusal("cant_delete_message")
    fake.delete_message(message.channel, message.ts)
    return {"channel": message.channel, "ts": message.ts}


def chat_get_permalink(fake: FakeSlack, args: JsonDict) -> JsonDict:
    message = _stored_message(fake, args, "message_ts")
    permalink = (
        f"https://{fake.team_domain}.slack.com/archives/{message.channel}/"
        f"p{message.ts.replace('.', '')}"
    )
    if message.thread_ts is not None and message.thread_ts != message.ts:
        permalink += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return {"channel": message.channel, "permalink": permalink}


def views_open(fake: FakeSlack, args: JsonDict) -> JsonDict:
    trigger_id = _required(args, "trigger_id")
    view = _view_arg(args, "modal")
    _check_external_id(fake, view)
    user_id, error = fake.redeem_trigger(trigger_id)
    if error is not None:
        raise SlackRefusal(error)
    view_id = fake.new_id("V")
    stored = StoredView(
        view_id,
        user_id,
        _view_object(fake, view_id, view, root_view_id=view_id, previous_view_id=None),
    )
    fake.save_view(stored)
    return {"view": stored.view}


def views_push(fake: FakeSlack, args: JsonDict) -> JsonDict:
    trigger_id = _required(args, "trigger_id")
    view = _view_arg(args, "modal")
    _check_external_id(fake, view)
    user_id, error = fake.redeem_trigger(trigger_id)
    if error is not None:
        raise SlackRefusal(error)
    top = _top_modal(fake, user_id)
    view_id = fake.new_id("V")
    root = view_id if top is None else str(top.view["root_view_id"])
    if top is not None:
        depth = sum(1 for v in fake.views.values() if v.view.get("root_view_id") == root)
        if depth >= MAX_MODAL_STACK:
            raise SlackRefusal("push_limit_reached")
    previous = None if top is None else top.id
    stored = StoredView(
        view_id,
        user_id,
        _view_object(fake, view_id, view, root_view_id=root, previous_view_id=previous),
    )
    fake.save_view(stored)
    return {"view": stored.view}


def _top_modal(fake: FakeSlack, user_id: str | None) -> StoredView | None:
    """The user's most recently opened or pushed modal (views are kept in creation order)."""
    if user_id is None:
        return None
    modals = [v for v in fake.views.values() if v.type == "modal" and v.user_id == user_id]
    return modals[-1] if modals else None


def views_update(fake: FakeSlack, args: JsonDict) -> JsonDict:
    view_id, external_id = _optional(args, "view_id"), _optional(args, "external_id")
    if view_id is None and external_id is None:
        raise SlackRefusal("invalid_arguments")
    stored = (
        fake.open_view(view_id)
        if view_id is not None
        else fake.view_by_external_id(external_id or "")
    )
    if stored is None or stored.id in fake.closed_views:
        raise SlackRefusal("not_found")  # never opened, or closed by its person since
    view = _view_arg(args, stored.type)
    _check_external_id(fake, view, stored.id)
    _check_hash(args, stored)
    replace_view(fake, stored, view)
    return {"view": stored.view}


def replace_view(fake: FakeSlack, stored: StoredView, given: JsonDict) -> None:
    """views.update, or a view_submission answered `response_action: update`: Slack replaces
    the view whole, keeping its id and its place in the stack."""
    stored.view = _view_object(
        fake,
        stored.id,
        given,
        root_view_id=str(stored.view["root_view_id"]),
        previous_view_id=stored.view.get("previous_view_id"),
    )
    fake.save_view(stored)


def push_view(fake: FakeSlack, below: StoredView, given: JsonDict) -> StoredView:
    """A view_submission answered `response_action: push`: a new view on top of `below`."""
    view_id = fake.new_id("V")
    root = str(below.view["root_view_id"])
    pushed = StoredView(
        view_id,
        below.user_id,
        _view_object(fake, view_id, given, root_view_id=root, previous_view_id=below.id),
    )
    fake.save_view(pushed)
    return pushed


def apply_submission_ack(fake: FakeSlack, stored: StoredView, answer: JsonDict) -> dict[str, str]:
    """What Slack does with the app's ack of a view_submission (its `response_action`): `errors`
    keeps the modal open with the messages beside the inputs (returned), `update` replaces it,
    `push` stacks a new one, `clear` closes the whole stack, and anything else closes this one
    (Slack's "Handling and responding to interactions" for modals)."""
    what = answer.get("response_action")
    if what == "errors":
        return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
    if what == "update" and isinstance(answer.get("view"), dict):
        replace_view(fake, stored, answer["view"])
    elif what == "push" and isinstance(answer.get("view"), dict):
        push_view(fake, stored, answer["view"])
    elif what == "clear":
        fake.close_view(str(stored.view.get("root_view_id") or stored.id))
    else:
        fake.close_view(stored.id)
    return {}


def views_publish(fake: FakeSlack, args: JsonDict) -> JsonDict:
    user = _user(fake, _required(args, "user_id", "user_not_found"))
    view = _view_arg(args, "home")
    current = fake.home_view(user.id)
    if current is not None:
        _check_hash(args, current)
    view_id = current.id if current is not None else fake.new_id("V")
    _check_external_id(fake, view, view_id)
    stored = StoredView(
        view_id,
        user.id,
        _view_object(fake, view_id, view, root_view_id=view_id, previous_view_id=None),
    )
    fake.save_view(stored)
    return {"view": stored.view}


def conversations_open(fake: FakeSlack, args: JsonDict) -> JsonDict:
    channel_ref, users_arg = _optional(args, "channel"), _optional(args, "users")
    return_im = truthy(args.get("return_im"))
    if channel_ref is not None:
        channel = _channel(fake, channel_ref)
        if not (channel.is_im or channel.is_mpim):
            raise SlackRefusal("method_not_supported_for_channel_type")
        already_open = True
    elif users_arg is not None:
        user_ids = [u.strip() for u in users_arg.split(",") if u.strip()]
        for user_id in user_ids:
            _user(fake, user_id)
        if len(user_ids) == 1:
            channel, already_open = fake.dm_with(user_ids[0])
        else:
            channel, already_open = _group_dm(fake, user_ids)
    else:
        raise SlackRefusal("users_list_not_supplied")
    answer: JsonDict = {"channel": _im_object(channel) if return_im else {"id": channel.id}}
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
    return {"channel": channel_object(_visible_channel(fake, args))}


def conversations_join(fake: FakeSlack, args: JsonDict) -> JsonDict:
    """Join a public channel; only those can be joined (DMs and private channels need an
    invite). Already in it: Slack answers ok with the `already_in_channel` warning."""
    channel = _visible_channel(fake, args)
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
    user = _user(fake, _required(args, "user", "user_not_found"))
    return {"user": user_object(fake, user)}


def users_lookup_by_email(fake: FakeSlack, args: JsonDict) -> JsonDict:
    user = fake.user_by_email(_required(args, "email", "users_not_found"))
    if user is None:
        raise SlackRefusal("users_not_found")
    return {"user": user_object(fake, user)}


def usergroups_users_list(fake: FakeSlack, args: JsonDict) -> JsonDict:
    group_id = _required(args, "usergroup", "no_such_subteam")
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
    "conversations.join": conversations_join,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "team.info": team_info,
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
