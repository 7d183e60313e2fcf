"""`list` without `sort:` puts the most urgent work first, and pages it, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from bot.bounded import CALLS_PER_COMMAND
from bot.commands.executor import execute
from bot.commands.parser import parse
from bot.commands.result import CommandResult
from bot.devtools.emulator.observe import Exchange, observing
from bot.models import Actor, Conversation, ConversationCreate, Priority, Status
from bot.service.triage import TRIAGE_ORDER
from tests.conftest import Stack
from tests.reliability.test_hostile_bounds import bot_on_slow_infobip
from tests.slack_harness import ANA as SLACK_ANA
from tests.slack_harness import NEXT_PAGE, OPEN, SlackHarness, texts

ANA = Actor(id="U_ANA", surface="slack", agent_id="agent-ana")
U, H, N, L = Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW
# Oldest first: the one URGENT conversation is the oldest of 25, so newest-first puts it last
# on page 2 of 20, where nobody triaging looks.
SEEDED_MIX = [U, *[H, N, L, N, H, L, N, N] * 3]
# Runs longer than a small page, so later pages start inside a run, past its page 0.
WALK_MIX = [L, H, N, H, U, N, L, H, N, N, H, L, H, U, N, H, L, N, H, L, H, N, L, H]


async def run(stack: Stack, text: str) -> CommandResult:
    return await execute(parse(text), stack.service, ANA)


def rows(result: CommandResult) -> list[Conversation]:
    assert result.page is not None, result
    return result.page.items


async def create(stack: Stack, mix: list[Priority], **fields: object) -> list[Conversation]:
    """One conversation per priority in `mix`, in that order, each created after the last."""
    made = []
    for n, priority in enumerate(mix):
        data = ConversationCreate.model_validate(
            {"topic": f"Item {n}", "priority": priority, **fields}
        )
        made.append((await stack.service.create(ANA, data)).conversation)
        await asyncio.sleep(0.003)  # distinct createdAt: the order within a priority is defined
    return made


def triaged(conversations: list[Conversation]) -> list[str]:
    """Ids in the triage order: URGENT first, oldest first within a priority."""
    ordered = sorted(conversations, key=lambda c: (-c.priority.rank, c.createdAt))
    return [c.id for c in ordered]


async def test_the_one_urgent_conversation_comes_first(stack: Stack) -> None:
    made = await create(stack, SEEDED_MIX)
    first = await run(stack, "list")
    assert rows(first)[0].id == made[0].id and rows(first)[0].priority is U
    assert [c.id for c in rows(first)] == triaged(made)[:20]
    assert first.headline == (
        "1-20 of 25 conversations (page 1 of 2), most urgent and oldest first."
    )
    assert first.page is not None and first.page.orderBy == TRIAGE_ORDER
    second = await run(stack, "list page:2")
    assert [c.id for c in rows(second)] == triaged(made)[20:]


async def test_a_sort_still_overrides_the_triage_order(stack: Stack) -> None:
    made = await create(stack, SEEDED_MIX[:6])
    newest = await run(stack, "list sort:created")
    assert [c.id for c in rows(newest)] == [c.id for c in reversed(made)]
    assert newest.page is not None and newest.page.orderBy == "createdAt:desc"
    assert "most urgent" not in newest.headline


@pytest.mark.slow
async def test_a_walk_over_every_page_gives_each_conversation_once_in_order(
    stack: Stack,
) -> None:
    made = await create(stack, WALK_MIX)
    waiting = await create(stack, [N, U, L], status=Status.WAITING)
    closed = await create(stack, [U])
    await stack.service.close(ANA, closed[0].id)
    expected = triaged([*made, *waiting])
    for limit in (3, 4, 7, 30):
        walked: list[str] = []
        pages = -(-len(expected) // limit)
        for number in range(1, pages + 2):  # one past the end, which is empty
            result = await run(stack, f"list limit:{limit} page:{number}")
            assert result.page is not None and result.page.totalItems == len(expected)
            walked.extend(c.id for c in rows(result))
        assert walked == expected, f"limit {limit}"


async def test_filters_and_a_priority_filter_keep_the_order(stack: Stack) -> None:
    made = await create(stack, WALK_MIX, queueId="q-billing")
    await create(stack, [U, H])  # in no queue
    wanted = [c for c in made if c.priority in (H, L)]
    walked = []
    for number in (1, 2, 3, 4):
        result = await run(stack, f"list queue:billing priority:low,high limit:5 page:{number}")
        walked.extend(c.id for c in rows(result))
    assert walked == triaged(wanted)


@contextmanager
def listing_requests() -> Iterator[list[dict[str, list[str]]]]:
    """The query parameters of every conversation list the emulator answers meanwhile."""
    seen: list[dict[str, list[str]]] = []

    def watch(exchange: Exchange) -> None:
        if exchange.method == "GET" and exchange.path.endswith("/conversations"):
            seen.append(parse_qs(exchange.query))

    with observing(watch):
        yield seen


@pytest.mark.parametrize("stack", ["infobip-emulator"], indirect=True)
async def test_each_page_costs_a_few_bounded_requests_at_infobip(stack: Stack) -> None:
    await create(stack, WALK_MIX * 2)
    # Page 1: one page 0 per priority and status (OPEN, WAITING): 4 x 2, and no more.
    with listing_requests() as seen:
        await run(stack, "list limit:5")
    assert len(seen) == 8
    assert {(q["priority"][0], q["status"][0]) for q in seen} == {
        (p.value, s) for p in Priority for s in ("OPEN", "WAITING")
    }
    assert all(q["orderBy"] == ["createdAt:asc"] and q["page"] == ["0"] for q in seen)
    # Deeper pages: that round again, plus at most two slices of one priority, each read no
    # further than the page it needs (never every match).
    for number in range(2, 12):
        with listing_requests() as seen:
            result = await run(stack, f"list limit:5 page:{number}")
        assert len(rows(result)) == (5 if number < 10 else 3 if number == 10 else 0)
        assert len(seen) <= 8 + 2 * 2, number
        assert all(int(q["limit"][0]) <= 5 * number for q in seen), number
    # One priority and one status: Infobip pages it, one request for any page.
    with listing_requests() as seen:
        result = await run(stack, "list priority:high status:open limit:5 page:3")
    assert len(seen) == 1 and seen[0]["page"] == ["2"] and len(rows(result)) == 5


async def test_slack_lists_the_urgent_one_first_and_pages_on_in_triage_order(
    slack: SlackHarness,
) -> None:
    for topic, priority in [("Oldest urgent", "urgent"), ("Low", "low"), ("High", "high")]:
        await slack.create(f"{topic} priority:{priority}")
        await asyncio.sleep(0.003)
    await (await slack.command("list limit:2")).answer()
    [listing] = slack.ephemeral_for(SLACK_ANA)
    rows = [b for b in listing.blocks if b.get("accessory", {}).get("action_id") == OPEN]
    assert [texts([row]).split("*")[1] for row in rows] == ["Oldest urgent", "High"]
    assert {row["accessory"]["text"]["text"] for row in rows} == {"View"}
    assert "1-2 of 3 conversations (page 1 of 2), most urgent and oldest first" in texts(
        listing.blocks
    )
    await (await slack.press_ephemeral(listing, NEXT_PAGE)).answer()
    assert "*Low*" in texts(listing.blocks) and "*High*" not in texts(listing.blocks)


async def test_unassigned_lists_page_in_triage_order_too(stack: Stack) -> None:
    """Infobip cannot filter on "unassigned": each priority's list is read whole and filtered
    here, nested inside the triage's own concurrent lists, all within one budget."""
    made = await create(stack, WALK_MIX)
    await create(stack, [U, H, L], agentId="agent-ben")
    walked = []
    for number in range(1, 7):
        result = await run(stack, f"list agent:none limit:5 page:{number}")
        assert result.page is not None and result.page.totalItems == len(made)
        walked.extend(c.id for c in rows(result))
    assert walked == triaged(made)


@pytest.mark.slow
async def test_the_lists_per_priority_share_one_budget_of_requests(tmp_path: Path) -> None:
    """Each priority's list is throttled on its own; run at once for one command or one Home
    tab, they still have at most CALLS_PER_COMMAND requests in flight at Infobip in all, and
    the nested reads of "unassigned" (a throttled read inside a throttled list) do not lock."""
    async with bot_on_slow_infobip(tmp_path) as (slack, counted):
        for priority in ("urgent", "high", "normal", "low"):
            await slack.create(f"Nobody's {priority} priority:{priority}")
        for text in ("list status:open,waiting,solved", "list agent:none limit:2 page:2"):
            counted.most = 0
            answer = await (await slack.command(text)).answer()
            assert "conversations" in answer.text, answer.text
            assert 1 < counted.most <= CALLS_PER_COMMAND, (text, counted.most)
        counted.most = 0
        home = await slack.open_home(SLACK_ANA)
        assert "Nobody's urgent" in texts(home.blocks)
        assert 1 < counted.most <= CALLS_PER_COMMAND, counted.most
