"""Infobip's answers that are not a success, read and mapped onto `bot.errors`.

Every text that came from the server is scrubbed of the API key before it is cut to length or
put into a message: a key cut in half would leak its first half. The errors built here carry no
`__cause__`/`__context__`: httpx exceptions hold the request, and so the key, in their headers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bot.backends.infobip.http import (
    IDEMPOTENT,
    NEVER_SENT,
    DeadlinePassed,
    DeadlineTimeout,
    retry_after,
)
from bot.deadlines import seconds_given
from bot.errors import (
    BackendUnavailable,
    ConvbotError,
    ConversationClosed,
    ConversationNotFound,
    InvalidInput,
    NotFound,
    RateLimited,
)

CLOSED_TEXT = "closed conversation cannot be changed"
ERROR_TEXT_MAX = 300
# Failures that happen before a byte of the request is on the wire (the first three), or while
# the request is built (a header value h11 refuses, a scheme httpx cannot speak).
UNSENT: tuple[type[Exception], ...] = (
    *NEVER_SENT,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)
Scrub = Callable[[str], str]


class MaybeDone(BackendUnavailable):
    """A change that may have been carried out before its answer was lost (a POST that timed
    out, a gateway's bare 5xx): the caller can look for its effect before reporting failure."""


@dataclass(frozen=True)
class Subject:
    """What a call is about, so that a NOT_FOUND answer can name the missing thing."""

    conversation: str | None = None
    tag: str | None = None
    agent: str | None = None
    queue: str | None = None

    def not_found(self, text: str) -> NotFound | None:
        named = [
            (kind, value)
            for kind, value in (
                ("tag", self.tag),
                ("agent", self.agent),
                ("queue", self.queue),
                ("conversation", self.conversation),
            )
            if value
        ]
        if not named:
            return None
        lowered = text.lower()
        kind, value = (
            # Infobip quotes the id it could not find ("Invalid id 'x' given! ..."),
            next((pair for pair in named if f"'{pair[1]}'" in text), None)
            # or names the kind ("Invalid tagName ...", "Agent a1 was not found."),
            or next((pair for pair in named[:-1] if pair[0] in lowered), None)
            # or says nothing useful (a bare 404): then it is the call's main subject.
            or named[-1]
        )
        if kind == "conversation":
            return ConversationNotFound(value)
        return NotFound(_NOT_FOUND[kind].format(value))


_NOT_FOUND = {
    "conversation": "Conversation {} was not found.",
    "tag": "Tag '{}' was not found.",
    "agent": "Agent {} was not found.",
    "queue": "Queue {} was not found.",
}
NOTHING = Subject()


@dataclass(frozen=True)
class Envelope:
    """Infobip's error body `{"requestError":{"serviceException":{...}}}`, or nothing."""

    message_id: str | None = None
    text: str = ""
    validation: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response, scrub: Scrub) -> Envelope:
        details = _service_exception(response)
        if details is None:
            return cls()
        message_id = details.get("messageId")
        text = details.get("text")
        errors = details.get("validationErrors")
        return cls(
            message_id=message_id if isinstance(message_id, str) else None,
            text=scrub(text)[:ERROR_TEXT_MAX] if isinstance(text, str) else "",
            validation={
                scrub(str(name)): [scrub(str(item)) for item in messages]
                for name, messages in (errors.items() if isinstance(errors, dict) else ())
                if isinstance(messages, list)
            },
        )

    def describe(self, status: int) -> str:
        text = self.text.strip().rstrip(".!") or f"HTTP {status}"
        problems = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in self.validation.items())
        return f"{text} ({problems[:ERROR_TEXT_MAX]})." if problems else f"{text}."


def _service_exception(response: httpx.Response) -> dict[str, object] | None:
    try:
        data = response.json()
    except ValueError:  # not JSON at all (a proxy's HTML page, an empty body)
        return None
    details = data.get("requestError") if isinstance(data, dict) else None
    details = details.get("serviceException") if isinstance(details, dict) else None
    return details if isinstance(details, dict) else None


def unreadable(what: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"Infobip sent {what} in a shape convbot cannot read; try again, and report it if it "
        "keeps happening."
    )


