"""Request bodies exactly as Slack sends them to an app's request URL.

- slash commands: form-encoded fields (`command`, `text`, `user_id`, `channel_id`, …);
- interactivity (block_actions, view_submission, message_action): form-encoded `payload=<json>`;
- Events API: a JSON `event_callback` envelope.

Field names follow Slack's payload reference and what Bolt reads (slack_bolt.request.internals:
`team`/`team_id`, `user`/`user_id`, `channel`/`channel_id`, `response_url(s)`, `authorizations`).
Sign them with `SlackSigner.headers_for`.

In Socket Mode Slack sends the same fields inside an envelope's `payload`, as a JSON object: the
`*_payload` builders (`slash_command_payload`, `block_actions_payload`, …) take the same
arguments and give that object, decoded from the HTTP body by `socket_payload`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, ParamSpec
from urllib.parse import parse_qsl, urlencode

from bot.devtools.fakeslack import defaults
from bot.devtools.fakeslack.records import JsonDict, StoredMessage, StoredView

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
P = ParamSpec("P")


def slash_command(
    text: str,
    *,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    command: str = "/conv",
    team_id: str = defaults.TEAM_ID,
    team_domain: str = defaults.TEAM_DOMAIN,
    user_name: str | None = None,
    channel_name: str | None = None,
    api_app_id: str = defaults.APP_ID,
    token: str = defaults.VERIFICATION_TOKEN,
) -> str:
    """A slash command invocation (form-encoded), fields in the order Slack sends them."""
    return urlencode(
        {
            "token": token,
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def block_actions(
    action: JsonDict,
    *,
    user_id: str,
    trigger_id: str,
    channel_id: str | None = None,
    message: JsonDict | StoredMessage | None = None,
    view: JsonDict | StoredView | None = None,
    container: JsonDict | None = None,
    response_url: str | None = None,
    state_values: JsonDict | None = None,
    team_id: str = defaults.TEAM_ID,
    team_domain: str = defaults.TEAM_DOMAIN,
    user_name: str | None = None,
    channel_name: str | None = None,
    api_app_id: str = defaults.APP_ID,
    token: str = defaults.VERIFICATION_TOKEN,
) -> str:
    """A `block_actions` interaction (form-encoded `payload=`): one action on a message or view.

    Give `message` (with `channel_id`) for a button on a message, `view` for one in a modal or
    the Home tab; the `container` follows from them unless given (for an ephemeral message, give
    `container={"type": "message", "message_ts": ts, "channel_id": c, "is_ephemeral": True}`).
    """
    message_dict = message.as_slack() if isinstance(message, StoredMessage) else message
    view_dict = view.view if isinstance(view, StoredView) else view
    payload: JsonDict = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "container": container or _container(message_dict, view_dict, channel_id),
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": channel_name or _channel_name(channel_id)}
    if view_dict is not None:
        payload["view"] = _with_state(view_dict, state_values)
    if message_dict is not None:
        payload["message"] = message_dict
        payload["state"] = {"values": state_values or {}}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = [{"block_id": _block_id(), "action_ts": _action_ts(), **action}]
    return _form_payload(payload)


def button_action(
    action_id: str, value: str | None = None, *, block_id: str | None = None, text: str = "Button"
) -> JsonDict:
    """A button's entry in `actions`, as Slack sends it."""
    action: JsonDict = {
        "action_id": action_id,
        "block_id": block_id or _block_id(),
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "type": "button",
        "action_ts": _action_ts(),
    }
    if value is not None:
        action["value"] = value
    return action


