"""InfobipBackend against scripted answers (httpx.MockTransport): retries, error mapping, secrets,
and how list queries are split and merged. The behaviour against a real server is covered by
tests/test_emulator_contract.py."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bot.backends.infobip import CLIENT_SIDE_PAGE_CAP, InfobipBackend, wire
from bot.backends.infobip.errors import ERROR_TEXT_MAX
from bot.errors import (
    BackendUnavailable,
    ConvbotError,
    ConversationClosed,
    InvalidInput,
    NotFound,
    RateLimited,
)
from bot.field_rules import LIMIT_MAX
from bot.models import (
    Channel,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    OrderBy,
    Priority,
    Status,
)

KEY = "k3y-0f-s3cr3t-8f4b3d9a-e931"
BASE = "https://ib.example.test"
Answer = httpx.Response | Exception
Handler = Callable[[httpx.Request], Any]


class Server:
    """Records every request and answers from a script (or a function of the request)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.handler(request)
        if asyncio.iscoroutine(answer):
            answer = await answer
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    @classmethod
    def script(cls, *answers: Answer) -> Server:
        queue = list(answers)
        return cls(lambda _request: queue.pop(0))

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class Sleeps(list[float]):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., tuple[InfobipBackend, Server, Sleeps]]]:
    made: list[InfobipBackend] = []

    def build(server: Server, **options: Any) -> tuple[InfobipBackend, Server, Sleeps]:
        sleeps = Sleeps()
        backend = InfobipBackend(
            BASE, KEY, transport=httpx.MockTransport(server), sleep=sleeps, **options
        )
        made.append(backend)
        return backend, server, sleeps

    yield build
    for backend in made:
        await backend.aclose()


def conv(conversation_id: str = "c1", **fields: Any) -> dict[str, Any]:
    body = {
        "id": conversation_id,
        "topic": "Printer on fire",
        "status": "OPEN",
        "priority": "NORMAL",
        "createdAt": "2024-01-01T00:00:00.000+0000",
        "updatedAt": "2024-01-01T00:00:00.000+00:00",
    }
    return {**body, **fields}


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def envelope(status: int, message_id: str, text: str, **extra: Any) -> httpx.Response:
    details = {"messageId": message_id, "text": text, **extra}
    return httpx.Response(status, json={"requestError": {"serviceException": details}})


def page(key: str, items: list[Any], total: int | None = None) -> httpx.Response:
    pagination = {"totalItems": len(items) if total is None else total, "page": 0, "limit": 10}
    return ok({key: items, "pagination": pagination})


PATCH = ConversationPatch(priority=Priority.HIGH)

# --- retries ---------------------------------------------------------------------------------


async def test_429_is_retried_after_the_time_retry_after_asks(make: Any) -> None:
    backend, server, sleeps = make(
        Server.script(
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": "1.5"}),
            ok(conv(priority="HIGH")),
        )
    )
    conversation = await backend.patch("c1", PATCH)
    assert conversation.priority is Priority.HIGH
    assert sleeps == [3.0, 1.5]
    assert len(server.requests) == 3


async def test_retry_after_as_http_date_and_capped(make: Any) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    backend, _, sleeps = make(
        Server.script(
            httpx.Response(503, headers={"Retry-After": soon}),
            httpx.Response(503, headers={"Retry-After": "86400"}),
            ok(conv()),
        ),
        backoff_max=2.0,
    )
    await backend.patch("c1", PATCH)
    assert 3.0 <= sleeps[0] <= 5.0
    assert sleeps[1] == 8.0  # backoff_max * 4, not a day


async def test_429_after_all_retries_is_rate_limited(make: Any) -> None:
    backend, server, sleeps = make(
        Server(lambda _r: httpx.Response(429, headers={"Retry-After": "7"})), max_retries=2
    )
    with pytest.raises(RateLimited) as caught:
        await backend.patch("c1", PATCH)
    assert caught.value.retry_after == 7.0
    assert "try again in 7 seconds" in str(caught.value)
    assert len(server.requests) == 3 and sleeps == [7.0, 7.0]


async def test_503_then_200_is_retried_with_jittered_backoff(make: Any) -> None:
    backend, server, sleeps = make(
        Server.script(httpx.Response(503), httpx.Response(502), page("queues", [])),
        backoff_base=0.5,
    )
    assert await backend.list_queues() == []
    assert len(server.requests) == 3
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


async def test_connect_error_then_success(make: Any) -> None:
    backend, server, _ = make(
        Server.script(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(conv()))
    )
    assert (await backend.unassign("c1")).id == "c1"
    assert server.paths() == ["DELETE /ccaas/1/conversations/c1/assignee"] * 3


