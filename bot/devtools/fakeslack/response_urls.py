"""Posts to a response_url, applied to the fake workspace as Slack applies them.

A body with `delete_original` removes the message the interaction came from; `replace_original`
rewrites it in place (a channel message or the ephemeral one the user sees); otherwise the post
is a new message, `response_type: "in_channel"` for everyone, ephemeral (the default) for the
user who interacted. Slack answers a response_url in plain text: `ok`, or the error code.
"""

from __future__ import annotations

import logging
import time

from bot.devtools.fakeslack.blockkit import BlockKitError, check_message_blocks
from bot.devtools.fakeslack.faults import RESPONSE_URL
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import JsonDict, ResponsePost, ResponseUrl, Violation, truthy

log = logging.getLogger(__name__)
OK = (200, "ok")
_USED = "a response_url takes at most 5 posts (Slack: five times within 30 minutes)"


def post_to_response_url(fake: FakeSlack, token: str, body: JsonDict) -> tuple[int, str]:
    """Apply one response_url post; the HTTP status and plain-text answer."""
    url, error = fake.use_response_url(token)
    if url is None:
        if error == "used_url":
            fake.violations.append(Violation(RESPONSE_URL, "used_url", (_USED,)))
        return 404, error or "expired_url"
    blocks = body.get("blocks")
    if blocks is not None and not (
        isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)
    ):
        fake.violations.append(Violation(RESPONSE_URL, "invalid_blocks", ("not a list",)))
        return 400, "invalid_blocks"
    try:
        check_message_blocks(blocks or [])
    except BlockKitError as broken:
        log.warning("response_url post refused: invalid_blocks (%s)", broken)
        fake.violations.append(Violation(RESPONSE_URL, "invalid_blocks", tuple(broken.errors)))
        return 400, "invalid_blocks"
    text = str(body.get("text") or "")
    delete = truthy(body.get("delete_original"))
    if not delete and not text and not blocks and not body.get("attachments"):
        fake.violations.append(Violation(RESPONSE_URL, "no_text", ()))
        return 400, "no_text"
    fake.responses.append(ResponsePost(token, url.channel, url.user, dict(body), time.time()))
    if delete:
        _delete_original(fake, url)
    elif not (truthy(body.get("replace_original")) and _replace_original(fake, url, text, blocks)):
        _post_new(fake, url, body, text, blocks)
    fake.changed()
    return OK


def _delete_original(fake: FakeSlack, url: ResponseUrl) -> None:
    if url.message_ts is None:
        return
    if fake.delete_message(url.channel, url.message_ts) is None:
        original = fake.find_ephemeral(url.channel, url.message_ts)
        if original is not None:
            fake.ephemeral.remove(original)


def _replace_original(
    fake: FakeSlack, url: ResponseUrl, text: str, blocks: list[JsonDict] | None
) -> bool:
    """Rewrite the interaction's message in place; False when there is none to rewrite."""
    if url.message_ts is None:
        return False
    message = fake.message(url.channel, url.message_ts)
    if message is not None:
        message.text, message.blocks, message.edited = text, list(blocks or []), True
        return True
    ephemeral = fake.find_ephemeral(url.channel, url.message_ts)
    if ephemeral is not None:
        ephemeral.text, ephemeral.blocks = text, list(blocks or [])
        return True
    return False


def _post_new(
    fake: FakeSlack, url: ResponseUrl, body: JsonDict, text: str, blocks: list[JsonDict] | None
) -> None:
    thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
    if body.get("response_type") == "in_channel":
        fake.store_message(url.channel, text=text, blocks=blocks, thread_ts=thread_ts)
    else:
        fake.store_ephemeral(url.channel, url.user, text=text, blocks=blocks, thread_ts=thread_ts)
