"""The App Home tab: the viewer's on-call status, what is assigned to them and what urgently
needs someone.

Each conversation is one line (a list row) with the card's buttons under it, so the tab can be
taken in at a glance and the buttons work here exactly as in messages; each section's title
counts everything that belongs in it, not only the rows drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.models import Conversation, ResultPage
from bot.slack.blocks import buttons, limits
from bot.slack.blocks.card import CardContext, card_actions
from bot.slack.blocks.listing import conversation_row
from bot.slack.blocks.mrkdwn import md, mention, plain, slack_date, user_text

NOT_LINKED = (
    "Your Slack account is not linked to a Conversations agent, so nothing can be assigned to"
    " you here. Ask whoever runs convbot to add your Slack member ID under `agents:` in"
    " `convbot.yml`, e.g. `U0123ABCD: agent-ana` (Slack profile → ⋮ → Copy member ID)."
)
NOT_ON_CALL = "You are not on call."
NAME_MAX = 100  # schedule names are at most 64 characters; clipped all the same


@dataclass(frozen=True)
class OnCallShift:
    """A schedule and an instant: when the viewer's shift ends, or when their next one starts.

    `at` is None for a shift with no handoff within the rota's look-ahead.
    """

    schedule: str
    at: datetime | None


@dataclass(frozen=True)
class OnCallStatus:
    """What the Home tab says about on-call, worked out for one viewer at one moment."""

    on_call: Sequence[OnCallShift]  # the schedules the viewer is on call for now
    next_shift: OnCallShift | None  # otherwise their earliest coming shift, if soon
    others: Sequence[tuple[str, str | None]]  # (schedule, who is on call now) for the rest
    escalations: int | None  # active escalations; None when they could not be read


def home_view(
    assigned: ResultPage[Conversation] | None,
    unassigned: ResultPage[Conversation] | None,
    context: CardContext,
    *,
    linked: bool,
    problem: str | None = None,
    notice: str | None = None,
    oncall: OnCallStatus | None = None,
) -> View:
    """Header and Refresh, "On call" (when `oncall` is given), then "Assigned to you" and
    "Unassigned, high priority" (≤ 100 blocks).

    `problem` (the backend is down…) replaces both lists; `notice` (what became of a button
    pressed here) is drawn above them. A page of None draws as "not loaded".
    """
    refresh = buttons.HOME_REFRESH.draw("refresh")
    blocks: list[Block] = [
        HeaderBlock(text=plain("Conversations", limits.HEADER_TEXT)),
        ActionsBlock(elements=[refresh]),
    ]
    if notice is not None:
        blocks.append(ContextBlock(elements=[md(user_text(notice, limits.SECTION_TEXT))]))
    if oncall is not None:
        blocks.extend(oncall_blocks(oncall))
    if problem is not None:
        warning = ":warning: " + user_text(problem, limits.SECTION_TEXT - 20)
        blocks.append(SectionBlock(text=md(warning)))
        return View(type="home", blocks=blocks)
    budget = limits.VIEW_BLOCKS - len(blocks)
    # Half the room for each list while both have rows; whatever one leaves, the other may use.
    share = budget // 2 if unassigned is not None and unassigned.items else budget - 3
    seen: set[str] = set()  # a conversation drawn twice would repeat its block_id
    if linked:
        mine = _group("Assigned to you", assigned, context, share, seen, "/conv list agent:me")
    else:
        mine = [DividerBlock(), SectionBlock(text=md(f"*Assigned to you*\n{NOT_LINKED}"))]
    blocks.extend(mine)
    blocks.extend(
        _group(
            "Unassigned, high priority",
            unassigned,
            context,
            budget - len(mine),
            seen,
            "/conv list agent:none priority:high,urgent",
        )
    )
    return View(type="home", blocks=blocks)


def oncall_blocks(status: OnCallStatus) -> list[Block]:
    """A divider, "*On call*" with the viewer's shifts, who has the other schedules now, and
    how many escalations are running: at most four blocks, each within its text limit."""
    mine = [
        f":pager: You are on call for *{_name(shift.schedule)}* "
        + (f"until {slack_date(shift.at)}" if shift.at else "with no handoff in sight")
        for shift in status.on_call
    ]
    if not mine:
        upcoming = status.next_shift
        if upcoming is not None and upcoming.at is not None:
            when = slack_date(upcoming.at)
            mine = [f"Your next on-call shift: *{_name(upcoming.schedule)}* from {when}"]
        else:
            mine = [NOT_ON_CALL]
    blocks: list[Block] = [
        DividerBlock(),
        SectionBlock(text=md(_lines(["*On call*", *mine], limits.SECTION_TEXT))),
    ]
    others = [
        f"{_name(schedule)}: {mention(user) if user else 'nobody'} now"
        for schedule, user in status.others
    ]
    if others:
        blocks.append(_note(_lines(others, limits.SECTION_TEXT)))
    count = status.escalations or 0
    if count > 0:
        running = "1 escalation is" if count == 1 else f"{count} escalations are"
        blocks.append(_note(f":rotating_light: {running} running — `/conv escalations`"))
    return blocks


def _name(schedule: str) -> str:
    return user_text(schedule, NAME_MAX)


def _lines(lines: Sequence[str], limit: int) -> str:
    """Whole lines while they fit in `limit`, then "…and N more — `/conv oncall`".

    Lines hold mention and date tokens, which a cut through the middle would break.
    """
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        more = f"…and {rest} more — `/conv oncall`" if rest else ""
        if size + len(line) + 1 + len(more) + 1 > limit:
            kept.append(f"…and {len(lines) - index} more — `/conv oncall`")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _group(
    title: str,
    page: ResultPage[Conversation] | None,
    context: CardContext,
    budget: int,
    seen: set[str],
    more_command: str,
) -> list[Block]:
    """A divider, the title with the page's total, as many rows as fit in `budget` blocks (a
    row and its buttons are two), then "…and N more"."""
    counted = title if page is None else f"{title} ({page.totalItems})"
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=md(f"*{counted}*"))]
    if page is None:
        return [*blocks, _note("Not loaded.")]
    if page.totalItems == 0:
        return [*blocks, _note("Nothing here. :tada:")]
    shown = skipped = 0
    for conversation in page.items:
        if conversation.id in seen:
            skipped += 1
            continue
        row = _row(conversation, context)
        if len(blocks) + len(row) + 1 > budget:  # + 1 keeps room for the "…and N more" line
            break
        blocks.extend(row)
        seen.add(conversation.id)
        shown += 1
    hidden = page.totalItems - shown - skipped
    if hidden > 0:
        blocks.append(_note(f"…and {hidden} more — `{more_command}`"))
    return blocks


def _row(conversation: Conversation, context: CardContext) -> list[Block]:
    """The conversation's list row, without "View" (it answers beside a message, and the Home
    tab is none), and the card's buttons (none once it is closed)."""
    buttons = card_actions(conversation, context)
    row = conversation_row(conversation, context, view_button=False)
    return [row] if buttons is None else [row, buttons]


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])
