"""`manifest.yml` is a valid Slack app manifest that gives convbot what it needs.

The structure is checked against Slack's own manifest schema (slackapi/manifest-schema, vendored
in tests/schemas/slack-manifest.schema.json); the rest checks what the schema cannot: scopes are
real Slack bot scopes and cover the Web API methods convbot calls, the request URLs point at
`/slack/events`, and the events need the features they come from.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.devtools.fakeslack import FakeSlack, slash_command
from bot.devtools.fakeslack.scopes import MANIFEST_BOT_SCOPES
from bot.slack.app import UNHANDLED
from bot.slack.listeners import BOT_EVENTS, MESSAGE_SHORTCUTS, SLASH_COMMANDS
from bot.slack.listeners.unknown import OTHER_COMMAND
from tests.slack_harness import ANA, CHANNEL, SlackHarness

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "slack-manifest.schema.json"
EVENTS_URL = "https://YOUR-HOST/slack/events"

# Slack's bot token scopes (api.slack.com/scopes); a typo here would fail installation.
KNOWN_BOT_SCOPES = frozenset(
    {
        "app_mentions:read",
        "assistant:write",
        "bookmarks:read",
        "bookmarks:write",
        "calls:read",
        "calls:write",
        "canvases:read",
        "canvases:write",
        "channels:history",
        "channels:join",
        "channels:manage",
        "channels:read",
        "channels:write.invites",
        "channels:write.topic",
        "chat:write",
        "chat:write.customize",
        "chat:write.public",
        "commands",
        "conversations.connect:manage",
        "conversations.connect:read",
        "conversations.connect:write",
        "dnd:read",
        "emoji:read",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "groups:write",
        "groups:write.invites",
        "groups:write.topic",
        "im:history",
        "im:read",
        "im:write",
        "im:write.topic",
        "incoming-webhook",
        "links.embed:write",
        "links:read",
        "links:write",
        "metadata.message:read",
        "mpim:history",
        "mpim:read",
        "mpim:write",
        "mpim:write.topic",
        "pins:read",
        "pins:write",
        "reactions:read",
        "reactions:write",
        "reminders:read",
        "reminders:write",
        "remote_files:read",
        "remote_files:share",
        "remote_files:write",
        "team.billing:read",
        "team.preferences:read",
        "team:read",
        "triggers:read",
        "triggers:write",
        "usergroups:read",
        "usergroups:write",
        "users.profile:read",
        "users:read",
        "users:read.email",
        "users:write",
    }
)

# The Web API methods convbot calls and the bot scope each needs (None: no scope), per Slack's
# method reference (several: each is needed for some kind of channel). team.info (team:read) is
# served by the fake but not granted: add the scope here and in manifest.yml if the bot starts
# calling it.
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "views.open": None,
    "views.update": None,
    "views.push": None,
    "views.publish": None,
    "conversations.open": "im:write",
    # Public and private channels; im:read and mpim:read would add DMs, where digests do not go.
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.join": "channels:join",  # public channels only; private ones need an invite
    # The thread mirror reads back a thread after a stop between a post and its record (the
    # replies' metadata name the Infobip message): public and private channels.
    "conversations.replies": ("channels:history", "groups:history"),
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "usergroups.users.list": "usergroups:read",
    # thread_replies: a person's message in a thread marked sent, saved or failed.
    "reactions.add": "reactions:write",
}


@cache
def load_manifest() -> dict[str, Any]:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(manifest, dict), "manifest.yml must be a YAML mapping"
    return manifest


def manifest_commands_and_events() -> tuple[set[str], set[str]]:
    """The slash commands and bot events the manifest subscribes convbot to."""
    manifest = load_manifest()
    commands = {c["command"] for c in manifest["features"].get("slash_commands", [])}
    events = set(manifest["settings"].get("event_subscriptions", {}).get("bot_events", []))
    return commands, events


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def test_the_manifest_matches_slacks_manifest_schema() -> None:
    manifest = load_manifest()
    # slackapi/manifest-schema applies its 1.0.0 schema to major_version 1 or no _metadata.
    assert manifest.get("_metadata", {}).get("major_version", 1) == 1
    assert schema_errors(manifest) == []


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("display_information", "name"), "c" * 36, "too long"),
        (("display_information", "description"), "d" * 141, "too long"),
        (("features", "bot_user", "display_name"), "b" * 81, "too long"),
        (("features", "slash_commands", 0, "command"), "conv", "does not match"),
        (("features", "slash_commands", 0, "command"), "/" + "c" * 32, "too long"),
        (("features", "slash_commands", 0, "usage_hint"), "u" * 1001, "too long"),
        (("settings", "interactivity", "is_enabled"), "yes", "is not of type 'boolean'"),
        (("settings", "made_up_setting"), True, "Additional properties"),
    ],
)
def test_the_schema_catches_what_slack_would_refuse(
    path: tuple[str | int, ...], value: object, complaint: str
) -> None:
    broken = json.loads(json.dumps(load_manifest()))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(complaint in error for error in schema_errors(broken))


def test_display_information_and_bot_user() -> None:
    manifest = load_manifest()
    info = manifest["display_information"]
    assert info["name"] == "convbot" and info["description"]
    # The schema states this pattern under a non-standard "regex" key, so check it here.
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info["background_color"])
    assert manifest["features"]["bot_user"] == {"display_name": "convbot", "always_online": True}
    # Pages, handoff notices and form results arrive in the Messages tab; the bot reads nothing
    # there (no message events, no im:history), so people are not invited to write to it.
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }


def test_the_one_slash_command() -> None:
    [command] = load_manifest()["features"]["slash_commands"]
    assert command["command"] == "/conv" and command["should_escape"] is False
    assert command["url"] == EVENTS_URL
    for subcommand in ("create", "list", "show", "help"):
        assert subcommand in command["usage_hint"]


def test_scopes_are_real_and_cover_the_methods_convbot_calls() -> None:
    scopes = load_manifest()["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) <= KNOWN_BOT_SCOPES, set(scopes) - KNOWN_BOT_SCOPES
    needed = {
        scope
        for scopes in METHOD_SCOPES.values()
        for scope in ((scopes,) if isinstance(scopes, str) else scopes or ())
    }
    assert needed <= set(scopes), needed - set(scopes)
    assert "commands" in scopes  # slash commands need it
    assert set(scopes) == needed | {"commands"}, "every scope granted is one convbot uses"


def test_the_fake_slack_grants_exactly_the_manifests_scopes() -> None:
    # The fake answers missing_scope for a method these do not cover, as Slack would after the
    # app is installed with this manifest.
    assert set(MANIFEST_BOT_SCOPES) == set(load_manifest()["oauth_config"]["scopes"]["bot"])
    assert set(FakeSlack().scopes) == set(MANIFEST_BOT_SCOPES)


def test_settings_route_everything_to_slack_events() -> None:
    settings = load_manifest()["settings"]
    assert settings["socket_mode_enabled"] is False  # so Slack needs the request URLs below
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_commands_and_events() -> None:
    commands, events = manifest_commands_and_events()
    assert commands == {"/conv"}
    # message.channels and message.groups: people's messages in conversations' threads, for
    # `thread_replies` (they need channels:history and groups:history); no DMs (message.im).
    assert events == {"app_home_opened", "message.channels", "message.groups"}
    scopes = load_manifest()["oauth_config"]["scopes"]["bot"]
    assert {"channels:history", "groups:history"} <= set(scopes)
    # app_home_opened needs no scope, but only fires for an App Home the manifest enables.
    assert load_manifest()["features"]["app_home"]["home_tab_enabled"] is True


def test_the_manifest_declares_exactly_what_the_app_listens_to() -> None:
    commands, events = manifest_commands_and_events()
    assert commands == set(SLASH_COMMANDS)
    assert events == set(BOT_EVENTS)


async def test_the_running_app_handles_each_declared_command_and_event(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack")
    commands, events = manifest_commands_and_events()
    for command in commands:
        response_url = slack.fake.new_response_url(CHANNEL, ANA)
        body = slash_command(
            "help", user_id=ANA, channel_id=CHANNEL, response_url=response_url,
            trigger_id=slack.fake.new_trigger_id(ANA), command=command,
        )  # fmt: skip
        ack = await slack.post(body)
        assert ack.status_code == 200 and ack.text != OTHER_COMMAND  # not the catch-all's answer
    for event in events:
        # message.channels and message.groups both arrive as events of type `message`.
        kind = event.split(".")[0]
        assert (await slack.event({"type": kind, "user": ANA, "tab": "home"})).status_code == 200
    assert unhandled(caplog) == []
    # A request no listener takes is acknowledged (an error status would make Slack retry it),
    # and logged as such: so the declared ones above did reach their listeners.
    undeclared = await slack.event({"type": "reaction_added", "user": ANA})
    assert undeclared.status_code == 200
    assert len(unhandled(caplog)) == 1


def test_the_message_shortcuts_are_exactly_those_the_app_answers() -> None:
    shortcuts = load_manifest()["features"]["shortcuts"]
    assert {s["type"] for s in shortcuts} == {"message"}
    assert [s["callback_id"] for s in shortcuts] == list(MESSAGE_SHORTCUTS)
    # Slack sends a shortcut's request to the interactivity URL; it needs the commands scope.
    assert load_manifest()["settings"]["interactivity"]["is_enabled"] is True
    assert "commands" in load_manifest()["oauth_config"]["scopes"]["bot"]


async def test_the_running_app_opens_a_form_for_each_declared_shortcut(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack")
    message = slack.fake.store_message(CHANNEL, text="Customer wrote", user=ANA)
    for count, shortcut in enumerate(load_manifest()["features"]["shortcuts"], start=1):
        sent = await slack.shortcut(message, shortcut["callback_id"])
        assert sent.ack.status_code == 200
        await slack.settle("views.update", count)
    assert unhandled(caplog) == []


def unhandled(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if UNHANDLED in r.getMessage()]
