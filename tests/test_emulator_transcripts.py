"""The emulator's messages and notes over real HTTP: the contract's answers and refusals, the
`x-agent-id` header rule, and the inbound endpoint that stands in for the customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backends.local import LocalBackend
from bot.config import LocalSeed
from bot.devtools.emulator import create_emulator_app
from bot.devtools.loopback import serve_in_background
from bot.state.db import create_engine, migrate
from tests.contract import ContractValidator

KEY = "emulator-key-transcripts"
AUTH = {"Authorization": f"App {KEY}"}
CONTRACT = ContractValidator()
SEED = {
    "agents": [
        {"id": "a1", "name": "Ann"},
        {"id": "a2", "name": "Bob"},
        {"id": "s1", "name": "Sue", "role": "SUPERVISOR"},
    ]
}
SMS = {"from": "447492263897", "to": "385991234567", "channel": "SMS", "contentType": "TEXT"}


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[str]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'emulator.db'}")
    await migrate(engine)
    store = LocalBackend(engine)
    await store.seed(LocalSeed.model_validate(SEED))
    async with serve_in_background(create_emulator_app(store, KEY)) as base_url:
        yield base_url
    await engine.dispose()


@pytest.fixture
async def http(emulator: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator, headers=AUTH) as client:
        yield client


def documented(response: httpx.Response) -> Any:
    assert CONTRACT.check_response(response.request, response) == []
    return response.json()


def refusal(response: httpx.Response) -> dict[str, Any]:
    details: dict[str, Any] = documented(response)["requestError"]["serviceException"]
    return details


async def conversation(http: httpx.AsyncClient, **body: Any) -> str:
    response = await http.post("/ccaas/1/conversations", json={"topic": "Parcel", **body})
    assert response.status_code == 200, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


def text(words: str) -> dict[str, Any]:
    return {**SMS, "content": {"text": words}}


async def test_messages_are_sent_and_listed_as_the_contract_says(http: httpx.AsyncClient) -> None:
    conversation_id = await conversation(http)
    path = f"/ccaas/1/conversations/{conversation_id}/messages"
    sent = await http.post(path, json=text("On its way"))
    assert sent.status_code == 200
    body = documented(sent)
    assert {k: body[k] for k in ("from", "to", "channel", "direction", "contentType")} == {
        **{k: SMS[k] for k in ("from", "to", "channel", "contentType")},
        "direction": "OUTBOUND",
    }
    assert body["content"] == {"text": "On its way"} and "authorId" not in body
    listed = documented(await http.get(path))
    assert [m["id"] for m in listed["messages"]] == [body["id"]]
    # The contract's defaults: page size 10, "the default order id:asc".
    assert listed["pagination"] == {"totalItems": 1, "page": 0, "limit": 10, "orderBy": "id:ASC"}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("limit=1000", "Page size has to be smaller or equal to 999!"),
        ("limit=-1", "Page size has to be bigger or equal to zero!"),
        (
            "direction=SIDEWAYS",
            "Invalid value 'SIDEWAYS' for 'direction'; use one of INBOUND, OUTBOUND.",
        ),
        ("orderBy=colour:asc", "Invalid orderBy 'colour:asc'."),
        ("createdAfter=yesterday", "Invalid value 'yesterday' for 'createdAfter'."),
        ("channel=SMS", "The emulator does not support the 'channel' filter."),
    ],
)
async def test_bad_message_list_parameters_are_400(
    http: httpx.AsyncClient, query: str, words: str
) -> None:
    conversation_id = await conversation(http)
    response = await http.get(f"/ccaas/1/conversations/{conversation_id}/messages?{query}")
    assert response.status_code == 400
    assert refusal(response) == {"messageId": "BAD_REQUEST", "text": words}


async def test_a_message_without_a_recipient_is_refused(http: httpx.AsyncClient) -> None:
    conversation_id = await conversation(http)
    body = {k: v for k, v in text("Hi").items() if k != "to"}
    response = await http.post(f"/ccaas/1/conversations/{conversation_id}/messages", json=body)
    assert response.status_code == 400
    details = refusal(response)
    assert details["text"] == "Invalid request body." and "to" in details["validationErrors"]


@pytest.mark.parametrize("path", ["messages", "notes"], ids=["messages", "notes"])
async def test_an_unknown_conversation_is_a_404(http: httpx.AsyncClient, path: str) -> None:
    for response in (
        await http.get(f"/ccaas/1/conversations/nope/{path}"),
        await http.post(
            f"/ccaas/1/conversations/nope/{path}",
            json=text("Hi") if path == "messages" else {"content": "x"},
        ),
        await http.post("/emulator/conversations/nope/inbound", json={"text": "Hi"}),
    ):
        assert response.status_code == 404
        assert refusal(response) == {
            "messageId": "NOT_FOUND",
            "text": "Invalid id 'nope' given! No such entity exists.",
        }


async def test_the_x_agent_id_header_follows_the_assignment(http: httpx.AsyncClient) -> None:
    unassigned = await conversation(http)
    assigned = await conversation(http, agentId="a1")

    async def send(conversation_id: str, agent: str | None) -> httpx.Response:
        headers = {"x-agent-id": agent} if agent else {}
        return await http.post(
            f"/ccaas/1/conversations/{conversation_id}/messages", json=text("Hi"), headers=headers
        )

    for conversation_id, agent in ((unassigned, "a1"), (assigned, None), (assigned, "a2")):
        response = await send(conversation_id, agent)
        assert response.status_code == 400, (conversation_id, agent)
        assert refusal(response)["messageId"] == "BAD_REQUEST"
    for conversation_id, agent in ((unassigned, None), (assigned, "a1"), (assigned, "s1")):
        response = await send(conversation_id, agent)
        assert response.status_code == 200, response.text
        body = documented(response)
        assert body.get("authorId") == agent


async def test_a_closed_conversation_refuses_a_message(http: httpx.AsyncClient) -> None:
    conversation_id = await conversation(http)
    closed = await http.patch(
        f"/ccaas/1/conversations/{conversation_id}", json={"status": "CLOSED"}
    )
    assert closed.status_code == 200
    response = await http.post(f"/ccaas/1/conversations/{conversation_id}/messages", json=text("x"))
    assert response.status_code == 400
    assert refusal(response) == {
        "messageId": "BAD_REQUEST",
        "text": "Closed conversation cannot be changed",
    }


async def test_notes_are_text_up_to_4000_characters(http: httpx.AsyncClient) -> None:
    conversation_id = await conversation(http)
    path = f"/ccaas/1/conversations/{conversation_id}/notes"
    added = await http.post(path, json={"content": "Call back at 5", "agentId": "a1"})
    assert added.status_code == 200
    note = documented(added)
    assert (note["type"], note["content"], note["agentId"]) == ("INTERNAL", "Call back at 5", "a1")
    for body in (
        {"content": "x" * 4001},
        {"content": ""},
        {"type": "ATTACHMENT", "content": {"text": "x", "attachments": [{"id": "1"}]}},
    ):
        response = await http.post(path, json=body)
        assert response.status_code == 400
        assert refusal(response)["text"] == "Invalid request body."
    unknown_agent = await http.post(path, json={"content": "x", "agentId": "zz"})
    assert unknown_agent.status_code == 400
    assert refusal(unknown_agent) == {"messageId": "NOT_FOUND", "text": "Agent zz was not found."}
    listed = documented(await http.get(path))
    assert [n["id"] for n in listed["notes"]] == [note["id"]]
    assert listed["pagination"]["totalItems"] == 1


async def test_the_inbound_endpoint_acts_as_the_customer(
    emulator: str, http: httpx.AsyncClient
) -> None:
    conversation_id = await conversation(http, channel="WHATSAPP")
    inbound = f"/emulator/conversations/{conversation_id}/inbound"
    written = await http.post(inbound, json={"text": "Where is my parcel?"})
    assert written.status_code == 200, written.text
    message = written.json()
    assert (message["direction"], message["channel"], message["authorType"]) == (
        "INBOUND",
        "WHATSAPP",  # the conversation's own channel, when none is given
        "CUSTOMER",
    )
    listed = documented(
        await http.get(f"/ccaas/1/conversations/{conversation_id}/messages?direction=INBOUND")
    )
    assert [m["content"] for m in listed["messages"]] == [{"text": "Where is my parcel?"}]
    async with httpx.AsyncClient(base_url=emulator) as stranger:
        assert (await stranger.post(inbound, json={"text": "x"})).status_code == 401
    assert (await http.post(inbound, json={"text": ""})).status_code == 400
