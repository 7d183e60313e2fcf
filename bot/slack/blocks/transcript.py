"""A conversation's transcript in a Slack thread (issue 18): each message drawn by who wrote it,
notes drawn apart, attachments as links, times in each reader's own zone.

What a customer wrote is the least trusted text convbot draws: it is escaped (no `<!channel>`,
no `<https://evil|bank.com>` that shows one address and opens another) and cut to Block Kit's
limits. Links convbot draws itself (attachments) show their real address as their text, so a
link never says it goes somewhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    SectionBlock,
)

from bot.messages import AuthorType, Direction, LocationContent, Message, Note
from bot.models import ResultPage
from bot.slack.blocks import buttons, limits
from bot.slack.blocks.mrkdwn import Mrkdwn, clip, escape, md, mention, slack_date, user_text
from bot.slack.blocks.refs import OLDER_ID_MAX, OLDER_SHOWN_MAX, CardRef, OlderRef
from bot.threads_config import ThreadReplies

# A message's text in its section: room left under SECTION_TEXT for the author line and links.
BODY_MAX = 2_400
LINK_MAX = 400  # an attachment address drawn as a link; longer ones are shown as text
NAME_MAX = 80
LIVE_BATCH = 10  # new messages in one live post at most
# Messages in one transcript post at most: one poll of the thread (the mirror's PER_THREAD)
# returns them all, so a post whose answer never came is found by its record among them.
POST_MESSAGES_MAX = 20
# What a link may be: http(s), and none of the characters that end or split Slack's `<…|…>`.
_LINKABLE = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)


@dataclass(frozen=True)
class Authors:
    """How agents are named: agent id → Slack user (a mention) or display name."""

    agent_users: Mapping[str, str] = field(default_factory=dict)
    agent_names: Mapping[str, str] = field(default_factory=dict)

    def agent(self, agent_id: str | None) -> str:
        if agent_id is None:
            return "an agent"
        user = self.agent_users.get(agent_id)
        if user:
            return mention(user)
        return user_text(self.agent_names.get(agent_id) or agent_id, NAME_MAX)


@dataclass(frozen=True)
class Post:
    """One Slack message of a transcript: its notification text and its blocks."""

    text: str
    blocks: list[Block]
    holds: tuple[str, ...] = ()  # the ids of the messages drawn in it, oldest first


def author_line(message: Message, authors: Authors) -> str:
    """`:bust_in_silhouette: *Customer* (+385…) · <date>`: who wrote it, and when."""
    kind = message.authorType
    if kind is None:  # Infobip leaves it out on some channels: the direction says enough
        kind = AuthorType.CUSTOMER if message.direction is Direction.INBOUND else AuthorType.AGENT
    if kind is AuthorType.CUSTOMER:
        who = ":bust_in_silhouette: *Customer*"
        if message.from_:
            who += f" ({user_text(message.from_, NAME_MAX)})"
    elif kind is AuthorType.AGENT:
        who = f":headphones: *Agent* {authors.agent(message.authorId)}"
    elif kind is AuthorType.BOT:
        who = ":robot_face: *Bot*"
    else:
        who = ":gear: *System*"
    return f"{who} · {slack_date(message.createdAt)}"


def link(url: str) -> str:
    """An address as a link that shows itself; anything unlinkable as escaped text."""
    address = url.strip()
    if len(address) <= LINK_MAX and _LINKABLE.fullmatch(address):
        return f"<{escape(address)}>"
    return escape(clip(address, LINK_MAX))


def message_body(message: Message) -> str:
    """The message's text (escaped, cut), its attachment links, or what kind it is."""
    parts: list[str] = []
    if message.text and message.text.strip():
        parts.append(user_text(message.text, BODY_MAX))
    for address in message.links:
        parts.append(f":paperclip: {escape(message.contentType.lower())}: {link(address)}")
    if isinstance(message.content, LocationContent):
        place = message.content.locationName or message.content.address or ""
        where = f"{message.content.latitude:.5f}, {message.content.longitude:.5f}"
        parts.append(f":round_pushpin: {user_text(place, NAME_MAX, empty='')} {where}".strip())
    if not parts:
        parts.append(f"_(a {escape(clip(message.contentType, 40))} message)_")
    return "\n".join(parts)


def message_block(message: Message, authors: Authors) -> SectionBlock:
    text = f"{author_line(message, authors)}\n{message_body(message)}"
    return SectionBlock(text=md(clip(text, limits.SECTION_TEXT)))


def note_block(note: Note, authors: Authors) -> SectionBlock:
    """A note, drawn so it can never be taken for a message: a lock and "internal note"."""
    head = f":lock: *Internal note* by {authors.agent(note.agentId)} · {slack_date(note.createdAt)}"
    lines = [user_text(note.text, BODY_MAX)]
    lines += [f":paperclip: {link(address)}" for address in note.links]
    return SectionBlock(text=md(clip(head + "\n" + "\n".join(lines), limits.SECTION_TEXT)))


