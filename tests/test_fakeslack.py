"""The Slack fake, proven with Slack's own clients over real HTTP on loopback.

slack_sdk's AsyncWebClient and AsyncWebhookClient talk to it as they would to slack.com, its
retry handler honours the fake's 429s, its SignatureVerifier accepts the signer's headers, and
Bolt itself parses the payload builders' bodies and answers through the fake.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import httpx
import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context import BoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_context, parse_body
from slack_bolt.request.payload_utils import (
    is_block_actions,
    is_event,
    is_slash_command,
    is_view_submission,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.devtools.fakeslack import (
    FakeSlack,
    SlackSigner,
    app_home_opened,
    block_actions,
    button_action,
    event_callback,
    serve_fake_slack,
    slash_command,
    view_submission,
)
from bot.devtools.fakeslack.defaults import APP_ID, BOT_USER_ID, TEAM_ID
from bot.devtools.fakeslack.scopes import MANIFEST_BOT_SCOPES
from bot.slack.channels import join_channel, posting_problem

# The slow tier (tests/conftest.py): nearly every test serves the fake Slack on loopback.
pytestmark = pytest.mark.slow

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Printer on fire*"}}
MODAL = {
    "type": "modal",
    "callback_id": "conv_create",
    "title": {"type": "plain_text", "text": "New conversation"},
    "blocks": [SECTION],
}
HOME = {"type": "home", "blocks": [SECTION]}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """Every scope a method here needs (team.info's and im:read too, which the manifest does not
    grant). Tests here call the fake directly and break Slack's rules on purpose: its record of
    violations, which fails a test that drives the bot, is cleared."""
    fake = FakeSlack(scopes=[*MANIFEST_BOT_SCOPES, "team:read", "im:read"])
    fake.add_user("U1ANA", "ana", email="ana@example.com", real_name="Ana Horvat")
    fake.add_user("U2BEN", "ben", email="ben@example.com", tz="Europe/Zagreb")
    fake.add_usergroup("S0ONCALL", ["U1ANA", "U2BEN"])
    fake.add_channel("C0BILLING", "billing")
    fake.add_channel("C0SECRET", "secret", is_member=False)
    yield fake
    fake.violations.clear()


@pytest.fixture
async def base_url(fake: FakeSlack) -> AsyncIterator[str]:
    async with serve_fake_slack(fake) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=f"{base_url}/api/")


async def refused(call: object) -> SlackApiError:
    """The SlackApiError an awaited client call raises."""
    with pytest.raises(SlackApiError) as info:
        await call  # type: ignore[misc]
    return info.value


# --- the Web API ----------------------------------------------------------------------------------


async def test_auth_test_answers_what_bolt_reads(fake: FakeSlack, client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["ok"] is True
    assert (answer["team_id"], answer["user_id"]) == (TEAM_ID, BOT_USER_ID)
    assert answer["bot_id"].startswith("B") and answer["url"].startswith("https://")
    assert fake.last("auth.test").token == "xoxb-test"


async def test_calls_without_a_valid_token_are_refused(base_url: str, fake: FakeSlack) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        bare = await http.post("/api/auth.test")
        bad = await http.post("/api/auth.test", headers={"Authorization": "Bearer nope"})
    assert bare.status_code == 200 and bare.json() == {"ok": False, "error": "not_authed"}
    assert bad.json() == {"ok": False, "error": "invalid_auth"}
    assert [c.error for c in fake.calls_to("auth.test")] == ["not_authed", "invalid_auth"]


async def test_unknown_methods_answer_unknown_method(client: AsyncWebClient) -> None:
    error = await refused(client.api_call("conversations.frobnicate"))
    assert error.response["error"] == "unknown_method"


async def test_post_message_stores_it_and_answers_channel_ts_message(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await client.chat_postMessage(channel="C0BILLING", text="fire", blocks=[SECTION])
    assert answer["channel"] == "C0BILLING"
    assert answer["message"]["ts"] == answer["ts"]
    assert answer["message"]["blocks"] == [SECTION]
    stored = fake.message("C0BILLING", answer["ts"])
    assert stored is not None and (stored.text, stored.blocks) == ("fire", [SECTION])
    assert fake.last("chat.postMessage").args["blocks"] == [SECTION]


async def test_post_message_by_name_or_to_a_user_lands_where_slack_puts_it(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    by_name = await client.chat_postMessage(channel="#billing", text="hi")
    dm = await client.chat_postMessage(channel="U1ANA", text="psst")
    assert by_name["channel"] == "C0BILLING"
    assert dm["channel"].startswith("D")
    assert [m.text for m in fake.messages_in(dm["channel"])] == ["psst"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("channel", "text", "error"),
    [
        ("C0NOPE", "x", "channel_not_found"),
        ("C0SECRET", "x", "not_in_channel"),
        ("C0BILLING", None, "no_text"),
    ],
)
async def test_post_message_errors(
    client: AsyncWebClient, channel: str, text: str | None, error: str
) -> None:
    refusal = await refused(client.chat_postMessage(channel=channel, text=text))
    assert refusal.response["error"] == error


async def test_update_replaces_and_delete_removes(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0BILLING", text="v1", blocks=[SECTION])
    ts = posted["ts"]
    updated = await client.chat_update(channel="C0BILLING", ts=ts, text="v2")
    assert (updated["ts"], updated["text"]) == (ts, "v2")
    stored = fake.message("C0BILLING", ts)
    assert stored is not None and (stored.text, stored.blocks) == ("v2", [])

    deleted = await client.chat_delete(channel="C0BILLING", ts=ts)
    assert deleted["ts"] == ts and fake.message("C0BILLING", ts) is None
    for call in (
        client.chat_update(channel="C0BILLING", ts=ts, text="v3"),
        client.chat_delete(channel="C0BILLING", ts=ts),
    ):
        assert (await refused(call)).response["error"] == "message_not_found"


async def test_ephemeral_messages_are_kept_apart_for_their_user(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await client.chat_postEphemeral(channel="C0BILLING", user="U1ANA", text="only you")
    assert answer["message_ts"]
    assert fake.messages_in("C0BILLING") == []
    [seen] = fake.ephemeral_for("U1ANA", "C0BILLING")
    assert (seen.text, seen.ts) == ("only you", answer["message_ts"])
    assert fake.ephemeral_for("U2BEN") == []
    error = await refused(client.chat_postEphemeral(channel="C0BILLING", user="U9X", text="x"))
    assert error.response["error"] == "user_not_found"


async def test_replies_since_oldest_keep_the_parent_first(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0BILLING", text="card")
    replies = [
        (await client.chat_postMessage(channel="C0BILLING", text=t, thread_ts=parent["ts"]))["ts"]
        for t in ("one", "two", "three")
    ]
    thread = {"channel": "C0BILLING", "ts": parent["ts"]}
    after = await client.conversations_replies(**thread, oldest=replies[0])
    assert [m["text"] for m in after["messages"]] == ["card", "two", "three"]
    at = await client.conversations_replies(**thread, oldest=replies[1], inclusive=True)
    assert [m["text"] for m in at["messages"]] == ["card", "two", "three"]
    refusal = await refused(
        client.api_call("conversations.replies", params={**thread, "oldest": "x"})
    )
    assert refusal.response["error"] == "invalid_arguments"


async def test_get_permalink(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0BILLING", text="x")
    link = await client.chat_getPermalink(channel="C0BILLING", message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/C0BILLING/p{posted['ts'].replace('.', '')}")
    reply = await client.chat_postMessage(channel="C0BILLING", text="y", thread_ts=posted["ts"])
    linked = await client.chat_getPermalink(channel="C0BILLING", message_ts=reply["ts"])
    assert linked["permalink"].endswith(f"?thread_ts={posted['ts']}&cid=C0BILLING")
    for arguments, error in (
        ({"channel": "C0BILLING", "message_ts": "1.000009"}, "message_not_found"),
        ({"channel": "C0NOWHERE", "message_ts": posted["ts"]}, "channel_not_found"),
        ({"channel": "C0BILLING"}, "message_not_found"),
    ):
        refusal = await refused(client.api_call("chat.getPermalink", params=arguments))
        assert refusal.response["error"] == error


async def test_views_open_update_push_with_triggers_and_hashes(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = fake.new_trigger_id("U1ANA")
    opened = (await client.views_open(trigger_id=trigger, view=MODAL))["view"]
    assert opened["id"].startswith("V") and opened["type"] == "modal"
    assert opened["blocks"] == [SECTION] and opened["callback_id"] == "conv_create"
    assert fake.views[opened["id"]].hash == opened["hash"]
    assert fake.views[opened["id"]].user_id == "U1ANA"
    reused = await refused(client.views_open(trigger_id=trigger, view=MODAL))
    assert reused.response["error"] == "exchanged_trigger_id"
    made_up = await refused(client.views_open(trigger_id="1.2.3", view=MODAL))
    assert made_up.response["error"] == "invalid_trigger_id"

    changed = {**MODAL, "blocks": []}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed))[
        "view"
    ]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake.views[opened["id"]].blocks == []
    stale = await refused(
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    )
    assert stale.response["error"] == "hash_conflict"
    missing = await refused(client.views_update(view_id="V0NOPE", view=MODAL))
    assert missing.response["error"] == "not_found"  # what Slack documents for views.update

    pushed = (await client.views_push(trigger_id=fake.new_trigger_id("U1ANA"), view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    assert pushed["root_view_id"] == opened["id"]


async def test_expired_triggers_are_refused(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.trigger_ttl = 0.05
    trigger = fake.new_trigger_id()
    await asyncio.sleep(0.1)
    error = await refused(client.views_open(trigger_id=trigger, view=MODAL))
    assert error.response["error"] == "expired_trigger_id"


async def test_views_publish_keeps_one_home_per_user(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    first = (await client.views_publish(user_id="U1ANA", view=HOME))["view"]
    second = (
        await client.views_publish(user_id="U1ANA", view={**HOME, "blocks": []}, hash=first["hash"])
    )["view"]
    assert second["id"] == first["id"] and second["type"] == "home"
    home = fake.home_view("U1ANA")
    assert home is not None and home.blocks == [] and home.hash == second["hash"]
    assert fake.home_view("U2BEN") is None
    stale = await refused(client.views_publish(user_id="U1ANA", view=HOME, hash=first["hash"]))
    assert stale.response["error"] == "hash_conflict"


async def test_conversations_open_gives_a_dm_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.conversations_open(users="U2BEN")
    again = await client.conversations_open(users=["U2BEN"], return_im=True)
    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"] is True
    assert again["channel"]["user"] == "U2BEN" and again["channel"]["is_im"] is True
    assert fake.channels[first["channel"]["id"]].is_im


async def test_conversations_info_answers_the_channel_as_the_bot_sees_it(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0PRIVATE", "private", is_private=True)
    fake.add_channel("C0HIDDEN", "hidden", is_private=True, is_member=False)
    fake.add_channel("C0OLD", "old", is_archived=True)
    billing = (await client.conversations_info(channel="C0BILLING"))["channel"]
    assert billing["id"] == "C0BILLING" and billing["name"] == "billing"
    assert billing["created"] == fake.channels["C0BILLING"].created
    flags = ("is_channel", "is_group", "is_im", "is_mpim", "is_private", "is_archived", "is_member")
    expected = {
        "C0BILLING": (True, False, False, False, False, False, True),
        "C0SECRET": (True, False, False, False, False, False, False),
        "C0PRIVATE": (True, False, False, False, True, False, True),
        "C0OLD": (True, False, False, False, False, True, True),
    }
    for channel_id, values in expected.items():
        answer = (await client.conversations_info(channel=channel_id))["channel"]
        assert tuple(answer[flag] for flag in flags) == values, channel_id
    dm = (await client.conversations_open(users="U1ANA"))["channel"]["id"]
    im = (await client.conversations_info(channel=dm))["channel"]
    assert (im["is_im"], im["is_channel"], im["user"]) == (True, False, "U1ANA")
    # A private channel the bot is not in does not exist to a bot token; nor does a name.
    for unknown in ("C0HIDDEN", "C0NOPE", "billing"):
        refusal = await refused(client.conversations_info(channel=unknown))
        assert refusal.response["error"] == "channel_not_found", unknown


async def test_conversations_join_joins_public_channels_only(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0PRIVATE", "private", is_private=True)
    fake.add_channel("C0HIDDEN", "hidden", is_private=True, is_member=False)
    fake.add_channel("C0OLD", "old", is_archived=True, is_member=False)
    fake.add_channel("C0TEAM", "team", is_member=False, members=["U1ANA"])
    joined = await client.conversations_join(channel="C0SECRET")
    assert joined["channel"]["id"] == "C0SECRET" and joined["channel"]["is_member"] is True
    assert "warning" not in joined.data
    assert fake.channels["C0SECRET"].is_member
    assert (await client.chat_postMessage(channel="C0SECRET", text="hi"))["ok"] is True
    again = await client.conversations_join(channel="C0SECRET")
    assert again["warning"] == "already_in_channel"
    await client.conversations_join(channel="C0TEAM")
    assert fake.channels["C0TEAM"].members == {"U1ANA", fake.bot_user_id}

    dm = (await client.conversations_open(users="U1ANA"))["channel"]["id"]
    for channel, error in [
        ("C0PRIVATE", "method_not_supported_for_channel_type"),
        (dm, "method_not_supported_for_channel_type"),
        ("C0HIDDEN", "channel_not_found"),
        ("C0OLD", "is_archived"),
        ("C0NOPE", "channel_not_found"),
    ]:
        refusal = await refused(client.conversations_join(channel=channel))
        assert refusal.response["error"] == error, channel
    assert not fake.channels["C0OLD"].is_member and not fake.channels["C0HIDDEN"].is_member


async def test_posting_in_an_archived_channel_is_refused(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.channels["C0BILLING"].is_archived = True
    refusal = await refused(client.chat_postMessage(channel="C0BILLING", text="x"))
    assert refusal.response["error"] == "is_archived"
    assert fake.messages_in("C0BILLING") == []


class ScopedClient(AsyncWebClient):
    """Answers carry `X-OAuth-Scopes` as slack.com's do (the fake sends no such header)."""

    scopes = "chat:write,channels:read,groups:read"

    async def conversations_info(self, **kwargs: Any) -> AsyncSlackResponse:
        answer = await super().conversations_info(**kwargs)
        answer.headers = {"X-OAuth-Scopes": self.scopes}
        return answer


