"""What every Slack listener is given: the parts the composition root (bot/bootstrap.py) built.

A plain holder: nothing here builds anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.config import OpsConfig
from bot.jobs.digests import DigestJobs
from bot.metrics import Metrics
from bot.models import Queue
from bot.service.conversations import ConversationService
from bot.service.escalations import EscalationService
from bot.service.page_answers import PageAnswers
from bot.service.presses import Presses
from bot.settings import Settings
from bot.slack.blocks.card import CardContext
from bot.slack.drawing import CardDrawing
from bot.slack.identity import SlackIdentity
from bot.slack.message_updates import MessageUpdates
from bot.slack.thread_replies import ThreadReplyBox
from bot.slack.threads import SlackThreads
from bot.state.audit import AuditLog
from bot.state.claims import CardClaims
from bot.state.digest_posts import DigestPosts
from bot.state.escalation_notices import EscalationNotices
from bot.state.slack_events import SlackEvents

log = logging.getLogger(__name__)


@dataclass
class SlackContext:
    settings: Settings
    config: OpsConfig
    service: ConversationService
    audit: AuditLog
    escalations: EscalationService
    presses: Presses  # a press acts once per conversation version
    page_answers: PageAnswers  # a page's Acknowledge and Take
    client: AsyncWebClient
    identity: SlackIdentity
    drawing: CardDrawing
    claims: CardClaims
    metrics: Metrics
    updates: MessageUpdates  # debounced chat.update of digests
    digest_posts: DigestPosts  # the digests posted: presses redraw only those
    digests: DigestJobs  # `/conv digest` and `/conv schedules` build with the scheduler's jobs
    escalation_notices: EscalationNotices  # "/conv escalate" posts
    slack_events: SlackEvents  # event ids taken in, so a redelivery runs once
    threads: SlackThreads  # conversations' transcripts in threads
    thread_replies: ThreadReplyBox  # people's messages in threads, under `thread_replies`

    async def card_context(
        self,
        viewer_agent_id: str | None,
        shown: Iterable[str] | None = None,
        *,
        channel: str | None = None,
    ) -> CardContext:
        """How cards are drawn for this viewer; in `channel`, with links to the threads the
        shown conversations have there."""
        ids = None if shown is None else list(shown)
        context = await self.drawing.context(viewer_agent_id, ids)
        if channel is None or not ids:
            return context
        try:
            links = await self.threads.links(channel, ids)
        except SQLAlchemyError:  # cosmetic, as names are: the card is drawn without the link
            log.warning("thread links unavailable for drawing", exc_info=True)
            return context
        return replace(context, thread_links=links)

    async def queues(self) -> list[Queue]:
        return await self.drawing.queues()
