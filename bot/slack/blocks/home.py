"""The App Home tab: what is assigned to the viewer and what urgently needs someone.

Conversations are drawn as full cards, so the card buttons work here exactly as in messages.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.models import Conversation, Page
from bot.slack.blocks import ids, limits
from bot.slack.blocks.card import CardContext, conversation_card
from bot.slack.blocks.mrkdwn import md, plain, user_text

NOT_LINKED = (
    "Your Slack account is not linked to a Conversations agent, so nothing can be assigned to"
    " you here. Ask whoever runs convbot to add your Slack member ID under `agents:` in"
    " `convbot.yml`, e.g. `U0123ABCD: agent-ana` (Slack profile → ⋮ → Copy member ID)."
)


def home_view(
    assigned: Page[Conversation] | None,
    unassigned: Page[Conversation] | None,
    context: CardContext,
    *,
    linked: bool,
    problem: str | None = None,
    notice: str | None = None,
) -> View:
    """Header and Refresh, then "Assigned to you" and "Unassigned, high priority" (≤ 100 blocks).

    `problem` (the backend is down…) replaces both lists; `notice` (what became of a button
    pressed here) is drawn above them. A page of None draws as "not loaded".
    """
    refresh = ButtonElement(
        text=plain(":arrows_counterclockwise: Refresh", limits.BUTTON_TEXT),
        action_id=ids.HOME_REFRESH,
        value="refresh",
    )
    blocks: list[Block] = [
        HeaderBlock(text=plain("Conversations", limits.HEADER_TEXT)),
        ActionsBlock(elements=[refresh]),
    ]
    if notice is not None:
        blocks.append(ContextBlock(elements=[md(user_text(notice, limits.SECTION_TEXT))]))
    if problem is not None:
        warning = ":warning: " + user_text(problem, limits.SECTION_TEXT - 20)
        blocks.append(SectionBlock(text=md(warning)))
        return View(type="home", blocks=blocks)
    budget = limits.VIEW_BLOCKS - len(blocks)
    # Half the room for each list while both have rows; whatever one leaves, the other may use.
    share = budget // 2 if unassigned is not None and unassigned.items else budget - 3
    seen: set[str] = set()  # a conversation drawn twice would repeat its block_id
    if linked:
        mine = _group("*Assigned to you*", assigned, context, share, seen, "/conv list agent:me")
    else:
        mine = [DividerBlock(), SectionBlock(text=md(f"*Assigned to you*\n{NOT_LINKED}"))]
    blocks.extend(mine)
    blocks.extend(
        _group(
            "*Unassigned, high priority*",
            unassigned,
            context,
            budget - len(mine),
            seen,
            "/conv list agent:none priority:high,urgent",
        )
    )
    return View(type="home", blocks=blocks)


def _group(
    title: str,
    page: Page[Conversation] | None,
    context: CardContext,
    budget: int,
    seen: set[str],
    more_command: str,
) -> list[Block]:
    """A divider, the title, as many cards as fit in `budget` blocks, then "…and N more"."""
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=md(title))]
    if page is None:
        return [*blocks, _note("Not loaded.")]
    if page.totalItems == 0:
        return [*blocks, _note("Nothing here. :tada:")]
    shown = skipped = 0
    for conversation in page.items:
        if conversation.id in seen:
            skipped += 1
            continue
        card = conversation_card(conversation, context)
        if len(blocks) + len(card) + 1 > budget:  # + 1 keeps room for the "…and N more" line
            break
        blocks.extend(card)
        seen.add(conversation.id)
        shown += 1
    hidden = page.totalItems - shown - skipped
    if hidden > 0:
        blocks.append(_note(f"…and {hidden} more — `{more_command}`"))
    return blocks


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])