def older_button(
    conversation_id: str,
    page: ResultPage[Message],
    root_ts: str,
    pressed: OlderRef | None = None,
) -> ActionsBlock:
    """ "Older messages": the page before the oldest one shown, to whoever presses it
    (`pressed`: the button that showed this page, when it was one)."""
    return ActionsBlock(elements=[_older(conversation_id, page, root_ts, pressed)])


def _older(
    conversation_id: str,
    page: ResultPage[Message],
    root_ts: str,
    pressed: OlderRef | None = None,
) -> ButtonElement:
    """The button, carrying the oldest instant shown and the ids shown at it; a page all of
    that instant adds its ids to those the pressed button carried. Past OLDER_SHOWN_MAX ids
    the rest of that instant is skipped: the next page always moves on."""
    oldest = page.items[0].createdAt if page.items else None
    shown = [m.id for m in page.items if oldest is not None and m.createdAt == oldest]
    if pressed is not None and pressed.b == oldest and pressed.s:
        shown = [*pressed.s, *shown]
    kept = tuple(i for i in shown if len(i) <= OLDER_ID_MAX)
    carried = kept if len(kept) == len(shown) and len(kept) <= OLDER_SHOWN_MAX else None
    ref = OlderRef(id=conversation_id, b=oldest, s=carried or None, t=root_ts)
    return buttons.OLDER.draw(ref.encode())


# What a person's message in the thread becomes, said where they write it (threads_config.py):
# a customer must never receive something an agent meant for colleagues unawares.
REPLIES_LINE: dict[ThreadReplies, str] = {
    "customer": ":incoming_envelope: *What you write in this thread is sent to the customer*,"
    " in your agent's name. Use Note for colleagues.",
    "note": ":lock: What you write in this thread is saved as an internal note; the customer"
    " does not see it. Use Reply to answer them.",
}


def talk_block(
    conversation_id: str, page: ResultPage[Message], root_ts: str, *, talk: bool
) -> ActionsBlock | None:
    """The thread's own Reply and Note (the card's, carrying the conversation), with "Older
    messages" when there are more; None when there is nothing to press."""
    elements: list[ButtonElement] = []
    if talk:
        value = CardRef(id=conversation_id).encode()
        elements += [buttons.REPLY.draw(value), buttons.NOTE.draw(value)]
    if _has_older(page):
        elements.append(_older(conversation_id, page, root_ts))
    return ActionsBlock(elements=elements) if elements else None


def _has_older(page: ResultPage[Message]) -> bool:
    return bool(page.items) and page.totalItems > len(page.items)


def transcript_posts(
    conversation_id: str,
    page: ResultPage[Message],
    notes: ResultPage[Note],
    authors: Authors,
    root_ts: str,
    *,
    talk: bool = True,
    replies: ThreadReplies = "off",
) -> list[Post]:
    """The thread's first replies: a heading (with Reply and Note unless `talk` is False, a
    closed conversation's, and "Older messages" when there are more; what the thread's own
    messages become under `replies`), the latest messages oldest first, then the notes apart,
    each post within Slack's limits."""
    shown, total = len(page.items), page.totalItems
    if shown == 0:
        heading = ":speech_balloon: No messages yet; new ones will appear here."
    elif shown < total:
        heading = f":speech_balloon: The latest {shown} of {total} messages; new ones follow here."
    elif shown == 1:
        heading = ":speech_balloon: The one message so far; new ones follow here."
    else:
        heading = f":speech_balloon: All {shown} messages; new ones follow here."
    first: list[Block] = [ContextBlock(elements=[md(Mrkdwn(heading))])]
    if talk and replies in REPLIES_LINE:
        first.append(ContextBlock(elements=[md(Mrkdwn(REPLIES_LINE[replies]))]))
    actions = talk_block(conversation_id, page, root_ts, talk=talk)
    if actions is not None:
        first.append(actions)
    drawn = [(message_block(m, authors), m.id) for m in page.items]
    posts = _chunked("Transcript", first, [b for b, _ in drawn], [i for _, i in drawn])
    if notes.items:
        more = len(notes.items) < notes.totalItems
        title = ":lock: Internal notes (colleagues only; never sent to the customer)"
        if more:
            title += f": the latest {len(notes.items)} of {notes.totalItems}"
        head: list[Block] = [ContextBlock(elements=[md(Mrkdwn(title))])]
        posts += _chunked("Internal notes", head, [note_block(n, authors) for n in notes.items])
    return posts


