"""What POST /slack/events checks before Bolt: who signed the body, and whether Bolt can read it.

Bolt parses the body before it checks the signature, and then indexes it as Slack shapes it. A
body that is not UTF-8, JSON cut short, a payload that is a list, `actions` that is a string, a
view without its `type`: each raised inside Bolt (or inside its error handler), and the request
ended in a 500 with a traceback in the log, for anyone who could reach the port, signed or not.
A timestamp header that is not a number raised inside Bolt's own signature check, which
answered 200 to a request nobody signed.

So the signature is checked here first: 401 unless Slack signed the body within the last five
minutes (Slack's `ssl_check`, which Bolt answers unsigned, excepted). A signed body that is not
the shape Slack documents is then answered here too, with 200 and nothing done (an error status
would only show the person an error, or make Slack retry) and a warning in the log. Everything
else, which is everything Slack really sends, goes to Bolt untouched: the payloads Slack's SDK
authors published (tests/fixtures/slack, sent by tests/test_slack_payload_fixtures.py) all pass,
among them events whose `user` or `channel` is an object and dialogs whose `state` is a string.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's (and Bolt's) replay window

# Interactivity payloads and Events API envelopes, as Slack documents them: these keys, when
# present, hold objects (or null), lists of objects, or strings. Bolt and the listeners rely on it.
_OBJECTS = (
    "user",
    "team",
    "channel",
    "container",
    "view",
    "message",
    "state",
    "event",
    "enterprise",
)
_LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")
_STRINGS = ("type", "token", "trigger_id", "response_url", "api_app_id", "team_id")
_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")
_INNER_STRINGS: dict[str, tuple[str, ...]] = {
    "user": ("id", "team_id"),
    "team": ("id",),
    "channel": ("id",),
    "container": ("type", "message_ts", "channel_id", "view_id"),
    "view": ("id", "type", "callback_id", "private_metadata", "hash", "team_id"),
    "message": ("ts", "text"),
    "event": ("type", "tab"),  # its `user` and `channel`: see _REFERENCES
    "actions": ("action_id", "block_id", "type", "action_ts"),  # a bad `value` is told as such
    "response_urls": ("response_url", "channel_id", "block_id", "action_id"),
    "authorizations": ("team_id", "user_id", "enterprise_id"),
}


# Keys of an event that name a user or a channel: an id, or the whole object (channel_created,
# channel_rename, im_created carry the channel; user_change, team_join the user), as Slack's
# samples in tests/fixtures/slack show. Bolt reads either (request.internals.extract_user_id,
# extract_channel_id: a string as is, an object by `"id" in`), and `in` raises on a number.
_REFERENCES: dict[str, tuple[str, ...]] = {"event": ("user", "channel")}
# Legacy dialogs (dialog_submission, dialog_cancellation, dialog_suggestion) carry `state` as the
# string the app gave dialog.open; every other payload's `state` is an object.
_DIALOG_PREFIX = "dialog_"


def signed_by_slack(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Slack's v0 signature over `body`, made within the last five minutes."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if age > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode(errors="replace"))


def refusal(body: bytes, headers: Mapping[str, str], secret: str | None) -> int | None:
    """The HTTP status to answer `body` with here, or None to hand it to Bolt."""
    content_type = (headers.get("content-type") or "").split(";")[0] or None  # as Bolt reads it
    payload, problem = read(body, content_type)
    signed = secret is None or signed_by_slack(body, headers, secret)
    if not signed and not (problem is None and payload.get("ssl_check") == "1"):
        log.info("refused a request Slack did not sign in the last five minutes")
        return 401
    if problem is None:
        return None
    log.warning("ignored a signed request that is not one Slack sends: %s", problem)
    return 200


def read(body: bytes, content_type: str | None) -> tuple[dict[str, Any], str | None]:
    """The payload as Bolt will see it, and why Bolt could not read it (None when it can)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "the body is not UTF-8"
    try:
        parsed = _parse_as_bolt_does(text, content_type)
    except ValueError as error:  # json.JSONDecodeError included
        return {}, f"the body is not JSON or a form: {error}"
    if not isinstance(parsed, dict):
        return {}, f"the payload is a JSON {type(parsed).__name__}, not an object"
    return parsed, _shape_problem(parsed)


def _parse_as_bolt_does(text: str, content_type: str | None) -> Any:
    """slack_bolt.request.internals.parse_body, which this must follow to judge the same body."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    if "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        return {} if payload is None else json.loads(payload)
    return dict(parse_qsl(text, keep_blank_values=True))


def _shape_problem(payload: dict[str, Any]) -> str | None:
    for key in _STRINGS:
        if not isinstance(payload.get(key, ""), str):
            return f"`{key}` is not a string"
    kind = payload.get("type")
    for key in _OBJECTS:
        value = payload.get(key)
        if value is None:
            continue
        if key == "state" and str(kind).startswith(_DIALOG_PREFIX) and isinstance(value, str):
            continue
        if not isinstance(value, dict):
            return f"`{key}` is not an object"
        if problem := _strings_in(key, value) or _references_in(key, value):
            return problem
    for key in _LISTS_OF_OBJECTS:
        items = payload.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return f"`{key}` is not a list of objects"
        for item in items:
            if problem := _strings_in(key, item):
                return problem
    # What Bolt indexes without looking, once it knows the kind of request; and who acts, which
    # every interaction names (without it a change would be audited to nobody).
    if kind in _INTERACTIONS and not (payload.get("user") or {}).get("id"):
        return f"a {kind} without its user"
    actions = payload.get("actions") or [{}]
    if kind == "block_actions" and not all("action_id" in action for action in actions):
        return "a block action without an `action_id`"
    if kind in ("view_submission", "view_closed") and "type" not in (payload.get("view") or {}):
        return "a view without its `type`"
    if kind == "event_callback" and "type" not in (payload.get("event") or {}):
        return "an event without its `type`"
    return None


def _strings_in(key: str, value: dict[str, Any]) -> str | None:
    for inner in _INNER_STRINGS.get(key, ()):
        if value.get(inner) is not None and not isinstance(value[inner], str):
            return f"`{key}.{inner}` is not a string"
    return None


def _references_in(key: str, value: dict[str, Any]) -> str | None:
    for inner in _REFERENCES.get(key, ()):
        named = value.get(inner)
        if named is not None and not isinstance(named, str | dict):
            return f"`{key}.{inner}` is neither an id nor an object"
    return None
