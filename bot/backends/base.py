"""The port every backend implements. Backends report what the remote side said; the service
layer decides (closed conversations, defaults, permissions)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Protocol

from bot.messages import Message, MessageCreate, MessageFilter, Note, NoteCreate, NoteFilter
from bot.models import (
    Agent,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Metadata,
    Queue,
    ResultPage,
    RoutingRule,
    Tag,
)


@dataclass(frozen=True)
class IdPrefixMatches:
    """Conversations whose ids start with a prefix, as far as a backend can tell in one bounded
    look. `complete`: it looked at every conversation, so there are no others (the embedded
    store); else it looked at some only (Infobip cannot search ids) and the caller adds what it
    knows itself."""

    conversations: builtins.list[Conversation]
    complete: bool


class ConversationBackend(Protocol):
    """Async access to conversations and the resources around them.

    Errors are raised as `bot.errors` types: NotFound for an unknown id, ConversationClosed when
    the remote side refuses to change a closed conversation, InvalidInput for a request it
    rejected, RateLimited / BackendUnavailable when it could not answer.
    """

    name: str

    async def create(self, data: ConversationCreate) -> Conversation:
        """Create a conversation (tags in `data` are not linked here; the service does that)."""
        ...

    async def get(self, conversation_id: str) -> Conversation:
        """One conversation, with its tags loaded."""
        ...

    async def list(self, query: ConversationFilter) -> ResultPage[Conversation]:
        """One page of matching conversations in `query.orderBy` order, with the full total."""
        ...

    async def with_id_prefix(self, prefix: str, limit: int) -> IdPrefixMatches:
        """At most `limit` conversations whose ids start with `prefix` (case-sensitive), in one
        bounded request or query."""
        ...

    async def patch(self, conversation_id: str, patch: ConversationPatch) -> Conversation: ...

    async def route(self, conversation_id: str) -> Conversation: ...

    async def assign(self, conversation_id: str, agent_id: str) -> Conversation: ...

    async def unassign(self, conversation_id: str) -> Conversation: ...

    async def create_tag(self, name: str) -> Tag:
        """Create a tag; an existing tag of that name is returned, not an error."""
        ...

    async def add_tag(self, conversation_id: str, tag_name: str) -> None: ...

    async def remove_tag(self, conversation_id: str, tag_name: str) -> None: ...

    async def list_tags(self, conversation_id: str | None = None) -> builtins.list[Tag]: ...

    async def list_messages(
        self, conversation_id: str, query: MessageFilter
    ) -> ResultPage[Message]:
        """One page of a conversation's messages in `query.orderBy` order, with the total."""
        ...

    async def send_message(
        self, conversation_id: str, message: MessageCreate, agent_id: str | None
    ) -> Message:
        """Send `message` to the customer. `agent_id` names the sending agent (Infobip's
        `x-agent-id`): required when the conversation is assigned (the assignee, or a
        supervisor), refused when it is not. A closed conversation refuses (ConversationClosed);
        the rules are Infobip's, the service decides before sending."""
        ...

    async def list_notes(self, conversation_id: str, query: NoteFilter) -> ResultPage[Note]: ...

    async def add_note(self, conversation_id: str, note: NoteCreate) -> Note:
        """An internal note (colleagues only; a closed conversation takes one at the backend,
        the service refuses it)."""
        ...

    async def get_metadata(self, conversation_id: str) -> Metadata:
        """The conversation's metadata map (empty when it has none)."""
        ...

    async def patch_metadata(self, conversation_id: str, values: Metadata) -> None:
        """Merge `values` (at least one key) into the conversation's metadata: Infobip's PATCH,
        which creates the map when there is none."""
        ...

    async def list_agents(self) -> builtins.list[Agent]:
        """Every agent. On Infobip the items carry no e-mail (AgentResponse): to find an agent
        by e-mail, use `agents_with_email`."""
        ...

    async def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id, in one request (Infobip's `GET /agents/{agentId}`); None when
        there is no such agent."""
        ...

    async def agents_with_email(self, email: str) -> builtins.list[Agent]:
        """The agents whose e-mail is `email` (by `bot.models.same_email`), in one request:
        Infobip's `GET /agents?email=`. Usually one, or none."""
        ...

    async def list_queues(self) -> builtins.list[Queue]: ...

    async def list_routing_rules(self) -> builtins.list[RoutingRule]: ...

    async def ping(self) -> None:
        """Raise BackendUnavailable unless the backend answers."""
        ...

    async def aclose(self) -> None: ...
