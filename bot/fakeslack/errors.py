"""The one way the fake says no: Slack's own error code, answered as `{"ok": false, "error": …}`."""

from __future__ import annotations


class SlackRefusal(Exception):
    """A Web API method refused the call; `error` is the code Slack documents for the method."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(error if detail is None else f"{error}: {detail}")
        self.error = error
        self.detail = detail  # why, as Slack's `response_metadata.messages` says it
