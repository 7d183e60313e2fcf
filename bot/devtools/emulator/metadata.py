"""The emulator's conversation metadata: `GET`/`PUT`/`PATCH`/`DELETE
/ccaas/1/conversations/{id}/metadata` as the contract gives them. GET answers the map itself (the
contract's example; its schema says `string`, see tests/contract.py); PUT replaces the map,
PATCH merges into it (creating it when there is none), each with the StatusCodeResponse and the
`message` of the contract's examples; a body that is not an object with at least one property is
the contract's 400 "Invalid request body."; an unknown id is NOT_FOUND, as everywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from starlette.requests import Request

from bot.backends.base import ConversationBackend
from bot.devtools.emulator import params
from bot.devtools.emulator.answers import BAD_BODY, Json, Refusal, bad
from bot.models import Metadata

Handler = Callable[[Request, ConversationBackend], Awaitable[Json]]
PATH = "/conversations/{conversationId}/metadata"


@runtime_checkable
class WholeMetadata(Protocol):
    """A store that can also replace and delete a map (LocalBackend); the bot itself only
    reads and merges, which is all the backend protocol asks."""

    async def put_metadata(self, conversation_id: str, values: Metadata) -> None: ...

    async def delete_metadata(self, conversation_id: str) -> None: ...


def _success(message: str) -> Json:
    return {"statusCode": "SUCCESS", "message": message}


async def _get(request: Request, backend: ConversationBackend) -> Json:
    return await backend.get_metadata(request.path_params["conversationId"])


async def _put(request: Request, backend: ConversationBackend) -> Json:
    values = await _body(request)
    await _whole(backend).put_metadata(request.path_params["conversationId"], values)
    return _success("Metadata added to conversation successfully.")


async def _patch(request: Request, backend: ConversationBackend) -> Json:
    values = await _body(request)
    await backend.patch_metadata(request.path_params["conversationId"], values)
    return _success("Metadata patch to conversation successfully.")  # sic, the contract's


async def _delete(request: Request, backend: ConversationBackend) -> Json:
    await _whole(backend).delete_metadata(request.path_params["conversationId"])
    return _success("Metadata deleted successfully.")


async def _body(request: Request) -> Metadata:
    values = await params.body(request)  # a JSON object, else 400
    if not values:  # the request schema's minProperties: 1
        raise bad(BAD_BODY)
    return dict(values)


def _whole(backend: ConversationBackend) -> WholeMetadata:
    if not isinstance(backend, WholeMetadata):
        raise Refusal(405, "METHOD_NOT_ALLOWED", "This emulator's store cannot replace metadata.")
    return backend


ROUTES: dict[str, dict[str, Handler]] = {
    PATH: {"GET": _get, "PUT": _put, "PATCH": _patch, "DELETE": _delete},
}