async def test_500_is_not_retried(make: Any) -> None:
    backend, server, _ = make(Server.script(httpx.Response(500, text="<html>oops</html>")))
    with pytest.raises(BackendUnavailable, match=r"Infobip is failing \(HTTP 500\)"):
        await backend.patch("c1", PATCH)
    assert len(server.requests) == 1


async def test_503_after_all_retries_says_try_again(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.Response(503)), max_retries=3)
    with pytest.raises(BackendUnavailable) as caught:
        await backend.list_agents()
    assert "HTTP 503" in str(caught.value) and "try again in a minute" in str(caught.value)
    assert len(server.requests) == 4


# --- create is never repeated unless it never left ---------------------------------------------

NEW = ConversationCreate(topic="Printer on fire", priority=Priority.URGENT)


async def test_create_is_not_retried_on_503(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.Response(503)))
    with pytest.raises(BackendUnavailable, match="HTTP 503"):
        await backend.create(NEW)
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 1 and server.requests[0].method == "POST"  # then only looked for


async def test_create_is_not_retried_on_429(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.Response(429, headers={"Retry-After": "2"})))
    with pytest.raises(RateLimited):
        await backend.create(NEW)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.Response(504)],
    ids=["read-timeout", "dropped", "gateway-timeout"],
)
async def test_create_with_unknown_outcome_is_not_retried(make: Any, failure: Answer) -> None:
    backend, server, _ = make(Server(lambda _r: failure))
    with pytest.raises(BackendUnavailable) as caught:
        await backend.create(NEW)
    # Sent once, then only looked for (the lookup fails or finds nothing): never sent again.
    assert [r.method for r in server.requests].count("POST") == 1
    assert "may or may not have been created" in str(caught.value)
    assert "`list`" in str(caught.value)


async def test_create_is_retried_when_it_never_left(make: Any) -> None:
    backend, server, _ = make(
        Server.script(
            httpx.ConnectError("refused"),
            httpx.ConnectTimeout("no route"),
            ok(conv("new", priority="URGENT")),
        )
    )
    created = await backend.create(NEW)
    assert created.id == "new" and created.tags is None
    assert len(server.requests) == 3


async def test_create_that_never_connects_names_the_host(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.ConnectError("refused")), max_retries=1)
    with pytest.raises(BackendUnavailable) as caught:
        await backend.create(NEW)
    assert "ib.example.test" in str(caught.value) and "INFOBIP_BASE_URL" in str(caught.value)
    assert "may or may not" not in str(caught.value)
    assert len(server.requests) == 2


async def test_create_sends_set_fields_and_channel_but_not_tags(make: Any) -> None:
    backend, server, _ = make(Server.script(ok(conv("new"))))
    await backend.create(ConversationCreate(topic="T", summary=None, tags=["vip"]))
    request = server.requests[0]
    assert (request.method, request.url.path) == ("POST", "/ccaas/1/conversations")
    assert json.loads(request.content) == {"topic": "T", "channel": "NO_CHANNEL"}


# --- error mapping ---------------------------------------------------------------------------

INVALID_ID = "Invalid id '{}' given! No such entity exists."


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (envelope(404, "NOT_FOUND", "Not found"), "Conversation c1 was not found."),
        (envelope(400, "NOT_FOUND", INVALID_ID.format("c1")), "Conversation c1 was not found."),
        (httpx.Response(404, text="<h1>nope</h1>"), "Conversation c1 was not found."),
    ],
    ids=["404-envelope", "400-not-found", "404-html"],
)
async def test_unknown_conversation_is_not_found(make: Any, answer: Any, message: str) -> None:
    backend, _, _ = make(Server(lambda _r: answer))
    with pytest.raises(NotFound) as caught:
        await backend.patch("c1", PATCH)
    assert str(caught.value) == message


async def test_unknown_tag_and_agent_are_named(make: Any) -> None:
    backend, _, _ = make(
        Server.script(
            envelope(400, "NOT_FOUND", "Invalid tagName 'vip' given! No such entity exists."),
            envelope(400, "NOT_FOUND", INVALID_ID.format("agent-7")),
            envelope(400, "NOT_FOUND", "Agent agent-7 was not found."),
        )
    )
    with pytest.raises(NotFound, match=r"^Tag 'vip' was not found\.$"):
        await backend.add_tag("c1", "vip")
    with pytest.raises(NotFound, match=r"^Agent agent-7 was not found\.$"):
        await backend.assign("c1", "agent-7")
    with pytest.raises(NotFound, match=r"^Agent agent-7 was not found\.$"):
        await backend.assign("c1", "agent-7")


