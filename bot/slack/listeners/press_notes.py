"""What a pressed card or digest item says beside it: the service's note, what an escalation is
doing, or, for something pressed out of date, when and by whom the conversation changed."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.models import Conversation
from bot.service.escalations import Started
from bot.service.presses import Pressed
from bot.slack.blocks.card import actor_label, ago_words
from bot.slack.blocks.mrkdwn import Mrkdwn, escape
from bot.slack.blocks.oncall import paging_text
from bot.slack.context import SlackContext
from bot.state.audit import AuditEntry
from bot.timestamps import utcnow

log = logging.getLogger(__name__)


async def press_note(deps: SlackContext, pressed: Pressed) -> str | None:
    """The note drawn with a pressed card: the service's, what an escalation is doing, or for
    an out-of-date card when and by whom the conversation changed."""
    if pressed.escalation is not None:
        return escalation_note(pressed.escalation)
    if pressed.stale and pressed.note is None:
        current = pressed.conversation
        return out_of_date(current, when=await _changed_words(deps, current))
    return pressed.note


def escalation_note(started: Started) -> Mrkdwn:
    """ "Escalated under policy default. Paging @ana now (step 1 of 2)." — or what the running
    escalation is doing."""
    policy = escape(started.escalation.policy)
    if started.already:
        return Mrkdwn(f"Already being escalated (policy {policy}). {paging_text(started)}")
    return Mrkdwn(f"Escalated under policy {policy}. {paging_text(started)}")


def out_of_date(current: Conversation, *, when: str | None = None) -> str:
    """The note on a card pressed after the conversation changed. `when`: " 2 minutes ago by
    <@U…>" (mrkdwn); without it, how long ago from `updatedAt`, in words."""
    if when is None:
        when = " " + ago_words(current.updatedAt, utcnow()) if current.updatedAt else ""
    return Mrkdwn(
        f"Nothing was done: this card was out of date (the conversation changed{when}). "
        "This is how it is now."
    )


async def _changed_words(deps: SlackContext, current: Conversation) -> str:
    """ " 2 minutes ago" (and " by @ben" when the audit log says who), or ""."""
    if current.updatedAt is None:
        return ""
    words = " " + ago_words(current.updatedAt, utcnow())
    entry = await last_change(deps, current.id)
    if entry is not None and made_it(entry, current):
        words += f" by {actor_label(entry.actor)}"
    return words


async def last_change(deps: SlackContext, conversation_id: str) -> AuditEntry | None:
    """The audit log's newest change to the conversation; None when it has none or cannot be
    read (it only adds a name to a sentence)."""
    try:
        return await deps.audit.last_change(conversation_id)
    except (SQLAlchemyError, OSError):
        log.warning("audit log unreadable for %s", conversation_id, exc_info=True)
        return None


def made_it(entry: AuditEntry, current: Conversation) -> bool:
    """Whether the audit entry is the change that gave `current` its version. Only an entry
    from that moment names who made it: a change made in Infobip itself is in no log of ours,
    and the last entry would name the wrong person."""
    if current.updatedAt is None:
        return False
    return abs(entry.at - current.updatedAt) <= AUDIT_MATCH


AUDIT_MATCH = timedelta(seconds=30)
