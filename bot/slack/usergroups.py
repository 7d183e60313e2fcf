"""Members of Slack user groups, for permissions (usergroups.users.list, cached)."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.cache import TtlCache
from bot.slack.failures import SLACK_FAILURES

log = logging.getLogger(__name__)


class SlackUserGroups:
    """Implements bot.service.permissions.GroupDirectory."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 300.0) -> None:
        self._client = client
        self._members: TtlCache[str, set[str]] = TtlCache(ttl)

    async def members(self, group_id: str) -> set[str]:
        try:
            return await self._members.get(group_id, lambda: self._load(group_id))
        except SLACK_FAILURES:
            # Fail closed: nobody is let in through a group Slack could not tell us about, and
            # the failure is not cached, so the next check asks again.
            log.warning("could not list the members of user group %s", group_id, exc_info=True)
            return set()

    async def _load(self, group_id: str) -> set[str]:
        answer = await self._client.usergroups_users_list(usergroup=group_id)
        return {str(user) for user in answer.get("users") or []}
