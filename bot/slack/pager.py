"""SlackPager: delivers pages as DMs (conversations.open + chat.postMessage) or channel posts,
and redraws them all when their escalation ends."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.models import Conversation
from bot.service.paging import Page, Recipient
from bot.slack.blocks.card import CardContext
from bot.slack.blocks.mrkdwn import md
from bot.slack.blocks.oncall import paging_now, settled_notice
from bot.slack.blocks.page import outcome_text, page_blocks, page_text, settled_blocks
from bot.slack.channels import post_joining
from bot.state.escalation_notices import EscalationNotices
from bot.state.escalations import EscalationRecord, PageRecord
from bot.timestamps import utcnow

log = logging.getLogger(__name__)


class SlackPager:
    def __init__(
        self,
        client: AsyncWebClient,
        drawing: Callable[[], Awaitable[CardContext]],
        notices: EscalationNotices | None = None,
    ) -> None:
        self._client = client
        self._drawing = drawing
        self._notices = notices
        # (escalation, round, step) → who its pages went to so far, for `_progress`.
        self._paging: dict[tuple[str, int, int], list[Recipient]] = {}

    async def send(self, page: Page) -> tuple[str, str]:
        channel = page.recipient.id
        if page.recipient.kind == "user":
            opened = await self._client.conversations_open(users=page.recipient.id)
            channel = str(opened["channel"]["id"])
        blocks = page_blocks(page, await self._drawing())
        text = page_text(page)
        posted = await post_joining(self._client, channel, text, blocks)
        await self._progress(page)
        return str(posted["channel"]), str(posted["ts"])

    async def _progress(self, page: Page) -> None:
        """Keep the channel's announcement saying who is being paged now, step after step.
        (The pages of one step go out one after another from one process: they are gathered
        here, so the line names all of them.)"""
        if self._notices is None:
            return
        key = (page.escalation.id, page.round, page.step)
        paged = self._paging.setdefault(key, [])
        paged.append(page.recipient)
        for stale in [k for k in self._paging if k[0] == key[0] and k != key]:
            del self._paging[stale]
        try:
            notices = await self._notices.of(page.escalation.id)
        except SQLAlchemyError:
            log.warning("escalation notices of %s unreadable", page.escalation.id, exc_info=True)
            return
        for notice in notices:
            text = f"{notice.text} {paging_now(paged, page.step, page.steps, page.round)}"
            await self._update(notice.channel, notice.ts, text, [SectionBlock(text=md(text))])

    async def settle(
        self, escalation: EscalationRecord, pages: list[PageRecord], conversation: Conversation
    ) -> None:
        context = await self._drawing()
        now = utcnow()
        blocks = settled_blocks(escalation, conversation, context, now=now)
        text = outcome_text(escalation, now)
        for page in pages:
            if page.channel is None or page.ts is None:
                continue  # never delivered: nothing to redraw
            await self._update(page.channel, page.ts, text, blocks)
        await self.settle_notices(escalation, pages, now)

    async def settle_notices(
        self, escalation: EscalationRecord, pages: list[PageRecord], now: datetime
    ) -> None:
        """Redraw the channel messages that announced the escalation with how it ended."""
        for done in [key for key in self._paging if key[0] == escalation.id]:
            del self._paging[done]
        if self._notices is None:
            return
        try:
            notices = await self._notices.of(escalation.id)
        except SQLAlchemyError:
            log.warning("escalation notices of %s unreadable", escalation.id, exc_info=True)
            return
        for notice in notices:
            text, blocks = settled_notice(notice.text, escalation, pages, now)
            await self._update(notice.channel, notice.ts, text, blocks)

    async def _update(self, channel: str, ts: str, text: str, blocks: Sequence[Block]) -> None:
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:  # a deleted message must not stop the others
            log.warning("message %s/%s not updated: %s", channel, ts, error)
