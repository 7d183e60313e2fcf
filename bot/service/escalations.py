"""EscalationService: page whoever is on call, step by step, until someone acknowledges.

Escalating raises the conversation to URGENT, tags it `escalated`, audits, and starts the
policy's first step at once. Each later step is due `wait` after the one before; the sweep runs
them (bot/service/escalation_steps.py), each once, never after an acknowledgement or a close.

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
from bot.service.escalation_steps import EscalationSteps
from bot.service.paging import Pager, Recipient, recipient_of
from bot.service.permissions import GroupDirectory
from bot.state.audit import AuditLog
from bot.state.escalations import (
    EscalationRecord,
    EscalationStatus,
    EscalationStore,
    PageStatus,
)
from bot.timestamps import utcnow

log = logging.getLogger(__name__)

ESCALATED_TAG = "escalated"


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
        self._clock = clock
        self._steps = EscalationSteps(
            conversations, store, config, pager, self._record, groups=groups, clock=clock
        )
        self._auto = AutoEscalation(self, conversations, store, config, clock)

    def wake_at(self, wake: Callable[[str, datetime], None]) -> None:
        """Have `wake(escalation id, when)` called whenever a next step is set, so a scheduler
        can run it on time; the sweep remains the guarantee (after a restart, on replicas)."""
        self._steps.wake_at(wake)

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
            await self._steps.redraw(record)
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
        await self._steps.redraw(record)
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
        return await self._steps.sweep()

    async def run_due(self, escalation_id: str) -> None:
        """Run this escalation's step now if it is due (the first step, right after starting)."""
        await self._steps.run_due(escalation_id)

    async def redraw(self, record: EscalationRecord) -> None:
        """Redraw the pages of an ended escalation (after a change to its conversation)."""
        await self._steps.redraw(record)

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

    async def progress(self, record: EscalationRecord) -> Started:
        """What the escalation is doing now: who its latest step paged, which step of how many."""
        return await self._started(record)

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

    async def _record(
        self, actor: Actor, action: str, conversation_id: str, after: dict[str, object]
    ) -> None:
        try:
            await self._audit.record(actor, action, conversation_id, None, after)
        except Exception:
            log.error("audit entry lost: %s on %s", action, conversation_id, exc_info=True)
