"""The fake Slack's interaction handles: the trigger_ids and response_urls an interaction
payload carries, each accepted as Slack accepts it (a trigger once within 3 s, a response_url five
times within 30 minutes), so a bot that leans on one longer fails here as it would on Slack.

A mixin of `FakeSlack` (recorder.py), which holds the attributes declared here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.devtools.fakeslack.records import ResponseUrl

# Slack lets a trigger_id open a view only within 3 seconds of the interaction that issued it.
TRIGGER_TTL_SECONDS = 3.0
# "You can use a response_url up to five times within 30 minutes" (Slack's guide to handling
# user interaction, "Message responses"); after that Slack answers `used_url`/`expired_url`.
RESPONSE_URL_USES, RESPONSE_URL_TTL_SECONDS = 5, 30 * 60


@dataclass
class _Trigger:
    issued: float
    user_id: str | None
    used: bool = False


class InteractionHandles:
    """`new_trigger_id` and `redeem_trigger`; `new_response_url` and `use_response_url`."""

    trigger_ttl: float
    _triggers: dict[str, _Trigger]
    _response_urls: dict[str, ResponseUrl]
    # FakeSlack's own, shared with its ids and its URLs.
    _next_serial: Callable[[], int]
    _served_at: Callable[[], str]

    def new_trigger_id(self, user_id: str | None = None) -> str:
        """A trigger_id as an interaction payload carries; views.open/push accept it once, 3 s."""
        trigger_id = f"{self._next_serial()}.{int(time.time())}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(time.monotonic(), user_id)
        return trigger_id

    def redeem_trigger(self, trigger_id: str) -> tuple[str | None, str | None]:
        """Use a trigger_id: (the user it was issued for, None) or (None, Slack's error code)."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return None, "invalid_trigger_id"
        if trigger.used:
            return None, "exchanged_trigger_id"
        if time.monotonic() - trigger.issued > self.trigger_ttl:
            return None, "expired_trigger_id"
        trigger.used = True
        return trigger.user_id, None

    def new_response_url(self, channel: str, user: str, *, message_ts: str | None = None) -> str:
        """A response_url served by the fake (`POST …/response/<token>`).

        `message_ts` names the message the interaction came from, which `replace_original` and
        `delete_original` then act on (a channel message, or an ephemeral one `user` sees).
        """
        token = secrets.token_urlsafe(18)
        self._response_urls[token] = ResponseUrl(token, channel, user, message_ts)
        return f"{self._served_at()}/response/{token}"

    def response_url(self, token: str) -> ResponseUrl | None:
        return self._response_urls.get(token)

    def use_response_url(self, token: str) -> tuple[ResponseUrl | None, str | None]:
        """Count one post to a response_url: (it, None), or (None, Slack's error for it)."""
        url = self._response_urls.get(token)
        if url is None or time.monotonic() - url.issued > RESPONSE_URL_TTL_SECONDS:
            return None, "expired_url"
        if url.uses >= RESPONSE_URL_USES:
            return None, "used_url"
        url.uses += 1
        return url, None
