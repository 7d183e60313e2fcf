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


def dump(model: BaseModel) -> Json:
    # The contract types optional fields as plain strings: absent, not null.
    return model.model_dump(mode="json", exclude_none=True)


def conversation(found: Conversation) -> Json:
    # Infobip's conversation bodies carry no tags (they are their own resource); channel stays.
    return found.model_dump(mode="json", exclude={"tags"}, exclude_none=True)


def order(order_by: OrderBy) -> str:
    return f"{order_by.field}:{order_by.direction.upper()}"


def pagination(total: int, page: int, limit: int, order_text: str) -> Json:
    return {"totalItems": total, "page": page, "limit": limit, "orderBy": order_text}


def listing(key: str, items: Sequence[BaseModel], limit: int, page: int, order_text: str) -> Json:
    start = page * limit
    return {
        key: [dump(item) for item in items[start : start + limit]],
        "pagination": pagination(len(items), page, limit, order_text),
    }