async def test_closed_conversation(make: Any) -> None:
    closed = envelope(400, "BAD_REQUEST", "Closed conversation cannot be changed")
    backend, _, _ = make(Server(lambda _r: closed))
    for call in (
        backend.patch("c9", PATCH),
        backend.assign("c9", "a1"),
        backend.route("c9"),
        backend.add_tag("c9", "vip"),
        backend.remove_tag("c9", "vip"),
    ):
        with pytest.raises(ConversationClosed) as caught:
            await call
        assert caught.value.conversation_id == "c9"


async def test_other_400_is_invalid_input_with_validation_errors(make: Any) -> None:
    answer = envelope(
        400,
        "BAD_REQUEST",
        "Invalid request body.",
        validationErrors={"topic": ["size must be between 0 and 1000"]},
    )
    backend, _, _ = make(Server(lambda _r: answer))
    with pytest.raises(InvalidInput) as caught:
        await backend.patch("c1", PATCH)
    assert str(caught.value) == (
        "Infobip rejected the request: Invalid request body "
        "(topic: size must be between 0 and 1000)."
    )


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_names_the_variable_not_the_key(make: Any, status: int) -> None:
    backend, server, _ = make(Server(lambda _r: envelope(status, "UNAUTHORIZED", "Unauthorized")))
    with pytest.raises(BackendUnavailable) as caught:
        await backend.list_queues()
    assert str(caught.value) == f"Infobip refused the API key ({status}): check INFOBIP_API_KEY."
    assert len(server.requests) == 1


async def test_timeouts_name_the_host(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.ReadTimeout("slow")), max_retries=2)
    with pytest.raises(BackendUnavailable) as caught:
        await backend.list_queues()
    assert "ib.example.test" in str(caught.value) and "INFOBIP_BASE_URL" in str(caught.value)
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (httpx.Response(400, text="<html>bad</html>"), InvalidInput, "HTTP 400"),
        (httpx.Response(409, json=["not", "an", "envelope"]), InvalidInput, "HTTP 409"),
        (httpx.Response(200, text="<html>login</html>"), BackendUnavailable, "cannot read"),
        (ok({"unexpected": True}), BackendUnavailable, "cannot read"),
        (envelope(404, "NOT_FOUND", "Not found"), BackendUnavailable, "INFOBIP_BASE_URL"),
    ],
    ids=["html-400", "list-409", "html-200", "wrong-shape", "list-404"],
)
async def test_odd_bodies_do_not_crash_the_mapping(
    make: Any, answer: httpx.Response, error: type[ConvbotError], text: str
) -> None:
    backend, _, _ = make(Server(lambda _r: answer))
    with pytest.raises(error, match=text):
        await backend.list_queues()


async def test_ping_is_one_cheap_request(make: Any) -> None:
    backend, server, _ = make(Server.script(page("queues", [], total=4)))
    await backend.ping()
    assert [str(r.url) for r in server.requests] == [f"{BASE}/ccaas/1/queues?limit=1"]


# --- secrets ---------------------------------------------------------------------------------


async def test_api_key_never_in_logs_reprs_or_errors(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = envelope(400, "BAD_REQUEST", f"Bad header App {KEY}")
    answers: list[Answer] = [
        envelope(401, "UNAUTHORIZED", "Unauthorized"),
        echo,
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(503),
        envelope(400, "NOT_FOUND", "nope"),
    ]
    backend, server, _ = make(Server(lambda _r: answers[len(server.requests) % len(answers)]))
    texts = [repr(backend)]
    for _ in range(8):
        try:
            await backend.patch("c1", PATCH)
        except ConvbotError as error:
            texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    try:
        await backend.create(NEW)
    except ConvbotError as error:
        texts.append(str(error))
    assert server.requests[0].headers["Authorization"] == f"App {KEY}"
    assert server.requests[0].headers["User-Agent"].startswith("convbot/")
    assert any(" -> 401 in " in record.getMessage() for record in caplog.records)
    assert KEY not in caplog.text
    assert all(KEY not in text for text in texts), texts


async def test_requests_are_logged_without_headers(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.backends.infobip")
    backend, _, _ = make(Server.script(page("agents", [])))
    await backend.list_agents()
    ours = [r for r in caplog.records if r.name.startswith("bot.backends.infobip")]
    [line] = [r.getMessage() for r in ours]
    assert line.startswith("GET /ccaas/1/agents -> 200 in ") and line.endswith(" ms")


# --- listing ---------------------------------------------------------------------------------


def _at(hour: int) -> str:
    return f"2024-01-01T{hour:02d}:00:00.000+0000"


def _barrier(count: int) -> Callable[[], Any]:
    """An awaitable that returns once `count` requests are in flight at the same time."""
    arrived = 0
    everyone = asyncio.Event()

    async def wait() -> None:
        nonlocal arrived
        arrived += 1
        if arrived >= count:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), timeout=2)

    return wait


