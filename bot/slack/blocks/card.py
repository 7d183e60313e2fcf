"""The conversation card: one conversation, its facts, and the buttons that act on it.

Listings, the Home tab and command replies all draw a conversation with these blocks, so one
set of listeners handles every button wherever it was pressed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    Option,
    SectionBlock,
    StaticSelectElement,
    TextObject,
)

from bot.field_rules import CONVERSATION_ID
from bot.models import Conversation, Priority, Status
from bot.slack.blocks import buttons, limits
from bot.slack.blocks.mrkdwn import (
    NOTHING,
    clip,
    escape,
    md,
    mention,
    plain,
    slack_date,
    user_text,
)
from bot.slack.blocks.refs import CARD_BLOCK_PREFIX, TALK_BLOCK_PREFIX, CardRef

PRIORITY_EMOJI: Mapping[Priority, str] = {
    Priority.URGENT: ":rotating_light:",
    Priority.HIGH: ":large_orange_circle:",
    Priority.NORMAL: ":large_blue_circle:",
    Priority.LOW: ":white_circle:",
}
NAME_MAX = 100  # queue and agent names inside a field or a list row
ID_MAX = 255
# A conversation whose channel the backend did not say (Infobip's conversations carry none).
NOT_REPORTED = "Not reported"


@dataclass(frozen=True)
class CardContext:
    """Who is looking and how ids read as names; the same for every card in one message."""

    viewer_agent_id: str | None = None
    queue_names: Mapping[str, str] = field(default_factory=dict)  # queue id → name
    agent_users: Mapping[str, str] = field(default_factory=dict)  # agent id → Slack user id
    agent_names: Mapping[str, str] = field(default_factory=dict)  # agent id → display name
    escalation_enabled: bool = False
    snoozed: Mapping[str, datetime] = field(default_factory=dict)  # conversation id → until
    # Conversation id → the permalink of its thread in the channel the card is drawn in.
    thread_links: Mapping[str, str] = field(default_factory=dict)


# Names that sentence case would spell wrong ("Sms", "Whatsapp").
_SPELLED = {
    "SMS": "SMS",
    "RCS": "RCS",
    "LINE": "LINE",
    "WHATSAPP": "WhatsApp",
    "WHATSAPP_CALLS": "WhatsApp calls",
    "TIKTOK": "TikTok",
    "TWITTER_DM": "Twitter DM",
}


def label(value: str) -> str:
    """`NO_CHANNEL` → `No channel`: enum values as people write them."""
    return _SPELLED.get(value) or value.replace("_", " ").capitalize()


def card_value(conversation: Conversation) -> str | None:
    """The CardRef a card's buttons carry, or None when it cannot fit in a button value or its
    id is not one a press may carry (CONVERSATION_ID in bot/field_rules.py: such a press is
    refused)."""
    if not CONVERSATION_ID.fullmatch(conversation.id):
        return None
    value = CardRef(id=conversation.id, v=conversation.updatedAt).encode()
    return value if len(value) <= limits.BUTTON_VALUE else None


def card_block_id(conversation: Conversation) -> str | None:
    """The actions block_id carrying the CardRef (None if over 255: JSON cannot be cut).

    It changes with `updatedAt`, which Slack asks for: a redrawn message needs new block_ids,
    or a select keeps showing the old choice.
    """
    value = card_value(conversation)
    if value is None or len(CARD_BLOCK_PREFIX) + len(value) > limits.BLOCK_ID:
        return None
    return CARD_BLOCK_PREFIX + value


def queue_label(queue_id: str | None, context: CardContext) -> str:
    """The queue's name, else its id, else `—`; escaped mrkdwn."""
    if queue_id is None:
        return NOTHING
    return user_text(context.queue_names.get(queue_id) or queue_id, NAME_MAX)


def agent_label(agent_id: str | None, context: CardContext) -> str:
    """A mention when the agent is linked to a Slack user (it notifies them), else their name."""
    if agent_id is None:
        return "unassigned"
    user_id = context.agent_users.get(agent_id)
    if user_id:
        return mention(user_id)
    return user_text(context.agent_names.get(agent_id) or agent_id, NAME_MAX)


def tags_label(tags: list[str] | None, limit: int) -> str:
    if tags is None:  # list answers carry no tags; "—" would wrongly say there are none
        return "_not loaded_"
    return clip(" ".join(f"#{escape(tag)}" for tag in tags), limit) or NOTHING


