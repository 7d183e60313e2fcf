"""The agents and queues, as commands name them: listings, and look-ups by id, name, e-mail or
Slack mention. Reads only; the service's changes name agents and queues through it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.backends.base import ConversationBackend
from bot.errors import ConvbotError, InvalidInput
from bot.models import Actor, Agent, Queue
from bot.service import agent_refs

log = logging.getLogger(__name__)
# A Slack user id → the agent linked to them (bot/slack/identity.py), or None.
MentionLookup = Callable[[str], Awaitable[str | None]]


class Directory:
    def __init__(self, backend: ConversationBackend) -> None:
        self.backend = backend
        self._mentions: MentionLookup | None = None

    async def queues(self) -> list[Queue]:
        return await self.backend.list_queues()

    async def agents(self) -> list[Agent]:
        return await self.backend.list_agents()

    async def agent_name(self, agent_id: str) -> str:
        """The agent's display name, for sentences (one read of that agent); the id when it
        cannot be read."""
        try:
            agent = await self.backend.get_agent(agent_id)
        except ConvbotError:
            return agent_id
        return agent.displayName if agent is not None else agent_id

    async def agent_by_email(self, email: str) -> Agent | None:
        """The one agent with this e-mail, in one backend request; None when there is none, or
        when several share it (linking a person to the wrong one of them is worse than to none).
        Infobip's agent list carries no e-mails, so the list cannot be searched for one."""
        wanted = email.strip()
        if not wanted:
            return None
        found = await self.backend.agents_with_email(wanted)
        if len(found) > 1:
            log.warning("%d agents have the e-mail %s; matching none of them", len(found), wanted)
            return None
        return found[0] if found else None

    async def resolve_queue(self, text: str) -> Queue:
        """A queue by id or by name (case-insensitive)."""
        return _find_queue(await self.backend.list_queues(), text)

    async def resolve_queues(self, texts: list[str]) -> list[Queue]:
        """Several queues by id or name, from one listing of the queues (not one each)."""
        if not texts:
            return []
        queues = await self.backend.list_queues()
        return [_find_queue(queues, text) for text in texts]

    def link_mentions(self, lookup: MentionLookup) -> None:
        """How a Slack mention (`<@U…>`) names an agent; without it mentions are refused."""
        self._mentions = lookup

    async def resolve_agent(self, actor: Actor, text: str) -> str:
        """An agent id from `me`, or anything `find_agent` takes."""
        if text.strip().lower() == "me":
            if actor.agent_id is None:
                raise InvalidInput(
                    f"You ({actor.id}) are not linked to an agent, so `me` means nobody. Ask an "
                    f"admin to add `{actor.id}: <agent id>` under `agents:` in convbot.yml."
                )
            return actor.agent_id
        return (await self.find_agent(text)).id

    async def find_agent(self, text: str) -> Agent:
        """The one agent `text` names: an id, a name or first name (case-insensitive, `@ben`
        too), an e-mail, or a Slack mention of a linked person. A miss suggests the closest
        names; several matches are listed. One listing of the agents, plus one request by
        e-mail when nothing in the listing matched (Infobip's list items carry no e-mail)."""
        mention = agent_refs.mention_in(text)
        mentioned = await self._mentioned_agent(mention) if mention is not None else None
        agents = await self.backend.list_agents()
        wanted = mentioned or text.strip()
        for agent in agents:
            if wanted == agent.id:
                return agent
        if mentioned is not None:
            # Linked in convbot.yml to an id the backend does not list: assigning says so.
            return Agent(id=mentioned, displayName=mentioned)
        matches = agent_refs.by_name(agents, wanted) or [
            a for a in agents if a.id.casefold() == wanted.casefold()
        ]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InvalidInput(agent_refs.ambiguous_agent(matches, wanted))
        if "@" in wanted[1:]:
            by_email = await self.agent_by_email(wanted)
            if by_email is not None:
                return by_email
        raise InvalidInput(agent_refs.unknown_agent(agents, wanted))

    async def _mentioned_agent(self, mention: agent_refs.Mention) -> str:
        who = f"@{mention.label}" if mention.label else "That Slack user"
        if self._mentions is None:
            raise InvalidInput(
                f"{who} is a Slack mention, which works in Slack only; here give the agent's"
                " name, e-mail or id."
            )
        agent_id = await self._mentions(mention.user_id)
        if agent_id is None:
            raise InvalidInput(
                f"{who} is not linked to an agent, so cannot be assigned. Ask an admin to add"
                f" `{mention.user_id}: <agent id>` under `agents:` in convbot.yml, or give the"
                " agent's name, e-mail or id."
            )
        return agent_id


def _find_queue(queues: Iterable[Queue], text: str) -> Queue:
    listed = list(queues)
    for queue in listed:
        if text == queue.id or text.casefold() == queue.name.casefold():
            return queue
    known = ", ".join(q.name for q in listed[:10]) or "none are configured"
    raise InvalidInput(f"Unknown queue '{text}'. Queues: {known}.")
