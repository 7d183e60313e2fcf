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

The signature is checked before the body is parsed at all: parsing is work anyone could make
the bot do (1 KB of JSON nested 1,000 deep raised RecursionError inside json.loads, a 500 with
a traceback). Signed bodies are parsed only when their nesting is within `MAX_NESTING`: deeper
is a shape Slack never sends, answered as the other shapes are. (Their size is bounded before
this, while the body is read: bot/http_limits.py.)

Then the fields the listeners read, which Slack always sends: who acts (a Slack id), where to
answer (a response_url Slack serves over http(s)), the trigger_id a form opens with, and for a
slash command its channel. Garbage there used to end in a traceback after the ack (aiohttp
refusing `ftp://…` or `/conv` as a URL, users.info or views.open refusing an empty id). Such a
request is not run; the person is told in a sentence where one can reach them: a slash command's
ack carries it (Slack shows it to them alone), and a press with a usable response_url is
answered there. Other requests have nowhere to say it and get the plain 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from yarl import URL

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's (and Bolt's) replay window
# Slack's deepest payloads (a view submission's rich text: payload → view → blocks → rich_text →
# elements → list → section → elements → style …) stay under 20 levels; 64 leaves room for
# anything Slack adds and stays far below Python's recursion limit (1,000), which json.loads and
# every recursive walk over the payload after it would otherwise meet.
MAX_NESTING = 64
_BRACKETS = re.compile(rb'[\[\]{}]|"(?:[^"\\]|\\.)*"')
# A Slack id: a user (U…, W… on Enterprise Grid), a channel (C…, G…, D…). Upper-case and digits.
_SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
_RESPONSE_URL = "a response_url to answer on"
_WHO = "the id of the person who acts"
_TRIGGER = "a trigger_id"
_CHANNEL = "the channel it was typed in"

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


# Objects inside those objects that the listeners read (a form's values: view.state.values).
_INNER_OBJECTS: dict[str, tuple[str, ...]] = {"view": ("state",)}

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


@dataclass(frozen=True)
class Refusal:
    """What intake answers instead of Bolt: a status, and a sentence for the person if any.

    `ack_text`: the slash command's ack body (Slack shows it to the person alone).
    `response_url`: a usable response_url to tell `sentence` on, after the ack.
    """

    status: int
    sentence: str | None = None
    ack_text: bool = False
    response_url: str | None = None


def refusal(body: bytes, headers: Mapping[str, str], secret: str | None) -> Refusal | None:
    """What to answer `body` with here, or None to hand it to Bolt."""
    content_type = content_type_of(headers)
    signed = secret is None or signed_by_slack(body, headers, secret)
    if not signed and not _ssl_check(body, content_type):
        log.info("refused a request Slack did not sign in the last five minutes")
        return Refusal(401)
    payload, problem = read(body, content_type)
    if problem is not None:
        log.warning("ignored a signed request that is not one Slack sends: %s", problem)
        return Refusal(200)
    return _missing_fields(payload)


def _ssl_check(body: bytes, content_type: str | None) -> bool:
    """Slack's `ssl_check`, which it sends unsigned, and Bolt answers: a flat form, so reading
    it costs nothing (`payload=` JSON, which Bolt would read instead, is not looked into)."""
    if content_type == "application/json" or body.startswith(b"{") or b"payload" in body:
        return False
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return False
    return form.get("ssl_check") == "1"


