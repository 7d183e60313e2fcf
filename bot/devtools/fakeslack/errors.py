"""The one way the fake says no: Slack's own error code, answered as `{"ok": false, "error": …}`."""

from __future__ import annotations

from typing import Any


class SlackRefusal(Exception):
    """A Web API method refused the call; `error` is the code Slack documents for the method."""

    def __init__(
        self,
        error: str,
        detail: str | list[str] | None = None,
        *,
        fields: dict[str, Any] | None = None,
    ) -> None:
        details = [detail] if isinstance(detail, str) else list(detail or [])
        super().__init__(error if not details else f"{error}: {'; '.join(details)}")
        self.error = error
        self.details = details  # why, as Slack's `response_metadata.messages` says it
        self.fields = dict(fields or {})  # what else Slack's answer carries (`errors`, `needed`)

    def answer(self) -> dict[str, Any]:
        """Slack's whole answer body for this refusal."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.fields}
        if self.details:
            body["response_metadata"] = {"messages": [f"[ERROR] {d}" for d in self.details]}
        return body
