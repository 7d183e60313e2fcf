"""What the emulator answers: the contract's bodies, pagination objects and error envelopes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from starlette.responses import JSONResponse

from bot.models import Conversation, OrderBy

Json = Any
# Texts from the contract's examples.
BAD_BODY = "Invalid request body."
CLOSED = "Closed conversation cannot be changed"
TAG_EXISTS = "Tag already exists."
GENERAL_ERROR = "Something went wrong. Please contact support."


class Refusal(Exception):
    """An answer given before (or instead of) the backend's: status plus error envelope."""

    def __init__(
        self,
        status: int,
        message_id: str,
        text: str,
        validation: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.message_id = message_id
        self.text = text
        self.validation = validation

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message_id, self.text, self.validation)


def error_response(
    status: int, message_id: str, text: str, validation: Mapping[str, list[str]] | None = None
) -> JSONResponse:
    details: dict[str, Any] = {"messageId": message_id, "text": text}
    if validation:
        details["validationErrors"] = dict(validation)
    return JSONResponse({"requestError": {"serviceException": details}}, status_code=status)


def bad(text: str, validation: Mapping[str, list[str]] | None = None) -> Refusal:
    return Refusal(400, "BAD_REQUEST", text, validation)


def invalid_id(entity_id: str) -> Refusal:
    return Refusal(404, "NOT_FOUND", f"Invalid id '{entity_id}' given! No such entity exists.")


# What each answer may carry: the properties its schema in the contract declares, no more, so
# that a client leaning on a field Infobip does not send fails here as it would there
# (`contracts/infobip-conversations-openapi.json`, components/schemas, hash prefixes left out).
# ConversationApiModel: no `tags` (their own resource) and no `channel` (see README, "Infobip
# notes": the contract's conversations carry none, though a create may send one).
CONVERSATION = frozenset(
    {"id", "topic", "summary", "status", "priority", "queueId", "agentId"}
    | {"createdAt", "updatedAt", "closedAt"}
)
# AgentResponse, the items of GET /agents (AgentResponseResultPage): no `email`.
AGENT = frozenset(
    {"id", "displayName", "title", "status", "availability", "role", "enabled"}
    | {"createdAt", "updatedAt"}
)
# AgentResponseWithEmail, the answer of GET /agents/{agentId}: `email`, and no `title`.
AGENT_WITH_EMAIL = (AGENT - {"title"}) | {"email"}
# TagApiResponse, the items of GET /tags (TagsApiResponse).
TAG = frozenset({"name", "id", "createdAt", "updatedAt"})
# POST /tags: the schema says CreateTagApiRequest (`name`); its example, what the API answers,
# adds `createdAt`.
CREATED_TAG = frozenset({"name", "createdAt"})
# QueueApiModel, the items of GET /queues (QueueResultPage).
QUEUE = frozenset(
    {"id", "name", "enabledAgentsCount", "enabledRoutesCount", "createdAt", "updatedAt"}
    | {"isAutoAssignmentEnabled", "autoAssignmentAlgorithm", "workingHoursId", "isRestricted"}
    | {"isAutoAssignmentOutsideOfWorkingHoursEnabled", "stickyAgentTimeoutDays"}
    | {"isStickyAutoAssignmentEnabled", "isPrivate", "deletedAt", "externalId"}
)
# RuleApiResponse, the items of GET /routing (RoutingRulesResultPage). Our rules' `match` is
# not Infobip's `expression` (whose language the contract does not give), so neither is sent.
RULE = frozenset(
    {"id", "priority", "queueId", "queueName", "enabled", "name", "createdAt", "updatedAt"}
    | {"order", "routeOnlyDuringWorkingHours", "isPrivate"}
)


def dump(model: BaseModel, allowed: frozenset[str]) -> Json:
    """The model's fields that `allowed` names. The contract types optional fields as plain
    strings: unset ones are absent, not null."""
    return model.model_dump(mode="json", include=set(allowed), exclude_none=True)


def conversation(found: Conversation) -> Json:
    return dump(found, CONVERSATION)


def order(order_by: OrderBy) -> str:
    return f"{order_by.field}:{order_by.direction.upper()}"


def pagination(total: int, page: int, limit: int, order_text: str) -> Json:
    return {"totalItems": total, "page": page, "limit": limit, "orderBy": order_text}


def listing(
    key: str,
    items: Sequence[BaseModel],
    allowed: frozenset[str],
    limit: int,
    page: int,
    order_text: str,
) -> Json:
    start = page * limit
    return {
        key: [dump(item, allowed) for item in items[start : start + limit]],
        "pagination": pagination(len(items), page, limit, order_text),
    }
