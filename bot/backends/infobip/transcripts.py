"""A conversation's messages and notes at Infobip (`GET`/`POST …/messages`, `…/notes`): the
query parameters the contract takes and its pages read into our models; and its metadata map."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from bot.backends.infobip import wire
from bot.backends.infobip.errors import unreadable
from bot.messages import MessageFilter, NoteFilter
from bot.models import ResultPage
from bot.timestamps import format_timestamp

Json = Any
T = TypeVar("T", bound=BaseModel)
# A POST whose answer was lost may have been carried out: the customer may have it already.
SEND_UNSURE = (
    "the message may or may not have reached the customer; check the conversation's messages "
    "before sending it again."
)
NOTE_UNSURE = (
    "the note may or may not have been saved; check the conversation's notes before adding it "
    "again."
)


def note_params(query: NoteFilter) -> dict[str, str | int]:
    return {"orderBy": str(query.orderBy), "page": query.page, "limit": query.limit}


def message_params(query: MessageFilter) -> dict[str, str | int]:
    params = note_params(query)
    if query.direction is not None:
        params["direction"] = query.direction.value
    if query.createdAfter is not None:
        params["createdAfter"] = format_timestamp(query.createdAfter)
    if query.createdBefore is not None:
        params["createdBefore"] = format_timestamp(query.createdBefore)
    return params


def page(model: type[T], answer: Json, key: str, query: NoteFilter) -> ResultPage[T]:
    """MessageResultPage or NoteResultPage read into a ResultPage; a missing total is counted
    from what the page holds, as for conversations."""
    items = wire.dig(answer, key)
    if not isinstance(items, list):
        raise unreadable(f"the {key} list")
    total = wire.dig(answer, "pagination", "totalItems")
    parsed = [wire.parse(model, item, f"one of the {key}") for item in items]
    return ResultPage[T](
        items=parsed,
        totalItems=total if isinstance(total, int) else query.page * query.limit + len(parsed),
        page=query.page,
        limit=query.limit,
        orderBy=str(query.orderBy),
    )


def metadata(answer: Json) -> dict[str, object]:
    """GET …/metadata's answer. The contract's schema says `string` while its example (and
    what the API answers) is the map itself: the map is read, and a string holding a JSON map
    is read as that map, so either reading of the contract works."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer) if answer.strip() else {}
        except ValueError:
            raise unreadable("the conversation's metadata") from None
    if answer is None:
        return {}
    if not isinstance(answer, dict):
        raise unreadable("the conversation's metadata")
    return dict(answer)
