"""`/conv oncall`, `/conv escalations` and the answer to `/conv escalate`.

Times are `slack_date` tokens, so every viewer reads them in their own time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.models import Conversation
from bot.oncall.config import OncallConfig, OncallSchedule
from bot.oncall.rota import Handoff
from bot.service.escalations import Started
from bot.service.paging import Recipient
from bot.slack.blocks import limits
from bot.slack.blocks.mrkdwn import escape, md, mention, slack_date, user_text
from bot.slack.blocks.page import outcome_text, started_by
from bot.slack.blocks.schedules import channel_link
from bot.state.escalations import EscalationRecord, EscalationStatus, PageRecord

NO_SCHEDULES = (
    "No on-call schedules are configured. Add them under `oncall: schedules:` in convbot.yml"
    " (see the README)."
)
NO_ESCALATIONS = "No escalations are running. :white_check_mark:"
NOBODY = "_nobody_ (outside the schedule's hours)"
TOPIC_MAX = 150
# A message holds 50 blocks: a head, then up to this many entries and an "…and N more" line.
MAX_ENTRIES = 45


@dataclass(frozen=True)
class OnCallNow:
    schedule: OncallSchedule
    user: str | None
    until: datetime | None  # the next handoff, if any within the horizon
    next: Sequence[Handoff]


def _who(user: str | None) -> str:
    return mention(user) if user else NOBODY


def recipients_text(paged: Sequence[Recipient]) -> str:
    return ", ".join(mention(r.id) if r.kind == "user" else channel_link(r.id) for r in paged)


def oncall_blocks(
    entries: Sequence[OnCallNow], at: datetime, *, now: bool
) -> tuple[str, list[Block]]:
    if not entries:
        return NO_SCHEDULES, [SectionBlock(text=md(escape(NO_SCHEDULES)))]
    when = "now" if now else f"at {slack_date(at)}"
    blocks: list[Block] = [SectionBlock(text=md(f"*On call {when}*"))]
    lines_for_text: list[str] = []
    for entry in entries[:MAX_ENTRIES]:
        name = user_text(entry.schedule.name, 100)
        line = f"*{name}* ({escape(entry.schedule.timezone)}): {_who(entry.user)}"
        if entry.until is not None:
            line += f" until {slack_date(entry.until)}"
        handoffs = " · ".join(f"{_who(h.user)} from {slack_date(h.at)}" for h in entry.next)
        blocks.append(SectionBlock(text=md(line)))
        if handoffs:
            blocks.append(ContextBlock(elements=[md(f"Next: {handoffs}"[: limits.SECTION_TEXT])]))
        lines_for_text.append(f"{entry.schedule.name}: {entry.user or 'nobody'}")
    return "On call: " + "; ".join(lines_for_text), blocks[: limits.MESSAGE_BLOCKS]


def escalations_blocks(
    records: Sequence[EscalationRecord],
    conversations: Mapping[str, Conversation],
    config: OncallConfig,
) -> tuple[str, list[Block]]:
    if not records:
        return NO_ESCALATIONS, [SectionBlock(text=md(NO_ESCALATIONS))]
    noun = "escalation" if len(records) == 1 else "escalations"
    blocks: list[Block] = [SectionBlock(text=md(f"*{len(records)} active {noun}*"))]
    for record in records[:MAX_ENTRIES]:
        conversation = conversations.get(record.conversation_id)
        topic = user_text(conversation.topic if conversation else None, TOPIC_MAX)
        policy = config.policy(record.policy)
        steps = len(policy.steps) if policy else "?"
        step = min(record.step, len(policy.steps)) if policy else record.step
        parts = [
            f"*{topic}* `{user_text(record.conversation_id, 255)}`",
            f"policy _{user_text(record.policy, 100)}_, step {step} of {steps}"
            + (f" (repeat {record.round})" if record.round else ""),
            f"next page {slack_date(record.next_at)}" if record.next_at else "no further page",
            f"started by {started_by(record)} {slack_date(record.started_at)}",
        ]
        blocks.append(SectionBlock(text=md("\n".join(parts))))
    if len(records) > MAX_ENTRIES:
        blocks.append(ContextBlock(elements=[md(f"…and {len(records) - MAX_ENTRIES} more")]))
    return f"{len(records)} active {noun}", blocks


def escalated_text(
    started: Started, conversation: Conversation | None, actor_id: str, *, paging: bool = True
) -> str:
    """The answer to `/conv escalate`: what was started and (unless not `paging`) what it is
    doing now."""
    record = started.escalation
    topic = user_text(conversation.topic if conversation else None, TOPIC_MAX)
    ref = f"*{topic}* (`{user_text(record.conversation_id, 255)}`)"
    policy = f"policy _{escape(record.policy)}_"
    now = f" {paging_text(started)}" if paging else ""
    if started.already:
        return f"{ref} is already being escalated ({policy}).{now}"
    return f"{mention(actor_id)} escalated {ref} under {policy}.{now}"


def paging_text(started: Started) -> str:
    """What the escalation is doing, as mrkdwn: "Paging @ben now (step 1 of 3)." A page on its
    way is paging; "no one is on call" is said only when no step found anyone to page."""
    record = started.escalation
    of = f" (step {started.step} of {started.steps})" if started.step and started.steps else ""
    if started.paged:
        if record.is_active:
            return paging_now(started.paged, started.step, started.steps, record.round)
        return f"Paged {recipients_text(started.paged)}{of}."
    if started.failed:
        then = "the next step follows at once" if record.is_active else "no step is left"
        return f"Slack did not deliver the page to {recipients_text(started.failed)}{of}; {then}."
    if record.is_active:
        return "The first page is on its way."
    if record.status is EscalationStatus.EXHAUSTED:
        return "Nobody was paged: no one is on call for any step of the policy."
    return ""


def paging_now(paged: Sequence[Recipient], step: int, steps: int, round_: int = 0) -> str:
    """ "Paging @ben now (step 1 of 3)." — ", repeat 1" once the policy goes round again."""
    of = f"step {step} of {steps}" if step and steps else ""
    if of and round_:
        of += f", repeat {round_}"
    return f"Paging {recipients_text(paged)} now" + (f" ({of})." if of else ".")


def settled_notice(
    first_line: str, record: EscalationRecord, pages: Sequence[PageRecord], now: datetime
) -> tuple[str, list[Block]]:
    """The channel's "@ana escalated … Paging @ben now" once the escalation ended: who was
    paged, then how it ended ("Acknowledged by @ben 3 minutes after the page")."""
    paged: dict[str, Recipient] = {}
    for page in pages:
        kind, _, ref = page.target.partition(":")
        paged.setdefault(
            page.target,
            Recipient(kind="channel" if kind == "channel" else "user", id=ref, target=page.target),
        )
    head = first_line
    if paged:
        head += f" Paged {recipients_text(list(paged.values()))}."
    outcome = outcome_text(record, now, pages)
    blocks: list[Block] = [
        SectionBlock(text=md(head[: limits.SECTION_TEXT])),
        ContextBlock(block_id="escalation-outcome", elements=[md(outcome)]),
    ]
    return f"{head} {outcome}", blocks