def card_text(conversation: Conversation) -> str:
    """One line for notifications and the message `text` fallback: `HIGH · Topic (OPEN)`."""
    fallback = clip(escape(conversation.id), ID_MAX)
    topic = user_text(conversation.topic, limits.HEADER_TEXT, empty=fallback)
    return f"{conversation.priority.value} · {topic} ({conversation.status.value})"


def conversation_card(
    conversation: Conversation,
    context: CardContext,
    *,
    note: str | None = None,
    snoozed_until: datetime | None = None,
    buttons: bool = True,
    done: str | None = None,
    slack_message: str | None = None,
) -> list[Block]:
    """Header, summary, facts, dates, optional note and snooze, then (unless `buttons` is
    False, for a message that brings buttons of its own) the card's buttons.

    `done`: who did what to it, a mrkdwn line (`done_line`) drawn under the dates.
    `slack_message`: the permalink of the Slack message it came from (its metadata), linked
    as "From a Slack message"; given only where one conversation is drawn, as reading it
    costs a request.

    The snooze shown is `snoozed_until`, else the context's snooze of this conversation.
    """
    if snoozed_until is None and not conversation.is_closed:
        snoozed_until = context.snoozed.get(conversation.id)
    blocks: list[Block] = [HeaderBlock(text=plain(_topic(conversation), limits.HEADER_TEXT))]
    if conversation.summary and conversation.summary.strip():
        blocks.append(SectionBlock(text=md(user_text(conversation.summary, limits.SECTION_TEXT))))
    blocks.append(SectionBlock(fields=_fields(conversation, context)))
    blocks.append(ContextBlock(elements=[md(_dates(conversation))]))
    if slack_message and _SLACK_PERMALINK.fullmatch(slack_message):
        link = f":speech_balloon: <{slack_message}|From a Slack message>"
        blocks.append(ContextBlock(elements=[md(link)]))
    thread = thread_line(context.thread_links.get(conversation.id))
    if thread is not None:
        blocks.append(ContextBlock(elements=[md(thread)]))
    if done:
        blocks.append(ContextBlock(elements=[md(clip(done, limits.FIELD_TEXT))]))
    if note:
        text = ":information_source: " + user_text(note, limits.FIELD_TEXT)
        blocks.append(ContextBlock(elements=[md(text)]))
    if snoozed_until is not None:
        blocks.append(
            ContextBlock(elements=[md(f":zzz: Snoozed until {slack_date(snoozed_until)}")])
        )
    actions = card_actions(conversation, context) if buttons else None
    if actions is not None:
        blocks.append(actions)
    talking = talk_actions(conversation) if buttons else None
    if talking is not None:
        blocks.append(talking)
    return blocks


# A Slack message's permalink (chat.getPermalink's shape: the workspace's slack.com host, then
# /archives/), with nothing that could close `<url|label>` early or add a label. A labelled
# link is drawn only for one: "From a Slack message" must not lead anywhere else (the
# conversation's metadata, where that link is kept, can be written by other tools too).
_SLACK_PERMALINK = re.compile(
    r"https://[A-Za-z0-9-]+(?:\.enterprise)?\.slack\.com/archives/[^\s<>|]{1,900}"
)


def thread_line(permalink: str | None) -> str | None:
    """The card's link to its thread in this channel, when it has one."""
    if permalink is None or not _SLACK_PERMALINK.fullmatch(permalink):
        return None
    return f":thread: <{escape(permalink)}|Open the conversation's thread>"


def talk_actions(conversation: Conversation) -> ActionsBlock | None:
    """The buttons that talk with the customer or about the conversation (Reply, Note,
    Thread), in a second actions block whose
    block_id is shaped like the first's (`talk|` and the CardRef); none once it is closed, as
    the first's (its thread, if any, stays readable)."""
    value = card_value(conversation)
    if conversation.status is Status.CLOSED or value is None:
        return None
    block_id = TALK_BLOCK_PREFIX + value
    return ActionsBlock(
        block_id=block_id if len(block_id) <= limits.BLOCK_ID else None,
        elements=[
            buttons.REPLY.draw(value, style="primary"),
            buttons.NOTE.draw(value),
            buttons.THREAD.draw(value),
        ],
    )


def _topic(conversation: Conversation) -> str:
    return (conversation.topic or "").strip() or "(no topic)"


def _fields(conversation: Conversation, context: CardContext) -> list[TextObject]:
    priority = conversation.priority
    facts = [
        ("Status", label(conversation.status.value)),
        ("Priority", f"{PRIORITY_EMOJI[priority]} {label(priority.value)}"),
        ("Queue", queue_label(conversation.queueId, context)),
        ("Agent", agent_label(conversation.agentId, context)),
        ("Channel", label(conversation.channel.value) if conversation.channel else NOT_REPORTED),
        ("Tags", tags_label(conversation.tags, limits.FIELD_TEXT - len("*Tags*\n"))),
    ]
    return [md(f"*{name}*\n{value}") for name, value in facts]