async def test_several_priorities_are_concurrent_queries_merged_in_order(make: Any) -> None:
    data = {
        "URGENT": ([conv(f"u{h}", priority="URGENT", createdAt=_at(h)) for h in (10, 8, 6, 4)], 40),
        "HIGH": ([conv(f"h{h}", priority="HIGH", createdAt=_at(h)) for h in (9, 7, 5, 3)], 30),
    }
    together = _barrier(2)

    async def answer(request: httpx.Request) -> httpx.Response:
        await together()  # both sub-queries are in flight at once, or this times out
        items, total = data[request.url.params["priority"]]
        return page("conversations", items[: int(request.url.params["limit"])], total)

    backend, server, _ = make(Server(answer))
    query = ConversationFilter(
        priorities=[Priority.URGENT, Priority.HIGH],
        orderBy=OrderBy(field="createdAt", direction="desc"),
        page=1,
        limit=2,
    )
    result = await backend.list(query)
    assert [c.id for c in result.items] == ["u8", "h7"]
    assert result.totalItems == 70 and (result.page, result.limit) == (1, 2)
    assert all(c.tags is None for c in result.items)
    params = sorted((dict(r.url.params.multi_items()) for r in server.requests), key=str)
    assert params == [
        {"orderBy": "createdAt:desc", "priority": p, "page": "0", "limit": "4"}
        for p in ("HIGH", "URGENT")
    ]