class ErrorMapper:
    """Turns one failed exchange with Infobip into the error its user can act on.

    `unsure` is the sentence for a POST whose outcome is unknown (it may have been carried out
    before the failure), e.g. "the conversation may or may not have been created; ...".
    """

    def __init__(self, host: str, api_key: str, timeout: float) -> None:
        self._host = host
        self._api_key = api_key
        self._timeout = timeout

    def scrub(self, text: str) -> str:
        """Whatever Infobip echoes back, the key never reaches a message."""
        return text.replace(self._api_key, "***")

    def envelope(self, response: httpx.Response) -> Envelope:
        return Envelope.of(response, self.scrub)

    def for_response(
        self, response: httpx.Response, subject: Subject, unsure: str | None = None
    ) -> ConvbotError:
        status = response.status_code
        envelope = self.envelope(response)
        if 300 <= status < 400:  # httpx does not follow redirects: the base URL is not the API's
            return self._redirected(response)
        if status in (401, 403):
            return BackendUnavailable(
                f"Infobip refused the API key ({status}): check INFOBIP_API_KEY."
            )
        if status == 429:
            return self._throttled(response)
        if status >= 500:
            return self._failing(status, envelope, unsure)
        if status == 404 or envelope.message_id == "NOT_FOUND":
            return self._not_found(status, envelope, subject, response)
        if CLOSED_TEXT in envelope.text.lower() and subject.conversation:
            return ConversationClosed(subject.conversation)
        return InvalidInput(f"Infobip rejected the request: {envelope.describe(status)}")

    def _redirected(self, response: httpx.Response) -> BackendUnavailable:
        target = "another address"
        location = response.headers.get("Location", "").strip()
        if location:
            with contextlib.suppress(httpx.InvalidURL):  # then "another address" it is
                target = response.request.url.join(location).host or target
        return BackendUnavailable(
            f"Infobip at {self._host} redirected the request to {self.scrub(target)} "
            f"(HTTP {response.status_code}); check INFOBIP_BASE_URL (the https:// address of "
            "your Infobip API)."
        )

    def _throttled(self, response: httpx.Response) -> RateLimited:
        after = retry_after(response)
        wait = "in a minute"
        if after is not None:
            # Whole seconds, rounded up: "in 0 seconds" for a 0.4 s wait, "1 seconds" read badly.
            seconds = max(1, math.ceil(after))
            wait = f"in {seconds} second{'s' if seconds > 1 else ''}"
        return RateLimited(
            f"Infobip is throttling requests (HTTP 429); try again {wait}.", retry_after=after
        )

    def _failing(self, status: int, envelope: Envelope, unsure: str | None) -> BackendUnavailable:
        # Infobip's own envelope is a clear refusal; anything else (a gateway's 502/503/504, a
        # bare 500) may come after the request was carried out.
        if unsure is not None and envelope.message_id is None:
            return MaybeDone(f"Infobip failed (HTTP {status}) at {self._host}, so {unsure}")
        return BackendUnavailable(
            f"Infobip is failing (HTTP {status}) at {self._host}; try again in a minute."
        )

    def _not_found(
        self, status: int, envelope: Envelope, subject: Subject, response: httpx.Response
    ) -> ConvbotError:
        found = subject.not_found(envelope.text)
        if found is not None:
            return found
        if status == 404:  # a listing that is not there: the base URL points somewhere else
            return BackendUnavailable(
                f"Infobip at {self._host} has no {response.request.url.path}: "
                "check INFOBIP_BASE_URL."
            )
        return NotFound(f"Infobip found nothing: {envelope.describe(status)}")

    def for_failure(
        self, method: str, error: httpx.RequestError, unsure: str | None = None
    ) -> BackendUnavailable:
        """No answer at all. Only the class name of the httpx error is used: its text and its
        request (headers included) stay out of the message."""
        kind = type(error).__name__
        if unsure is not None and method not in IDEMPOTENT and not isinstance(error, UNSENT):
            return MaybeDone(f"Infobip at {self._host} did not answer ({kind}), so {unsure}")
        if isinstance(error, httpx.UnsupportedProtocol):
            return BackendUnavailable(
                f"INFOBIP_BASE_URL ({self._host}) is not an http(s) address; fix it and restart."
            )
        if isinstance(error, httpx.LocalProtocolError):
            return BackendUnavailable(
                f"convbot could not build a valid request for Infobip at {self._host} ({kind}); "
                "check INFOBIP_API_KEY and INFOBIP_BASE_URL."
            )
        if isinstance(error, DeadlinePassed | DeadlineTimeout):
            return BackendUnavailable(
                f"Infobip at {self._host} did not answer within the {seconds_given():g} s "
                "convbot gives a command; try again in a minute."
            )
        if isinstance(error, httpx.TimeoutException):
            return BackendUnavailable(
                f"Infobip at {self._host} did not answer within {self._timeout:g} s ({kind}); "
                "check INFOBIP_BASE_URL or try again in a minute."
            )
        return BackendUnavailable(
            f"Could not reach Infobip at {self._host} ({kind}); check INFOBIP_BASE_URL and the "
            "network, then try again."
        )
