"""The fake Slack refuses what Slack refuses, as Slack words it (each rule's source is in the
module that enforces it: bot/devtools/fakeslack/blockkit.py, scopes.py, rate_limits.py,
interaction_handles.py).

These tests call the fake directly and break rules on purpose, so each clears the fake's record
of violations after checking it (a test that drives the bot fails on any, see tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.fakeslack import FakeSlack, serve_fake_slack
from bot.devtools.fakeslack.blockkit import MESSAGE_BLOCK_TEXT

# The slow tier (tests/conftest.py): nearly every test serves the fake Slack on loopback.
pytestmark = pytest.mark.slow

Json = dict[str, Any]
CHANNEL = "C0SUPPORT1"


def button(action_id: str, text: str = "Go") -> Json:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}}


def section(text: str, block_id: str | None = None) -> Json:
    block: Json = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return block if block_id is None else {**block, "block_id": block_id}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user("U1ANA", "ana", email="ana@example.com")
    fake.add_channel(CHANNEL, "support")
    fake.add_channel("C0OTHER01", "other")
    yield fake
    fake.violations.clear()


@pytest.fixture
async def client(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    async with serve_fake_slack(fake):
        yield AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


async def refusal(call: Any) -> Json:
    with pytest.raises(SlackApiError) as refused:
        await call
    assert refused.value.response is not None
    return dict(refused.value.response.data)  # type: ignore[arg-type]


# --- Block Kit ------------------------------------------------------------------------------------


async def test_two_elements_of_one_block_may_not_share_an_action_id(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    twice = {"type": "actions", "elements": [button("page", "Previous"), button("page", "Next")]}
    answer = await refusal(client.chat_postMessage(channel=CHANNEL, text="t", blocks=[twice]))
    assert answer["error"] == "invalid_blocks"
    assert answer["errors"] == [
        "action_id 'page' is not unique [json-pointer:/blocks/0/elements/1/action_id]"
    ]
    assert answer["response_metadata"]["messages"] == [f"[ERROR] {answer['errors'][0]}"]
    assert [v.error for v in fake.violations] == ["invalid_blocks"]
    # The same action_id in two blocks is fine: Slack tells them apart by block_id.
    apart = [{"type": "actions", "elements": [button("page")]} for _ in range(2)]
    await client.chat_postMessage(channel=CHANNEL, text="t", blocks=apart)


async def test_block_ids_are_unique_in_a_message_and_in_a_view(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [section("a", "same"), section("b", "same")]
    answer = await refusal(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert answer["errors"] == ["block_id 'same' is not unique [json-pointer:/blocks/1/block_id]"]
    home = {"type": "home", "blocks": blocks}
    answer = await refusal(client.views_publish(user_id="U1ANA", view=home))
    assert answer["error"] == "invalid_arguments"
    assert "[json-pointer:/view/blocks/1/block_id]" in answer["response_metadata"]["messages"][0]


async def test_plain_text_where_slack_requires_it(client: AsyncWebClient) -> None:
    mrkdwn_button = {**button("go"), "text": {"type": "mrkdwn", "text": "*Go*"}}
    blocks = [{"type": "actions", "elements": [mrkdwn_button]}]
    answer = await refusal(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert answer["errors"] == ["must be plain_text [json-pointer:/blocks/0/elements/0/text/type]"]


async def test_a_message_with_more_than_12000_characters_of_block_text_is_too_long(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    # Each block is within its own limit (3,000); together they pass Slack's message budget.
    blocks = [section("x" * 2900) for _ in range(5)]
    assert sum(len(b["text"]["text"]) for b in blocks) > MESSAGE_BLOCK_TEXT
    answer = await refusal(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert answer == {"ok": False, "error": "msg_blocks_too_long"}  # Slack says no more
    posted = await client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks[:4])
    answer = await refusal(
        client.chat_update(channel=CHANNEL, ts=posted["ts"], text="t", blocks=blocks)
    )
    assert answer["error"] == "msg_blocks_too_long"
    assert [v.error for v in fake.violations] == ["msg_blocks_too_long"] * 2


async def test_a_modal_with_inputs_needs_a_submit_button(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Form"},
        "blocks": [
            {
                "type": "input",
                "block_id": "topic",
                "label": {"type": "plain_text", "text": "Topic"},
                "element": {"type": "plain_text_input", "action_id": "topic"},
            }
        ],
    }
    trigger = fake.new_trigger_id("U1ANA")
    answer = await refusal(client.views_open(trigger_id=trigger, view=modal))
    assert answer["error"] == "invalid_arguments"
    assert "[json-pointer:/view/submit]" in answer["response_metadata"]["messages"][0]
    submit = {"type": "plain_text", "text": "Save"}
    opened = await client.views_open(trigger_id=trigger, view={**modal, "submit": submit})
    assert opened["view"]["id"]  # the refusal did not use up the trigger


# --- scopes ---------------------------------------------------------------------------------------


async def test_a_method_the_manifests_scopes_do_not_grant_is_missing_scope(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await refusal(client.team_info())
    assert answer["error"] == "missing_scope" and answer["needed"] == "team:read"
    assert "chat:write" in answer["provided"].split(",")
    # conversations.info needs the read scope of the kind of conversation: im:read for a DM.
    dm = (await client.conversations_open(users="U1ANA"))["channel"]["id"]
    answer = await refusal(client.conversations_info(channel=dm))
    assert (answer["error"], answer["needed"]) == ("missing_scope", "im:read")
    assert (await client.conversations_info(channel=CHANNEL))["channel"]["id"] == CHANNEL
    assert [v.error for v in fake.violations] == ["missing_scope"] * 2


async def test_answers_name_the_tokens_scopes_and_email_needs_its_own(fake: FakeSlack) -> None:
    async with serve_fake_slack(fake), httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fake.api_url}users.info",
            data={"user": "U1ANA"},
            headers={"Authorization": "Bearer xoxb-test"},
        )
        assert "users:read.email" in answer.headers["X-OAuth-Scopes"].split(",")
        assert answer.json()["user"]["profile"]["email"] == "ana@example.com"
    fake.scopes = frozenset(fake.scopes - {"users:read.email"})
    async with serve_fake_slack(fake) as base_url:
        client = AsyncWebClient(token="xoxb-test", base_url=f"{base_url}/api/")
        assert "email" not in (await client.users_info(user="U1ANA"))["user"]["profile"]


# --- response_url, trigger_id, views a person closed ----------------------------------------------


async def test_a_response_url_takes_five_posts(fake: FakeSlack) -> None:
    async with serve_fake_slack(fake), httpx.AsyncClient() as http:
        url = fake.new_response_url(CHANNEL, "U1ANA")
        answers = [(await http.post(url, json={"text": f"#{n}"})) for n in range(6)]
    assert [a.text for a in answers] == ["ok"] * 5 + ["used_url"]
    assert answers[-1].status_code == 404
    assert [v.error for v in fake.violations] == ["used_url"]


async def test_a_view_its_person_closed_is_not_found(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Loading"}, "blocks": []}
    opened = (await client.views_open(trigger_id=fake.new_trigger_id("U1ANA"), view=modal))["view"]
    fake.close_view(opened["id"])
    answer = await refusal(client.views_update(view_id=opened["id"], view=modal))
    assert answer["error"] == "not_found"
    assert fake.violations == []  # the person's doing, not a rule the app broke


# --- rate limits ----------------------------------------------------------------------------------


def frozen(fake: FakeSlack) -> None:
    """The fake's buckets on a clock that stands still: no token comes back during a burst,
    however slowly a loaded machine sends it."""
    fake.rate_limits.clock = lambda: 0.0


async def test_posting_faster_than_slack_allows_in_one_channel_is_rate_limited(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    frozen(fake)
    client.retry_handlers.clear()  # see Slack's own answer, not slack_sdk retrying it
    for n in range(10):  # a burst is allowed
        await client.chat_postMessage(channel=CHANNEL, text=f"{n}")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel=CHANNEL, text="one too many")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    # The limit is per channel: another channel takes posts at once.
    await client.chat_postMessage(channel="C0OTHER01", text="elsewhere")
    assert fake.violations == []


async def test_chat_update_is_tier_3(fake: FakeSlack, client: AsyncWebClient) -> None:
    frozen(fake)
    client.retry_handlers.clear()
    posted = await client.chat_postMessage(channel=CHANNEL, text="v0")
    for n in range(50):
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text=f"v{n + 1}")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="v51")
    assert limited.value.response.status_code == 429


# --- reactions.add (https://api.slack.com/methods/reactions.add) ----------------------------------


async def test_reactions_add_refuses_as_slack_does(fake: FakeSlack, client: AsyncWebClient) -> None:
    message = fake.store_message(CHANNEL, text="Sent", user="U1ANA")
    await client.reactions_add(channel=CHANNEL, timestamp=message.ts, name="white_check_mark")
    assert message.reactions == {"white_check_mark": [fake.bot_user_id]}
    said = [
        await refusal(client.reactions_add(channel=CHANNEL, timestamp=message.ts, name=name))
        for name in ("white_check_mark", "not_an_emoji_at_all", ":memo:")
    ]
    assert [a["error"] for a in said] == ["already_reacted", "invalid_name", "invalid_name"]
    missing = await refusal(
        client.reactions_add(channel=CHANNEL, timestamp="1.000009", name="memo")
    )
    assert missing["error"] == "message_not_found"
    nothing = await refusal(client.api_call("reactions.add", params={"name": "memo"}))
    assert nothing["error"] == "no_item_specified"
    # A reaction shows on the message, as conversations.history and replies return it.
    [drawn] = message.as_slack()["reactions"]
    assert drawn == {"name": "white_check_mark", "users": [fake.bot_user_id], "count": 1}
    # Sending a name Slack does not know, or no item, is the app's mistake; already reacted
    # and a message gone are the workspace's state.
    assert [v.error for v in fake.violations] == ["invalid_name"] * 2 + ["no_item_specified"]
    # The scope: reactions:write (the method's "Required scopes").
    granted = fake.scopes
    fake.scopes = frozenset(granted - {"reactions:write"})
    answer = await refusal(client.reactions_add(channel=CHANNEL, timestamp=message.ts, name="x"))
    assert (answer["error"], answer["needed"]) == ("missing_scope", "reactions:write")
    fake.scopes = granted
    assert fake.violations[-1].error == "missing_scope"


async def test_reactions_add_is_tier_3(fake: FakeSlack, client: AsyncWebClient) -> None:
    frozen(fake)
    client.retry_handlers.clear()
    message = fake.store_message(CHANNEL, text="Sent", user="U1ANA")
    names = sorted(["x", "warning", "memo", "eyes", "tada", "fire", "heart", "wave", "pray"])
    for n in range(50):
        target = fake.store_message(CHANNEL, text=f"{n}", user="U1ANA")
        await client.reactions_add(channel=CHANNEL, timestamp=target.ts, name=names[n % 9])
    with pytest.raises(SlackApiError) as limited:
        await client.reactions_add(channel=CHANNEL, timestamp=message.ts, name="memo")
    assert limited.value.response.status_code == 429