async def test_posting_problem_and_join_channel_over_the_fake(
    fake: FakeSlack, base_url: str, client: AsyncWebClient
) -> None:
    fake.add_channel("C0PRIVATE", "private", is_private=True)
    fake.add_channel("C0OLD", "old", is_archived=True)
    assert await posting_problem(client, "C0BILLING") is None
    assert await posting_problem(client, "C0PRIVATE") is None
    assert await posting_problem(client, "C0SECRET") is None  # public: joined at the first post
    assert "does not exist" in (await posting_problem(client, "C0NOPE") or "")
    assert "#old (C0OLD) is archived" in (await posting_problem(client, "C0OLD") or "")
    fake.fail_next("conversations.info", status=200, error="account_inactive")
    assert (await posting_problem(client, "C0BILLING") or "").startswith("Slack said account_")
    fake.fail_next("conversations.info", status=200, error="fatal_error")
    assert await posting_problem(client, "C0BILLING") == "Slack said fatal_error"

    scoped = ScopedClient(token="xoxb-test", base_url=f"{base_url}/api/")
    problem = await posting_problem(scoped, "C0SECRET")
    assert problem is not None and "add the channels:join scope" in problem
    scoped.scopes += ",channels:join"
    assert await posting_problem(scoped, "C0SECRET") is None

    assert await join_channel(client, "C0SECRET") is True
    assert fake.channels["C0SECRET"].is_member
    assert await join_channel(client, "C0SECRET") is True  # already in: still fine
    for refused_channel in ("C0PRIVATE", "C0OLD", "C0NOPE"):
        assert await join_channel(client, refused_channel) is False
    fake.fail_next("conversations.join", status=200, error="missing_scope")
    assert await join_channel(client, "C0BILLING") is False
    unreachable = AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/")
    with pytest.raises(aiohttp.ClientError):
        await join_channel(unreachable, "C0SECRET")


