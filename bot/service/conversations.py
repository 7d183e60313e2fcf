"""ConversationService: every change to a conversation goes through here, checked and audited.

What a change answers and how it is compared (the fields audited, a no-op in words) is
changes.py's."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.backends.base import ConversationBackend
from bot.bounded import all_of
from bot.config import Action
from bot.errors import (
    ConversationClosed,
    Forbidden,
    InvalidInput,
    NotFound,
    StateUnavailable,
)
from bot.field_rules import require_tag_count, require_tag_name
from bot.models import (
    Actor,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    ResultPage,
    Status,
)
from bot.service import settling
from bot.service.changes import Change, already_said, routed, snapshot
from bot.service.conversation_ids import ConversationIds
from bot.service.directory import Directory
from bot.service.permissions import PermissionPolicy
from bot.service.refusals import Refusals
from bot.service.sources import Sources
from bot.service.transcripts import Transcripts
from bot.state.audit import AuditLog, changed_fields
from bot.state.known_ids import KnownConversationIds
from bot.state.snoozes import SnoozeStore
from bot.timestamps import format_timestamp, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        self._closed_hooks: list[Callable[[Actor, str], Awaitable[object]]] = []
        self._refusals = Refusals()
        # Typed id prefixes, completed from the backend and the bot's own records.
        self.ids = ConversationIds(backend, KnownConversationIds(audit.engine))
        # The agents and queues, as commands name them.
        self.directory = Directory(backend)
        # Messages and notes, under this service's permissions and audit.
        self.transcripts = Transcripts(backend, self._record, self.authorize, clock)
        self.sources = Sources(backend, self._record)  # the Slack message one came from

    # --- reads --------------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> Conversation:
        return await self.backend.get(conversation_id)

    async def find(self, query: ConversationFilter) -> ResultPage[Conversation]:
        """One page of the conversations the filter matches, in its order."""
        return await self.backend.list(query)

    # --- changes ------------------------------------------------------------------------------

    async def create(self, actor: Actor, data: ConversationCreate) -> Change:
        """Tags are created before the conversation, so a tag failure leaves nothing behind."""
        await self.authorize(actor, "create", None)
        await all_of(self.backend.create_tag(name) for name in data.tags)
        created = await self.backend.create(data)
        await self._record(actor, "create", created.id, None, snapshot(created))
        if not data.tags:
            return Change(conversation=created.model_copy(update={"tags": []}))
        untagged = created.model_copy(update={"tags": []})
        linked, error = await settling.retag(self.backend, untagged, data.tags, linking=True)
        if linked:
            await self._record(actor, "tag", created.id, {"tags": []}, {"tags": linked})
        if error is not None:
            # The conversation exists: say so, or a retry would create it twice.
            missing = [name for name in data.tags if name not in linked]
            done = f" and tagged it {', '.join(linked)}" if linked else ""
            error.message = (
                f"Created conversation {created.id}{done}, but tagging it failed: "
                f"{error.message} Run `tag {created.id} {' '.join(missing)}` to finish."
            )
            raise error
        return Change(conversation=await self._current(created, linked))

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
        before = await self.backend.get(conversation_id)
        if before.is_closed:
            if closing:  # closing what is closed is a second press, not a mistake
                return Change(conversation=before, changed=False, note="It is already closed.")
            raise ConversationClosed(conversation_id)
        wanted = patch.changes()
        if all(snapshot(before).get(field) == value for field, value in wanted.items()):
            return Change(conversation=before, changed=False, note=already_said(wanted))
        after = await settling.settle(
            self.backend,
            before,
            self.backend.patch(conversation_id, patch),
            lambda now: all(snapshot(now).get(field) == v for field, v in wanted.items()),
        )
        after = await self._record_change(actor, "close" if closing else "update", before, after)
        if closing:
            await self._closed(actor, after.id)
        return Change(conversation=after, before=before)

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
            note = "It is already yours." if agent_id == actor.agent_id else None
            if note is None:
                note = f"It is already assigned to {await self.directory.agent_name(agent_id)}."
            return Change(conversation=before, changed=False, note=note)
        after = await settling.settle(
            self.backend,
            before,
            self.backend.assign(conversation_id, agent_id),
            lambda now: now.agentId == agent_id,
        )
        after = await self._record_change(actor, "assign", before, after)
        return Change(conversation=after, before=before)

    async def unassign(self, actor: Actor, conversation_id: str) -> Change:
        await self.authorize(actor, "assign", conversation_id)
        before = await self._changeable(conversation_id)
        if before.agentId is None:
            return Change(conversation=before, changed=False, note="It is already unassigned.")
        after = await settling.settle(
            self.backend,
            before,
            self.backend.unassign(conversation_id),
            lambda now: now.agentId is None,
        )
        after = await self._record_change(actor, "unassign", before, after)
        return Change(conversation=after, before=before)

    async def route(self, actor: Actor, conversation_id: str) -> Change:
        await self.authorize(actor, "route", conversation_id)
        before = await self._changeable(conversation_id)
        after = await settling.settle(
            self.backend,
            before,
            self.backend.route(conversation_id),
            lambda now: routed(before, now),
        )
        after = await self._record_change(actor, "route", before, after)
        return Change(conversation=after, before=before)

    async def tag(
        self,
        actor: Actor,
        conversation_id: str,
        names: list[str],
        *,
        checked: bool = False,
    ) -> Change:
        require_tag_count(names)
        for name in names:
            require_tag_name(name)
        if not checked:
            await self.authorize(actor, "tag", conversation_id)
        before = await self._changeable(conversation_id)
        current = before.tags or []
        missing = [name for name in dict.fromkeys(names) if name not in current]
        if not missing:
            listed = " ".join(f"#{name}" for name in dict.fromkeys(names))
            return Change(
                conversation=before, changed=False, note=f"It is already tagged {listed}."
            )
        # Infobip refuses to link a tag that does not exist yet: create first, then link.
        await all_of(self.backend.create_tag(name) for name in missing)
        linked, error = await settling.retag(self.backend, before, missing, linking=True)
        if error is None:
            return await self._after_tags(actor, "tag", before, sorted([*current, *linked]))
        if linked:  # made, so audited, and said
            await self._after_tags(actor, "tag", before, sorted([*current, *linked]))
            left = [name for name in missing if name not in linked]
            error.message = (
                f"Tagged {conversation_id} {', '.join(linked)} only: {error.message} "
                f"Run `tag {conversation_id} {' '.join(left)}` to finish."
            )
        raise error

    async def untag(self, actor: Actor, conversation_id: str, names: list[str]) -> Change:
        require_tag_count(names)
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
        removed, error = await settling.retag(self.backend, before, unique, linking=False)
        left = [t for t in current if t not in removed]
        if error is None:
            return await self._after_tags(actor, "untag", before, left)
        if removed:  # made, so audited, and said
            await self._after_tags(actor, "untag", before, left)
            rest = [n for n in unique if n not in removed]
            error.message = (
                f"Untagged {conversation_id} {', '.join(removed)} only: {error.message} "
                f"Run `untag {conversation_id} {' '.join(rest)}` to finish."
            )
        raise error

    # --- snoozes ------------------------------------------------------------------------------

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

    async def authorize(self, actor: Actor, action: Action, conversation_id: str | None) -> None:
        """Refuse before any backend call; a refusal is audited like a change, once a minute
        per person and action (see bot/service/refusals.py)."""
        try:
            await self._permissions.check(actor, action)
        except Forbidden:
            if self._refusals.first(actor.id, action):
                await self._record(actor, "denied", conversation_id, None, {"action": action})
            raise

    # --- internals ----------------------------------------------------------------------------

    async def _changeable(self, conversation_id: str) -> Conversation:
        conversation = await self.backend.get(conversation_id)
        if conversation.is_closed:
            raise ConversationClosed(conversation_id)
        return conversation

    async def _after_tags(
        self, actor: Actor, action: str, before: Conversation, tags: list[str]
    ) -> Change:
        await self._record(actor, action, before.id, {"tags": before.tags}, {"tags": tags})
        return Change(conversation=await self._current(before, tags))

    async def _current(self, drawn: Conversation, tags: list[str]) -> Conversation:
        """The conversation after its tags changed. Linking a tag moves its `updatedAt`, and
        the tag calls answer no conversation: a card drawn from `drawn` would carry the old
        version and its first press would be refused as out of date. So it is read back (on
        Infobip one GET of it and one of its tags, at once); if that fails, `drawn` with the
        new tags, which a press then finds a moment old and redraws."""
        now = await settling.read_back(self.backend, drawn.id)
        return now if now is not None else drawn.model_copy(update={"tags": tags})

    async def _record_change(
        self, actor: Actor, action: str, before: Conversation, after: Conversation
    ) -> Conversation:
        """Audit the difference; returns `after` with tags kept (Infobip's answers omit them)."""
        if after.tags is None:
            after = after.model_copy(update={"tags": before.tags})
        old, new = changed_fields(snapshot(before), snapshot(after))
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
        except StateUnavailable:
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