def _missing_fields(payload: dict[str, Any]) -> Refusal | None:
    """A signed request without a field the listeners read, which Slack always sends."""
    kind = payload.get("type")
    url = payload.get("response_url")
    usable_url = url if usable_response_url(url) else None
    if "command" in payload:  # Bolt's test for a slash command
        lacking = [
            what
            for what, ok in (
                (_WHO, _is_id(payload.get("user_id"))),
                (_CHANNEL, _is_id(payload.get("channel_id"))),
                (_RESPONSE_URL, usable_url is not None),
                (_TRIGGER, _is_present(payload.get("trigger_id"))),
            )
            if not ok
        ]
        if not lacking:
            return None
        log.warning("did not run a slash command Slack sent without %s", _and(lacking))
        sentence = (
            f"Slack sent this command without {_and(lacking)}, so convbot could not run it; "
            "please type it again."
        )
        return Refusal(200, sentence, ack_text=True)
    lacking = []
    if kind in _INTERACTIONS and not _is_id((payload.get("user") or {}).get("id")):
        lacking.append(_WHO)
    if url is not None and usable_url is None:
        lacking.append(_RESPONSE_URL)
    if kind == "block_actions" and not _is_present(payload.get("trigger_id")):
        lacking.append(_TRIGGER)
    if not all(usable_response_url(item.get("response_url")) for item in _response_urls(payload)):
        lacking.append(f"usable response_urls ({_RESPONSE_URL})")
    event = payload.get("event") or {}
    home = kind == "event_callback" and event.get("type") == "app_home_opened"
    if home and not _is_id(event.get("user")):  # whose Home to draw
        lacking.append(_WHO)
    if not lacking:
        return None
    log.warning("did not run a %s Slack sent without %s", kind or "request", _and(lacking))
    if usable_url is None:
        return Refusal(200)
    sentence = (
        f"Slack sent this without {_and(lacking)}, so convbot did nothing with it; "
        "please try again."
    )
    return Refusal(200, sentence, response_url=usable_url)


def _response_urls(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = payload.get("response_urls") or []
    return [item for item in items if "response_url" in item]  # a list of objects: _shape_problem


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None


def _is_present(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def usable_response_url(value: Any) -> bool:
    """An absolute http(s) URL with a host, as aiohttp will post to (Slack's are https)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        url = URL(value)
    except (ValueError, TypeError):
        return False
    return url.scheme in ("http", "https") and bool(url.host) and url.is_absolute()


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def read(body: bytes, content_type: str | None) -> tuple[dict[str, Any], str | None]:
    """The payload as Bolt will see it, and why Bolt could not read it (None when it can)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "the body is not UTF-8"
    if _nesting(body) > MAX_NESTING:
        # A form's `payload=` is percent-encoded: its brackets are counted once decoded, below.
        return {}, f"the body nests deeper than {MAX_NESTING} levels"
    try:
        parsed = read_body(text, content_type)
    except ValueError as error:  # json.JSONDecodeError included
        return {}, f"the body is not JSON or a form: {error}"
    if not isinstance(parsed, dict):
        return {}, f"the payload is a JSON {type(parsed).__name__}, not an object"
    if "command" in parsed and _is_json(text, content_type):
        # Bolt runs anything with a `command` as a slash command; Slack sends those as a flat
        # form only, never as JSON or inside `payload=`.
        return parsed, "a slash command's `command` inside a JSON payload"
    return parsed, _shape_problem(parsed)


def _is_json(text: str, content_type: str | None) -> bool:
    """Whether the body is JSON or a `payload=` form (JSON inside), not a flat form."""
    if content_type == "application/json" or text.startswith("{"):
        return True
    return "payload" in dict(parse_qsl(text, keep_blank_values=True))


def content_type_of(headers: Mapping[str, str]) -> str | None:
    """The media type, as Bolt reads it (no parameters)."""
    return (headers.get("content-type") or "").split(";")[0] or None


def read_body(text: str, content_type: str | None) -> Any:
    """The body as Bolt reads it (slack_bolt.request.internals.parse_body), except that a form
    without a `payload=` field is the flat form it is: Bolt reads any form that merely contains
    the word "payload" (a slash command's text) as `{}` (bot/slack/bolt_requests.py). Raises
    ValueError for JSON that does not parse or a payload nested too deep."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" not in text or "payload" not in fields:
        return fields
    payload = fields["payload"]
    if _nesting(payload.encode()) > MAX_NESTING:
        raise ValueError(f"its payload nests deeper than {MAX_NESTING} levels")
    return json.loads(payload)


def _nesting(data: bytes) -> int:
    """How deep JSON's brackets nest in `data`, strings skipped; counting stops past the limit.

    A scan, not a parse: it cannot recurse, and it only looks at brackets and strings."""
    depth = deepest = 0
    for found in _BRACKETS.finditer(data):
        token = found.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                break
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


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
    for inner in _INNER_OBJECTS.get(key, ()):
        if value.get(inner) is not None and not isinstance(value[inner], dict):
            return f"`{key}.{inner}` is not an object"
    return None


def _references_in(key: str, value: dict[str, Any]) -> str | None:
    for inner in _REFERENCES.get(key, ()):
        named = value.get(inner)
        if named is not None and not isinstance(named, str | dict):
            return f"`{key}.{inner}` is neither an id nor an object"
    return None