def older_posts(
    conversation_id: str,
    page: ResultPage[Message],
    authors: Authors,
    root_ts: str,
    pressed: OlderRef | None = None,
) -> list[Post]:
    """The page before: shown to the presser alone, with its own "Older messages"."""
    if not page.items:
        note = ":speech_balloon: There are no older messages."
        return [Post(note, [ContextBlock(elements=[md(Mrkdwn(note))])])]
    heading = f":speech_balloon: {len(page.items)} older messages (only you see these)"
    head: list[Block] = [ContextBlock(elements=[md(Mrkdwn(heading))])]
    posts = _chunked("Older messages", head, [message_block(m, authors) for m in page.items])
    if _has_older(page):
        posts[-1].blocks.append(older_button(conversation_id, page, root_ts, pressed))
    return posts


def transcript_answer(
    headline: str, page: ResultPage[Message], notes: ResultPage[Note], authors: Authors
) -> list[Block]:
    """`/conv messages` as one message only the asker sees: as many of the latest messages as
    fit Slack's limits, oldest first, then the latest notes apart while they fit; what did not
    fit is counted, with where to read it."""
    head: list[Block] = [ContextBlock(elements=[md(user_text(headline, limits.FIELD_TEXT))])]
    room = limits.MESSAGE_BLOCKS - len(head) - 2  # kept: the notes' heading, the last line
    budget = limits.MESSAGE_TEXT_BUDGET - sum(limits.text_length(b) for b in head) - 400
    shown = _latest_that_fit([message_block(m, authors) for m in page.items], room, budget)
    budget -= sum(limits.text_length(b) for b in shown)
    noted = _latest_that_fit(
        [note_block(n, authors) for n in notes.items], room - len(shown), budget
    )
    blocks = [*head, *shown]
    if noted:
        title = ":lock: Internal notes (colleagues only; never sent to the customer)"
        blocks += [ContextBlock(elements=[md(Mrkdwn(title))]), *noted]
    left = len(page.items) - len(shown) + len(notes.items) - len(noted)
    if left:
        more = f"{left} more did not fit here: press *Thread* on the card to read them all."
        blocks.append(ContextBlock(elements=[md(Mrkdwn(more))]))
    return blocks


def _latest_that_fit(blocks: Sequence[Block], room: int, budget: int) -> list[Block]:
    """The last of `blocks` (the newest) that fit `room` blocks and `budget` characters, in
    their order."""
    kept: list[Block] = []
    for block in reversed(blocks):
        length = limits.text_length(block)
        if len(kept) >= room or length > budget:
            break
        kept.append(block)
        budget -= length
    return kept[::-1]


def live_posts(messages: Sequence[Message], authors: Authors) -> list[tuple[Post, list[Message]]]:
    """New messages as the mirror posts them, oldest first, each post with the messages it
    holds: consecutive ones share a post, up to LIVE_BATCH and within Slack's limits. Slack
    takes about one post a second in a channel, so a customer's three quick lines cost one
    turn, not three, and a backlog drains up to LIVE_BATCH times as fast."""
    posts: list[tuple[Post, list[Message]]] = []
    group: list[Message] = []
    blocks: list[Block] = []
    size = 0
    for message in messages:
        block = message_block(message, authors)
        length = limits.text_length(block)
        if group and (len(group) >= LIVE_BATCH or size + length > limits.MESSAGE_TEXT_BUDGET):
            posts.append((_live(group, blocks), group))
            group, blocks, size = [], [], 0
        group.append(message)
        blocks.append(block)
        size += length
    if group:
        posts.append((_live(group, blocks), group))
    return posts


def _live(group: list[Message], blocks: list[Block]) -> Post:
    text = _fallback(group[0])
    if len(group) > 1:
        text += f" (and {len(group) - 1} more)"
    return Post(text, blocks)


def closed_post() -> Post:
    text = ":lock: Conversation closed; no new messages will appear here."
    return Post(text, [ContextBlock(elements=[md(Mrkdwn(text))])])


def _fallback(message: Message) -> str:
    who = "Customer" if message.direction is Direction.INBOUND else "Agent"
    return clip(f"{who}: {escape(message.text or message.contentType)}", 300)


def _chunked(
    title: str, head: Sequence[Block], body: Sequence[Block], ids: Sequence[str] = ()
) -> list[Post]:
    """`head` then `body` in as few posts as Slack allows: at most MESSAGE_BLOCKS blocks (room
    kept for a button) and MESSAGE_TEXT_BUDGET characters each. `ids`: the message each body
    block draws, kept as what each post holds (at most POST_MESSAGES_MAX)."""
    posts: list[Post] = []
    current: list[Block] = list(head)
    held: list[str] = []
    size = sum(limits.text_length(block) for block in current)
    for n, block in enumerate(body):
        length = limits.text_length(block)
        full = len(current) >= limits.MESSAGE_BLOCKS - 1
        full = full or (n < len(ids) and len(held) >= POST_MESSAGES_MAX)
        if current and (full or size + length > limits.MESSAGE_TEXT_BUDGET):
            posts.append(Post(title, current, tuple(held)))
            current, held, size = [], [], 0
        current.append(block)
        held.extend(ids[n : n + 1])
        size += length
    if current:
        posts.append(Post(title, current, tuple(held)))
    return posts
