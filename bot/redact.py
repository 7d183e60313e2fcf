"""Secrets out of anything shown: passwords in URLs, and Slack response_urls.

One place for both, used by `convbot check-config`, by the log filter that `bot.logs` puts on
every handler it configures, and by anything else that prints a URL from the settings.

- A URL's password (`https://user:pass@host`, `postgresql://u:pw@db/x`) becomes `***`, as
  SQLAlchemy renders a database URL with its password hidden.
- A response_url is a capability: whoever holds one may post to the channel for 30 minutes
  (five times; api.slack.com/interactivity/handling#message_responses). Slack's live under
  https://hooks.slack.com/ (`/commands/`, `/actions/`, `/app/`, `/workflows/`, `/triggers/`,
  `/services/` for incoming webhooks, the same kind of secret); a Slack elsewhere (the fake, an
  enterprise proxy) issues other hosts, so a value under a `response_url` key is hidden whatever
  its host, in JSON, in a Python repr, and form-encoded (Bolt's DEBUG log of a request body).
  slack_sdk's webhook client logs the bare URL it posts to; every URL it posts to is one of
  these, so its records lose every URL's path (see `RedactingFilter`).
"""

from __future__ import annotations

import logging
import re

HIDDEN = "***"

# scheme://user:password@ — the user stays (it says which account), the password goes.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(?P<password>[^\s/]*)@")
# Slack's capability URLs: keep the kind (commands, actions, …), hide the rest.
_SLACK_HOOK = re.compile(r"(?P<head>https?://hooks\.slack\.com/[A-Za-z]+/)[^\s\"'<>&,;)\]}]+")
# A value under a response_url key: "response_url": "…", 'response_url': '…', response_url=…
# (form and %-encoded form); also `response_urls` items, which carry `response_url` keys.
_KEYED = re.compile(
    r"(?P<head>response_url(?:\"|'|%22)?\s*(?::|=|%3A|%3D)\s*(?:\"|'|%22)?)"
    r"(?P<url>(?:(?!%22)[^\s\"'&,;)\]}])+)",
    re.IGNORECASE,
)
_ANY_URL = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/\"'<>]+)/[^\s\"'<>,;)\]}]*")


def hide_url_password(text: str) -> str:
    """`text` (a URL, or a sentence with URLs) with every URL's password replaced by ***."""
    return _USERINFO.sub(rf"\g<head>:{HIDDEN}@", text)


def hide_response_urls(text: str) -> str:
    """`text` with Slack's hook URLs and every value under a response_url key hidden."""
    text = _SLACK_HOOK.sub(rf"\g<head>{HIDDEN}", text)
    return _KEYED.sub(rf"\g<head>{HIDDEN}", text)


def hide_url_paths(text: str) -> str:
    """Every URL in `text` cut to its scheme and host: for logs that only carry secret URLs."""
    return _ANY_URL.sub(rf"\g<head>/{HIDDEN}", text)


def redact(text: str) -> str:
    """Everything above that applies to any text: passwords in URLs and response_urls."""
    return hide_response_urls(hide_url_password(text))


# Loggers whose every URL is a response_url or an incoming webhook: slack_sdk's webhook client.
_SECRET_URL_LOGGERS = ("slack_sdk.webhook",)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with the secrets above hidden, before any
    formatter sees it. On a handler, it covers every logger that reaches the handler: the bot's,
    Bolt's, slack_sdk's, httpx's, uvicorn's."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.name.startswith(_SECRET_URL_LOGGERS):
            cleaned = hide_url_paths(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
