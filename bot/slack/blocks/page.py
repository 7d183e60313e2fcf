"""A page: the message that tells someone on call that a conversation needs them.

Layout: a section saying who escalated it, why, and which step this is; the conversation card
(without its own buttons); then Acknowledge and Take. Once the escalation has ended, every page
of it is redrawn with the outcome in place of the buttons ("Acknowledged by @x after 4 min").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, SectionBlock

from bot.models import Conversation
from bot.service.paging import Page
from bot.slack.blocks import buttons
from bot.slack.blocks.card import CardContext, conversation_card, take_confirm
from bot.slack.blocks.mrkdwn import md, mention, user_text
from bot.slack.blocks.refs import EscalationRef
from bot.state.escalations import EscalationRecord, EscalationStatus, PageRecord

REASON_MAX = 500


def started_by(record: EscalationRecord) -> str:
    """Who escalated, as mrkdwn: a mention, or the auto-escalation rule that did."""
    if record.rule:
        return f"auto-escalation rule _{user_text(record.rule, 100)}_"
    if record.started_by.startswith(("U", "W")):
        return mention(record.started_by)
    return user_text(record.started_by, 100)


def page_text(page: Page) -> str:
    """The notification text: what pops up on a phone."""
    topic = user_text(page.conversation.topic, 150, empty=user_text(page.conversation.id, 150))
    return f"Paged: {topic} needs someone (step {page.step} of {page.steps})"


def page_blocks(page: Page, context: CardContext) -> list[Block]:
    record = page.escalation
    lines = [
        f":rotating_light: *You are being paged* — step {page.step} of {page.steps}"
        + (f", repeat {page.round}" if page.round else ""),
        f"Escalated by {started_by(record)} under policy _{user_text(record.policy, 100)}_.",
    ]
    if record.reason:
        lines.append(f"*Reason:* {user_text(record.reason, REASON_MAX)}")
    if page.recipient.kind == "channel":
        lines[0] = lines[0].replace("You are being paged", "Paging this channel")
    blocks: list[Block] = [SectionBlock(text=md("\n".join(lines)))]
    blocks.extend(conversation_card(page.conversation, context, buttons=False))
    blocks.append(page_buttons(record, conversation=page.conversation, context=context))
    return blocks


def page_buttons(
    record: EscalationRecord,
    *,
    acknowledge: bool = True,
    conversation: Conversation | None = None,
    context: CardContext | None = None,
) -> ActionsBlock:
    """Acknowledge (unless `acknowledge` is False: it was) and Take; Take asks first when the
    conversation is someone's (`conversation` and `context` given)."""
    value = EscalationRef(e=record.id).encode()
    take = buttons.PAGE_TAKE.draw(value, style=None if acknowledge else "primary")
    if conversation is not None and context is not None and conversation.agentId is not None:
        take.confirm = take_confirm(conversation.agentId, context)
    elements = [take]
    if acknowledge:
        ack = buttons.PAGE_ACK.draw(value)
        elements = [ack, take]
    # Its own block_id once acknowledged: Slack keeps a redrawn block's old state by block_id.
    block_id = "page-actions" if acknowledge else "page-take"
    return ActionsBlock(block_id=block_id, elements=elements)


def outcome_text(record: EscalationRecord, now: datetime, pages: Sequence[PageRecord] = ()) -> str:
    """How an escalation ended, in words, timed from its first page (from its start without)."""
    ended = record.ended_at or now
    sent = [page.sent_at for page in pages if page.sent_at is not None]
    since, after = (min(sent), "the page") if sent else (record.started_at, "the escalation")
    took = f"{duration_words(ended - since)} after {after}"
    person = record.ended_by if record.ended_by and record.ended_by[:1] in "UW" else None
    by = f" by {mention(person)}" if person else ""
    if record.status is EscalationStatus.ACKNOWLEDGED:
        return f":white_check_mark: Acknowledged{by} {took}"
    if record.status is EscalationStatus.RESOLVED:
        return f":heavy_check_mark: Resolved: the conversation was closed{by} {took}"
    if record.status is EscalationStatus.EXHAUSTED:
        return ":warning: Every step has paged and nobody acknowledged; the escalation stopped."
    return ":rotating_light: Still escalating"


def duration_words(span: timedelta) -> str:
    """ "under a minute", "3 minutes", "2 hours", "1 day": a span as a person says it."""
    seconds = max(0, int(span.total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "under a minute"


def settled_blocks(
    record: EscalationRecord, conversation: Conversation, context: CardContext, *, now: datetime
) -> list[Block]:
    """A page redrawn once its escalation ended: who escalated and why, the conversation as it
    is now, and the outcome in place of the buttons."""
    lines = [f"Escalated by {started_by(record)} under policy _{user_text(record.policy, 100)}_."]
    if record.reason:
        lines.append(f"*Reason:* {user_text(record.reason, REASON_MAX)}")
    blocks: list[Block] = [SectionBlock(text=md("\n".join(lines)))]
    blocks.extend(conversation_card(conversation, context, buttons=False))
    blocks.append(ContextBlock(block_id="page-outcome", elements=[md(outcome_text(record, now))]))
    if record.status is EscalationStatus.ACKNOWLEDGED and _nobody_has(conversation):
        # Acknowledging is "I've seen it", not "it's mine": until someone takes the
        # conversation, whoever was paged can still take it from the page.
        blocks.append(page_buttons(record, acknowledge=False))
    return blocks


def _nobody_has(conversation: Conversation) -> bool:
    return conversation.agentId is None and not conversation.is_closed
