"""Buttons on cards, lists and the Home tab. A press redraws the message it was pressed on."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.commands.executor import execute
from bot.commands.parser import parse_tokens, tokenize
from bot.commands.spec import ListCommand
from bot.config import Action
from bot.errors import ConvbotError, InvalidInput
from bot.models import Actor, Conversation, ConversationPatch, Priority, utcnow
from bot.service.conversations import Change, ConversationService
from bot.service.escalations import EscalationService, Started
from bot.slack.blocks import ids
from bot.slack.blocks.card import (
    CardContext,
    actor_label,
    agent_label,
    ago_words,
    card_ref_from_block_id,
    card_text,
    conversation_card,
    done_line,
)
from bot.slack.blocks.ids import BROKEN_PAGE_BUTTON, CardRef, EditRef, PageRef
from bot.slack.blocks.messages import result_blocks
from bot.slack.blocks.modals import edit_modal, loading_modal, problem_modal
from bot.slack.blocks.mrkdwn import Mrkdwn, escape, md, user_text
from bot.slack.blocks.oncall import paging_text
from bot.slack.context import SlackContext
from bot.slack.forms import fill_in
from bot.slack.handovers import tell_previous_agent
from bot.slack.home import publish_home
from bot.slack.listeners.outcome import error_mrkdwn, observed, tell
from bot.state.audit import AuditEntry

log = logging.getLogger(__name__)
Apply = Callable[[Actor, Conversation], Awaitable[Change]]
EDIT_TITLE = "Edit conversation"


def card_actions(service: ConversationService, escalations: EscalationService) -> dict[str, Apply]:
    """What the Take, Route, Close and Escalate buttons do, on cards and digest items alike."""

    async def take(actor: Actor, current: Conversation) -> Change:
        agent_id = await service.resolve_agent(actor, "me")
        return await service.assign(actor, current.id, agent_id)

    async def route(actor: Actor, current: Conversation) -> Change:
        return await service.route(actor, current.id)

    async def close(actor: Actor, current: Conversation) -> Change:
        return await service.close(actor, current.id)

    async def escalate(actor: Actor, current: Conversation) -> Change:
        started = await escalations.escalate(actor, current.id)
        now = await service.get(current.id)
        change = Change(conversation=now, changed=not started.already)
        # model_copy keeps the Mrkdwn type (validation would make it a plain, escaped str),
        # so the note can mention who is paged.
        return change.model_copy(update={"note": escalation_note(started)})

    return {"take": take, "route": route, "close": close, "escalate": escalate}


def register(app: AsyncApp, deps: SlackContext) -> None:
    service = deps.service
    applies = card_actions(service, deps.escalations)
    for action_id, name in (
        (ids.TAKE, "take"),
        (ids.ROUTE, "route"),
        (ids.CLOSE, "close"),
        (ids.ESCALATE, "escalate"),
    ):
        app.action(action_id)(_card_button(deps, name, applies[name]))

    @app.action(ids.PRIORITY)
    async def priority(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        selected = first_action(body).get("selected_option") or {}

        async def set_priority(actor: Actor, current: Conversation) -> Change:
            try:
                value = Priority(str(selected.get("value", "")).upper())
            except ValueError:
                raise InvalidInput("Pick one of URGENT, HIGH, NORMAL, LOW.") from None
            return await service.update(actor, current.id, ConversationPatch(priority=value))

        try:
            wanted: Priority | None = Priority(str(selected.get("value", "")).upper())
        except ValueError:
            wanted = None
        await press_card(deps, body, respond, client, "priority", set_priority, wanted=wanted)

    @app.action(ids.EDIT)
    async def edit(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await open_edit_modal(deps, body, client, respond)

    @app.action(ids.SHOW)
    async def show(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        async with _answering(deps, "show", respond):
            ref = CardRef.decode(first_action(body).get("value"))
            actor = await deps.identity.actor(user_of(body))
            found = await service.get(ref.id)
            context = await deps.card_context(actor.agent_id)
            await respond(
                text=card_text(found),
                blocks=conversation_card(found, context),
                response_type="ephemeral",
                replace_original=False,
            )

    @app.action(re.compile("|".join(re.escape(paging) for paging in ids.PAGING)))
    async def page(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        async with _answering(deps, "page", respond):
            ref = PageRef.decode(first_action(body).get("value"))
            tokens = [t for t in tokenize(ref.q) if not t.lower().startswith("page:")]
            command = parse_tokens([*tokens, f"page:{ref.p}"])
            if not isinstance(command, ListCommand):
                # A paging button replays a list and nothing else: a value that says `close …`
                # or `create …` (an old message, a forged one) must not act on its behalf.
                raise InvalidInput(BROKEN_PAGE_BUTTON)
            actor = await deps.identity.actor(user_of(body))
            result = await execute(command, service, actor)
            context = await deps.card_context(actor.agent_id)
            fallback, blocks = result_blocks(result, context, command_text=ref.q)
            await respond(text=fallback, blocks=blocks, replace_original=True)

    @app.action(ids.HOME_REFRESH)
    async def refresh(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with observed(deps.metrics, "action", "home-refresh"):
            await publish_home(deps, client, user_of(body))


def escalation_note(started: Started) -> Mrkdwn:
    """ "Escalated under policy default. Paging @ana now (step 1 of 2)." — or what the running
    escalation is doing."""
    policy = escape(started.escalation.policy)
    if started.already:
        return Mrkdwn(f"Already being escalated (policy {policy}). {paging_text(started)}")
    return Mrkdwn(f"Escalated under policy {policy}. {paging_text(started)}")


def _card_button(deps: SlackContext, name: str, apply: Apply) -> Callable[..., Awaitable[None]]:
    async def pressed(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        await press_card(deps, body, respond, client, name, apply)

    pressed.__name__ = f"card_{name}"
    return pressed


async def press_card(
    deps: SlackContext,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    name: str,
    apply: Apply,
    *,
    wanted: Priority | None = None,
) -> None:
    """Apply a card button once, on the version it was drawn from, and redraw that card
    with who did what. `wanted`: the priority a priority press asks for."""
    user = user_of(body)
    on_home = _on_home(body)
    try:
        async with observed(deps.metrics, "action", name):
            actor = await deps.identity.actor(user)
            pressed = await press_once(deps, actor, _card_ref(body), name, apply, wanted=wanted)
    except Exception as error:
        if on_home:
            warning = Mrkdwn(":warning: " + error_mrkdwn(error))
            await publish_home(deps, client, user, notice=warning)
        else:
            await tell(respond, error)  # beside the card: the card may be someone else's redraw
        return
    note, shown = pressed.note, pressed.conversation
    previous = pressed.taken_from
    where = (body.get("container") or {}) if not on_home else {}
    if previous is not None:
        await tell_previous_agent(
            deps,
            client,
            previous,
            actor,
            shown,
            channel=None if where.get("is_ephemeral") else where.get("channel_id"),
            message_ts=None if where.get("is_ephemeral") else where.get("message_ts"),
        )
    if on_home:
        info = Mrkdwn(":information_source: " + user_text(note, 2900)) if note else None
        await publish_home(deps, client, user, notice=info)
        return
    shared = not where.get("is_ephemeral", False)
    if name == "take" and pressed.taken_meanwhile(actor):
        await _offer_fresh_card(deps, respond, actor, shown)
        return
    context = await deps.card_context(None if shared else actor.agent_id)
    done = _done(name, actor, pressed, context) if pressed.changed else None
    await respond(
        text=card_text(shown),
        blocks=conversation_card(shown, context, note=note, done=done),
        replace_original=True,
    )


async def _offer_fresh_card(
    deps: SlackContext, respond: AsyncRespond, actor: Actor, current: Conversation
) -> None:
    """Take on a card drawn before someone else took the conversation: nothing is taken.

    Taking it anyway would take it from someone the presser never saw had it, which is the
    silent stealing the confirm dialog exists to prevent. The presser alone is told who has it,
    with the card as it is now (its Take asks before taking it from them), and the shared card
    is left as it is: nobody else asked for anything.
    """
    context = await deps.card_context(actor.agent_id, [current.id])
    who = agent_label(current.agentId, context)
    entry = await _last_change(deps, current.id)
    if entry is not None and entry.action == "assign" and _made(entry, current):
        what = f"{who} took it {ago_words(entry.at, utcnow())}, after this card was drawn"
    else:  # who gave it to them is not known here (a change made in Infobip itself)
        what = f"{who} has it now and this card was out of date"
    sentence = Mrkdwn(f"{what}, so nothing was done. To take it from them, press Take below.")
    blocks = [SectionBlock(text=md(sentence)), *conversation_card(current, context)]
    await respond(
        text=sentence,
        blocks=blocks,
        response_type="ephemeral",
        replace_original=False,
    )


def _done(name: str, actor: Actor, pressed: Pressed, context: CardContext) -> str:
    """The card's "Taken by @ana just now" line."""
    shown, before = pressed.conversation, pressed.before
    what = DONE_WORDS.get(name, "Changed")
    if name == "take" and before is not None and before.agentId is not None:
        what = f"Taken from {agent_label(before.agentId, context)}"
    elif name == "priority":
        what = f"Priority set to {shown.priority.value}"
    now = utcnow()
    return done_line(what, actor.id, now, now)