def view_submission(
    view: JsonDict | StoredView,
    *,
    user_id: str,
    trigger_id: str,
    values: JsonDict | None = None,
    response_urls: list[JsonDict] | None = None,
    team_id: str = defaults.TEAM_ID,
    team_domain: str = defaults.TEAM_DOMAIN,
    user_name: str | None = None,
    api_app_id: str = defaults.APP_ID,
    token: str = defaults.VERIFICATION_TOKEN,
) -> str:
    """A `view_submission` (form-encoded `payload=`): the modal's view with `state.values`.

    `values` is Slack's `{block_id: {action_id: {"type": …, "value": …}}}`.
    """
    view_dict = view.view if isinstance(view, StoredView) else view
    submitted = {**_view_defaults(team_id, api_app_id), **view_dict}
    if "root_view_id" not in view_dict:
        submitted["root_view_id"] = submitted["id"]
    payload: JsonDict = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": token,
        "trigger_id": trigger_id,
        "view": _with_state(submitted, values),
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def message_action(
    callback_id: str,
    message: JsonDict | StoredMessage,
    *,
    user_id: str,
    channel_id: str,
    trigger_id: str,
    response_url: str,
    team_id: str = defaults.TEAM_ID,
    team_domain: str = defaults.TEAM_DOMAIN,
    user_name: str | None = None,
    channel_name: str | None = None,
    token: str = defaults.VERIFICATION_TOKEN,
) -> str:
    """A message shortcut used on `message` (form-encoded `payload=`), shaped as Slack's own
    example (tests/fixtures/slack/interactivity/message_action.json, from bolt-python) and
    https://docs.slack.dev/reference/interaction-payloads/shortcuts-interaction-payload."""
    message_dict = message.as_slack() if isinstance(message, StoredMessage) else message
    payload: JsonDict = {
        "type": "message_action",
        "token": token,
        "action_ts": _action_ts(),
        "team": {"id": team_id, "domain": team_domain},
        "user": {"id": user_id, "name": user_name or user_id.lower(), "team_id": team_id},
        "channel": {"id": channel_id, "name": channel_name or _channel_name(channel_id)},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "message_ts": message_dict["ts"],
        "message": message_dict,
        "response_url": response_url,
    }
    return _form_payload(payload)


def event_callback(
    event: JsonDict,
    *,
    team_id: str = defaults.TEAM_ID,
    api_app_id: str = defaults.APP_ID,
    bot_user_id: str = defaults.BOT_USER_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    token: str = defaults.VERIFICATION_TOKEN,
) -> str:
    """An Events API `event_callback` envelope (JSON) around one event."""
    return json.dumps(
        {
            "token": token,
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": event_time if event_time is not None else int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        },
        separators=(",", ":"),
    )


def app_home_opened(
    user_id: str, *, channel: str | None = None, tab: str = "home", view: JsonDict | None = None
) -> JsonDict:
    """An `app_home_opened` event (wrap it with `event_callback`); `view` once Home is published."""
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel or "D" + user_id[1:],
        "tab": tab,
        "event_ts": _action_ts(),
    }
    if view is not None:
        event["view"] = view
    return event


def socket_payload(body: str) -> JsonDict:
    """What a Socket Mode envelope carries for the request `body` a builder here made.

    Slack sends the same data either way: a slash command's form fields become a JSON object of
    strings, an interaction's `payload=` JSON is the object itself, an Events API body is as is.
    """
    if body.lstrip().startswith("{"):
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("an Events API body must be a JSON object")
        return decoded
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if set(fields) == {"payload"}:
        payload = json.loads(fields["payload"])
        if not isinstance(payload, dict):
            raise ValueError("an interaction's payload must be a JSON object")
        return payload
    return dict(fields)


def _as_socket_payload(build: Callable[P, str]) -> Callable[P, JsonDict]:
    def payload(*args: P.args, **kwargs: P.kwargs) -> JsonDict:
        return socket_payload(build(*args, **kwargs))

    payload.__name__ = payload.__qualname__ = f"{build.__name__}_payload"
    payload.__doc__ = (
        f"`{build.__name__}`'s fields as a Socket Mode envelope's `payload` (a JSON object)."
    )
    return payload


slash_command_payload = _as_socket_payload(slash_command)
block_actions_payload = _as_socket_payload(block_actions)
message_action_payload = _as_socket_payload(message_action)
view_submission_payload = _as_socket_payload(view_submission)
event_callback_payload = _as_socket_payload(event_callback)


def _form_payload(payload: JsonDict) -> str:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _user(user_id: str, user_name: str | None, team_id: str) -> JsonDict:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _container(message: JsonDict | None, view: JsonDict | None, channel_id: str | None) -> JsonDict:
    if message is not None:
        if channel_id is None:
            raise ValueError("a block_actions payload on a message needs its channel_id")
        return {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
    if view is not None:
        return {"type": "view", "view_id": view["id"]}
    raise ValueError("a block_actions payload needs a message, a view or a container")


def _with_state(view: JsonDict, values: JsonDict | None) -> JsonDict:
    if values is None:
        return view
    return {**view, "state": {"values": values}}


def _view_defaults(team_id: str, app_id: str) -> dict[str, Any]:
    view_id = "V" + secrets.token_hex(5).upper()
    return {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": {"type": "plain_text", "text": "Modal", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": defaults.BOT_ID,
    }


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return channel_id.lower()


def _block_id() -> str:
    return secrets.token_urlsafe(4)


def _action_ts() -> str:
    now_us = time.time_ns() // 1000
    return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"
