"""Auto-escalation: the `auto_escalate` rules of convbot.yml, run by the escalation sweep.

Each rule selects open conversations (priority, queue, unassigned or not updated for a while)
and escalates the oldest of them under its policy, a batch per sweep. Whether a conversation is
due again is read from the escalations the same rule started before (bot/state/escalations.py),
so replicas and restarts agree without any state of their own.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.durations import format_duration
from bot.errors import ConvbotError
from bot.models import Actor, Conversation, ConversationFilter, OrderBy, Status
from bot.oncall.config import AutoEscalateRule, AutoEscalateWhen, OncallConfig
from bot.service.conversations import ConversationService
from bot.state.escalations import EscalationStatus, EscalationStore

log = logging.getLogger(__name__)

RULE_ACTOR = Actor(id="convbot", surface="rule")
AUTO_ESCALATE_BATCH = 20  # per rule and sweep: a backlog is escalated over a few sweeps
AUTO_ESCALATE_PAGES = 5  # pages of matches read per rule and sweep, past those already handled


def rule_name(rule: AutoEscalateRule) -> str:
    """The rule's `name`, else one derived from what it says (not from where it stands in the
    file, so reordering rules does not make them fire again)."""
    if rule.name:
        return rule.name
    said = json.dumps(rule.when.model_dump(mode="json"), sort_keys=True) + rule.policy
    return f"{rule.policy}/{hashlib.sha256(said.encode()).hexdigest()[:10]}"


def describe_rule(when: AutoEscalateWhen) -> str:
    """ "URGENT, unassigned for 15 min" — the reason an auto-escalation gives."""
    parts = [", ".join(p.value for p in when.priority)] if when.priority else []
    if when.queue:
        parts.append("in " + ", ".join(when.queue))
    if when.unassigned_for is not None:
        parts.append(f"unassigned for {format_duration(when.unassigned_for)}")
    if when.no_update_for is not None:
        parts.append(f"no update for {format_duration(when.no_update_for)}")
    return "Auto-escalated: " + "; ".join(parts)


class Started(Protocol):
    already: bool  # it was being escalated already


class Escalations(Protocol):
    """The escalation service, as auto-escalation starts escalations through it."""

    async def escalate(
        self,
        actor: Actor,
        conversation_id: str,
        *,
        policy: str | None = None,
        reason: str | None = None,
        rule: str | None = None,
    ) -> Started: ...


class AutoEscalation:
    def __init__(
        self,
        escalations: Escalations,
        conversations: ConversationService,
        store: EscalationStore,
        config: OncallConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._escalations = escalations
        self._conversations = conversations
        self._store = store
        self._config = config
        self._clock = clock

    async def run(self) -> int:
        """Escalate what each `auto_escalate` rule matches now; how many were started.

        A rule escalates a conversation at most once until that escalation is acknowledged;
        after an acknowledgement its clock starts again from then (an exhausted or resolved one
        is not restarted by the same rule).
        """
        started = 0
        for rule in self._config.auto_escalate:
            name = rule_name(rule)
            try:
                due = await self._due_matches(name, rule.when)
            except ConvbotError as error:
                log.warning("auto-escalation %s: conversations unavailable: %s", name, error)
                continue
            for conversation in due:
                reason = describe_rule(rule.when)
                try:
                    done = await self._escalations.escalate(
                        RULE_ACTOR, conversation.id, policy=rule.policy, reason=reason, rule=name
                    )
                except ConvbotError as error:
                    log.warning("auto-escalation %s of %s: %s", name, conversation.id, error)
                    continue
                started += 0 if done.already else 1
        return started

    async def _due_matches(self, name: str, when: AutoEscalateWhen) -> list[Conversation]:
        """The oldest conversations the rule selects that it should escalate now, paging past
        those it already escalated (so they cannot starve newer ones), a few pages at most."""
        waited = max(d for d in (when.unassigned_for, when.no_update_for) if d is not None)
        queue_ids = [
            (await self._conversations.directory.resolve_queue(queue)).id for queue in when.queue
        ]
        query = ConversationFilter(
            statuses=[Status.OPEN, Status.WAITING],
            priorities=list(when.priority),
            queueIds=queue_ids,
            unassigned=when.unassigned_for is not None,
            updatedBefore=self._clock() - waited,
            orderBy=OrderBy(field="createdAt", direction="asc"),
            limit=AUTO_ESCALATE_BATCH,
        )
        due: list[Conversation] = []
        for page_number in range(AUTO_ESCALATE_PAGES):
            page = await self._conversations.find(query.model_copy(update={"page": page_number}))
            for conversation in page.items:
                if await self._due_by_rule(name, when, conversation):
                    due.append(conversation)
            if len(due) >= AUTO_ESCALATE_BATCH or not page.has_next:
                break
        return due[:AUTO_ESCALATE_BATCH]

    async def _due_by_rule(
        self, name: str, when: AutoEscalateWhen, conversation: Conversation
    ) -> bool:
        if await self._store.active_for(conversation.id) is not None:
            return False
        last = await self._store.last_by_rule(conversation.id, name)
        if last is None:
            return True
        if last.ended_at is None:
            return False
        if last.status is EscalationStatus.EXHAUSTED:
            # Ran out without reaching anyone (nobody on call at 3 am): it may try again.
            if await self._store.pages(last.id):
                return False
        elif last.status is not EscalationStatus.ACKNOWLEDGED:
            return False
        waited = max(d for d in (when.unassigned_for, when.no_update_for) if d is not None)
        return self._clock() - last.ended_at >= waited
