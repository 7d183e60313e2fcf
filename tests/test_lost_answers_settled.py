"""A change whose call failed may still have been made: its answer lost on the way back, or a
retry of it refused because of what the first try did ("already closed", "no such tag"). The
service reads the conversation back before reporting a failure, so that the person is told
what happened and the audit log holds every change made (and only those). Found by
tests/reliability/test_mixed_infobip_faults.py; here one case at a time, on the embedded store
with a wrapper that carries a call out and then fails it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.backends.infobip import InfobipBackend
from bot.backends.local import LocalBackend
from bot.errors import BackendUnavailable, ConvbotError, ConversationClosed, NotFound
from bot.models import (
    Actor,
    Conversation,
    ConversationCreate,
    ConversationFilter,
    ConversationPatch,
    Priority,
    Status,
)
from bot.service.conversations import ConversationService
from bot.state.audit import AuditLog
from tests.conftest import (
    EMULATOR_KEY,
    emulated_infobip,
    runtime_over,
    seeded_local,
    sqlite_engine,
)

ANA = Actor(id="UANA00001", surface="slack", agent_id="agent-ana")
LOST = "lost"  # carried out, then the answer lost
REFUSED = "refused"  # not carried out
AGAIN = "again"  # carried out, then refused as a retry would be, because of what it did


class Failing:
    """A LocalBackend whose next calls to a method fail as `fail[method]` says, in call order."""

    def __init__(self, inner: LocalBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.fail: dict[str, list[str]] = {}

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if method.startswith("_") or not callable(target):
            return target

        async def call(*args: Any) -> Any:
            planned = self.fail.get(method)
            how = planned.pop(0) if planned else None
            if how == REFUSED:
                raise BackendUnavailable("Infobip is failing (HTTP 500); try again in a minute.")
            result = await target(*args)
            if how == LOST:
                raise BackendUnavailable("Infobip did not answer (ReadError); try again.")
            if how == AGAIN:
                if method in ("patch", "assign", "unassign", "route"):
                    raise ConversationClosed(args[0])
                raise NotFound(f"Tag '{args[1]}' was not found.")
            return result

        return call


@dataclass
class Rig:
    service: ConversationService
    backend: Failing
    audit: AuditLog

    async def make(self, topic: str, **fields: Any) -> Conversation:
        data = ConversationCreate.model_validate({"topic": topic, **fields})
        return (await self.service.create(ANA, data)).conversation

    async def log(self, conversation_id: str) -> list[tuple[str, Any]]:
        return [(e.action, e.after) for e in await self.audit.history(conversation_id)]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    engine = await sqlite_engine(tmp_path / "state.db")
    try:
        backend = Failing(await seeded_local(engine))
        runtime = await runtime_over(engine, backend)  # type: ignore[arg-type]
        yield Rig(runtime.conversations, backend, runtime.audit)
    finally:
        await engine.dispose()


Change = Callable[[ConversationService, str], Awaitable[Any]]
CHANGES: dict[str, tuple[str, str, Change, dict[str, Any]]] = {
    # name: (backend method, audited action, the change, what the conversation then has)
    "update": (
        "patch",
        "update",
        lambda s, c: s.update(ANA, c, ConversationPatch(priority=Priority.URGENT)),
        {"priority": Priority.URGENT},
    ),
    "close": ("patch", "close", lambda s, c: s.close(ANA, c), {"status": Status.CLOSED}),
    "assign": (
        "assign",
        "assign",
        lambda s, c: s.assign(ANA, c, "agent-ben"),
        {"agentId": "agent-ben"},
    ),
    "unassign": ("unassign", "unassign", lambda s, c: s.unassign(ANA, c), {"agentId": None}),
    "route": ("route", "route", lambda s, c: s.route(ANA, c), {"queueId": "q-vip"}),
    "tag": ("add_tag", "tag", lambda s, c: s.tag(ANA, c, ["loud"]), {"tags": ["loud", "vip"]}),
    "untag": ("remove_tag", "untag", lambda s, c: s.untag(ANA, c, ["vip"]), {"tags": []}),
}


async def subject(rig: Rig) -> Conversation:
    """Open, with an agent and a tag (routed by its tag to the VIP queue)."""
    return await rig.make("Invoice wrong", agentId="agent-ana", tags=["vip"])


@pytest.mark.parametrize("how", [LOST, AGAIN])
@pytest.mark.parametrize("name", list(CHANGES))
async def test_a_change_made_despite_its_failure_is_reported_and_audited_once(
    rig: Rig, name: str, how: str
) -> None:
    method, action, change, expected = CHANGES[name]
    made = await subject(rig)
    rig.backend.fail[method] = [how]

    done = await change(rig.service, made.id)

    assert done.changed
    now = await rig.service.get(made.id)
    assert {field: getattr(now, field) for field in expected} == expected
    assert [entry for entry, _ in await rig.log(made.id)] == ["create", "tag", action]


@pytest.mark.parametrize("name", list(CHANGES))
async def test_a_change_not_made_is_reported_as_failed_and_not_audited(rig: Rig, name: str) -> None:
    method, _, change, _ = CHANGES[name]
    made = await subject(rig)
    rig.backend.fail[method] = [REFUSED]

    with pytest.raises(BackendUnavailable, match="HTTP 500"):
        await change(rig.service, made.id)

    assert [entry for entry, _ in await rig.log(made.id)] == ["create", "tag"]


async def test_tagging_that_half_worked_says_which_and_audits_only_that(rig: Rig) -> None:
    made = await rig.make("Printer on fire")
    rig.backend.fail["add_tag"] = [LOST, REFUSED]  # "loud" linked (answer lost), "vip" not

    with pytest.raises(ConvbotError) as caught:
        await rig.service.tag(ANA, made.id, ["loud", "vip"])

    assert str(caught.value).startswith(f"Tagged {made.id} loud only: Infobip is failing")
    assert str(caught.value).endswith(f"Run `tag {made.id} vip` to finish.")
    assert (await rig.service.get(made.id)).tags == ["loud"]
    assert (await rig.log(made.id))[1:] == [("tag", {"tags": ["loud"]})]


async def test_untagging_that_half_worked_says_which_and_audits_only_that(rig: Rig) -> None:
    made = await rig.make("Printer on fire", tags=["loud", "vip"])
    rig.backend.fail["remove_tag"] = [AGAIN, REFUSED]  # "loud" unlinked, "vip" not

    with pytest.raises(ConvbotError) as caught:
        await rig.service.untag(ANA, made.id, ["loud", "vip"])

    assert str(caught.value).startswith(f"Untagged {made.id} loud only:")
    assert (await rig.service.get(made.id)).tags == ["vip"]
    assert (await rig.log(made.id))[1:] == [
        ("tag", {"tags": ["loud", "vip"]}),
        ("untag", {"tags": ["vip"]}),
    ]


async def test_a_create_whose_tagging_half_worked_says_what_was_done(rig: Rig) -> None:
    rig.backend.fail["add_tag"] = [LOST, REFUSED]
    data = ConversationCreate(topic="Printer on fire", tags=["loud", "vip"])

    with pytest.raises(ConvbotError) as caught:
        await rig.service.create(ANA, data)

    message = str(caught.value)
    [made] = (await rig.backend.inner.list(ConversationFilter())).items
    assert message.startswith(f"Created conversation {made.id} and tagged it loud, but tagging")
    assert message.endswith(f"Run `tag {made.id} vip` to finish.")
    assert (await rig.log(made.id))[1:] == [("tag", {"tags": ["loud"]})]


async def test_a_route_is_not_credited_with_a_change_routing_cannot_make(rig: Rig) -> None:
    made = await subject(rig)
    rig.backend.fail["route"] = [REFUSED]
    # Someone renames it meanwhile: changed, but not routed.
    await rig.backend.inner.patch(made.id, ConversationPatch(topic="Renamed"))

    with pytest.raises(BackendUnavailable):
        await rig.service.route(ANA, made.id)
    assert [a for a, _ in await rig.log(made.id)] == ["create", "tag"]


# --- the Infobip client's look for a create whose answer was lost ----------------------------


class LosesTheCreateThenFailsAList(httpx.AsyncBaseTransport):
    """The create is carried out and its answer lost; the first list after it answers 500."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = self.failed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/conversations") and not self.failed:
            self.failed = True
            return httpx.Response(500, json={"error": "boom"})
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and path.endswith("/conversations") and not self.lost:
            self.lost = True
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