async def test_users_usergroups_and_team(client: AsyncWebClient) -> None:
    ana = (await client.users_info(user="U1ANA"))["user"]
    assert ana["profile"]["email"] == "ana@example.com" and ana["real_name"] == "Ana Horvat"
    ben = (await client.users_lookupByEmail(email="BEN@example.com"))["user"]
    assert ben["id"] == "U2BEN" and ben["tz"] == "Europe/Zagreb" and ben["tz_offset"] >= 3600
    members = await client.usergroups_users_list(usergroup="S0ONCALL")
    assert members["users"] == ["U1ANA", "U2BEN"]
    assert (await client.team_info())["team"]["id"] == TEAM_ID

    assert (await refused(client.users_info(user="U0NOPE"))).response["error"] == "user_not_found"
    nobody = await refused(client.users_lookupByEmail(email="nobody@example.com"))
    assert nobody.response["error"] == "users_not_found"  # Slack's word for this method
    no_group = await refused(client.usergroups_users_list(usergroup="S0NOPE"))
    assert no_group.response["error"] == "no_such_subteam"


async def test_form_and_query_arguments_with_json_encoded_blocks(
    base_url: str, fake: FakeSlack
) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        form = await http.post(
            "/api/chat.postMessage",
            data={"token": "xoxb-form", "channel": "C0BILLING", "blocks": json.dumps([SECTION])},
        )
        query = await http.get("/api/users.info?user=U1ANA&token=xoxb-query")
    assert form.json()["ok"] is True and form.json()["message"]["blocks"] == [SECTION]
    post = fake.last("chat.postMessage")
    assert post.token == "xoxb-form" and post.args == {"channel": "C0BILLING", "blocks": [SECTION]}
    assert query.json()["user"]["id"] == "U1ANA"
    assert fake.last("users.info").token == "xoxb-query"


