"""The emulator's conversation metadata over real HTTP, as the contract gives it: GET the map,
PUT replaces, PATCH merges (creating the map), DELETE removes; each answer and refusal checked
against the contract (its request schema: an object with at least one property)."""

from __future__ import annotations

import httpx
import pytest

from tests.test_emulator_transcripts import conversation, documented, emulator, http, refusal

__all__ = ["emulator", "http"]  # the fixtures, shared with the transcripts' tests


async def test_metadata_round_trip_as_the_contract_says(http: httpx.AsyncClient) -> None:
    path = f"/ccaas/1/conversations/{await conversation(http)}/metadata"
    assert documented(await http.get(path)) == {}
    patched = await http.patch(path, json={"key1": "value1", "key2": "value2"})
    assert documented(patched) == {
        "statusCode": "SUCCESS",
        "message": "Metadata patch to conversation successfully.",
    }
    assert documented(await http.patch(path, json={"key1": "value1_updated", "key3": "value3"}))
    assert documented(await http.get(path)) == {
        "key1": "value1_updated",
        "key2": "value2",
        "key3": "value3",
    }
    replaced = await http.put(path, json={"only": "this"})
    assert documented(replaced)["message"] == "Metadata added to conversation successfully."
    assert documented(await http.get(path)) == {"only": "this"}
    deleted = await http.delete(path)
    assert documented(deleted) == {
        "statusCode": "SUCCESS",
        "message": "Metadata deleted successfully.",
    }
    assert documented(await http.get(path)) == {}


@pytest.mark.parametrize("body", [{}, [], "text", None])
async def test_a_body_that_is_not_a_map_with_a_key_is_refused(
    http: httpx.AsyncClient, body: object
) -> None:
    path = f"/ccaas/1/conversations/{await conversation(http)}/metadata"
    for method in ("PUT", "PATCH"):
        response = await http.request(method, path, json=body)
        assert response.status_code == 400
        assert refusal(response) == {"messageId": "BAD_REQUEST", "text": "Invalid request body."}
    assert documented(await http.get(path)) == {}


async def test_an_unknown_conversation_is_not_found(http: httpx.AsyncClient) -> None:
    path = "/ccaas/1/conversations/no-such-id/metadata"
    for method, body in (
        ("GET", None),
        ("PUT", {"k": "v"}),
        ("PATCH", {"k": "v"}),
        ("DELETE", None),
    ):
        response = await http.request(method, path, json=body)
        assert response.status_code == 404, (method, response.text)
        assert refusal(response)["messageId"] == "NOT_FOUND"
