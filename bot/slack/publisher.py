"""The Slack side of bot/jobs/publishing.py: digests and handoff notices drawn, posted, redrawn
in place and recorded, so that presses on them redraw them (bot/state/digest_posts.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.digests.model import Digest
from bot.jobs.publishing import Drawn, PublishFailed
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.digest import digest_blocks
from bot.slack.blocks.mrkdwn import md, slack_date, user_text
from bot.slack.channels import post_joining
from bot.slack.message_updates import MessageUpdates
from bot.state.digest_posts import DigestPosts

# chat.update's answers for a message that can no longer be edited: post a new one instead.
_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class SlackDigestPublisher:
    """Implements bot.jobs.publishing.DigestPublisher."""

    def __init__(
        self,
        client: AsyncWebClient,
        drawing: Callable[[], Awaitable[CardContext]],
        posts: DigestPosts | None = None,
        updates: MessageUpdates | None = None,
    ) -> None:
        self._client = client
        self._drawing = drawing
        self._posts = posts  # every posted digest, so that presses redraw only those
        self._updates = updates  # pending press redraws, dropped when a tick redraws

    async def draw(self, digest: Digest, now: datetime) -> Drawn:
        fallback, blocks = digest_blocks(digest, await self._drawing(), now=now)
        return Drawn(fallback, blocks)

    async def draw_handoff(
        self, schedule: str, until: datetime | None, digest: Digest, now: datetime
    ) -> Drawn:
        till = f" until {slack_date(until)}" if until is not None else ""
        intro = f":pager: You are now on call for *{user_text(schedule, 100)}*{till}."
        fallback, drawn = digest_blocks(digest, await self._drawing(), now=now)
        blocks: list[Block] = [SectionBlock(text=md(intro)), *drawn][:50]
        return Drawn(f"You are now on call for {schedule}. {fallback}", blocks)

    async def post(self, name: str, channel: str, drawn: Drawn) -> str:
        try:
            answer = await post_joining(self._client, channel, drawn.text, drawn.blocks)
        except SlackClientError as error:
            raise PublishFailed(describe(error)) from error
        await self._record(name, answer, drawn)
        return str(answer["ts"])

    async def update(self, name: str, channel: str, ts: str, drawn: Drawn) -> bool:
        if self._updates is not None:
            self._updates.forget(channel, ts)
        try:
            answer = await self._client.chat_update(
                channel=channel, ts=ts, text=drawn.text, blocks=drawn.blocks
            )
        except SlackApiError as error:
            if slack_error(error) in _GONE:
                return False
            raise PublishFailed(describe(error)) from error
        except SlackClientError as error:
            raise PublishFailed(describe(error)) from error
        await self._record(name, answer, drawn)
        return True

    async def direct_channel(self, user: str) -> str:
        try:
            opened = await self._client.conversations_open(users=user)
        except SlackClientError as error:
            raise PublishFailed(describe(error)) from error
        return str(opened["channel"]["id"])

    async def send(self, name: str, channel: str, drawn: Drawn) -> None:
        try:
            answer = await self._client.chat_postMessage(
                channel=channel, text=drawn.text, blocks=drawn.blocks
            )
        except SlackClientError as error:
            raise PublishFailed(describe(error)) from error
        await self._record(name, answer, drawn)

    async def _record(self, name: str, answer: AsyncSlackResponse, drawn: Drawn) -> None:
        if self._posts is not None:
            await self._posts.posted(name, answer, drawn.text, drawn.blocks)


def slack_error(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else ""


def describe(error: BaseException) -> str:
    """A failed post, in words an operator can act on (a schedule's last error)."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if not code:  # no JSON answer at all: Slack's edge answering 5xx with a page
            status = error.response.status_code
            return f"Slack answered HTTP {status} even after retries: Slack may be down"
        hints = {
            "channel_not_found": "the channel does not exist or the bot cannot see it",
            "not_in_channel": "invite the bot to the channel (/invite @convbot)",
            "ratelimited": "Slack rate-limited the post even after retries",
        }
        return f"Slack said {code}: {hints.get(str(code), 'see the log')}"
    return str(error)
