"""Replies to commands and button presses: an error line, or whatever a command produced."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, SectionBlock

from bot.commands.result import CommandResult
from bot.errors import ConvbotError
from bot.service.permissions import NotAllowed
from bot.slack.blocks import limits
from bot.slack.blocks.card import CardContext, card_text, conversation_card
from bot.slack.blocks.listing import conversation_list
from bot.slack.blocks.mrkdwn import Mrkdwn, clip, escape, md, mention, subteam_mention, user_text
from bot.slack.blocks.transcript import Authors, transcript_answer

UNEXPECTED = (
    "Something went wrong on our side (it is logged); check with `/conv list` before trying again."
)


def sentence_for(error: BaseException) -> str:
    """What the person sees: our own sentence for our errors, never a trace; whom a refusal
    says to ask, as mentions (a person reading it in Slack can then reach them)."""
    if isinstance(error, NotAllowed):
        return error.sentence(mention, subteam_mention)
    return str(error) if isinstance(error, ConvbotError) else UNEXPECTED


def error_mrkdwn(error: BaseException) -> Mrkdwn:
    """The sentence as mrkdwn: escaped (it may quote what was typed), with the people a refusal
    says to ask mentioned for real."""
    if isinstance(error, NotAllowed):
        return Mrkdwn(error.sentence(mention, subteam_mention))
    return Mrkdwn(escape(sentence_for(error)))


def error_reply(error: BaseException) -> tuple[str, list[Block]]:
    """`(text, blocks)` telling of a failure; `text` is mrkdwn too (notifications parse it)."""
    text = error_mrkdwn(error)
    return text, error_blocks(text)


def error_blocks(message: str) -> list[Block]:
    """A short `:warning:` line; `message` is escaped like any text unless it is `Mrkdwn`."""
    return [SectionBlock(text=md(":warning: " + user_text(message, limits.SECTION_TEXT - 20)))]


def result_blocks(
    result: CommandResult,
    context: CardContext,
    command_text: str,
    *,
    slack_message: str | None = None,
) -> tuple[str, list[Block]]:
    """`(text, blocks)` for an executor result; `text` is the notification/fallback line.

    `command_text` is what was typed after `/conv`: the list's paging buttons replay it.
    `slack_message`: the link to the Slack message the one conversation drawn came from.
    """
    headline = user_text(result.headline, limits.SECTION_TEXT, empty="Done.")
    if result.kind in ("help", "text"):
        return headline, help_blocks(result.text or result.headline)
    if result.kind == "transcript" and result.messages is not None and result.notes is not None:
        authors = Authors(agent_users=context.agent_users, agent_names=context.agent_names)
        return headline, transcript_answer(result.headline, result.messages, result.notes, authors)
    if result.kind == "page" and result.page is not None:
        return headline, conversation_list(result.page, command_text, context, result.headline)
    if result.kind == "conversation" and result.conversation is not None:
        text = f"{headline} {card_text(result.conversation)}"
        card = conversation_card(result.conversation, context, slack_message=slack_message)
        return text, [ContextBlock(elements=[md(headline)]), *card]
    return headline, [SectionBlock(text=md(headline))]


def help_blocks(text: str) -> list[Block]:
    """Help as mrkdwn sections: escaped (`<topic words>` must not parse) with `code` kept.

    Split at line ends so no section passes 3000 characters or the message 50 blocks.
    """
    sections: list[str] = []
    for line in escape(text).splitlines():
        line = clip(line, limits.SECTION_TEXT)
        if sections and len(sections[-1]) + 1 + len(line) <= limits.SECTION_TEXT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return [SectionBlock(text=md(s)) for s in sections[: limits.MESSAGE_BLOCKS] if s.strip()] or [
        SectionBlock(text=md("No help text."))
    ]
