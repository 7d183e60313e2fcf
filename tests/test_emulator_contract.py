"""The Infobip emulator over real HTTP (uvicorn on 127.0.0.1), serving LocalBackend.

Two things are checked here: the HTTP shape of the emulator's answers (auth, envelopes, page-size
errors, pagination, PATCH vs PUT), and InfobipBackend talking to it with every exchange validated
against the OpenAPI contract. The behaviour suite proper runs elsewhere against both backends.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.config import LocalSeed
from bot.devtools.emulator import create_emulator_app
from bot.devtools.emulator.observe import Observed
from bot.devtools.loopback import serve_in_background
from bot.errors import ConversationClosed, InvalidInput, NotFound
from bot.models import (
    Channel,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    OrderBy,
    Priority,
    Status,
)
from bot.state.db import create_engine, migrate
from tests.contract import ContractCheckingTransport, ContractValidator, ServedAnswersCheck

KEY = "emulator-key-5d1c0e2b"
AUTH = {"Authorization": f"App {KEY}"}
CONTRACT = ContractValidator()
SEED = {
    "agents": [{"id": "a1", "name": "Ann"}, {"id": "a2", "name": "Bob", "email": "bob@x.test"}],
    "queues": [
        {"id": "q1", "name": "Urgent", "agents": ["a1", "a2"], "auto_assignment": "ROUND_ROBIN"},
        {"id": "q2", "name": "Everything else"},
    ],
    "routing": [
        {"name": "urgent", "queue": "q1", "priority": "URGENT", "match": {"tags": ["vip"]}},
        {"name": "rest", "queue": "q2"},
    ],
}
INFOBIP_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'emulator.db'}")
    await migrate(engine)
    backend = LocalBackend(engine)
    await backend.seed(LocalSeed.model_validate(SEED))
    yield backend
    await engine.dispose()


@pytest.fixture
async def emulator(local: LocalBackend) -> AsyncIterator[str]:
    """The emulator on a free port of 127.0.0.1, served by uvicorn inside this test's loop."""
    async with serve_in_background(create_emulator_app(local, KEY)) as base_url:
        yield base_url


