"""The one way the fake says no: Slack's own error code, answered as `{"ok": false, "error": …}`."""

from __future__ import annotations


class SlackRefusal(Exception):
    """A Web API method refused the call; `error` is the code Slack documents for the method."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error
