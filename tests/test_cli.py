"""The `convbot` command as a person runs it: a real process, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.devtools.fakeslack import FakeSlack, serve_fake_slack

# The slow tier (tests/conftest.py): nearly every test runs `python -m bot` as a subprocess.
pytestmark = pytest.mark.slow

Cli = Callable[..., subprocess.CompletedProcess[str]]


def run_in(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFOBIP_", "DATABASE_URL", "LOG_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def scenario(cli: Cli, env: dict[str, str] | None = None, *, channel: str | None = "EMAIL") -> None:
    """The issue's acceptance path: create, list, close, then a refused update. `channel`: what
    the created conversation reads back with (through Infobip's API: not reported, None)."""
    created = cli(
        "conv",
        "create",
        "Printer on fire",
        "priority:high",
        "channel:email",
        "#billing",
        "--json",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    conversation = json.loads(created.stdout)
    assert (conversation["status"], conversation["priority"]) == ("OPEN", "HIGH")
    assert conversation["channel"] == channel and conversation["tags"] == ["billing"]
    cid = conversation["id"]

    listed = cli("conv", "list", "priority:high,urgent", env=env)
    assert listed.returncode == 0, listed.stderr
    # A short id where any prefix is found again (the embedded store); on Infobip the whole id.
    on_infobip = "INFOBIP_BASE_URL" in (env or {})
    assert (cid if on_infobip else f"{cid[:8]} ") in listed.stdout, listed.stdout
    assert "Printer on fire" in listed.stdout

    as_json = cli("conv", "--json", "list", "priority:HIGH,urgent", env=env)
    assert as_json.returncode == 0, as_json.stderr
    listing = json.loads(as_json.stdout)
    assert [c["id"] for c in listing["conversations"]] == [cid]
    assert listing["pagination"]["totalItems"] == 1

    closed = cli("conv", "close", cid, env=env)
    assert closed.returncode == 0, closed.stderr
    assert "CLOSED" in closed.stdout

    refused = cli("conv", "update", cid, "priority:low", env=env)
    assert refused.returncode == 1
    assert f"Conversation {cid} is closed" in refused.stderr
    assert refused.stdout == ""
    assert "Traceback" not in refused.stderr


def test_the_acceptance_scenario_on_the_embedded_backend(cli: Cli) -> None:
    scenario(cli)


def test_user_errors_exit_1_with_one_readable_message(cli: Cli) -> None:
    for args, expected in [
        (("conv", "frobnicate"), "Unknown command 'frobnicate'"),
        (("conv", "show"), "needs a conversation id"),
        (("conv", "show", "missing-id"), "No conversation has the id 'missing-id'"),
        (("conv", "create", "x", "priority:hgih"), "URGENT, HIGH, NORMAL, LOW"),
        (("conv", "list", "queue:Nowhere"), "Unknown queue 'Nowhere'"),
        (("conv", "take", "abc"), "not linked to an agent"),
    ]:
        result = cli(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url", ["nonsense", "sqlite:///sync-driver.db", "mysql://u:pw@host/db", "postgres+nope://x"]
)
def test_an_unusable_database_url_is_one_sentence(cli: Cli, url: str) -> None:
    for args in (("conv", "list"), ("check-config",)):
        result = cli(*args, env={"DATABASE_URL": url})
        assert result.returncode == 1, (args, result.stderr)
        assert "DATABASE_URL" in result.stderr and "postgresql+psycopg://" in result.stderr
        assert "Traceback" not in result.stderr and "pw" not in result.stderr


def test_an_unreachable_backend_exits_2(cli: Cli) -> None:
    env = {"INFOBIP_BASE_URL": "http://127.0.0.1:9", "INFOBIP_API_KEY": "secret-key-123"}
    result = cli("conv", "list", env=env)
    assert result.returncode == 2, result.stderr
    assert "secret-key-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_help_lists_every_subcommand(cli: Cli) -> None:
    result = cli("conv", "help")
    assert result.returncode == 0
    for sub in ("create", "list", "show", "update", "assign", "take", "route", "tag", "close"):
        assert sub in result.stdout


def test_check_config_reports_the_yaml_path(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "convbot.yml").write_text("local:\n  queues: [{id: q1, nam: Q}]\n")
    result = cli("check-config")
    assert result.returncode == 1
    assert "local.queues[0].nam: unknown key" in result.stderr
    (tmp_path / "convbot.yml").write_text("local:\n  queues: [{id: q1, name: Q}]\n")
    result = cli("check-config")
    assert result.returncode == 0, result.stderr
    assert "the backend answers" in result.stdout


def write_digests(workdir: Path, channels: dict[str, str]) -> None:
    """convbot.yml with one digest per (name, channel id)."""
    digests = "".join(
        f"  - {{name: {name}, channel: {channel}, every: 1h}}\n"
        for name, channel in channels.items()
    )
    (workdir / "convbot.yml").write_text("digests:\n" + digests)


async def test_check_config_checks_each_digest_channel_in_slack(tmp_path: Path, cli: Cli) -> None:
    fake = FakeSlack(accepted_tokens=["xoxb-check"])
    fake.add_channel("C0FINE", "support")
    fake.add_channel("C0PUBLIC", "public-not-in", is_member=False)  # joined at the first post
    fake.add_channel("G0PRIVATE", "private-not-in", is_private=True, is_member=False)
    fake.add_channel("C0OLD", "old", is_archived=True)
    write_digests(
        tmp_path,
        {"fine": "C0FINE", "public": "C0PUBLIC", "gone": "C0UNKNOWN", "private": "G0PRIVATE",
         "old": "C0OLD", "again": "C0FINE", "dm": "D0ANADM01"},
    )  # fmt: skip
    async with serve_fake_slack(fake):
        env = {"SLACK_BOT_TOKEN": "xoxb-check", "SLACK_API_URL": fake.api_url}
        result = await asyncio.to_thread(cli, "check-config", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ok    the backend answers" in result.stdout
    assert "ok    digest fine: can post in C0FINE" in result.stdout
    assert "ok    digest again: can post in C0FINE" in result.stdout
    assert "ok    digest public: can post in C0PUBLIC" in result.stdout
    # conversations.info on a DM needs im:read, which the manifest does not grant: not asked.
    assert "ok    digest dm: posts in the direct message D0ANADM01 (not looked up" in result.stdout
    errors = dict(
        line.removeprefix("error digest ").split(": ", 1)
        for line in result.stderr.splitlines()
        if line.startswith("error digest ")
    )
    assert set(errors) == {"gone", "private", "old"}, result.stderr
    assert "C0UNKNOWN does not exist or the bot cannot see it" in errors["gone"]
    # Slack hides a private channel from a bot that is not in it: the sentence says to invite.
    assert "/invite @convbot" in errors["private"]
    assert "#old (C0OLD) is archived" in errors["old"]
    assert "Traceback" not in result.stderr
    # One lookup per channel, none of them changing anything.
    assert sorted(c.args["channel"] for c in fake.calls_to("conversations.info")) == sorted(
        ["C0FINE", "C0PUBLIC", "C0UNKNOWN", "G0PRIVATE", "C0OLD"]
    )
    assert {c.method for c in fake.calls} == {"auth.test", "conversations.info"}


async def test_check_config_names_a_missing_scope(tmp_path: Path, cli: Cli) -> None:
    fake = FakeSlack()
    fake.add_channel("C0FINE", "support")
    fake.fail_next("conversations.info", status=200, error="missing_scope")
    write_digests(tmp_path, {"fine": "C0FINE"})
    async with serve_fake_slack(fake):
        env = {"SLACK_BOT_TOKEN": "xoxb-check", "SLACK_API_URL": fake.api_url}
        result = await asyncio.to_thread(cli, "check-config", env=env)
    assert result.returncode == 1
    assert "error digest fine:" in result.stderr
    assert "channels:read" in result.stderr and "groups:read" in result.stderr


def test_check_config_without_a_slack_token_does_not_check_digest_channels(
    tmp_path: Path, cli: Cli
) -> None:
    write_digests(tmp_path, {"fine": "C0FINE"})
    result = cli("check-config", env={"SLACK_BOT_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    assert "ok    digest channels: not checked (SLACK_BOT_TOKEN is not set)" in result.stdout


def test_check_config_when_slack_does_not_answer_exits_2(tmp_path: Path, cli: Cli) -> None:
    write_digests(tmp_path, {"one": "C0ONE", "two": "C0TWO"})
    env = {"SLACK_BOT_TOKEN": "xoxb-check", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    result = cli("check-config", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ok    the backend answers" in result.stdout
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error")]
    # Said once, by the token's check: the digest channels are not asked of an absent Slack.
    assert line.startswith("error Slack: Slack could not be reached at http://127.0.0.1:9/api/")
    assert "Traceback" not in result.stderr and "xoxb-check" not in result.stderr


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[str]:
    """`convbot emulator` as its own process on a free port; yields its base URL."""
    port = free_port()
    workdir = tmp_path / "emulator"
    workdir.mkdir()
    args = ["emulator", "--port", str(port), "--api-key", "cli-key"]
    with serving_process(args, workdir, None, f"http://127.0.0.1:{port}/ccaas/1/queues"):
        yield f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving_process(
    args: list[str], cwd: Path, env: dict[str, str] | None, ready_url: str
) -> Iterator[None]:
    """`python -m bot <args>` running until the block ends, once `ready_url` answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # a start-up on a loaded machine
        while True:
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the emulator did not start within 60 s"
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_acceptance_scenario_through_the_emulator(cli: Cli, emulator_process: str) -> None:
    # The contract's conversations carry no channel: the one sent with the create is not read
    # back.
    env = {"INFOBIP_BASE_URL": emulator_process, "INFOBIP_API_KEY": "cli-key"}
    scenario(cli, env=env, channel=None)


def test_a_wrong_api_key_is_named_without_showing_it(cli: Cli, emulator_process: str) -> None:
    env = {"INFOBIP_BASE_URL": emulator_process, "INFOBIP_API_KEY": "wrong-key-456"}
    result = cli("conv", "list", env=env)
    assert result.returncode == 2
    assert "INFOBIP_API_KEY" in result.stderr
    assert "wrong-key-456" not in result.stderr


def test_serve_without_credentials_explains_what_to_set(cli: Cli) -> None:
    result = cli("serve", env={"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""})
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in result.stderr
    assert "manifest.yml" in result.stderr
    socket_mode = cli("serve", env={"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": ""})
    assert socket_mode.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in socket_mode.stderr


def test_serve_answers_health_and_readiness(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INFOBIP_", "SLACK_"))},
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/serve.db",
    }
    base = f"http://127.0.0.1:{port}"
    with serving_process(["serve"], tmp_path, env, f"{base}/healthz"):
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json() == {"database": "ok", "backend": "ok"}
        assert "convbot_backend_calls_total" in httpx.get(f"{base}/metrics", timeout=5).text
        unsigned = httpx.post(f"{base}/slack/events", content="command=/conv&text=list", timeout=5)
        assert unsigned.status_code == 401


def test_digest_dry_run_prints_the_digest(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "convbot.yml").write_text(
        "digests:\n  - {name: support-high, channel: C0123456789, every: 30m}\n"
    )
    assert cli("conv", "create", "Server down", "priority:urgent").returncode == 0
    assert cli("conv", "create", "Minor", "priority:low").returncode == 0
    result = cli("digest", "support-high", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "1 URGENT" in result.stdout and "Server down" in result.stdout
    assert "Minor" not in result.stdout
    unknown = cli("digest", "nope", "--dry-run")
    assert unknown.returncode == 1 and "Digests: support-high" in unknown.stderr
    assert cli("digest", "support-high").returncode == 2  # posting needs SLACK_BOT_TOKEN


def test_check_config_hides_passwords_in_urls(tmp_path: Path, cli: Cli) -> None:
    write_digests(tmp_path, {"one": "C0ONE"})
    env = {
        "INFOBIP_BASE_URL": "http://ops:infobip-pw@127.0.0.1:9",
        "INFOBIP_API_KEY": "key-123",
        "SLACK_BOT_TOKEN": "xoxb-check",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    result = cli("check-config", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "Infobip at http://ops:***@127.0.0.1:9" in shown  # which account, not its password
    assert "infobip-pw" not in shown and "key-123" not in shown
    # Slack takes no password in its URL (aiohttp refused one with a traceback): said, not shown.
    slack = cli("check-config", env={"SLACK_API_URL": "http://proxy:slack-pw@127.0.0.1:9/api/"})
    assert slack.returncode == 1, slack.stderr
    assert "SLACK_API_URL: must not carry a user or password" in slack.stderr
    assert "slack-pw" not in slack.stdout + slack.stderr and "Traceback" not in slack.stderr