@pytest.fixture
async def http(emulator: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for shaping requests by hand (some deliberately outside the contract)."""
    async with httpx.AsyncClient(base_url=emulator, headers=AUTH) as client:
        yield client


@pytest.fixture
async def checked(emulator: str) -> AsyncIterator[tuple[InfobipBackend, ContractCheckingTransport]]:
    transport = ContractCheckingTransport()
    backend = InfobipBackend(emulator, KEY, transport=transport, max_retries=0)
    yield backend, transport
    await backend.aclose()


def documented(response: httpx.Response) -> Any:
    """The body, after checking the answer is one the contract documents."""
    assert CONTRACT.check_response(response.request, response) == []
    return response.json()


def service_exception(response: httpx.Response) -> dict[str, Any]:
    details: dict[str, Any] = documented(response)["requestError"]["serviceException"]
    return details


async def create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/ccaas/1/conversations", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = documented(response)
    return created


# --- HTTP shape ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "App wrong-key"}, {"Authorization": KEY}, {"Authorization": "Basic x"}],
    ids=["none", "wrong-key", "no-scheme", "basic"],
)
async def test_requests_without_the_key_are_refused(emulator: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=emulator, headers=headers) as client:
        for path in ("/ccaas/1/conversations", "/ccaas/1/queues", "/ccaas/1/no-such-thing"):
            response = await client.get(path)
            assert response.status_code == 401
            assert response.json() == {
                "requestError": {
                    "serviceException": {"messageId": "UNAUTHORIZED", "text": "Unauthorized"}
                }
            }


async def test_401_matches_the_contract(emulator: str) -> None:
    async with httpx.AsyncClient(base_url=emulator) as client:
        response = await client.get("/ccaas/1/conversations")
    assert service_exception(response) == {"messageId": "UNAUTHORIZED", "text": "Unauthorized"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ccaas/1/conversations/nope"),
        ("PATCH", "/ccaas/1/conversations/nope"),
        ("PUT", "/ccaas/1/conversations/nope"),
        ("PUT", "/ccaas/1/conversations/nope/assignee"),
        ("DELETE", "/ccaas/1/conversations/nope/assignee"),
        ("POST", "/ccaas/1/conversations/nope/route"),
        ("POST", "/ccaas/1/conversations/nope/tags"),
        ("DELETE", "/ccaas/1/conversations/nope/tags/vip"),
    ],
)
async def test_unknown_conversation_is_a_404_envelope(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"PUT": {"agentId": "a1"}, "PATCH": {"topic": "x"}}.get(method)
    if path.endswith("/tags") and method == "POST":
        body = {"tagName": "vip"}
    response = await http.request(method, path, json=body)
    assert response.status_code == 404
    assert service_exception(response) == {
        "messageId": "NOT_FOUND",
        "text": "Invalid id 'nope' given! No such entity exists.",
    }


async def test_unknown_paths_answer_in_the_envelope(http: httpx.AsyncClient) -> None:
    response = await http.get("/ccaas/1/nothing-here")
    assert response.status_code == 404
    assert response.json()["requestError"]["serviceException"]["messageId"] == "NOT_FOUND"
    response = await http.delete("/ccaas/1/queues")
    assert response.status_code == 405
    assert "serviceException" in response.json()["requestError"]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("limit=1000", "Page size has to be smaller or equal to 999!"),
        ("limit=-1", "Page size has to be bigger or equal to zero!"),
        ("limit=0", "Page size has to be bigger than zero!"),
        ("page=-1", "Page number has to be bigger or equal to zero!"),
        ("limit=ten", "Invalid value 'ten' for 'limit'."),
        (
            "status=DONE",
            "Invalid value 'DONE' for 'status'; use one of OPEN, WAITING, SOLVED, CLOSED.",
        ),
        (
            "priority=MEH",
            "Invalid value 'MEH' for 'priority'; use one of URGENT, HIGH, NORMAL, LOW.",
        ),
        ("status=OPEN&status=WAITING", "Parameter 'status' takes one value."),
        ("orderBy=colour:asc", "Invalid orderBy 'colour:asc'."),
        ("createdAfter=yesterday", "Invalid value 'yesterday' for 'createdAfter'."),
    ],
)
async def test_bad_list_parameters_are_400(http: httpx.AsyncClient, query: str, text: str) -> None:
    response = await http.get(f"/ccaas/1/conversations?{query}")
    assert response.status_code == 400
    assert service_exception(response) == {"messageId": "BAD_REQUEST", "text": text}


@pytest.mark.parametrize("path", ["/ccaas/1/tags", "/ccaas/1/agents", "/ccaas/1/queues"])
async def test_other_lists_check_the_page_size_too(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path, params={"limit": 1000})
    assert response.status_code == 400
    assert service_exception(response)["text"] == "Page size has to be smaller or equal to 999!"


async def test_list_pagination_object_and_conversation_shape(http: httpx.AsyncClient) -> None:
    made = [await create(http, topic=f"topic {n}", channel="WHATSAPP") for n in range(3)]
    response = await http.get("/ccaas/1/conversations")
    body = documented(response)
    assert body["pagination"] == {"totalItems": 3, "page": 0, "limit": 10, "orderBy": "id:ASC"}
    assert [c["id"] for c in body["conversations"]] == sorted(c["id"] for c in made)
    first = body["conversations"][0]
    # ConversationApiModel has neither: tags are their own resource, and no channel is given
    # back (the create may send one; the contract's conversations carry none).
    assert not {"tags", "channel"} & first.keys()
    assert None not in first.values()
    assert INFOBIP_DATE.match(first["createdAt"]) and INFOBIP_DATE.match(first["updatedAt"])

    response = await http.get(
        "/ccaas/1/conversations", params={"limit": 2, "page": 1, "orderBy": "topic:desc"}
    )
    body = documented(response)
    assert body["pagination"] == {"totalItems": 3, "page": 1, "limit": 2, "orderBy": "topic:DESC"}
    assert [c["topic"] for c in body["conversations"]] == ["topic 0"]


async def test_conversations_order_by_any_property(http: httpx.AsyncClient) -> None:
    """The contract: "Possible ordering fields are properties" (of ConversationApiModel)."""
    for topic, summary in (("a", "3"), ("b", None), ("c", "1")):
        await create(http, topic=topic, **({"summary": summary} if summary else {}))
    response = await http.get("/ccaas/1/conversations", params={"orderBy": "summary:asc"})
    assert [c["topic"] for c in documented(response)["conversations"]] == ["c", "a", "b"]


async def test_list_filters_map_onto_the_backend(http: httpx.AsyncClient) -> None:
    a = await create(http, topic="a", priority="HIGH", queueId="q1", agentId="a1")
    await create(http, topic="b", priority="HIGH", queueId="q2")
    c = await create(http, topic="c", priority="LOW", queueId="q1", status="WAITING")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"conversationIds": [a["id"], c["id"]]}, ["a", "c"]),
        ({"conversationIds": c["id"], "status": "OPEN"}, []),
        ({"priority": "HIGH"}, ["a", "b"]),
        ({"status": "WAITING"}, ["c"]),
        ({"queueIds": ["q1", "q2"], "priority": "HIGH"}, ["a", "b"]),
        ({"queueIds": "q1"}, ["a", "c"]),
        ({"agentId": "a1"}, ["a"]),
        ({"createdAfter": "2000-01-01T00:00:00.000+0000"}, ["a", "b", "c"]),
        ({"createdBefore": "2000-01-01T00:00:00.000+0000"}, []),
    ]
    for params, topics in cases:
        response = await http.get(
            "/ccaas/1/conversations", params={**params, "orderBy": "topic:asc"}
        )
        assert [c["topic"] for c in documented(response)["conversations"]] == topics, params


async def test_patch_keeps_what_it_omits_but_put_resets_to_create_defaults(
    http: httpx.AsyncClient,
) -> None:
    made = await create(
        http, topic="T", summary="S", priority="HIGH", status="WAITING", queueId="q1", agentId="a1"
    )
    path = f"/ccaas/1/conversations/{made['id']}"
    patched = documented(await http.patch(path, json={"summary": "S2"}))
    assert (patched["topic"], patched["summary"], patched["priority"]) == ("T", "S2", "HIGH")
    assert (patched["status"], patched["queueId"], patched["agentId"]) == ("WAITING", "q1", "a1")

    put = documented(await http.put(path, json={"topic": "T2"}))
    assert (put["topic"], put["status"], put["priority"]) == ("T2", "OPEN", "NORMAL")
    assert not {"summary", "queueId", "agentId", "closedAt"} & put.keys()


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/ccaas/1/conversations", b"{not json"),
        ("POST", "/ccaas/1/conversations", b"[1, 2]"),
        ("POST", "/ccaas/1/conversations", b""),
        ("POST", "/ccaas/1/tags", b'{"name": 5}'),
        ("PUT", "/ccaas/1/conversations/ID/assignee", b"{}"),
        ("PATCH", "/ccaas/1/conversations/ID", b'{"priority": "VERY"}'),
    ],
)
async def test_bad_bodies_are_400(
    http: httpx.AsyncClient, method: str, path: str, content: bytes
) -> None:
    made = await create(http, topic="T")
    response = await http.request(
        method,
        path.replace("ID", made["id"]),
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    details = service_exception(response)
    assert (details["messageId"], details["text"]) == ("BAD_REQUEST", "Invalid request body.")


@pytest.mark.parametrize("body", [{}, {"topic": ""}, {"summary": "no topic given"}])
async def test_create_needs_no_field_as_the_contract_says(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    created = await create(http, **body)
    assert (created["status"], created["priority"]) == ("OPEN", "NORMAL")
    assert "channel" not in created
    assert created.get("topic", "") == body.get("topic", "")
    fetched = documented(await http.get(f"/ccaas/1/conversations/{created['id']}"))
    assert fetched == created


async def test_create_checks_what_it_is_given(http: httpx.AsyncClient) -> None:
    for body in ({"status": "CLOSED"}, {"topic": "x" * 1001}, {"queueId": "q" * 256}):
        response = await http.post("/ccaas/1/conversations", json=body)
        assert response.status_code == 400, body
        assert service_exception(response)["text"] == "Invalid request body."


async def test_closed_conversation_refuses_changes(http: httpx.AsyncClient) -> None:
    made = await create(http, topic="T")
    path = f"/ccaas/1/conversations/{made['id']}"
    assert documented(await http.patch(path, json={"status": "CLOSED"}))["closedAt"]
    for method, suffix, body in (
        ("PATCH", "", {"topic": "again"}),
        ("PUT", "/assignee", {"agentId": "a1"}),
        ("POST", "/route", None),
    ):
        response = await http.request(method, path + suffix, json=body)
        assert response.status_code == 400
        assert service_exception(response) == {
            "messageId": "BAD_REQUEST",
            "text": "Closed conversation cannot be changed",
        }


async def test_missing_things_named_in_the_body_are_400_not_found(
    http: httpx.AsyncClient,
) -> None:
    made = await create(http, topic="T")
    path = f"/ccaas/1/conversations/{made['id']}"
    for method, suffix, body in (
        ("PUT", "/assignee", {"agentId": "ghost"}),
        ("POST", "/tags", {"tagName": "never-made"}),
        ("DELETE", "/tags/never-linked", None),
    ):
        response = await http.request(method, path + suffix, json=body)
        assert response.status_code == 400, (method, suffix)
        assert service_exception(response)["messageId"] == "NOT_FOUND"


async def test_tags_resources(http: httpx.AsyncClient) -> None:
    created = documented(await http.post("/ccaas/1/tags", json={"name": "vip"}))
    assert created["name"] == "vip"
    again = await http.post("/ccaas/1/tags", json={"name": "vip"})
    assert again.status_code == 400
    assert service_exception(again)["text"] == "Tag already exists."
    made = await create(http, topic="T")
    linked = await http.post(f"/ccaas/1/conversations/{made['id']}/tags", json={"tagName": "vip"})
    assert documented(linked)["statusCode"] == "SUCCESS"
    listed = documented(await http.get("/ccaas/1/tags", params={"conversationId": made["id"]}))
    assert [t["name"] for t in listed["tags"]] == ["vip"]
    assert listed["pagination"]["totalItems"] == 1
    unlinked = await http.delete(f"/ccaas/1/conversations/{made['id']}/tags/vip")
    assert documented(unlinked) == {"statusCode": "SUCCESS", "message": "Tag removed successfully."}


async def test_agents_queues_and_routing(http: httpx.AsyncClient) -> None:
    agents = documented(await http.get("/ccaas/1/agents", params={"limit": 1, "page": 1}))
    assert [a["id"] for a in agents["agents"]] == ["a2"]
    assert agents["pagination"] == {"totalItems": 2, "page": 1, "limit": 1, "orderBy": "id:ASC"}
    assert documented(await http.get("/ccaas/1/agents/a2"))["email"] == "bob@x.test"
    missing = await http.get("/ccaas/1/agents/ghost")
    assert missing.status_code == 404
    assert service_exception(missing)["text"] == "Invalid agent id given 'ghost'"
    queues = documented(await http.get("/ccaas/1/queues", params={"queueIds": "q1"}))
    assert [q["name"] for q in queues["queues"]] == ["Urgent"]
    routing = documented(await http.get("/ccaas/1/routing"))
    assert [r["queueId"] for r in routing["routes"]] == ["q1", "q2"]
    assert routing["pagination"]["orderBy"] == "order:ASC"


async def test_answers_carry_only_the_properties_their_schemas_declare(
    http: httpx.AsyncClient,
) -> None:
    # GET /agents items are AgentResponse: no e-mail, though agent a2 has one.
    listed = documented(await http.get("/ccaas/1/agents"))["agents"]
    assert [sorted(agent) for agent in listed] == [
        ["createdAt", "displayName", "enabled", "id", "role", "status", "updatedAt"]
    ] * 2
    # GET /agents/{id} is AgentResponseWithEmail.
    assert documented(await http.get("/ccaas/1/agents/a2"))["email"] == "bob@x.test"
    # RoutingRulesResultPage items are RuleApiResponse: our `match` is not Infobip's.
    routes = documented(await http.get("/ccaas/1/routing"))["routes"]
    assert all("match" not in route for route in routes)
    # POST /tags answers as its example does: the name and when it was made.
    created = documented(await http.post("/ccaas/1/tags", json={"name": "new"}))
    assert sorted(created) == ["createdAt", "name"]


async def test_every_answer_of_an_emulator_is_held_to_the_contract(
    http: httpx.AsyncClient, emulator_answers_follow_the_contract: ServedAnswersCheck
) -> None:
    """The autouse check sees every answer, refusals and 401s too, whoever the client is."""
    check = emulator_answers_follow_the_contract
    before = check.answers
    await http.get("/ccaas/1/agents")
    await http.get("/ccaas/1/conversations/nope")
    await http.get("/ccaas/1/queues", headers={"Authorization": "App wrong"})
    await http.head("/ccaas/1/queues")
    assert check.answers == before + 4 and check.violations == []


async def test_a_leaked_property_fails_the_test_that_served_it(
    emulator_answers_follow_the_contract: ServedAnswersCheck,
) -> None:
    """An answer with a property its schema does not declare (the e-mail in an agent list, as
    the emulator once gave) is a violation of the test that served it."""

    async def leaky(_request: Request) -> JSONResponse:
        agent = {"id": "a1", "displayName": "Ann", "email": "ann@x.test"}
        return JSONResponse({"agents": [agent], "pagination": {"totalItems": 1}})

    app = Starlette(routes=[Route("/ccaas/1/agents", leaky)], middleware=[Middleware(Observed)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://leaky") as client:
        await client.get("/ccaas/1/agents")
    check = emulator_answers_follow_the_contract
    assert check.violations == [
        "GET /ccaas/1/agents -> 200: HTTP 200 body: $.agents[0]: Additional properties are not "
        "allowed ('email' was unexpected)"
    ]
    check.violations.clear()  # caught, as it should be: this test passes


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"email": "bob@x.test"}, ["Bob"]),
        ({"email": "BOB@X.test"}, ["Bob"]),  # e-mails match whatever their case
        ({"email": "nobody@x.test"}, []),
        ({"displayName": "O"}, ["Bob"]),  # "case insensitive ... substring anywhere"
        ({"displayName": "n"}, ["Ann"]),
        ({"agentIds": ["a1", "a2"], "role": "AGENT"}, ["Ann", "Bob"]),
        ({"enabled": "false"}, []),
        ({"status": "ACTIVE", "enabled": "true"}, ["Ann", "Bob"]),
        ({"createdAfter": "2000-01-01T00:00:00.000+0000"}, ["Ann", "Bob"]),
        ({"createdBefore": "2000-01-01T00:00:00.000+0000"}, []),
        ({"updatedAfter": "2999-01-01T00:00:00.000+0000"}, []),
        ({"orderBy": "displayName:desc"}, ["Bob", "Ann"]),
        ({"orderBy": "id:DESC"}, ["Bob", "Ann"]),
    ],
)
async def test_the_agent_filters_of_the_contract_work(
    http: httpx.AsyncClient, params: dict[str, Any], names: list[str]
) -> None:
    body = documented(await http.get("/ccaas/1/agents", params=params))
    assert [agent["displayName"] for agent in body["agents"]] == names
    assert body["pagination"]["totalItems"] == len(names)


@pytest.mark.parametrize(
    ("path", "params", "text"),
    [
        ("/ccaas/1/agents", {"enabled": "yes"}, "Invalid value 'yes' for 'enabled'"),
        ("/ccaas/1/agents", {"orderBy": "colour:asc"}, "Invalid orderBy 'colour:asc'."),
        ("/ccaas/1/agents", {"queueIds": "q1"}, "does not support the 'queueIds' filter"),
        ("/ccaas/1/agents", {"availability": "AWAY"}, "does not support the 'availability'"),
        ("/ccaas/1/agents", {"status": "GONE"}, "Invalid value 'GONE' for 'status'"),
        ("/ccaas/1/agents", {"createdAfter": "today"}, "Invalid value 'today' for 'createdAfter'"),
        ("/ccaas/1/queues", {"agentId": "a1"}, "does not support the 'agentId' filter"),
        ("/ccaas/1/queues", {"orderBy": "name:sideways"}, "Invalid orderBy 'name:sideways'."),
        ("/ccaas/1/tags", {"orderBy": "colour"}, "Invalid orderBy 'colour'."),
        ("/ccaas/1/routing", {"enabled": "1"}, "Invalid value '1' for 'enabled'"),
    ],
)
async def test_filters_the_emulator_cannot_apply_are_refused(
    http: httpx.AsyncClient, path: str, params: dict[str, str], text: str
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400
    assert text in service_exception(response)["text"]


async def test_queue_and_tag_lists_are_in_the_order_asked(http: httpx.AsyncClient) -> None:
    queues = documented(await http.get("/ccaas/1/queues", params={"orderBy": "name:asc"}))
    assert [q["name"] for q in queues["queues"]] == ["Everything else", "Urgent"]
    assert queues["pagination"]["orderBy"] == "name:ASC"
    by_id = documented(await http.get("/ccaas/1/queues"))  # the contract's default: id:asc
    assert [q["id"] for q in by_id["queues"]] == ["q1", "q2"]
    for name in ("b", "c", "a"):
        await http.post("/ccaas/1/tags", json={"name": name})
    tags = documented(await http.get("/ccaas/1/tags", params={"orderBy": "name:desc"}))
    assert [t["name"] for t in tags["tags"]] == ["c", "b", "a"]


async def test_unexpected_failures_are_a_500_envelope(local: LocalBackend) -> None:
    class Broken(LocalBackend):
        async def list_queues(self) -> Any:
            raise RuntimeError("kaboom: internal detail")

    app = create_emulator_app(Broken(local._engine), KEY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emu", headers=AUTH) as c:
        response = await c.get("/ccaas/1/queues")
    assert response.status_code == 500
    assert service_exception(response) == {
        "messageId": "GENERAL_ERROR",
        "text": "Something went wrong. Please contact support.",
    }
    assert "kaboom" not in response.text


# --- InfobipBackend -> emulator, every exchange checked against the contract -----------------


async def test_round_trip_conforms_to_the_contract(
    checked: tuple[InfobipBackend, ContractCheckingTransport], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend, transport = checked
    await backend.ping()
    first = await backend.create(
        ConversationCreate(topic="Printer on fire", priority=Priority.HIGH)
    )
    second = await backend.create(
        ConversationCreate(topic="Login broken", priority=Priority.URGENT)
    )
    await backend.create(ConversationCreate(topic="Newsletter", priority=Priority.LOW))
    assert first.tags is None and first.createdAt is not None

    assert (await backend.create_tag("vip")).name == "vip"
    assert (await backend.create_tag("vip")).name == "vip"  # "Tag already exists." is fine
    await backend.add_tag(second.id, "vip")
    assert (await backend.get(second.id)).tags == ["vip"]
    assert [t.name for t in await backend.list_tags(second.id)] == ["vip"]

    routed = await backend.route(second.id)
    assert (routed.queueId, routed.priority, routed.agentId) == ("q1", Priority.URGENT, "a1")
    assert (await backend.route(first.id)).queueId == "q2"
    await backend.remove_tag(second.id, "vip")
    assert (await backend.get(second.id)).tags == []

    assert (await backend.assign(first.id, "a2")).agentId == "a2"
    assert (await backend.unassign(first.id)).agentId is None
    patched = await backend.patch(first.id, ConversationPatch(summary="smoke seen"))
    assert (patched.summary, patched.priority) == ("smoke seen", Priority.HIGH)

    page = await backend.list(
        ConversationFilter(
            priorities=[Priority.URGENT, Priority.HIGH],
            orderBy=OrderBy(field="priority", direction="desc"),
            limit=1,
            page=1,
        )
    )
    assert [c.id for c in page.items] == [first.id] and page.totalItems == 2
    unassigned = await backend.list(
        ConversationFilter(
            statuses=[Status.OPEN], unassigned=True, orderBy=OrderBy(field="topic", direction="asc")
        )
    )
    assert [c.topic for c in unassigned.items] == ["Newsletter", "Printer on fire"]

    assert [a.id for a in await backend.list_agents()] == ["a1", "a2"]
    assert all(a.email is None for a in await backend.list_agents())  # AgentResponse
    assert [a.id for a in await backend.agents_with_email("Bob@X.test")] == ["a2"]
    assert await backend.agents_with_email("nobody@x.test") == []
    with pytest.raises(InvalidInput, match="cannot filter a list there"):
        await backend.list(ConversationFilter(channel=Channel.EMAIL))
    assert {q.id for q in await backend.list_queues()} == {"q1", "q2"}
    assert [r.queueId for r in await backend.list_routing_rules()] == ["q1", "q2"]

    with pytest.raises(NotFound, match="Conversation nope was not found"):
        await backend.get("nope")
    with pytest.raises(NotFound, match="Agent ghost was not found"):
        await backend.assign(first.id, "ghost")
    with pytest.raises(NotFound, match="Tag 'never-made' was not found"):
        await backend.add_tag(first.id, "never-made")
    await backend.patch(first.id, ConversationPatch(status=Status.CLOSED))
    with pytest.raises(ConversationClosed):
        await backend.patch(first.id, ConversationPatch(topic="reopen?"))

    assert transport.exchanges > 25
    assert transport.violations == []
    assert KEY not in caplog.text


async def test_an_agent_is_found_by_email_in_one_request(
    checked: tuple[InfobipBackend, ContractCheckingTransport],
) -> None:
    backend, transport = checked
    found = await backend.agents_with_email("bob@x.test")
    assert [a.id for a in found] == ["a2"]
    assert transport.exchanges == 1 and transport.violations == []


# --- the checker itself: zero violations above means something ---------------------------------

URL = "https://api.infobip.com/ccaas/1"


def _request(method: str, path: str, auth: bool = True, **options: Any) -> httpx.Request:
    return httpx.Request(method, URL + path, headers=AUTH if auth else {}, **options)


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (_request("GET", "/conversations?status=OPEN&status=WAITING"), "takes one value"),
        (_request("GET", "/conversations?priority=MEH"), "is not one of"),
        (_request("GET", "/conversations?limit=1000"), "maximum of 999"),
        (_request("GET", "/conversations?colour=red"), "'colour' is not in the contract"),
        (_request("GET", "/conversations?createdAfter=today"), "is not a 'date-time'"),
        (_request("POST", "/conversations", json={"topic": 5}), "is not of type 'string'"),
        (_request("POST", "/conversations", json={"id": "x"}), "read-only property 'id'"),
        (_request("POST", "/conversations"), "body is required"),
        (_request("PUT", "/conversations/c1/assignee", json={}), "'agentId' is a required"),
        (_request("POST", "/conversations/c1/route", json={}), "takes no body"),
        (_request("GET", "/conversations", auth=False), "Authorization"),
        (_request("PATCH", "/tags"), "PATCH is not an operation of /ccaas/1/tags"),
        (_request("GET", "/tickets"), "no path of the contract matches"),
    ],
)
def test_the_checker_catches_requests_outside_the_contract(
    request_: httpx.Request, problem: str
) -> None:
    problems = CONTRACT.check_request(request_)
    assert any(problem in p for p in problems), problems


LIST = _request("GET", "/conversations")


@pytest.mark.parametrize(
    ("request_", "response", "problem"),
    [
        (LIST, httpx.Response(200, json={"conversations": [{"queueId": None}]}), "None is not"),
        (LIST, httpx.Response(200, json={"conversations": [{"createdAt": "2024"}]}), "date-time"),
        (LIST, httpx.Response(400, json={"statusCode": "ERROR"}), "'requestError' is a required"),
        (LIST, httpx.Response(404, json={}), "HTTP 404 is not documented"),
        (LIST, httpx.Response(200, text="<html/>"), "not JSON"),
        (_request("POST", "/conversations/c1/route"), httpx.Response(200, json={"id": 5}), "shape"),
        (
            _request("GET", "/agents"),
            httpx.Response(200, json={"agents": [{"displayName": "A", "email": "a@x.test"}]}),
            "('email' was unexpected)",
        ),
        (
            _request("GET", "/conversations/c1"),
            httpx.Response(200, json={"id": "c1", "channel": "NO_CHANNEL"}),
            "('channel' was unexpected)",
        ),
        (
            _request("GET", "/queues"),
            httpx.Response(200, json={"queues": [], "pagination": {"pages": 1}}),
            "$.pagination: Additional properties",
        ),
        (LIST, httpx.Response(400, json={"requestError": {}, "extra": 1}), "('extra' was"),
    ],
)
def test_the_checker_catches_answers_outside_the_contract(
    request_: httpx.Request, response: httpx.Response, problem: str
) -> None:
    problems = CONTRACT.check_response(request_, response)
    assert any(problem in p for p in problems), problems


def test_the_checker_accepts_the_contract_own_examples() -> None:
    valid = _request(
        "GET",
        "/conversations?status=OPEN&queueIds=q1&queueIds=q2&limit=999&page=0&orderBy=id:asc"
        "&createdAfter=2025-04-24T11%3A25%3A41.058%2B0000",
    )
    assert CONTRACT.check_request(valid) == []
    example = {
        "conversations": [{"id": "9542b329", "queueId": None, "agentId": None}],
        "pagination": {"totalItems": 1, "page": 0, "limit": 10, "orderBy": "id:ASC"},
    }
    lenient = ContractValidator(allow_null_fields=True)
    assert lenient.check_response(valid, httpx.Response(200, json=example)) == []


def test_the_checker_leaves_the_contract_free_maps_open() -> None:
    """Closed means closed where the contract lists properties; its maps take any key."""
    rule = {"id": "r1", "queueId": "q1", "expression": {"$eq": {"message.channel": "SMS"}}}
    routing = httpx.Response(200, json={"routes": [rule]})
    assert CONTRACT.check_response(_request("GET", "/routing"), routing) == []
    refused = {
        "requestError": {
            "serviceException": {
                "messageId": "BAD_REQUEST",
                "text": "Invalid request body.",
                "validationErrors": {"topic": ["too long"], "any.field": ["bad"]},
            }
        }
    }
    assert CONTRACT.check_response(LIST, httpx.Response(400, json=refused)) == []


def test_gateway_answers_are_held_to_the_envelope_when_allowed() -> None:
    throttled = httpx.Response(429, json={"requestError": {"serviceException": {}}})
    assert "HTTP 429 is not documented" in CONTRACT.check_response(LIST, throttled)[0]
    served = ContractValidator(gateway_statuses=True)
    problems = served.check_response(LIST, throttled)
    assert problems and all("error envelope" in p for p in problems)
    envelope = {"requestError": {"serviceException": {"messageId": "TOO_MANY", "text": "Slow"}}}
    assert served.check_response(LIST, httpx.Response(429, json=envelope)) == []
