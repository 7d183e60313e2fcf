"""EscalationService: page whoever is on call, step by step, until someone acknowledges.

Escalating raises the conversation to URGENT, tags it `escalated`, audits, and starts the
policy's first step at once. Each later step is due `wait` after the one before; the sweep runs
due steps while holding the escalation's row (see bot/state/escalations.py), so a step is sent
by one replica, once, and never after an acknowledgement or a close. A step whose targets
resolve to nobody is recorded and the chain moves on to the next step at once.

The Slack side is behind `Pager`, and who a step pages is resolved, in bot/service/paging.py;
the `auto_escalate` rules start escalations from bot/service/auto_escalation.py. The clock is a
dependency so tests run hours in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from bot.errors import ConvbotError, InvalidInput, NotFound
from bot.models import Actor, Conversation, ConversationPatch, Priority
from bot.oncall.config import EscalationPolicy, OncallConfig
from bot.service.auto_escalation import AutoEscalation
from bot.service.conversations import ConversationService
from bot.service.paging import Page, Pager, Recipient, recipient_of, resolve_recipients
from bot.service.permissions import GroupDirectory
from bot.state.audit import AuditLog
from bot.state.escalations import (
    EscalationRecord,
    EscalationStatus,
    EscalationStore,
    Held,
    PageRecord,
    PageStatus,
)
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

ESCALATED_TAG = "escalated"
SWEEPER = Actor(id="convbot", surface="scheduler")
MAX_STEPS_PER_SWEEP = 100  # a backlog of due steps is worked off over several sweeps
BACKEND_RETRY = timedelta(seconds=30)
# A page claimed this long ago and not delivered was left by a process that died (delivering
# takes a second or two); the sweep delivers it.
DELIVERY_LEASE = timedelta(minutes=2)


class Started(BaseModel):
    escalation: EscalationRecord
    already: bool = False  # it was being escalated already: this is that escalation
    # Who the latest step paged, pages on their way included (empty: see `failed`, the audit
    # log), which step that is (1-based; 0 before any) of how many.
    paged: list[Recipient] = []
    failed: list[Recipient] = []  # the latest step's pages Slack did not deliver
    step: int = 0
    steps: int = 0


class Acknowledged(BaseModel):
    escalation: EscalationRecord
    first: bool  # False: someone acknowledged (or it ended) before; nothing was changed
    after: timedelta  # from the start of the escalation to the acknowledgement


class EscalationService:
    def __init__(
        self,
        conversations: ConversationService,
        store: EscalationStore,
        audit: AuditLog,
        config: OncallConfig,
        pager: Pager,
        *,
        groups: GroupDirectory | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._conversations = conversations
        self._store = store
        self._audit = audit
        self._config = config
        self._pager = pager
        self._groups = groups
        self._clock = clock
        self._wake: Callable[[str, datetime], None] | None = None
        self._auto = AutoEscalation(self, conversations, store, config, clock)

    def wake_at(self, wake: Callable[[str, datetime], None]) -> None:
        """Have `wake(escalation id, when)` called whenever a next step is set, so a scheduler
        can run it on time; the sweep remains the guarantee (after a restart, on replicas)."""
        self._wake = wake

    @property
    def configured(self) -> bool:
        return bool(self._config.policies)

    # --- starting and ending -------------------------------------------------------------------

    async def escalate(
        self,
        actor: Actor,
        conversation_id: str,
        *,
        policy: str | None = None,
        reason: str | None = None,
        rule: str | None = None,
    ) -> Started:
        await self._conversations.authorize(actor, "escalate", conversation_id)
        chosen = self._policy(policy)
        conversation = await self._conversations.get(conversation_id)
        if conversation.is_closed:
            raise InvalidInput(
                f"Conversation {conversation.id} is closed; there is nothing to escalate."
            )
        existing = await self._store.active_for(conversation.id)
        if existing is not None:
            return await self._started(existing, already=True)
        # Raised first: if that fails (the backend is down), nothing was started and trying
        # again works; raising twice in a race is harmless (it changes nothing the second time).
        await self._raise(actor, conversation)
        started = await self._store.start(
            conversation.id, chosen.name, actor.id, reason=reason, rule=rule
        )
        if started is None:  # another escalation of it started meanwhile
            existing = await self._store.active_for(conversation.id)
            if existing is not None:
                return await self._started(existing, already=True)
            raise ConvbotError("The escalation could not be started; try again.")
        await self._record(
            actor,
            "escalate",
            conversation.id,
            {"policy": chosen.name, "reason": reason, "rule": rule, "escalation": started.id},
        )
        await self.run_due(started.id)
        current = await self._store.get(started.id) or started
        return await self._started(current)

    async def acknowledge(self, actor: Actor, escalation_id: str) -> Acknowledged:
        """Stop the chain; every page is redrawn. A second acknowledgement changes nothing."""
        found = await self._store.get(escalation_id)
        if found is None:
            raise NotFound(f"No escalation {escalation_id[:40]}.")
        await self._conversations.authorize(actor, "acknowledge", found.conversation_id)
        async with self._store.hold(escalation_id) as held:
            if held is None:
                raise NotFound(f"No escalation {escalation_id[:40]}.")
            now = self._clock()  # after the wait for the row: no page is sent after this
            record = held.record
            first = record.is_active
            if first:
                record = await held.save(
                    status=EscalationStatus.ACKNOWLEDGED,
                    next_at=None,
                    ended_by=actor.id,
                    ended_at=now,
                )
        if first:
            await self._record(
                actor, "acknowledge", record.conversation_id, {"escalation": record.id}
            )
            await self._settle(record)
        return Acknowledged(
            escalation=record, first=first, after=(record.ended_at or now) - record.started_at
        )

    async def resolve(self, actor: Actor, conversation_id: str) -> EscalationRecord | None:
        """The conversation was closed: end its escalation, if it has one, and redraw its pages."""
        active = await self._store.active_for(conversation_id)
        if active is None:
            return None
        async with self._store.hold(active.id) as held:
            if held is None or not held.record.is_active:
                return None
            record = await held.save(
                status=EscalationStatus.RESOLVED,
                next_at=None,
                ended_by=actor.id,
                ended_at=self._clock(),
            )
        await self._settle(record)
        return record

    # --- the sweep -----------------------------------------------------------------------------

    async def tick(self) -> None:
        """The scheduler's job: run due steps, then the auto-escalation rules."""
        await self.sweep()
        if self._config.auto_escalate:
            await self.auto_escalate()

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
                conversation = await self._run_step(held, now)
            await self._after_step(held, conversation)
            moved += 1
        return moved

    async def run_due(self, escalation_id: str) -> None:
        """Run this escalation's step now if it is due (the first step, right after starting)."""
        now = self._clock()
        async with self._store.hold(escalation_id) as held:
            if held is None or not held.record.is_active or (held.record.next_at or now) > now:
                return
            conversation = await self._run_step(held, now)
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
            await self._settle(record)

    async def _hurry(self, record: EscalationRecord) -> EscalationRecord:
        """Make the escalation's next step due now, unless it moved on meanwhile."""
        async with self._store.hold(record.id) as held:
            if held is None or not held.record.is_active:
                return record
            if (held.record.step, held.record.round) != (record.step, record.round):
                return held.record
            return await held.save(next_at=self._clock())

    async def redraw(self, record: EscalationRecord) -> None:
        """Redraw the pages of an ended escalation (after a change to its conversation)."""
        await self._settle(record)

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

    async def _run_step(self, held: Held, now: datetime) -> Conversation | None:
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

    async def auto_escalate(self) -> int:
        """Run the `auto_escalate` rules now (see bot/service/auto_escalation.py); how many
        escalations they started."""
        return await self._auto.run()

    # --- reads ---------------------------------------------------------------------------------

    async def get(self, escalation_id: str) -> EscalationRecord:
        found = await self._store.get(escalation_id)
        if found is None:
            raise NotFound(f"No escalation {escalation_id[:40]}.")
        return found

    async def active(self) -> list[EscalationRecord]:
        return await self._store.active()

    # --- internals -----------------------------------------------------------------------------

    def _policy(self, name: str | None) -> EscalationPolicy:
        if not self._config.policies:
            raise InvalidInput(
                "Escalation is not configured yet: add `oncall:` policies to convbot.yml "
                "(see the README) — until then, page the on-call person directly."
            )
        if name is None:
            chosen = self._config.default_policy
        else:
            chosen = next(
                (p for p in self._config.policies if p.name.casefold() == name.casefold()), None
            )
        if chosen is None:
            known = ", ".join(p.name for p in self._config.policies)
            raise InvalidInput(
                f"No escalation policy named '{(name or '')[:80]}'. Policies: {known}."
            )
        return chosen

    async def _raise(self, actor: Actor, conversation: Conversation) -> None:
        """URGENT if it was lower, and the `escalated` tag; each a separate, audited change."""
        # Part of escalating, which the actor may do: not refused for lack of `update`/`tag`.
        if conversation.priority.rank < Priority.URGENT.rank:
            await self._conversations.update(
                actor, conversation.id, ConversationPatch(priority=Priority.URGENT), checked=True
            )
        if ESCALATED_TAG not in (conversation.tags or []):
            await self._conversations.tag(actor, conversation.id, [ESCALATED_TAG], checked=True)

    async def _started(self, record: EscalationRecord, *, already: bool = False) -> Started:
        """What an escalation is doing now, for the answer to whoever escalated it: a page on
        its way counts as paging (it is, a moment from now), one Slack refused does not."""
        pages = await self._store.pages(record.id, status=None)
        live = [p for p in pages if p.status in (PageStatus.SENDING, PageStatus.SENT)]
        last_step = max(((p.round, p.step) for p in pages), default=None)
        latest = [p for p in pages if (p.round, p.step) == last_step]
        policy = self._config.policy(record.policy)
        return Started(
            escalation=record,
            already=already,
            paged=[recipient_of(p) for p in latest if p in live],
            failed=[recipient_of(p) for p in latest if p.status is PageStatus.FAILED],
            step=last_step[1] + 1 if last_step is not None else 0,
            steps=len(policy.steps) if policy is not None else 0,
        )

    async def _settle(self, record: EscalationRecord) -> None:
        """Redraw the pages of an ended escalation; a failure leaves them as they were."""
        try:
            # Without pages there may still be a channel message announcing it (the pager's).
            pages = await self._store.pages(record.id)
            conversation = await self._conversations.get(record.conversation_id)
            await self._pager.settle(record, pages, conversation)
        except Exception:
            log.warning("pages of escalation %s not redrawn", record.id, exc_info=True)

    async def _record(
        self, actor: Actor, action: str, conversation_id: str, after: dict[str, object]
    ) -> None:
        try:
            await self._audit.record(actor, action, conversation_id, None, after)
        except Exception:
            log.error("audit entry lost: %s on %s", action, conversation_id, exc_info=True)
