"""The emulator's tags: `POST /ccaas/1/tags` (a duplicate refused, as Infobip refuses it), the
tags listed, and a conversation's tags linked and unlinked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field
from starlette.requests import Request

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import answers, params
from bot.devtools.emulator.answers import TAG_EXISTS, Json

Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]


class _TagLink(BaseModel):
    tagName: str = Field(min_length=1, max_length=100)


class _NewTag(BaseModel):
    name: str = Field(min_length=1, max_length=100)


async def _add_tag(request: Request, backend: ConversationBackend) -> Json:
    link = params.model(_TagLink, await params.body(request))
    await backend.add_tag(request.path_params["conversationId"], link.tagName)
    return {"statusCode": "SUCCESS", "message": "Tag added to conversation successfully."}


async def _remove_tag(request: Request, backend: ConversationBackend) -> Json:
    path = request.path_params
    await backend.remove_tag(path["conversationId"], path["tagName"])
    return {"statusCode": "SUCCESS", "message": "Tag removed successfully."}


async def _tags(request: Request, backend: ConversationBackend) -> Json:
    query = request.query_params
    limit, page = params.paging(query)
    tags = await backend.list_tags(query.get("conversationId"))
    if "name" in query:
        tags = [tag for tag in tags if tag.name == query["name"]]
    tags, order_text = params.ordered(tags, query, answers.TAG)
    return answers.listing("tags", tags, answers.TAG, limit, page, order_text)


async def _create_tag(request: Request, backend: ConversationBackend) -> Json:
    wanted = params.model(_NewTag, await params.body(request))
    # Infobip refuses a duplicate; the backend protocol treats it as done. Say what Infobip says.
    if any(tag.name == wanted.name for tag in await backend.list_tags()):
        raise answers.bad(TAG_EXISTS)
    return answers.dump(await backend.create_tag(wanted.name), answers.CREATED_TAG)


ROUTES: dict[str, dict[str, Handler]] = {
    "/conversations/{conversationId}/tags": {"POST": _add_tag},
    "/conversations/{conversationId}/tags/{tagName:path}": {"DELETE": _remove_tag},
    "/tags": {"GET": _tags, "POST": _create_tag},
}