async def test_status_by_priority_product_ordered_by_priority_rank(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        status, priority = request.url.params["status"], request.url.params["priority"]
        item = conv(f"{status}-{priority}", status=status, priority=priority)
        return page("conversations", [item])

    backend, server, _ = make(Server(answer))
    result = await backend.list(
        ConversationFilter(
            statuses=[Status.OPEN, Status.WAITING],
            priorities=[Priority.LOW, Priority.URGENT, Priority.HIGH],
            orderBy=OrderBy(field="priority", direction="desc"),
            limit=10,
        )
    )
    assert len(server.requests) == 6
    assert [c.priority for c in result.items] == [Priority.URGENT] * 2 + [Priority.HIGH] * 2 + [
        Priority.LOW
    ] * 2
    assert result.totalItems == 6


async def test_merge_puts_missing_values_last(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["priority"] == "HIGH":
            return page("conversations", [conv("h1", priority="HIGH", queueId="q2"), conv("h2")])
        return page("conversations", [conv("n1", queueId="q1"), conv("n2")])

    backend, _, _ = make(Server(answer))
    for direction in ("asc", "desc"):
        result = await backend.list(
            ConversationFilter(
                priorities=[Priority.HIGH, Priority.NORMAL],
                orderBy=OrderBy(field="queueId", direction=direction),
            )
        )
        assert [c.queueId for c in result.items][2:] == [None, None]


async def test_a_single_value_filter_is_exactly_one_request(make: Any) -> None:
    backend, server, _ = make(Server.script(page("conversations", [conv()], total=31)))
    result = await backend.list(
        ConversationFilter(
            conversationIds=["c1", "c2"],
            statuses=[Status.OPEN],
            queueIds=["q1", "q2"],
            tags=["vip", "billing"],
            agentId="a1",
            createdAfter=datetime(2024, 4, 24, 11, 25, 41, 58000, tzinfo=UTC),
            orderBy=OrderBy(field="updatedAt", direction="asc"),
            page=3,
            limit=10,
        )
    )
    assert result.totalItems == 31 and result.page == 3
    [request] = server.requests
    assert request.url.params.multi_items() == [
        ("orderBy", "updatedAt:asc"),
        ("conversationIds", "c1"),
        ("conversationIds", "c2"),
        ("queueIds", "q1"),
        ("queueIds", "q2"),
        ("tagNames", "vip"),
        ("tagNames", "billing"),
        ("agentId", "a1"),
        ("createdAfter", "2024-04-24T11:25:41.058+0000"),
        ("status", "OPEN"),
        ("page", "3"),
        ("limit", "10"),
    ]


async def test_deep_pages_of_a_split_query_fetch_further_pages(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        priority = request.url.params["priority"]
        number, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        start = number * limit
        items = [
            conv(f"{priority}{i:04d}", priority=priority, createdAt=_at(0))
            for i in range(start, min(start + limit, 2500))
        ]
        return page("conversations", items, total=2500)

    backend, server, _ = make(Server(answer))
    query = ConversationFilter(
        priorities=[Priority.HIGH, Priority.LOW],
        orderBy=OrderBy(field="id", direction="asc"),
        page=2,
        limit=600,
    )
    result = await backend.list(query)
    # Each sub-query supplies its first 1800 items: pages 0 and 1 of 999.
    asked = sorted(
        (r.url.params["priority"], r.url.params["page"], r.url.params["limit"])
        for r in server.requests
    )
    assert asked == [(p, n, "999") for p in ("HIGH", "LOW") for n in ("0", "1")]
    assert result.totalItems == 5000
    assert [c.id for c in result.items] == [f"HIGH{i:04d}" for i in range(1200, 1800)]


async def test_unassigned_is_filtered_here_over_every_page(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        items = [
            conv(f"c{number}-{i}", agentId=None if i % 2 else "a1", createdAt=_at(i % 24))
            for i in range(999 if number == 0 else 501)
        ]
        return page("conversations", items, total=1500)

    backend, server, _ = make(Server(answer))
    result = await backend.list(
        ConversationFilter(unassigned=True, orderBy=OrderBy(field="id"), page=0, limit=5)
    )
    assert sorted(r.url.params["page"] for r in server.requests) == ["0", "1"]
    assert all(r.url.params["limit"] == "999" for r in server.requests)
    assert "unassigned" not in str(server.requests[0].url)
    assert result.totalItems == 499 + 250
    assert all(c.agentId is None for c in result.items) and len(result.items) == 5


async def test_channel_filter_that_needs_too_many_pages_asks_to_narrow(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: page("conversations", [conv()], total=25_000)))
    with pytest.raises(InvalidInput, match="narrow it with status, priority or queue"):
        await backend.list(ConversationFilter(channel=Channel.WHATSAPP))
    assert len(server.requests) == 1


# --- the other calls -------------------------------------------------------------------------


async def test_get_loads_tags_concurrently(make: Any) -> None:
    together = _barrier(2)

    async def answer(request: httpx.Request) -> httpx.Response:
        await together()
        if request.url.path == "/ccaas/1/tags":
            return page("tags", [{"name": "vip"}, {"name": "billing"}])
        return ok(conv("c 1", tags=[{"weird": "shape"}]))

    backend, server, _ = make(Server(answer))
    conversation = await backend.get("c 1")
    assert conversation.tags == ["vip", "billing"]
    tags_request = next(r for r in server.requests if r.url.path == "/ccaas/1/tags")
    assert dict(tags_request.url.params) == {
        "orderBy": "name:asc",
        "conversationId": "c 1",
        "page": "0",
        "limit": "999",
    }
    assert b"/ccaas/1/conversations/c%201" in [r.url.raw_path for r in server.requests]


async def test_get_of_unknown_conversation_is_not_found(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ccaas/1/tags":
            return page("tags", [])
        return envelope(404, "NOT_FOUND", "Not found")

    backend, _, _ = make(Server(answer))
    with pytest.raises(NotFound, match="Conversation nope was not found"):
        await backend.get("nope")


async def test_patch_sends_only_the_changes(make: Any) -> None:
    backend, server, _ = make(Server.script(ok(conv(summary="s"))))
    await backend.patch("c1", ConversationPatch(summary="s"))
    assert server.requests[0].method == "PATCH"
    assert json.loads(server.requests[0].content) == {"summary": "s"}


@pytest.mark.parametrize(
    "body",
    [conv("c1", queueId="q1"), {"conversations": [conv("c1", queueId="q1")], "pagination": {}}],
    ids=["conversation", "page-of-one"],
)
async def test_route_reads_a_conversation_or_a_page_of_one(make: Any, body: Any) -> None:
    backend, server, _ = make(Server.script(ok(body)))
    routed = await backend.route("c1")
    assert routed.queueId == "q1"
    assert server.requests[0].content == b""


async def test_assign_and_unassign(make: Any) -> None:
    backend, server, _ = make(Server.script(ok(conv(agentId="a1")), ok(conv())))
    assert (await backend.assign("c1", "a1")).agentId == "a1"
    assert (await backend.unassign("c1")).agentId is None
    assert server.paths() == [
        "PUT /ccaas/1/conversations/c1/assignee",
        "DELETE /ccaas/1/conversations/c1/assignee",
    ]
    assert json.loads(server.requests[0].content) == {"agentId": "a1"}


async def test_create_tag_that_exists_is_not_an_error(make: Any) -> None:
    backend, server, _ = make(
        Server.script(
            envelope(400, "BAD_REQUEST", "Tag already exists."),
            ok({"name": "fresh", "createdAt": "2024-01-01T00:00:00.000+00:00"}),
        )
    )
    assert (await backend.create_tag("vip")).name == "vip"
    assert (await backend.create_tag("fresh")).createdAt == datetime(2024, 1, 1, tzinfo=UTC)
    assert [json.loads(r.content) for r in server.requests] == [{"name": "vip"}, {"name": "fresh"}]


async def test_tag_links_use_the_url_encoded_name(make: Any) -> None:
    status = ok({"statusCode": "SUCCESS", "message": "done"})
    backend, server, _ = make(Server.script(status, status))
    await backend.add_tag("c1", "a/b c")
    await backend.remove_tag("c1", "a/b c")
    assert json.loads(server.requests[0].content) == {"tagName": "a/b c"}
    assert server.requests[1].url.raw_path == b"/ccaas/1/conversations/c1/tags/a%2Fb%20c"


async def test_list_tags_reads_every_page(make: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        count = 999 if number < 2 else 2
        return page("tags", [{"name": f"t{number}-{i}"} for i in range(count)], total=2000)

    backend, server, _ = make(Server(answer))
    assert len(await backend.list_tags()) == 2000
    assert sorted(r.url.params["page"] for r in server.requests) == ["0", "1", "2"]


async def test_routing_rules_keep_unknown_fields(make: Any) -> None:
    route = {
        "id": "r1",
        "priority": "URGENT",
        "queueId": "q1",
        "queueName": "First Queue",
        "enabled": True,
        "name": "First Rule",
        "order": 1,
        "expression": {"$eq": {"message.channel": "WHATSAPP"}},
    }
    backend, server, _ = make(Server.script(ok({"routes": [route, {"id": "r2", "queueId": "q2"}]})))
    first, second = await backend.list_routing_rules()
    assert (first.id, first.order, first.priority) == ("r1", 1, Priority.URGENT)
    assert first.model_extra == {
        "queueName": "First Queue",
        "expression": {"$eq": {"message.channel": "WHATSAPP"}},
    }
    assert (second.name, second.order) == ("r2", 2)
    assert str(server.requests[0].url) == f"{BASE}/ccaas/1/routing"


async def test_agents_and_queues(make: Any) -> None:
    agent = {"id": "a1", "displayName": "Angus", "status": "ACTIVE", "role": "SUPERVISOR"}
    queue = {"id": "q1", "name": "Queue 1", "isAutoAssignmentEnabled": True, "extra": 1}
    backend, _, _ = make(Server.script(page("agents", [agent]), page("queues", [queue])))
    [found] = await backend.list_agents()
    assert found.displayName == "Angus"
    [q] = await backend.list_queues()
    assert q.isAutoAssignmentEnabled and q.model_extra == {"extra": 1}


# --- review findings -------------------------------------------------------------------------


async def test_merge_ties_keep_each_server_order_on_every_page(make: Any) -> None:
    # The server breaks createdAt ties its own way (not by id); the merge must not re-break them.
    data = {
        "HIGH": [conv("h-z", createdAt=_at(10)), conv("h-a", createdAt=_at(10)), conv("h-c")],
        "URGENT": [conv("u-m", createdAt=_at(10)), conv("u-b")],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        items = data[request.url.params["priority"]]
        return page("conversations", items[: int(request.url.params["limit"])], len(items))

    backend, _, _ = make(Server(answer))
    ids: list[str] = []
    for number in range(3):
        result = await backend.list(
            ConversationFilter(
                priorities=[Priority.HIGH, Priority.URGENT],
                orderBy=OrderBy(field="createdAt", direction="desc"),
                page=number,
                limit=2,
            )
        )
        ids += [c.id for c in result.items]
    assert ids == ["h-z", "h-a", "u-m", "h-c", "u-b"]


@pytest.mark.parametrize(
    ("statuses", "priorities", "requests"),
    [
        ([Status.OPEN, Status.OPEN], [], 1),
        ([Status.OPEN], [Priority.HIGH, Priority.HIGH, Priority.LOW], 2),
    ],
    ids=["status-twice", "priority-twice"],
)
async def test_repeated_filter_values_are_asked_and_counted_once(
    make: Any, statuses: list[Status], priorities: list[Priority], requests: int
) -> None:
    backend, server, _ = make(Server(lambda _r: page("conversations", [conv()], total=7)))
    result = await backend.list(ConversationFilter(statuses=statuses, priorities=priorities))
    assert len(server.requests) == requests
    assert result.totalItems == 7 * requests


@pytest.mark.parametrize(
    ("location", "host"),
    [("https://api.infobip.com/ccaas/1/queues", "api.infobip.com"), ("/login", "ib.example.test")],
    ids=["absolute", "relative"],
)
async def test_a_redirect_points_at_the_base_url(make: Any, location: str, host: str) -> None:
    moved = httpx.Response(301, headers={"Location": location})
    backend, server, _ = make(Server(lambda _r: moved))
    for call in (backend.list_queues(), backend.create(NEW)):
        with pytest.raises(BackendUnavailable) as caught:
            await call
        assert f"redirected the request to {host}" in str(caught.value)
        assert "INFOBIP_BASE_URL" in str(caught.value)
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_posts_are_not_retried_on_a_retryable_status(make: Any, status: int) -> None:
    backend, server, sleeps = make(Server(lambda _r: httpx.Response(status)))
    for call in (backend.route("c1"), backend.add_tag("c1", "vip"), backend.create_tag("vip")):
        with pytest.raises(BackendUnavailable):
            await call
    assert [r.method for r in server.requests] == ["POST"] * 3 and sleeps == []


async def test_route_with_unknown_outcome_is_not_retried(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.ReadTimeout("slow")))
    with pytest.raises(BackendUnavailable) as caught:
        await backend.route("c1")
    assert len(server.requests) == 1
    assert "may or may not have been routed" in str(caught.value)
    assert "`show c1`" in str(caught.value)


async def test_posts_are_retried_when_they_never_left(make: Any) -> None:
    linked = ok({"statusCode": "SUCCESS", "message": "done"})
    backend, server, _ = make(
        Server.script(
            httpx.ConnectError("refused"),
            ok(conv(queueId="q1")),
            httpx.PoolTimeout("busy"),
            linked,
            httpx.ConnectTimeout("no route"),
            ok({"name": "vip"}),
        )
    )
    assert (await backend.route("c1")).queueId == "q1"
    await backend.add_tag("c1", "vip")
    assert (await backend.create_tag("vip")).name == "vip"
    assert len(server.requests) == 6


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_idempotent_methods_are_retried_on_gateway_errors(make: Any, method: str) -> None:
    answers: list[Answer] = [httpx.Response(504), httpx.RemoteProtocolError("dropped")]
    body = page("queues", []) if method == "GET" else ok(conv())
    backend, server, _ = make(Server.script(*answers, body))
    calls = {
        "GET": backend.list_queues,
        "PUT": lambda: backend.assign("c1", "a1"),
        "PATCH": lambda: backend.patch("c1", PATCH),
        "DELETE": lambda: backend.unassign("c1"),
    }
    await calls[method]()
    assert [r.method for r in server.requests] == [method] * 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_create_failing_without_infobip_envelope_may_have_happened(
    make: Any, status: int
) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.Response(status, text="Bad gateway")))
    with pytest.raises(BackendUnavailable) as caught:
        await backend.create(NEW)
    assert f"HTTP {status}" in str(caught.value)
    assert "may or may not have been created" in str(caught.value)
    # Sent once; then only looked for (it is not there), never sent again.
    assert [r.method for r in server.requests].count("POST") == 1


async def test_create_refused_in_infobip_envelope_is_a_clear_refusal(make: Any) -> None:
    refused = envelope(503, "SERVICE_UNAVAILABLE", "Service unavailable")
    backend, server, _ = make(Server(lambda _r: refused))
    with pytest.raises(BackendUnavailable) as caught:
        await backend.create(NEW)
    assert "may or may not" not in str(caught.value)
    assert "HTTP 503" in str(caught.value) and "try again" in str(caught.value)
    assert len(server.requests) == 1


def _deep_answer(request: httpx.Request) -> httpx.Response:
    number, limit = int(request.url.params["page"]), int(request.url.params["limit"])
    return page("conversations", [conv(f"c{number}-{i}") for i in range(limit)], total=50_000)


async def test_deep_pages_of_a_merged_list_are_capped(make: Any) -> None:
    backend, server, _ = make(Server(_deep_answer))
    query = ConversationFilter(
        priorities=[Priority.HIGH, Priority.LOW], page=CLIENT_SIDE_PAGE_CAP, limit=LIMIT_MAX
    )
    with pytest.raises(InvalidInput, match="one status and one priority"):
        await backend.list(query)
    assert len(server.requests) == 2  # each sub-query's first page, which tells its total


@pytest.mark.slow
async def test_deep_pages_up_to_the_cap_are_read(make: Any) -> None:
    backend, server, _ = make(Server(_deep_answer))
    query = ConversationFilter(
        priorities=[Priority.HIGH, Priority.LOW], page=CLIENT_SIDE_PAGE_CAP - 1, limit=LIMIT_MAX
    )
    result = await backend.list(query)
    assert len(result.items) == LIMIT_MAX and result.totalItems == 100_000
    assert len(server.requests) == 2 * CLIENT_SIDE_PAGE_CAP


async def test_one_status_and_priority_pages_server_side_at_any_depth(make: Any) -> None:
    backend, server, _ = make(Server(_deep_answer))
    query = ConversationFilter(
        statuses=[Status.OPEN], priorities=[Priority.HIGH], page=40, limit=LIMIT_MAX
    )
    result = await backend.list(query)
    assert len(result.items) == LIMIT_MAX
    [request] = server.requests
    assert (request.url.params["page"], request.url.params["limit"]) == ("40", str(LIMIT_MAX))


@pytest.mark.parametrize(
    "text",
    [
        "x" * (ERROR_TEXT_MAX - 8) + KEY,  # a cut at the limit would keep the key's first half
        f"Bad header App {KEY}",
    ],
    ids=["at-the-cut", "whole"],
)
async def test_key_is_scrubbed_before_server_text_is_cut(make: Any, text: str) -> None:
    answer = envelope(400, "BAD_REQUEST", text, validationErrors={"x" * 290 + KEY: [text]})
    backend, _, _ = make(Server(lambda _r: answer))
    with pytest.raises(InvalidInput) as caught:
        await backend.patch("c1", PATCH)
    assert KEY[:8] not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.LocalProtocolError(f"Illegal header value b'App {KEY}'"),
        httpx.ReadTimeout(f"slow, while sending App {KEY}"),
        httpx.ConnectError(f"refused App {KEY}"),
        httpx.Response(200, json={"id": {"echo": KEY}}),
        httpx.Response(200, text=f"<html>{KEY}</html>"),
        httpx.Response(503, text=KEY),
    ],
    ids=["local-protocol", "read-timeout", "connect", "bad-shape", "not-json", "bare-503"],
)
async def test_no_error_carries_the_key_in_its_chain(make: Any, answer: Answer) -> None:
    backend, _, _ = make(Server(lambda _r: answer), max_retries=1)
    for call in (backend.create(NEW), backend.patch("c1", PATCH), backend.route("c1")):
        with pytest.raises(ConvbotError) as caught:
            await call
        chain: list[BaseException] = []
        error: BaseException | None = caught.value
        while error is not None and error not in chain:
            chain.append(error)
            error = error.__cause__ or error.__context__
        assert not any(isinstance(e, (httpx.HTTPError, ValidationError)) for e in chain), chain
        rendered = "".join(traceback.format_exception(caught.value))
        assert all(KEY not in f"{e} {e!r}" for e in chain) and KEY not in rendered


async def test_local_protocol_error_is_not_retried_and_names_the_key_variable(make: Any) -> None:
    backend, server, _ = make(Server(lambda _r: httpx.LocalProtocolError("Illegal header")))
    with pytest.raises(BackendUnavailable, match="INFOBIP_API_KEY"):
        await backend.list_queues()
    assert len(server.requests) == 1


async def test_key_is_stripped_of_surrounding_whitespace() -> None:
    server = Server.script(page("queues", []))
    backend = InfobipBackend(BASE, f"  {KEY}\n", transport=httpx.MockTransport(server))
    await backend.list_queues()
    await backend.aclose()
    assert server.requests[0].headers["Authorization"] == f"App {KEY}"


@pytest.mark.parametrize(
    "key",
    ["", "  \n", f"{KEY}\x00", f"{KEY}\nX-Evil: 1", f"{KEY}é", f"{KEY}\u200b"],
    ids=["empty", "blank", "nul", "header-injection", "non-ascii", "zero-width"],
)
def test_unusable_keys_are_refused_by_name_not_value(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        InfobipBackend(BASE, key)
    assert "INFOBIP_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value) and caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ({}, None),  # the contract's ConversationApiModel has no channel: not reported
        ({"channel": None}, None),
        ({"channel": "EMAIL"}, Channel.EMAIL),  # as Infobip's docs examples show one
        ({"channel": "A_CHANNEL_FROM_LATER"}, Channel.UNKNOWN),
        ({"channel": 7}, Channel.UNKNOWN),
    ],
)
def test_a_conversation_is_read_whatever_channel_it_carries(
    sent: dict[str, Any], read: Channel | None
) -> None:
    assert wire.conversation({"id": "c1", **sent}).channel is read


@pytest.mark.parametrize(
    "answer",
    [
        envelope(404, "NOT_FOUND", "Not found"),
        # The contract's own example for GET /agents/{agentId}: a 400 whose messageId says it.
        envelope(400, "NOT_FOUND", "Invalid agent id given '1234567890ABCDEFGHIJKLMNOPRSTUVZ'"),
    ],
)
async def test_an_unknown_agent_is_none(make: Any, answer: httpx.Response) -> None:
    backend, server, _ = make(Server.script(answer))
    assert await backend.get_agent("1234567890ABCDEFGHIJKLMNOPRSTUVZ") is None
    assert server.paths() == ["GET /ccaas/1/agents/1234567890ABCDEFGHIJKLMNOPRSTUVZ"]
