"""Members of Slack user groups, for permissions (usergroups.users.list, cached)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.cache import TtlCache

log = logging.getLogger(__name__)


class SlackUserGroups:
    """Implements bot.service.permissions.GroupDirectory."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 300.0) -> None:
        self._client = client
        self._members: TtlCache[str, set[str]] = TtlCache(ttl)

    async def members(self, group_id: str) -> set[str]:
        return await self._members.get(group_id, lambda: self._load(group_id))

    async def _load(self, group_id: str) -> set[str]:
        try:
            answer = await self._client.usergroups_users_list(usergroup=group_id)
        except (SlackApiError, SlackClientError):
            # Fail closed: nobody is let in through a group Slack could not tell us about.
            log.warning("could not list the members of user group %s", group_id, exc_info=True)
            return set()
        return {str(user) for user in answer.get("users") or []}
