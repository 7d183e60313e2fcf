"""An escalation's steps, run as they fall due: claim the step's pages and move on, deliver
them, audit, and redraw the pages once the escalation ends.

The sweep runs due steps while holding the escalation's row (see bot/state/escalations.py), so
a step is sent by one replica, once, and never after an acknowledgement or a close. A step
whose targets resolve to nobody is recorded and the chain moves on to the next step at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.errors import ConvbotError, NotFound
from bot.models import Actor, Conversation
from bot.oncall.config import OncallConfig
from bot.service.conversations import ConversationService
from bot.service.paging import Page, Pager, Recipient, resolve_recipients
from bot.service.permissions import GroupDirectory
from bot.state.escalations import (
    EscalationRecord,
    EscalationStatus,
    EscalationStore,
    Held,
    PageRecord,
    PageStatus,
)

log = logging.getLogger(__name__)

SWEEPER = Actor(id="convbot", surface="scheduler")
MAX_STEPS_PER_SWEEP = 100  # a backlog of due steps is worked off over several sweeps
BACKEND_RETRY = timedelta(seconds=30)
# A page claimed this long ago and not delivered was left by a process that died (delivering
# takes a second or two); the sweep delivers it.
DELIVERY_LEASE = timedelta(minutes=2)
# How an escalation's audit entry is written (EscalationService's: a lost entry is logged).
Record = Callable[[Actor, str, str, dict[str, object]], Awaitable[None]]


class EscalationSteps:
    def __init__(
        self,
        conversations: ConversationService,
        store: EscalationStore,
        config: OncallConfig,
        pager: Pager,
        record: Record,
        *,
        groups: GroupDirectory | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._conversations = conversations
        self._store = store
        self._config = config
        self._pager = pager
        self._record = record
        self._groups = groups
        self._clock = clock
        self._wake: Callable[[str, datetime], None] | None = None

    def wake_at(self, wake: Callable[[str, datetime], None]) -> None:
        """Have `wake(escalation id, when)` called whenever a next step is set, so a scheduler
        can run it on time; the sweep remains the guarantee (after a restart, on replicas)."""
        self._wake = wake

    async def sweep(self) -> int:
        """Run every step that is due, and deliver pages a dead process left; how many
        escalations moved."""
        now = self._clock()
        for page in await self._store.undelivered(now - DELIVERY_LEASE):
            try:
                outcome = await self._deliver(page, None)
            except Exception:  # the backend is down: it stays undelivered, the sweep goes on
                log.warning("left page %s undelivered for now", page.id, exc_info=True)
                continue
            record = await self._store.get(page.escalation_id)
            if record is not None:
                after = {
                    "escalation": record.id,
                    "step": page.step + 1,
                    "round": page.round,
                    "to": page.target,
                    "outcome": outcome,
                    "recovered": True,
                }
                await self._record(SWEEPER, "page", record.conversation_id, after)
        moved = 0
        for _ in range(MAX_STEPS_PER_SWEEP):
            now = self._clock()
            async with self._store.next_due(now) as held:
                if held is None:
                    break
                conversation = await self.run_step(held, now)
            await self._after_step(held, conversation)
            moved += 1
        return moved

    async def run_due(self, escalation_id: str) -> None:
        """Run this escalation's step now if it is due (the first step, right after starting)."""
        now = self._clock()
        async with self._store.hold(escalation_id) as held:
            if held is None or not held.record.is_active or (held.record.next_at or now) > now:
                return
            conversation = await self.run_step(held, now)
        await self._after_step(held, conversation)

    async def _after_step(self, held: Held, conversation: Conversation | None) -> None:
        """Once the step's transaction is committed: deliver the pages it claimed, write its
        audit entries, redraw the pages if it ended the escalation. (Inside the transaction,
        writes from other connections would wait on SQLite's database-wide lock.)"""
        record = held.record
        if held.claimed:
            outcomes = [await self._deliver(page, conversation) for page in held.claimed]
            first = held.claimed[0]
            held.note(
                "page",
                {
                    "escalation": record.id,
                    "step": first.step + 1,
                    "round": first.round,
                    "to": [
                        p.target for p, o in zip(held.claimed, outcomes, strict=True) if o == "sent"
                    ],
                    "not_sent": {
                        p.target: o
                        for p, o in zip(held.claimed, outcomes, strict=True)
                        if o != "sent"
                    },
                },
            )
            if record.is_active and all(o == PageStatus.FAILED.value for o in outcomes):
                # Nobody was reached: as with a step that pages nobody, go on at once.
                record = await self._hurry(record)
        for action, after in held.notes:
            await self._record(SWEEPER, action, record.conversation_id, after)
        if record.is_active and record.next_at is not None:
            if self._wake is not None:
                self._wake(record.id, record.next_at)
        elif not record.is_active:
            await self.redraw(record)

    async def _hurry(self, record: EscalationRecord) -> EscalationRecord:
        """Make the escalation's next step due now, unless it moved on meanwhile."""
        async with self._store.hold(record.id) as held:
            if held is None or not held.record.is_active:
                return record
            if (held.record.step, held.record.round) != (record.step, record.round):
                return held.record
            return await held.save(next_at=self._clock())

    async def _deliver(self, page: PageRecord, conversation: Conversation | None) -> str:
        """Send a claimed page unless its escalation ended first; the page's status after.

        The escalation's row is held while the page goes out, so an acknowledgement either
        comes first (the page is cancelled) or after (and redraws it)."""
        async with self._store.hold(page.escalation_id) as held:
            current = await held.page(page.id) if held is not None and page.id else None
            if held is None or current is None or current.status is not PageStatus.SENDING:
                return current.status.value if current is not None else "gone"
            if not held.record.is_active:
                await held.mark_page(current.id or 0, PageStatus.CANCELLED)
                return PageStatus.CANCELLED.value
            if conversation is None:
                try:
                    conversation = await self._conversations.get(held.record.conversation_id)
                except NotFound:
                    conversation = None
                if conversation is None or conversation.is_closed:
                    await held.mark_page(current.id or 0, PageStatus.CANCELLED)
                    return PageStatus.CANCELLED.value
            policy = self._config.policy(held.record.policy)
            kind, _, ref = current.target.partition(":")
            recipient = Recipient(
                kind="channel" if kind == "channel" else "user", id=ref, target=current.target
            )
            try:
                channel, ts = await self._pager.send(
                    Page(
                        escalation=held.record,
                        conversation=conversation,
                        step=current.step + 1,
                        steps=len(policy.steps) if policy else current.step + 1,
                        round=current.round,
                        recipient=recipient,
                    )
                )
            except Exception:  # one unreachable target must not stop the others
                log.warning("page to %s failed", current.target, exc_info=True)
                await held.mark_page(current.id or 0, PageStatus.FAILED)
                return PageStatus.FAILED.value
            await held.mark_page(
                current.id or 0, PageStatus.SENT, channel=channel, ts=ts, sent_at=self._clock()
            )
            return PageStatus.SENT.value

    async def run_step(self, held: Held, now: datetime) -> Conversation | None:
        """Claim the due step's pages and move on (skipping steps that page nobody, ending the
        escalation when none are left); the conversation, for drawing the pages."""
        record = held.record
        try:
            conversation = await self._conversations.get(record.conversation_id)
        except NotFound:
            conversation = None
        except ConvbotError as error:
            # The backend is unreachable: try again shortly rather than block the sweep (the
            # oldest due step comes first, so a failing one would hold up all the others).
            held.note("page-delayed", {"escalation": record.id, "why": str(error)[:300]})
            await held.save(next_at=now + BACKEND_RETRY)
            return None
        if conversation is None or conversation.is_closed:
            await held.save(
                status=EscalationStatus.RESOLVED, next_at=None, ended_by="closed", ended_at=now
            )
            return conversation
        policy = self._config.policy(record.policy)
        if policy is None:
            log.warning(
                "escalation %s: policy %s is no longer configured", record.id, record.policy
            )
            held.note(
                "escalation-ended",
                {"escalation": record.id, "why": f"policy {record.policy} removed"},
            )
            await held.save(status=EscalationStatus.EXHAUSTED, next_at=None, ended_at=now)
            return conversation
        step_index, round_ = record.step, record.round
        for _ in range(len(policy.steps) * (policy.repeat + 1) + 1):
            if step_index >= len(policy.steps):
                step_index, round_ = 0, round_ + 1
            if round_ > policy.repeat:
                held.note(
                    "escalation-exhausted",
                    {"escalation": record.id},
                )
                await held.save(
                    status=EscalationStatus.EXHAUSTED,
                    next_at=None,
                    ended_at=now,
                    step=step_index,
                    round=round_,
                )
                return conversation
            step = policy.steps[step_index]
            recipients = await resolve_recipients(step, now, self._config, self._groups)
            if not recipients:
                held.note(
                    "page-skipped",
                    {
                        "escalation": record.id,
                        "step": step_index + 1,
                        "round": round_,
                        "targets": [str(t) for t in step.notify],
                        "why": "no one to page",
                    },
                )
                step_index += 1
                continue
            for recipient in recipients:
                page = PageRecord(
                    escalation_id=record.id,
                    round=round_,
                    step=step_index,
                    target=f"{recipient.kind}:{recipient.id}",
                    claimed_at=now,
                )
                await held.claim_page(page)
            await held.save(step=step_index + 1, round=round_, next_at=now + step.wait)
            return conversation
        await held.save(status=EscalationStatus.EXHAUSTED, next_at=None, ended_at=now)
        return conversation

    async def redraw(self, record: EscalationRecord) -> None:
        """Redraw the pages of an ended escalation; a failure leaves them as they were."""
        try:
            # Without pages there may still be a channel message announcing it (the pager's).
            pages = await self._store.pages(record.id)
            conversation = await self._conversations.get(record.conversation_id)
            await self._pager.settle(record, pages, conversation)
        except Exception:
            log.warning("pages of escalation %s not redrawn", record.id, exc_info=True)