async def test_a_failed_look_for_a_lost_create_is_tried_again(tmp_path: Path) -> None:
    async def no_wait(_seconds: float) -> None:
        pass

    async with emulated_infobip(tmp_path) as (base_url, store):
        transport = LosesTheCreateThenFailsAList()
        infobip = InfobipBackend(
            base_url, EMULATOR_KEY, transport=transport, max_retries=0, sleep=no_wait
        )
        try:
            created = await infobip.create(ConversationCreate(topic="Printer on fire"))
        finally:
            await infobip.aclose()
        assert transport.lost and transport.failed
        stored = (await store.list(ConversationFilter())).items
        assert [c.id for c in stored if c.topic == "Printer on fire"] == [created.id]


@pytest.mark.parametrize(
    ("retry_after", "said"),
    [("0.4", "try again in 1 second."), ("1", "try again in 1 second."), ("2", "in 2 seconds.")],
)
async def test_a_throttled_answer_reads_well(retry_after: str, said: str) -> None:
    def throttled(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": retry_after})

    infobip = InfobipBackend(
        "http://infobip.test", "key", transport=httpx.MockTransport(throttled), max_retries=0
    )
    try:
        with pytest.raises(BackendUnavailable) as caught:
            await infobip.create(ConversationCreate(topic="Printer on fire"))
    finally:
        await infobip.aclose()
    assert str(caught.value).endswith(said)
