"""Slack's request signing, done the way Slack does it, to sign the fake's payloads.

Slack signs every request to an app with the app's signing secret: `X-Slack-Request-Timestamp`
(Unix seconds) and `X-Slack-Signature: v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`.
Receivers (Bolt, slack_sdk's SignatureVerifier) reject timestamps more than five minutes away
from their clock, so an overridable timestamp lets a test replay an old request.

The payload builders (`slash_command`, `block_actions`, `view_submission`, `event_callback`, …)
live in `bot.devtools.fakeslack.payloads` and are re-exported here, next to the signer that signs
them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from bot.devtools.fakeslack.payloads import (
    FORM,
    JSON,
    app_home_opened,
    block_actions,
    button_action,
    event_callback,
    slash_command,
    view_submission,
)

__all__ = [
    "FORM",
    "JSON",
    "SlackSigner",
    "app_home_opened",
    "block_actions",
    "button_action",
    "event_callback",
    "slash_command",
    "view_submission",
]


class SlackSigner:
    """Signs request bodies with an app's signing secret, as Slack does."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock

    def signature(self, body: str | bytes, timestamp: int | str) -> str:
        """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + str(timestamp).encode() + b":" + raw
        return "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()

    def headers_for(
        self, body: str | bytes, content_type: str | None = None, *, timestamp: int | None = None
    ) -> dict[str, str]:
        """The headers Slack sends with `body`: content type, timestamp and signature.

        `content_type` defaults to JSON for a body starting with `{`, else form-encoded;
        `timestamp` defaults to now (pass an older one to test replay protection).
        """
        if timestamp is None:
            timestamp = int(self._clock())
        if content_type is None:
            start = body[:1]
            content_type = JSON if start in ("{", b"{") else FORM
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": self.signature(body, timestamp),
        }
