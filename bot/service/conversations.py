"""ConversationService: every change to a conversation goes through here, checked and audited."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from bot.backends.base import ConversationBackend
from bot.config import Action
from bot.errors import ConvbotError, ConversationClosed, Forbidden, InvalidInput, NotFound
from bot.models import (
    Actor,
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Page,
    Queue,
    Status,
    format_timestamp,
    require_tag_name,
    utcnow,
)
from bot.service.permissions import PermissionPolicy
from bot.state.audit import AuditLog, changed_fields
from bot.state.snoozes import SnoozeStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class Change(BaseModel):
    """The conversation after a command, and whether anything actually changed."""

    conversation: Conversation
    changed: bool = True
    note: str | None = None


class ConversationService:
    def __init__(
        self,
        backend: ConversationBackend,
        audit: AuditLog,
        permissions: PermissionPolicy | None = None,
        snoozes: SnoozeStore | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.backend = backend
        self._audit = audit
        self._permissions = permissions or PermissionPolicy({}, None)
        self._snoozes = snoozes
        self._clock = clock
        self._closed_hooks: builtins.list[Callable[[Actor, str], Awaitable[object]]] = []

    # --- reads --------------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> Conversation:
        return await self.backend.get(conversation_id)

    async def list(self, query: ConversationFilter) -> Page[Conversation]:
        return await self.backend.list(query)

    async def queues(self) -> builtins.list[Queue]:
        return await self.backend.list_queues()

    async def agents(self) -> builtins.list[Agent]:
        return await self.backend.list_agents()

    # --- changes ------------------------------------------------------------------------------

    async def create(self, actor: Actor, data: ConversationCreate) -> Change:
        """Tags are created before the conversation, so a tag failure leaves nothing behind."""
        await self.authorize(actor, "create", None)
        await _all(*(self.backend.create_tag(name) for name in data.tags))
        created = await self.backend.create(data)
        await self._record(actor, "create", created.id, None, _snapshot(created))
        if not data.tags:
            return Change(conversation=created.model_copy(update={"tags": []}))
        try:
            await _all(*(self.backend.add_tag(created.id, t) for t in data.tags))
        except ConvbotError as error:
            # The conversation exists: say so, or a retry would create it twice.
            error.message = (
                f"Created conversation {created.id}, but tagging it failed: {error.message} "
                f"Run `tag {created.id} {' '.join(data.tags)}` to finish."
            )
            raise
        await self._record(actor, "tag", created.id, {"tags": []}, {"tags": sorted(data.tags)})
        return Change(conversation=created.model_copy(update={"tags": sorted(data.tags)}))

    async def update(
        self,
        actor: Actor,
        conversation_id: str,
        patch: ConversationPatch,
        *,
        checked: bool = False,
    ) -> Change:
        """`checked`: the caller already authorized this change as part of another action
        (escalating raises the priority under the `escalate` permission)."""
        if not patch.model_fields_set:
            raise InvalidInput("Nothing to update: give at least one field to change.")
        closing = patch.status is Status.CLOSED
        if not checked:
            await self.authorize(actor, "close" if closing else "update", conversation_id)
        before = await self._changeable(conversation_id)
        wanted = patch.changes()
        if all(_snapshot(before).get(field) == value for field, value in wanted.items()):
            return Change(conversation=before, changed=False, note="It already had those values.")
        after = await self.backend.patch(conversation_id, patch)
        after = await self._record_change(actor, "close" if closing else "update", before, after)
        if closing:
            await self._closed(actor, after.id)
        return Change(conversation=after)

    def when_closed(self, hook: Callable[[Actor, str], Awaitable[object]]) -> None:
        """Call `hook(actor, conversation id)` after each close (escalations end with it)."""
        self._closed_hooks.append(hook)

    async def _closed(self, actor: Actor, conversation_id: str) -> None:
        for hook in self._closed_hooks:
            try:
                await hook(actor, conversation_id)
            except Exception:  # the close is done and must be reported as done
                log.warning("after closing %s", conversation_id, exc_info=True)

    async def close(self, actor: Actor, conversation_id: str) -> Change:
        return await self.update(actor, conversation_id, ConversationPatch(status=Status.CLOSED))

    async def assign(self, actor: Actor, conversation_id: str, agent_id: str) -> Change:
        await self.authorize(actor, "assign", conversation_id)
        before = await self._changeable(conversation_id)
        if before.agentId == agent_id:
            return Change(
                conversation=before, changed=False, note=f"It was already with {agent_id}."
            )
        after = await self.backend.assign(conversation_id, agent_id)
        return Change(conversation=await self._record_change(actor, "assign", before, after))

    async def unassign(self, actor: Actor, conversation_id: str) -> Change:
        await self.authorize(actor, "assign", conversation_id)
        before = await self._changeable(conversation_id)
        if before.agentId is None:
            return Change(conversation=before, changed=False, note="It had no agent.")
        after = await self.backend.unassign(conversation_id)
        return Change(conversation=await self._record_change(actor, "unassign", before, after))

    async def route(self, actor: Actor, conversation_id: str) -> Change:
        await self.authorize(actor, "route", conversation_id)
        before = await self._changeable(conversation_id)
        after = await self.backend.route(conversation_id)
        return Change(conversation=await self._record_change(actor, "route", before, after))

    async def tag(
        self,
        actor: Actor,
        conversation_id: str,
        names: builtins.list[str],
        *,
        checked: bool = False,
    ) -> Change:
        for name in names:
            require_tag_name(name)
        if not checked:
            await self.authorize(actor, "tag", conversation_id)
        before = await self._changeable(conversation_id)
        current = before.tags or []
        missing = [name for name in dict.fromkeys(names) if name not in current]
        if not missing:
            return Change(conversation=before, changed=False, note="It already had those tags.")
        # Infobip refuses to link a tag that does not exist yet: create first, then link.
        await _all(*(self.backend.create_tag(name) for name in missing))
        await _all(*(self.backend.add_tag(conversation_id, name) for name in missing))
        return await self._after_tags(actor, "tag", before, sorted([*current, *missing]))

    async def untag(self, actor: Actor, conversation_id: str, names: builtins.list[str]) -> Change:
        await self.authorize(actor, "tag", conversation_id)
        before = await self._changeable(conversation_id)
        current = before.tags or []
        absent = [name for name in names if name not in current]
        if absent:
            listed = ", ".join(f"'{name}'" for name in absent)
            have = ", ".join(current) or "none"
            raise NotFound(
                f"Conversation {conversation_id} has no tag {listed} (its tags: {have})."
            )
        unique = list(dict.fromkeys(names))
        await _all(*(self.backend.remove_tag(conversation_id, n) for n in unique))
        return await self._after_tags(
            actor, "untag", before, [t for t in current if t not in unique]
        )

    # --- lookups used by the command layer ----------------------------------------------------

    async def snooze(
        self, actor: Actor, conversation_id: str, duration: timedelta
    ) -> tuple[Conversation, datetime]:
        """Leave an open conversation out of digests for `duration`; it and the snooze's end."""
        if self._snoozes is None:
            raise InvalidInput("Snoozing needs the state database; it is not available here.")
        conversation = await self._changeable(conversation_id)
        until = self._clock() + duration
        previous = await self._snoozes.snooze(conversation.id, until, actor.id)
        await self._record(
            actor,
            "snooze",
            conversation.id,
            {"snoozedUntil": format_timestamp(previous) if previous else None},
            {"snoozedUntil": format_timestamp(until)},
        )
        return conversation, until

    async def snoozed(self, conversation_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        """conversation id → end of its snooze, for those snoozed now (of the given ids, or all)."""
        if self._snoozes is None:
            return {}
        return await self._snoozes.active(conversation_ids)

    async def resolve_queue(self, text: str) -> Queue:
        """A queue by id or by name (case-insensitive)."""
        queues = await self.backend.list_queues()
        for queue in queues:
            if text == queue.id or text.casefold() == queue.name.casefold():
                return queue
        known = ", ".join(q.name for q in queues[:10]) or "none are configured"
        raise InvalidInput(f"Unknown queue '{text}'. Queues: {known}.")

    async def resolve_agent(self, actor: Actor, text: str) -> str:
        """An agent id from `me`, an id, a display name or an e-mail (case-insensitive)."""
        if text == "me":
            if actor.agent_id is None:
                raise InvalidInput(
                    f"You ({actor.id}) are not linked to an agent, so `me` means nobody. Ask an "
                    f"admin to add `{actor.id}: <agent id>` under `agents:` in convbot.yml."
                )
            return actor.agent_id
        agents = await self.backend.list_agents()
        for agent in agents:
            names = {agent.displayName.casefold(), (agent.email or "").casefold()}
            if text == agent.id or text.casefold() in names:
                return agent.id
        known = ", ".join(f"{a.displayName} ({a.id})" for a in agents[:10]) or "none exist"
        raise InvalidInput(f"Unknown agent '{text[:80]}'. Agents: {known}.")

    async def authorize(self, actor: Actor, action: Action, conversation_id: str | None) -> None:
        """Refuse before any backend call; a refusal is audited like a change."""
        try:
            await self._permissions.check(actor, action)
        except Forbidden:
            await self._record(actor, "denied", conversation_id, None, {"action": action})
            raise

    # --- internals ----------------------------------------------------------------------------

    async def _changeable(self, conversation_id: str) -> Conversation:
        conversation = await self.backend.get(conversation_id)
        if conversation.is_closed:
            raise ConversationClosed(conversation_id)
        return conversation

    async def _after_tags(
        self, actor: Actor, action: str, before: Conversation, tags: builtins.list[str]
    ) -> Change:
        after = before.model_copy(update={"tags": tags})
        await self._record(actor, action, before.id, {"tags": before.tags}, {"tags": tags})
        return Change(conversation=after)

    async def _record_change(
        self, actor: Actor, action: str, before: Conversation, after: Conversation
    ) -> Conversation:
        """Audit the difference; returns `after` with tags kept (Infobip's answers omit them)."""
        if after.tags is None:
            after = after.model_copy(update={"tags": before.tags})
        old, new = changed_fields(_snapshot(before), _snapshot(after))
        await self._record(actor, action, after.id, old, new)
        return after

    async def _record(
        self,
        actor: Actor,
        action: str,
        conversation_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        try:
            await self._audit.record(actor, action, conversation_id, before, after)
        except (SQLAlchemyError, OSError):
            # The change is done and must be reported as done (or a retry would repeat it);
            # the missing entry is an operator's problem, loudly logged.
            log.error(
                "audit entry lost: %s %s on %s by %s",
                action,
                after,
                conversation_id,
                actor.id,
                exc_info=True,
            )


def _snapshot(conversation: Conversation) -> dict[str, Any]:
    return conversation.model_dump(
        mode="json",
        include={"topic", "summary", "status", "priority", "queueId", "agentId", "channel", "tags"},
    )


async def _all(*calls: Awaitable[T]) -> list[T]:
    """Run concurrently; wait for every call before raising the first failure, so nothing is
    left running unobserved."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], results)
