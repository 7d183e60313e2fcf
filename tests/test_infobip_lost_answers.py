"""A create whose answer is lost (the request was carried out, the response never arrived) is
found again instead of being reported as failed — so retrying cannot make a duplicate.

Real HTTP to the emulator; the fault is a transport that drops the answer after the emulator
has carried the request out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.backends.infobip import InfobipBackend
from bot.backends.infobip.errors import MaybeDone
from bot.backends.local import LocalBackend
from bot.models import ConversationCreate, ConversationFilter, Priority
from tests.conftest import EMULATOR_KEY, emulated_infobip


class LosesCreateAnswers(httpx.AsyncBaseTransport):
    """Passes every request to the emulator, then loses the answer to the next `lose` creates."""

    def __init__(self, lose: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose = lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        creating = request.method == "POST" and request.url.path.endswith("/conversations")
        if creating and self.lose > 0:
            self.lose -= 1
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[tuple[str, LocalBackend]]:
    async with emulated_infobip(tmp_path) as served:
        yield served


def client(base_url: str, transport: httpx.AsyncBaseTransport) -> InfobipBackend:
    return InfobipBackend(base_url, EMULATOR_KEY, transport=transport, max_retries=0)


async def test_a_create_whose_answer_is_lost_is_found_not_repeated(
    emulator: tuple[str, LocalBackend],
) -> None:
    base_url, store = emulator
    infobip = client(base_url, LosesCreateAnswers(lose=1))
    try:
        created = await infobip.create(
            ConversationCreate(topic="Printer on fire", summary="3rd floor", priority=Priority.HIGH)
        )
    finally:
        await infobip.aclose()

    assert created.topic == "Printer on fire" and created.priority is Priority.HIGH
    everything = await store.list(ConversationFilter(limit=100))
    assert [c.id for c in everything.items if c.topic == "Printer on fire"] == [created.id]


async def test_identical_creates_in_the_same_moment_are_not_guessed_between(
    emulator: tuple[str, LocalBackend],
) -> None:
    base_url, store = emulator
    await store.create(ConversationCreate(topic="Printer on fire"))  # someone else's, just now
    infobip = client(base_url, LosesCreateAnswers(lose=1))
    try:
        with pytest.raises(MaybeDone, match="may or may not have been created"):
            await infobip.create(ConversationCreate(topic="Printer on fire"))
    finally:
        await infobip.aclose()
