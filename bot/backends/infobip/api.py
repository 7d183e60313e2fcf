"""One call to Infobip's API: the request sent with the retry policy of http.py, and its answer
read as JSON or turned by errors.py into the error a person can act on. The resources and what
each call is are backend.py's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from bot.backends.infobip import wire
from bot.backends.infobip.errors import NOTHING, ErrorMapper, Subject
from bot.backends.infobip.http import InfobipHttp, Params, RetryPolicy

Json = Any


class InfobipApi:
    """One per backend: it owns the pooled client (http.py) and the error mapping (errors.py)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float,
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.host = httpx.URL(base_url).host or base_url
        self.errors = ErrorMapper(self.host, key, timeout)
        self._http = InfobipHttp(
            base_url, key, timeout=timeout, policy=policy, transport=transport, sleep=sleep
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def pause(self, seconds: float) -> None:
        await self._http.pause(seconds)

    async def get_json(self, path: str, params: Mapping[str, Any]) -> Json:
        return await self.call("GET", path, NOTHING, params=params)

    async def call(
        self,
        method: str,
        path: str,
        subject: Subject,
        *,
        params: Params | None = None,
        body: Json = None,
        unsure: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Json:
        response = await self.exchange(
            method, path, params=params, body=body, unsure=unsure, headers=headers
        )
        return self.answer(response, subject, unsure)

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Json = None,
        unsure: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.exchange(
                method, path, params=params, body=body, headers=headers
            )
        except httpx.RequestError as error:
            failure = self.errors.for_failure(method, error, unsure)
        # Raised outside the `except`: the httpx error, whose request carries the key in its
        # headers, becomes neither the cause nor the context of what the user sees.
        raise failure

    def answer(self, response: httpx.Response, subject: Subject, unsure: str | None = None) -> Json:
        if not response.is_success:
            raise self.errors.for_response(response, subject, unsure)
        return wire.decoded(response)
