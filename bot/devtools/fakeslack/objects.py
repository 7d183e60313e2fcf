"""Users, channels, messages and views as the Web API's answers carry them."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import (
    JsonDict,
    SlackChannel,
    SlackUser,
    StoredMessage,
)


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
        "tz_offset": utc_offset_seconds(user.tz),
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


def utc_offset_seconds(tz: str) -> int:
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


def im_object(channel: SlackChannel) -> JsonDict:
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


def view_object(
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
