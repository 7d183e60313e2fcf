"""A page of conversations as one chat message: a line per conversation and paging buttons.

Rows are compact sections (one block each) rather than full cards, so a 50-row page still fits
Slack's 50-block message limit nearly whole (and its text budget, unless topics are long);
"View" draws the full card with its buttons. The Home tab draws its rows with `conversation_row`
too.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, SectionBlock

from bot.models import Conversation, ResultPage
from bot.slack.blocks import buttons, limits
from bot.slack.blocks.card import (
    PRIORITY_EMOJI,
    CardContext,
    agent_label,
    card_value,
    label,
    queue_label,
)
from bot.slack.blocks.mrkdwn import md, slack_date, user_text
from bot.slack.blocks.refs import PageRef

ROW_TOPIC_MAX = 200
COMMAND_SHOWN_MAX = 500
MORE_LINE_RESERVE = 100  # the "…and N more on this page" line's text


def conversation_list(
    page: ResultPage[Conversation], command_text: str, context: CardContext, headline: str
) -> list[Block]:
    """The headline, as many rows as fit in one message, then Previous/Next page."""
    if page.totalItems == 0:
        return [SectionBlock(text=md(_nothing_matches(command_text)))]
    blocks: list[Block] = [SectionBlock(text=md(user_text(headline, limits.SECTION_TEXT)))]
    paging = _paging(page, command_text)
    room = limits.MESSAGE_BLOCKS - len(blocks) - len(paging)
    rows = [conversation_row(conversation, context) for conversation in page.items]
    fit = rows if len(rows) <= room else rows[: room - 1]
    text_left = limits.MESSAGE_TEXT_BUDGET - MORE_LINE_RESERVE
    text_left -= sum(limits.text_length(block) for block in [*blocks, *paging])
    for row in fit:
        text_left -= limits.text_length(row)
        if text_left < 0:
            break
        blocks.append(row)
    hidden = len(rows) - (len(blocks) - 1)
    if hidden:
        more = f"…and {hidden} more on this page — narrow the filter or use `limit:`."
        blocks.append(ContextBlock(elements=[md(more)]))
    blocks.extend(paging)
    return blocks


def _nothing_matches(command_text: str) -> str:
    command = user_text(command_text, COMMAND_SHOWN_MAX, empty="")
    shown = f" `{command}`" if command else ""
    return f":mag: No conversations match{shown}. Try fewer filters or another `status:`."


def conversation_row(
    conversation: Conversation, context: CardContext, *, view_button: bool = True
) -> SectionBlock:
    """The priority and topic, then status, queue, agent, age and id on one line; with a "View"
    button (it answers beside the message it was pressed in, so the Home tab, which has none,
    leaves it out and draws the card's own buttons instead)."""
    topic = user_text(conversation.topic, ROW_TOPIC_MAX, empty="(no topic)")
    facts = " · ".join(
        [
            label(conversation.status.value),
            queue_label(conversation.queueId, context),
            agent_label(conversation.agentId, context),
            f"opened {slack_date(conversation.createdAt)}",
            f"`{user_text(conversation.id, 255)}`",
        ]
    )
    text = f"{PRIORITY_EMOJI[conversation.priority]} *{topic}*\n{facts}"
    value = card_value(conversation)
    accessory = None
    if value is not None and view_button:
        # Not "Open": that is also a status, and the row says it right beside the button.
        accessory = buttons.SHOW.draw(value)
    return SectionBlock(text=md(text), accessory=accessory)


def _paging(page: ResultPage[Conversation], command_text: str) -> list[Block]:
    """Previous/Next buttons; each carries the command and the 1-based page it leads to."""
    targets: list[tuple[buttons.Button, int]] = []
    if page.page > 0:
        # Past the end (page 9 of 3), "Previous" leads to the last page that has rows.
        targets.append((buttons.PAGE_PREVIOUS, min(page.page, page.pages)))
    if (page.page + 1) * page.limit < page.totalItems:
        targets.append((buttons.PAGE_NEXT, page.page + 2))
    drawn = [
        button.draw(value)
        for button, target in targets
        if len(value := PageRef(q=command_text, p=target).encode()) <= limits.BUTTON_VALUE
    ]
    if drawn:
        return [ActionsBlock(elements=drawn)]
    if targets:  # a command too long to carry in a button: say how to page by hand
        return [ContextBlock(elements=[md("More pages: add `page:N` to the command.")])]
    return []
