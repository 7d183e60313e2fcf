"""`convbot check-config` tells the truth: a named config file that is absent, a Slack token that
Slack refuses (asked with auth.test, against the fake Slack over HTTP), a half-set Infobip and a
misspelt key each end in one error line saying what to do, and a non-zero exit. A real
`python -m bot` process runs each, as a person would."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from bot.cli.slack_token import ask_slack
from bot.devtools.fakeslack import FakeSlack, serve_fake_slack
from bot.settings import Settings
from tests.test_cli import Cli, free_port, run_in, write_digests

# The slow tier (tests/conftest.py): `python -m bot check-config` runs, or a fake Slack is served.
pytestmark = pytest.mark.slow

NO_SLACK = {"SLACK_BOT_TOKEN": ""}
TOKEN = "xoxb-check-config-secret"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in env.items() if name not in names}


# --- the config file ---------------------------------------------------------------------------


def test_a_named_config_file_that_does_not_exist_is_one_error_line(
    tmp_path: Path, cli: Cli
) -> None:
    result = cli("check-config", env={**NO_SLACK, "CONVBOT_CONFIG": "convbot.yaml"})
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = errors(result)
    assert line == (
        f"error convbot.yaml (in {tmp_path}) does not exist, and CONVBOT_CONFIG names it; create"
        " it (or fix the path), or unset CONVBOT_CONFIG to run on the defaults: anyone may run"
        " every command, no digests, no on-call."
    )
    assert result.stdout == ""  # no "ok" beside it, and nothing asked with a wrong file


def test_serve_refuses_a_missing_config_file_with_the_same_sentence(
    tmp_path: Path, cli: Cli
) -> None:
    env = {
        "CONVBOT_CONFIG": "convbot.yaml",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": str(free_port()),
    }
    served = cli("serve", env=env)
    checked = cli("check-config", env=without(env, "SLACK_BOT_TOKEN"))
    assert served.returncode == checked.returncode == 1
    assert errors(served) == errors(checked)
    assert "does not exist, and CONVBOT_CONFIG names it" in served.stderr


def test_without_a_config_file_it_says_the_defaults_apply(tmp_path: Path, cli: Cli) -> None:
    result = cli("check-config", env=NO_SLACK)
    assert result.returncode == 0, result.stderr
    assert (
        f"ok    convbot.yml: not in {tmp_path}, and CONVBOT_CONFIG is not set: running on the"
        " defaults (anyone may run every command, no digests, no on-call)"
    ) in result.stdout
    assert "valid" not in result.stdout


@pytest.mark.parametrize("command", ["check-config", "serve"])
def test_a_misspelt_key_suggests_the_right_one(tmp_path: Path, cli: Cli, command: str) -> None:
    (tmp_path / "convbot.yml").write_text(
        "permisions:\n  assign: {users: [U01]}\n"
        "digests:\n  - {name: d, channel: C0123456789, every: 1h, filtr: {}}\n"
    )
    env = {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "s", "PORT": str(free_port())}
    if command == "serve":
        env["SLACK_BOT_TOKEN"] = TOKEN  # serve asks for credentials before reading the file
    result = cli(command, env=env)
    assert result.returncode == 1
    assert errors(result) == [
        "error convbot.yml has errors:",
        "  digests[0].filtr: unknown key 'filtr' — did you mean 'filter'?",
        "  permisions: unknown key 'permisions' — did you mean 'permissions'?",
    ]


# --- the backend's settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"INFOBIP_BASE_URL": "https://user:pw@x.api.infobip.com"},
            "error INFOBIP_BASE_URL is set (https://user:***@x.api.infobip.com) but"
            " INFOBIP_API_KEY is not: set INFOBIP_API_KEY to use Infobip, or unset"
            " INFOBIP_BASE_URL to use the embedded backend.",
        ),
        (
            {"INFOBIP_API_KEY": "key-secret"},
            "error INFOBIP_API_KEY is set but INFOBIP_BASE_URL is not: set INFOBIP_BASE_URL to"
            " your account's base URL (e.g. https://xxxxx.api.infobip.com) to use Infobip, or"
            " unset INFOBIP_API_KEY to use the embedded backend.",
        ),
    ],
)
def test_half_an_infobip_setting_is_one_error_and_no_ok_for_the_backend(
    cli: Cli, env: dict[str, str], expected: str
) -> None:
    result = cli("check-config", env={**NO_SLACK, **env})
    assert result.returncode == 1
    assert errors(result) == [expected]
    assert result.stdout == ""  # neither "ok backend: embedded" nor "ok convbot.yml"
    assert "pw@" not in result.stderr and "key-secret" not in result.stdout + result.stderr


def test_serve_refuses_half_an_infobip_setting_instead_of_running_on_an_empty_store(
    cli: Cli,
) -> None:
    env = {
        "INFOBIP_BASE_URL": "https://x.api.infobip.com",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "secret",
        "PORT": str(free_port()),
    }
    served = cli("serve", env=env)
    assert served.returncode == 1
    assert errors(served) == errors(cli("check-config", env={**NO_SLACK, **env}))


def test_a_file_and_an_environment_mistake_are_one_line_each(cli: Cli) -> None:
    env = {**NO_SLACK, "CONVBOT_CONFIG": "ops.yml", "INFOBIP_API_KEY": "key-secret"}
    result = cli("check-config", env=env)
    assert result.returncode == 1 and result.stdout == ""
    first, second = errors(result)
    assert "ops.yml (in " in first and "does not exist" in first
    assert second.startswith("error INFOBIP_API_KEY is set but INFOBIP_BASE_URL is not")


# --- the Slack token ---------------------------------------------------------------------------


async def test_a_working_token_names_the_team_and_the_bot(tmp_path: Path, cli: Cli) -> None:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    async with serve_fake_slack(fake):
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake.api_url}
        result = await asyncio.to_thread(cli, "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert (
        f"ok    Slack: the token works: bot @{fake.bot_name} ({fake.bot_user_id}) in the"
        f" workspace {fake.team_name} ({fake.team_id}, https://{fake.team_domain}.slack.com/)"
    ) in result.stdout
    [call] = fake.calls_to("auth.test")
    assert call.token == TOKEN and call.error is None
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("token", "fault", "expected"),
    [
        (
            "xoxb-typo",
            None,
            "error Slack: Slack said invalid_auth: SLACK_BOT_TOKEN is not a valid token",
        ),
        (TOKEN, "token_revoked", "error Slack: Slack said token_revoked: SLACK_BOT_TOKEN was"),
        ("xapp-1-A1-2-abc", None, "error Slack: Slack said not_allowed_token_type:"),
    ],
)
async def test_a_refused_token_is_one_error_line_and_digests_are_not_asked(
    tmp_path: Path, cli: Cli, token: str, fault: str | None, expected: str
) -> None:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    fake.add_channel("C0FINE", "support")
    write_digests(tmp_path, {"fine": "C0FINE"})
    if fault:
        fake.fail_next("auth.test", status=200, error=fault)
    async with serve_fake_slack(fake):
        env = {"SLACK_BOT_TOKEN": token, "SLACK_API_URL": fake.api_url}
        result = await asyncio.to_thread(cli, "check-config", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = errors(result)
    assert line.startswith(expected), line
    assert "ok    the backend answers" in result.stdout  # the rest is still checked
    assert not fake.calls_to("conversations.info")  # each would fail for the same reason
    assert token not in result.stdout + result.stderr


def test_a_slack_that_cannot_be_reached_says_where_it_was_asked(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    started = time.monotonic()
    result = cli("check-config", env={"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": url})
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = errors(result)
    assert line.startswith(f"error Slack: Slack could not be reached at {url} (")
    assert line.endswith("); check SLACK_API_URL and the network")
    assert time.monotonic() - started < 30
    assert TOKEN not in result.stdout + result.stderr


async def test_a_slack_that_does_not_answer_in_time_is_given_up_on() -> None:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    fake.latency = 10.0
    async with serve_fake_slack(fake):
        url = fake.api_url
        settings = Settings(_env_file=None, slack_bot_token=TOKEN, slack_api_url=url)
        started = time.monotonic()
        verdict = await ask_slack(settings, 0.5)
        assert time.monotonic() - started < 5  # gave up, long before Slack's 10 s answer
    assert not verdict.ok and verdict.unreachable
    assert verdict.sentence == (
        f"Slack at {url} did not answer auth.test within 0.5 s; check SLACK_API_URL and the network"
    )


async def test_an_api_url_that_is_not_slacks_says_so() -> None:
    fake = FakeSlack(accepted_tokens=[TOKEN])
    async with serve_fake_slack(fake) as base_url:
        wrong = f"{base_url}/not-the-api/"
        settings = Settings(_env_file=None, slack_bot_token=TOKEN, slack_api_url=wrong)
        verdict = await ask_slack(settings, 5)
    assert not verdict.ok and verdict.unreachable
    assert verdict.sentence.startswith(f"{wrong} answered auth.test with HTTP 404")


def test_an_empty_convbot_config_is_taken_as_unset(tmp_path: Path, cli: Cli) -> None:
    # `export CONVBOT_CONFIG=` is how many people unset it; it is not the working directory.
    result = cli("check-config", env={**NO_SLACK, "CONVBOT_CONFIG": ""})
    assert result.returncode == 0, result.stderr
    assert f"ok    convbot.yml: not in {tmp_path}, and CONVBOT_CONFIG is not set" in result.stdout
    (tmp_path / "convbot.yml").write_text("permissions: {close: {users: [U01]}}\n")
    result = cli("check-config", env={**NO_SLACK, "CONVBOT_CONFIG": " "})
    assert result.returncode == 0, result.stderr
    assert "ok    convbot.yml: valid" in result.stdout


async def test_a_token_that_is_not_a_bots_is_refused() -> None:
    # Slack's auth.test answers a person's (xoxp-) token without bot_id; the bot would act as
    # that person.
    fake = FakeSlack(accepted_tokens=["xoxp-person"], bot_id="")
    async with serve_fake_slack(fake):
        settings = Settings(
            _env_file=None, slack_bot_token="xoxp-person", slack_api_url=fake.api_url
        )
        verdict = await ask_slack(settings, 5)
    assert not verdict.ok and not verdict.unreachable
    assert verdict.sentence.startswith(
        f"SLACK_BOT_TOKEN works but belongs to the person @{fake.bot_name} ({fake.bot_user_id}),"
        " not to a bot; use the Bot User OAuth Token (xoxb-…)"
    )