DONE_WORDS = {
    "take": "Taken",
    "route": "Routed",
    "close": "Closed",
    "escalate": "Escalated",
    "priority": "Priority changed",
}


@dataclass(frozen=True)
class Pressed:
    """What a press did: the conversation to draw, a note for the presser, and the change."""

    conversation: Conversation
    note: str | None = None
    changed: bool = False
    stale: bool = False  # the card was out of date: nothing was applied
    before: Conversation | None = None

    @property
    def taken_from(self) -> str | None:
        """The agent a take took the conversation from (None: it was nobody's, or no take)."""
        if not self.changed or self.before is None or self.before.agentId is None:
            return None
        if self.before.agentId == self.conversation.agentId:
            return None
        return self.before.agentId

    def taken_meanwhile(self, actor: Actor) -> bool:
        agent = self.conversation.agentId
        return self.stale and self.note is not None and agent not in (None, actor.agent_id)


async def press_once(
    deps: SlackContext,
    actor: Actor,
    ref: CardRef,
    name: str,
    apply: Apply,
    *,
    wanted: Priority | None = None,
) -> Pressed:
    """Claim the card's version before reading anything, so that of two presses on one card
    exactly one acts and the other is told so, however their requests interleave."""
    # Refused before anything is read or claimed: a refusal costs no backend call.
    await deps.service.authorize(actor, PERMISSION_OF[name], ref.id)
    version = ref.v
    if version is not None and not await deps.claims.claim(ref.id, version, name, actor.id):
        current = await deps.service.get(ref.id)
        if not ref.is_current(current.updatedAt):  # the winner is done: this copy is stale
            note = await _stale_note(deps, actor, name, current, wanted)
            return Pressed(conversation=current, note=note, stale=True)
        raise AnotherPress()
    stale = False
    try:
        async with _holding(deps, ref):
            current = await deps.service.get(ref.id)
            if not ref.is_current(current.updatedAt):
                note = await _stale_note(deps, actor, name, current, wanted)
                change = Change(conversation=current, changed=False, note=note)
                stale = True
            else:
                change = await apply(actor, current)
    except BaseException:
        await _release(deps, ref)
        raise
    if not change.changed:
        # Nothing moved, so whoever presses this card next must be free to act.
        await _release(deps, ref)
    return Pressed(
        conversation=change.conversation,
        note=change.note,
        changed=change.changed,
        stale=stale,
        before=change.before,
    )


