"""The emulator's agents, queues and routing rules (`GET /ccaas/1/agents`, `/agents/{id}`,
`/queues`, `/routing`) with the contract's filters; a filter the backend protocol cannot answer
is refused, not ignored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import answers, params
from bot.devtools.emulator.answers import Json, Refusal
from bot.field_rules import LIMIT_MAX
from bot.models import Agent, AgentRole, AgentStatus, Queue, RoutingRule

Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]

# GET /agents's date filters (the contract's parameters): item field, and which side of it.
_AGENT_DATES = {
    "createdAfter": ("createdAt", "after"),
    "createdBefore": ("createdAt", "before"),
    "updatedAfter": ("updatedAt", "after"),
    "updatedBefore": ("updatedAt", "before"),
}


async def _agents(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    # Queue membership is not in the backend protocol, nor an availability "set by the
    # system" (the contract): refused rather than answered with nobody.
    params.unsupported(query, "queueIds", "availability")
    limit, page = params.paging(query)
    # An unknown enum or boolean value is a 400, as for conversations.
    for name, kind in (("status", AgentStatus), ("role", AgentRole)):
        params.enum_values(query, name, kind)
    params.boolean(query, "enabled")
    email = query.get("email")
    # `email` filters on what the items do not show (AgentResponse has no email): the backend
    # looks it up, by the same rule as the embedded store (`bot.models.same_email`).
    agents = (
        await backend.agents_with_email(email) if email is not None else await backend.list_agents()
    )
    agents = params.filtered(
        agents,
        query,
        {
            "agentIds": "id",
            "status": "status",
            "role": "role",
            "enabled": "enabled",
        },
    )
    if "displayName" in query:
        # The contract: "This is case insensitive and will search for substring anywhere
        # within string".
        part = query["displayName"].casefold()
        agents = [agent for agent in agents if part in agent.displayName.casefold()]
    agents = params.dates(agents, query, _AGENT_DATES)
    agents, order_text = params.ordered(agents, query, answers.AGENT)
    return answers.listing("agents", agents, answers.AGENT, limit, page, order_text)


async def _agent(request: Request, backend: ConversationBackend) -> Json:
    agent_id = request.path_params["agentId"]
    found: list[Agent] = [a for a in await backend.list_agents() if a.id == agent_id]
    if not found:
        raise Refusal(404, "NOT_FOUND", f"Invalid agent id given '{agent_id}'")
    # AgentResponseWithEmail: the one agent answer that carries the e-mail.
    return answers.dump(found[0], answers.AGENT_WITH_EMAIL)


async def _queues(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    # Queue membership and working hours are not in the backend protocol: refused, not ignored.
    params.unsupported(query, "agentId", "workingHoursId")
    limit, page = params.paging(query)
    queues: list[Queue] = params.filtered(
        await backend.list_queues(), query, {"queueIds": "id", "name": "name"}
    )
    queues, order_text = params.ordered(queues, query, answers.QUEUE)
    return answers.listing("queues", queues, answers.QUEUE, limit, page, order_text)


async def _routing(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    params.boolean(query, "enabled")
    rules: list[RoutingRule] = params.filtered(
        await backend.list_routing_rules(), query, {"ruleIds": "id", "enabled": "enabled"}
    )
    rules.sort(key=lambda rule: rule.order)
    # GET /routing is not paged: every rule, with the pagination the contract's example shows.
    return answers.listing("routes", rules, answers.RULE, LIMIT_MAX, 0, "order:ASC")


ROUTES: dict[str, dict[str, Handler]] = {
    "/agents": {"GET": _agents},
    "/agents/{agentId}": {"GET": _agent},
    "/queues": {"GET": _queues},
    "/routing": {"GET": _routing},
}