def _dates(conversation: Conversation) -> str:
    parts = [
        f"Created {slack_date(conversation.createdAt)}",
        f"updated {slack_date(conversation.updatedAt)}",
    ]
    if conversation.closedAt is not None:
        parts.append(f"closed {slack_date(conversation.closedAt)}")
    parts.append(f"`{user_text(conversation.id, ID_MAX)}`")
    return " · ".join(parts)


def card_actions(conversation: Conversation, context: CardContext) -> ActionsBlock | None:
    """The buttons a conversation in this state offers; none once it is closed."""
    value = card_value(conversation)
    if conversation.status is Status.CLOSED or value is None:
        return None
    elements: list[InteractiveElement] = []
    # Unlinked viewers (None) still see Take: anyone in the channel may press it.
    if context.viewer_agent_id is None or conversation.agentId != context.viewer_agent_id:
        confirm = None
        if conversation.agentId is not None:
            confirm = take_confirm(conversation.agentId, context)
        elements.append(buttons.TAKE.draw(value, confirm=confirm))
    elements.append(buttons.ROUTE.draw(value))
    elements.append(close_button(conversation, value))
    if context.escalation_enabled:
        elements.append(buttons.ESCALATE.draw(value))
    block_id = card_block_id(conversation)
    if block_id is not None:  # without the block_id the select could not say which card
        elements.append(priority_select(conversation.priority))
    elements.append(buttons.EDIT.draw(value))
    return ActionsBlock(block_id=block_id, elements=elements)


def take_confirm(agent_id: str, context: CardContext) -> ConfirmObject:
    """Taking a conversation someone has takes it from them: they are named and asked about.
    (A dialog is plain text: the name, not a mention, which could not notify anyone there.)"""
    name = context.agent_names.get(agent_id) or agent_id
    question = " has it. Take it from them?"
    return ConfirmObject(
        title=plain("Take this conversation?", 100),
        text=plain(clip(name, limits.CONFIRM_TEXT - len(question)) + question, limits.CONFIRM_TEXT),
        confirm=plain("Take it", 30),
        deny=plain("Leave it", 30),
    )


def actor_label(actor_id: str) -> str:
    """Who did something, as mrkdwn: a mention for a Slack user, else the CLI user or bot."""
    if actor_id.startswith("cli:"):
        return escape(actor_id.removeprefix("cli:")[:80]) + " (CLI)"
    return mention(actor_id[:80])


def ago_words(then: datetime, now: datetime) -> str:
    """ "just now", "2 minutes ago", "3 hours ago", "4 days ago": a moment as a person says it."""
    seconds = max(0, int((now - then).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def done_line(what: str, actor_id: str, at: datetime, now: datetime) -> str:
    """ "Taken by @ana just now": who did what, in words for the moment the card is drawn, and
    when in Slack's date token for whoever reads it later (a card stays in the channel)."""
    return f"{what} by {actor_label(actor_id)} {ago_words(at, now)} · {slack_date(at)}"


def close_button(
    conversation: Conversation, value: str, *, button: buttons.Button = buttons.CLOSE
) -> ButtonElement:
    # Closing cannot be undone (Infobip refuses every change afterwards), hence the dialog.
    warning = " will be closed. A closed conversation cannot be changed or reopened."
    topic = clip(f"“{_topic(conversation)}”", limits.CONFIRM_TEXT - len(warning))
    confirm = ConfirmObject(
        title=plain("Close this conversation?", 100),
        text=plain(topic + warning, limits.CONFIRM_TEXT),
        confirm=plain("Close it", 30),
        deny=plain("Keep it open", 30),
        style="danger",
    )
    return button.draw(value, confirm=confirm)


def priority_option(priority: Priority) -> Option:
    return Option(
        value=priority.value,
        text=plain(f"{PRIORITY_EMOJI[priority]} {label(priority.value)}", limits.OPTION_TEXT),
    )


def priority_select(
    current: Priority, *, action_id: str = buttons.PRIORITY.id
) -> StaticSelectElement:
    """URGENT…LOW, the current one selected; also used by the modals (with their action id)."""
    options = [priority_option(priority) for priority in Priority]
    return StaticSelectElement(
        action_id=action_id,
        placeholder=plain("Priority", limits.OPTION_TEXT),
        options=options,
        initial_option=options[list(Priority).index(current)],
    )