async def _stale_note(
    deps: SlackContext, actor: Actor, name: str, current: Conversation, wanted: Priority | None
) -> str:
    """What a press on an out-of-date card says: that what it asked for is so already, in a
    person's words ("It is already yours."), else when and by whom the conversation changed."""
    already = already_so(name, actor, current, wanted)
    if already is not None:
        return already
    return out_of_date(current, when=await _changed_words(deps, current, by=True))


def already_so(
    name: str, actor: Actor, current: Conversation, wanted: Priority | None = None
) -> str | None:
    """ "It is already yours." when what a press asks for is already the case; else None."""
    if name == "take" and current.agentId is not None and current.agentId == actor.agent_id:
        return "It is already yours."
    if name == "close" and current.is_closed:
        return "It is already closed."
    if name == "priority" and wanted is not None and current.priority is wanted:
        return f"It is already {wanted.value}."
    return None


async def _changed_words(deps: SlackContext, current: Conversation, *, by: bool = False) -> str:
    """ " 2 minutes ago" (and " by @ben" when `by` and the audit log says who), or ""."""
    if current.updatedAt is None:
        return ""
    words = " " + ago_words(current.updatedAt, utcnow())
    if not by:
        return words
    entry = await _last_change(deps, current.id)
    if entry is not None and _made(entry, current):
        words += f" by {actor_label(entry.actor)}"
    return words


async def _last_change(deps: SlackContext, conversation_id: str) -> AuditEntry | None:
    """The audit log's newest change to the conversation; None when it has none or cannot be
    read (it only adds a name to a sentence)."""
    try:
        return await deps.audit.last_change(conversation_id)
    except (SQLAlchemyError, OSError):
        log.warning("audit log unreadable for %s", conversation_id, exc_info=True)
        return None