# --- faults, latency and waiting -----------------------------------------------------------------


async def test_429s_are_retried_by_slack_sdk_after_retry_after(
    fake: FakeSlack, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=sleep))
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=f"{base_url}/api/",
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.fail_next("chat.postMessage", times=2, retry_after=3)

    answer = await client.chat_postMessage(channel="C0BILLING", text="eventually")

    assert answer["ok"] is True
    assert len(waits) == 2 and all(3 <= w < 4 for w in waits)  # Retry-After plus jitter
    calls = fake.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [
        (429, "ratelimited"),
        (429, "ratelimited"),
        (200, None),
    ]
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["eventually"]


async def test_a_429_without_retries_surfaces_with_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("users.info", retry_after=7)
    error = await refused(client.users_info(user="U1ANA"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert (await client.users_info(user="U1ANA"))["ok"] is True  # only the next call failed


async def test_other_injected_failures(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", status=500, error="fatal_error")
    fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    first = await refused(client.chat_postMessage(channel="C0BILLING", text="x"))
    assert (first.response.status_code, first.response["error"]) == (500, "fatal_error")
    second = await refused(client.chat_postMessage(channel="C0BILLING", text="x"))
    assert (second.response.status_code, second.response["error"]) == (200, "channel_not_found")
    assert fake.messages_in("C0BILLING") == []


async def test_latency_delays_every_answer(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.latency = 0.2
    started = time.perf_counter()
    await client.auth_test()
    assert time.perf_counter() - started >= 0.2


async def test_fail_answers_as_slack_does_applies_nothing_and_is_recorded(
    fake: FakeSlack, base_url: str
) -> None:
    fake.fail("chat.postMessage", status=429)
    fake.fail("chat.postMessage", status=500)
    fake.fail("chat.postMessage", status=503)
    fake.fail("chat.postMessage", error="internal_error")
    post = {"channel": "C0BILLING", "text": "x"}
    auth = {"Authorization": "Bearer xoxb-test"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth) as http:
        answers = [await http.post("/api/chat.postMessage", json=post) for _ in range(5)]

    limited, broken, down, refused_, fine = answers
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    assert broken.status_code == 500 and broken.json() == {"ok": False, "error": "internal_error"}
    assert "Retry-After" not in broken.headers
    assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
    assert "503 Service Unavailable" in down.text
    assert (refused_.status_code, refused_.json()) == (
        200,
        {"ok": False, "error": "internal_error"},
    )
    assert fine.json()["ok"] is True
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["x"]  # only the last one landed
    assert [(c.status, c.faulted) for c in fake.calls_to("chat.postMessage")] == [
        (429, True),
        (500, True),
        (503, True),
        (200, True),
        (200, False),
    ]
    assert fake.faulted == fake.calls_to("chat.postMessage", faulted=True)
    assert len(fake.calls_to("chat.postMessage", faulted=False)) == 1


async def test_a_delay_alone_answers_late_and_refuses_nothing(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    slow = fake.fail("chat.postMessage", delay=0.2)
    started = time.perf_counter()
    answer = await client.chat_postMessage(channel="C0BILLING", text="late")
    assert time.perf_counter() - started >= 0.2
    assert answer["ok"] is True and slow.hits == 1 and fake.faulted == []
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["late"]


async def test_an_outage_until_cleared_for_matching_calls_only(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0OTHER", "other")
    outage = fake.fail("chat.postMessage", times=None, status=500, match={"channel": "C0BILLING"})
    fake.fail("users.info", status=503, match=lambda args: args.get("user") == "U2BEN")
    for _ in range(3):
        assert (await refused(client.chat_postMessage(channel="C0BILLING", text="x"))).response[
            "error"
        ] == "internal_error"
    assert (await client.chat_postMessage(channel="C0OTHER", text="y"))["ok"] is True
    assert (await client.users_info(user="U1ANA"))["ok"] is True
    assert (await refused(client.users_info(user="U2BEN"))).response.status_code == 503
    assert outage.hits == 3 and outage.remaining is None

    fake.clear_faults()
    assert (await client.chat_postMessage(channel="C0BILLING", text="z"))["ok"] is True
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["z"]


async def test_rate_faults_are_seeded_and_refuse_a_request_at_most_so_often() -> None:
    def pattern(seed: int) -> list[int | None]:
        fake = FakeSlack()
        rule = fake.faults(rate=0.3, kinds=[429, 500, "fatal_error"], seed=seed)
        faults = [fake.take_fault("chat.postMessage", {"text": str(n)}) for n in range(40)]
        assert rule.hits == sum(1 for f in faults if f is not None)
        return [None if f is None else f.status for f in faults]

    assert pattern(7) == pattern(7) != pattern(8)  # the n-th call's fate is the seed's
    assert set(pattern(7)) == {None, 429, 500, 200}  # 200: `ok: false`, fatal_error
    assert 4 <= sum(1 for status in pattern(7) if status) <= 24

    fake = FakeSlack()
    fake.faults(rate=1.0, kinds=[503], methods=["chat.postMessage"], max_per_request=2)
    same = [fake.take_fault("chat.postMessage", {"text": "a"}) for _ in range(3)]
    assert [f.status if f else None for f in same] == [503, 503, None]  # the 3rd try gets through
    assert fake.take_fault("chat.postMessage", {"text": "b"}) is not None  # another request
    assert fake.take_fault("chat.update", {"text": "a"}) is None  # not a method of the rule
    with pytest.raises(ValueError):
        fake.faults(rate=1.5)


async def test_response_url_faults_are_recorded_apart_from_the_posts(
    fake: FakeSlack, base_url: str
) -> None:
    fake.faults(rate=1.0, kinds=[429], methods=["response_url"], max_per_request=1)
    webhook = AsyncWebhookClient(
        fake.new_response_url("C0BILLING", "U1ANA"),
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    answer = await webhook.send(text="eventually")
    assert answer.status_code == 200
    [faulted] = fake.faulted
    assert (faulted.method, faulted.status, faulted.args["text"]) == (
        "response_url",
        429,
        "eventually",
    )
    assert fake.calls == [] and [r.text for r in fake.responses] == ["eventually"]


async def test_wait_for_returns_when_the_calls_arrive(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C0BILLING", text="one")
        await client.chat_postMessage(channel="C0BILLING", text="two")

    task = asyncio.create_task(later())
    calls = await fake.wait_for("chat.postMessage", count=2, timeout=2)
    await task
    assert [c.args["text"] for c in calls] == ["one", "two"]
    with pytest.raises(TimeoutError, match=r"views\.open.*saw 0"):
        await fake.wait_for("views.open", timeout=0.05)


# --- response_url ---------------------------------------------------------------------------------


async def test_response_url_posts_ephemeral_in_channel_replace_and_delete(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    url = fake.new_response_url("C0BILLING", "U1ANA")
    webhook = AsyncWebhookClient(url)
    answer = await webhook.send(text="just you")
    assert (answer.status_code, answer.body) == (200, "ok")
    assert [m.text for m in fake.ephemeral_for("U1ANA", "C0BILLING")] == ["just you"]
    await webhook.send(text="everyone", response_type="in_channel")
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["everyone"]
    assert [r.response_type for r in fake.responses] == ["ephemeral", "in_channel"]

    posted = await client.chat_postMessage(channel="C0BILLING", text="card", blocks=[SECTION])
    on_card = AsyncWebhookClient(
        fake.new_response_url("C0BILLING", "U1ANA", message_ts=posted["ts"])
    )
    await on_card.send(text="card v2", replace_original=True)
    stored = fake.message("C0BILLING", posted["ts"])
    assert stored is not None and (stored.text, stored.blocks) == ("card v2", [])
    await on_card.send(delete_original=True)
    assert fake.message("C0BILLING", posted["ts"]) is None
    assert fake.responses[-1].delete_original


async def test_response_url_faults_and_unknown_urls(fake: FakeSlack, base_url: str) -> None:
    fake.fail_next("response_url", status=404, error="expired_url")
    url = fake.new_response_url("C0BILLING", "U1ANA")
    failed = await AsyncWebhookClient(url).send(text="late")
    assert (failed.status_code, failed.body) == (404, "expired_url")
    unknown = await AsyncWebhookClient(f"{base_url}/response/nope").send(text="x")
    assert unknown.status_code == 404
    assert fake.responses == []


# --- signing and payloads -------------------------------------------------------------------------


def test_signed_requests_verify_and_stale_or_tampered_ones_do_not() -> None:
    signer = SlackSigner(SECRET)
    verifier = SignatureVerifier(SECRET)
    body = slash_command(
        "list priority:high",
        user_id="U1ANA",
        channel_id="C0BILLING",
        response_url="https://example.invalid/r",
        trigger_id="1.2.3",
    )
    headers = signer.headers_for(body)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid_request(body, headers)
    timestamp = headers["X-Slack-Request-Timestamp"]
    assert headers["X-Slack-Signature"] == verifier.generate_signature(
        timestamp=timestamp, body=body
    )

    stale = signer.headers_for(body, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(body, stale)
    assert not verifier.is_valid_request(body + "&x=1", headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)

    event = event_callback(app_home_opened("U1ANA"))
    event_headers = signer.headers_for(event)
    assert event_headers["Content-Type"] == "application/json"
    assert verifier.is_valid_request(event, event_headers)


def _bolt_context(body: str) -> tuple[dict[str, object], BoltContext]:
    parsed = parse_body(body, None)
    return parsed, build_context(BoltContext(), parsed)


def test_payloads_are_what_bolt_reads(fake: FakeSlack) -> None:
    fake.base_url = "http://127.0.0.1:1"
    url = fake.new_response_url("C0BILLING", "U1ANA")
    trigger = fake.new_trigger_id("U1ANA")

    command, context = _bolt_context(
        slash_command(
            "show 42", user_id="U1ANA", channel_id="C0BILLING", response_url=url, trigger_id=trigger
        )
    )
    assert is_slash_command(command) and command["command"] == "/conv"
    assert (command["text"], command["trigger_id"]) == ("show 42", trigger)
    assert (context.user_id, context.channel_id, context.team_id) == ("U1ANA", "C0BILLING", TEAM_ID)
    assert context.response_url == url

    message = fake.store_message("C0BILLING", text="card", blocks=[SECTION])
    action, context = _bolt_context(
        block_actions(
            button_action("conv_close", "42"),
            user_id="U1ANA",
            channel_id="C0BILLING",
            message=message,
            response_url=url,
            trigger_id=trigger,
        )
    )
    assert is_block_actions(action) and action["actions"][0]["action_id"] == "conv_close"
    assert action["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": "C0BILLING",
        "is_ephemeral": False,
    }
    assert action["message"]["ts"] == message.ts and action["api_app_id"] == APP_ID
    assert (context.user_id, context.channel_id, context.response_url) == (
        "U1ANA",
        "C0BILLING",
        url,
    )

    values = {"topic": {"topic_input": {"type": "plain_text_input", "value": "Printer"}}}
    submission, context = _bolt_context(
        view_submission(MODAL, user_id="U1ANA", trigger_id=trigger, values=values)
    )
    assert is_view_submission(submission)
    assert submission["view"]["callback_id"] == "conv_create"
    assert submission["view"]["state"]["values"] == values
    assert (context.user_id, context.team_id) == ("U1ANA", TEAM_ID)

    envelope, context = _bolt_context(event_callback(app_home_opened("U1ANA")))
    assert is_event(envelope) and envelope["event"]["type"] == "app_home_opened"
    assert envelope["authorizations"][0]["user_id"] == BOT_USER_ID
    assert (context.user_id, context.team_id) == ("U1ANA", TEAM_ID)


def test_slash_command_body_has_slacks_fields_in_order() -> None:
    body = slash_command(
        "help", user_id="U1ANA", channel_id="D1ANA", response_url="https://r", trigger_id="t"
    )
    assert list(parse_qs(body)) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert parse_qs(body)["channel_name"] == ["directmessage"]


async def test_bolt_app_round_trip_through_the_fake(fake: FakeSlack, base_url: str) -> None:
    """A real Bolt app: signed slash command in, respond() and chat.postMessage out to the fake."""
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token="xoxb-test", base_url=f"{base_url}/api/"),
    )

    @app.command("/conv")
    async def conv(ack: AsyncAck, command: dict[str, str], respond: AsyncRespond) -> None:
        await ack()
        await respond(f"you said {command['text']}")
        await app.client.chat_postMessage(channel=command["channel_id"], text="done")

    body = slash_command(
        "list",
        user_id="U1ANA",
        channel_id="C0BILLING",
        response_url=fake.new_response_url("C0BILLING", "U1ANA"),
        trigger_id=fake.new_trigger_id("U1ANA"),
    )
    signer = SlackSigner(SECRET)
    response = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers=signer.headers_for(body))
    )
    assert response.status == 200
    await fake.wait_for("chat.postMessage")
    assert [r.text for r in fake.responses] == ["you said list"]
    assert [m.text for m in fake.messages_in("C0BILLING")] == ["done"]
    assert fake.calls_to("auth.test")  # Bolt authorised the token against the fake

    stale = signer.headers_for(body, timestamp=int(time.time()) - 10 * 60)
    rejected = await app.async_dispatch(AsyncBoltRequest(body=body, headers=stale))
    assert rejected.status == 401
