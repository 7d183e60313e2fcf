"""Where a conversation came from: the Slack message it was created from, kept in the
conversation's metadata (Infobip's key/value map) under `SLACK_MESSAGE`, so that anyone reading
it (in Infobip's own tools too) can go back to the message.

Keeping the link is a second request after the create, and the create is done whatever it
answers: a failure is reported as "not kept" and logged, never as a failed create (a retry
would make the conversation twice).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.backends.base import ConversationBackend
from bot.errors import ConvbotError
from bot.models import SLACK_MESSAGE, Actor
from bot.service.transcripts import Record

log = logging.getLogger(__name__)


class Sources:
    def __init__(self, backend: ConversationBackend, record: Record) -> None:
        self._backend = backend
        self._record = record

    async def keep(self, actor: Actor, conversation_id: str, permalink: str) -> bool:
        """Keep the link to the Slack message; whether it was kept. Audited as a change."""
        values: dict[str, Any] = {SLACK_MESSAGE: permalink}
        try:
            await self._backend.patch_metadata(conversation_id, values)
        except ConvbotError as error:
            log.warning(
                "conversation %s: its Slack message was not kept: %s", conversation_id, error
            )
            return False
        await self._record(actor, "metadata", conversation_id, None, values)
        return True

    async def slack_message(self, conversation_id: str) -> str | None:
        """The link to the Slack message the conversation came from, if it has one (one
        request: for a single conversation drawn, never for each row of a list)."""
        link = (await self._backend.get_metadata(conversation_id)).get(SLACK_MESSAGE)
        return link if isinstance(link, str) and link.startswith("https://") else None
