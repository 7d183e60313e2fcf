"""A conversation's metadata on every backend (issue 18, item 5: where a conversation made from a
Slack message keeps the link back): the embedded store, and the Infobip client talking to the
emulator with every exchange checked against the contract (tests/conftest.py's `stack`)."""

from __future__ import annotations

import pytest

from bot.backends.infobip.transcripts import metadata
from bot.errors import BackendUnavailable, InvalidInput, NotFound
from bot.models import ConversationCreate
from tests.conftest import Stack


async def test_metadata_is_merged_and_read_back(stack: Stack) -> None:
    created = await stack.backend.create(ConversationCreate(topic="From Slack"))
    assert await stack.backend.get_metadata(created.id) == {}
    await stack.backend.patch_metadata(created.id, {"slackMessage": "https://x/p1", "n": "1"})
    await stack.backend.patch_metadata(created.id, {"n": "2", "extra": "yes"})
    assert await stack.backend.get_metadata(created.id) == {
        "slackMessage": "https://x/p1",
        "n": "2",
        "extra": "yes",
    }


async def test_an_unknown_conversation_has_no_metadata(stack: Stack) -> None:
    for call in (
        stack.backend.get_metadata("no-such-id"),
        stack.backend.patch_metadata("no-such-id", {"k": "v"}),
    ):
        with pytest.raises(NotFound, match="no-such-id"):
            await call


async def test_an_empty_patch_is_refused(stack: Stack) -> None:
    created = await stack.backend.create(ConversationCreate(topic="Empty"))
    with pytest.raises(InvalidInput, match="at least one key"):
        await stack.backend.patch_metadata(created.id, {})


def test_the_client_reads_the_map_however_the_contract_is_read() -> None:
    """The contract's schema says `string`, its example is the map: both are read as the map."""
    assert metadata({"key1": "value1"}) == {"key1": "value1"}
    assert metadata('{"key1": "value1"}') == {"key1": "value1"}
    assert metadata("") == {} and metadata(None) == {}
    for unreadable in ("[1, 2]", "not json", [1, 2]):
        with pytest.raises(BackendUnavailable):
            metadata(unreadable)