def _made(entry: AuditEntry, current: Conversation) -> bool:
    """Whether the audit entry is the change that gave `current` its version. Only an entry
    from that moment names who made it: a change made in Infobip itself is in no log of ours,
    and the last entry would name the wrong person."""
    if current.updatedAt is None:
        return False
    return abs(entry.at - current.updatedAt) <= AUDIT_MATCH


AUDIT_MATCH = timedelta(seconds=30)


def _holding(deps: SlackContext, ref: CardRef) -> AbstractAsyncContextManager[None]:
    """The claim on the card's version, renewed while the press runs."""
    return nullcontext() if ref.v is None else deps.claims.holding(ref.id, ref.v)


async def _release(deps: SlackContext, ref: CardRef) -> None:
    if ref.v is not None:
        await deps.claims.release(ref.id, ref.v)


# The permission each card action needs (convbot.yml `permissions:`).
PERMISSION_OF: dict[str, Action] = {
    "take": "assign",
    "route": "route",
    "close": "close",
    "escalate": "escalate",
    "priority": "update",
}


class AnotherPress(ConvbotError):
    """The card's version was already claimed: someone's press on it got there first.

    Told to the presser alone; redrawing the card from here could overwrite the winner's
    redraw with the state from before its change.
    """

    def __init__(self) -> None:
        super().__init__(
            "Already done: another press on this card got there first; the card shows what it did."
        )


def out_of_date(current: Conversation, *, when: str | None = None) -> str:
    """The note on a card pressed after the conversation changed. `when`: " 2 minutes ago by
    <@U…>" (mrkdwn); without it, how long ago from `updatedAt`, in words."""
    if when is None:
        when = " " + ago_words(current.updatedAt, utcnow()) if current.updatedAt else ""
    return Mrkdwn(
        f"Nothing was done: this card was out of date (the conversation changed{when}). "
        "This is how it is now."
    )


async def open_edit_modal(
    deps: SlackContext, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
) -> None:
    """Open at once (trigger_id lives 3 s), then fill in the conversation and queues.

    A failure after the modal opened is shown in the modal, which would otherwise keep saying
    "Loading…"; before that, in an ephemeral message (when there is one to answer: not on Home).
    """
    opened: dict[str, Any] | None = None
    try:
        async with observed(deps.metrics, "action", "edit"):
            ref = CardRef.decode(first_action(body).get("value"))
            answer = await client.views_open(
                trigger_id=body.get("trigger_id") or "",
                view=loading_modal(EDIT_TITLE, ids.EDIT_MODAL),
            )
            opened = answer["view"]
            filled = await _edit_view(deps, ref, body)
            await fill_in(client, opened["id"], filled, hash=opened.get("hash"))
    except Exception as error:
        await _tell(client, respond, opened, error)


async def _edit_view(deps: SlackContext, ref: CardRef, body: dict[str, Any]) -> View:
    current = await deps.service.get(ref.id)
    queues = await deps.queues()
    metadata = EditRef(
        card=CardRef(id=current.id, v=current.updatedAt),
        response_url=body.get("response_url"),
        home=_on_home(body),
    )
    return edit_modal(current, queues, private_metadata=metadata.model_dump_json())


async def _tell(
    client: AsyncWebClient,
    respond: AsyncRespond,
    modal: dict[str, Any] | None,
    error: BaseException,
) -> None:
    """Say what went wrong where the person is looking: the open modal, else the message."""
    if modal is not None:
        view = problem_modal(EDIT_TITLE, error_mrkdwn(error))
        await fill_in(client, modal["id"], view)
    elif respond.response_url is not None:
        await tell(respond, error)


def _on_home(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "view"


@asynccontextmanager
async def _answering(deps: SlackContext, name: str, respond: AsyncRespond) -> AsyncIterator[None]:
    """Run a read-style action; any failure becomes one ephemeral sentence."""
    try:
        async with observed(deps.metrics, "action", name):
            yield
    except Exception as error:
        await tell(respond, error)


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    first = actions[0]
    return first if isinstance(first, dict) else {}


def user_of(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _card_ref(body: dict[str, Any]) -> CardRef:
    action = first_action(body)
    if action.get("action_id") == ids.PRIORITY:
        return card_ref_from_block_id(str(action.get("block_id") or ""))
    return CardRef.decode(action.get("value"))
