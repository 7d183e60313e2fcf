"""Filling in a form that was opened with a "Loading…" view, once its contents are known.

A modal is opened at once (its trigger_id lives 3 s) and filled in a moment later. The person may
close it before that: Slack then answers views.update with `not_found`. That is their choice, not
a failure, so it is neither reported to them nor raised.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def fill_in(
    client: AsyncWebClient, view_id: str, view: View, *, hash: str | None = None
) -> bool:
    """Replace the open view; False when the person closed it meanwhile."""
    try:
        await client.views_update(view_id=view_id, hash=hash, view=view)
    except SlackApiError as error:
        if _code(error) != "not_found":
            raise
        log.info("form %s was closed before it was filled in", view_id)
        return False
    return True


def _code(error: SlackApiError) -> Any:
    return error.response.get("error") if error.response is not None else None
