"""convbot.yml: a valid file loads; every mistake is reported with its path and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config_file import load_config
from bot.errors import InvalidInput


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "convbot.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yml")
    assert config.agents == {} and config.local.queues == []
    assert config.digests == [] and config.scheduler.misfire_grace.total_seconds() == 600


def test_a_valid_file_loads(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
agents: {U1: agent-a}
local:
  agents: [{id: agent-a, name: A}]
  queues: [{id: q1, name: Q1, agents: [agent-a], auto_assignment: ROUND_ROBIN}]
  routing: [{name: r, queue: q1, priority: HIGH, match: {channels: [EMAIL], keywords: [x]}}]
""",
        )
    )
    assert config.agents == {"U1": "agent-a"}
    assert config.local.routing[0].match.channels[0].value == "EMAIL"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local:\n  queuez: []\n", "local.queuez: unknown key"),
        ("local:\n  queues: [{id: q1}]\n", "local.queues[0].name: required"),
        (
            "local:\n  queues: [{id: q1, name: Q, auto_assignment: FASTEST}]\n",
            "local.queues[0].auto_assignment: Input should be 'LOAD_BALANCING'",
        ),
        (
            "local:\n  routing: [{name: r, queue: nowhere}]\n",
            "sends to queue 'nowhere', which is not under local.queues",
        ),
        ("agents: [1, 2]\n", "agents: Input should be a valid dictionary"),
        (
            "local:\n  agents: [{id: a, name: A}]\n  queues: [{id: q, name: Q, agents: [a, a]}]\n",
            "agents of queue 'q' must be unique: 'a' appears twice",
        ),
        (
            "local:\n  queues: [{id: q1, name: Help}, {id: q2, name: help}]\n",
            "local.queues names must be unique",
        ),
        ("local:\n  agents: [{id: a, name: A}, {id: a, name: B}]\n", "local.agents ids must be"),
        (
            "digests:\n  - {name: d, channel: C0123456789, every: 1m, cron: '0 9 * * *'}\n",
            "digests[0]: has both cron and every; keep cron",
        ),
        ("scheduler: {misfire_grace: 10}\n", "scheduler.misfire_grace: '10' has no unit"),
        ("local: [\n", "is not valid YAML"),
        ("- just a list\n", "must be a mapping"),
    ],
)
def test_mistakes_name_their_path_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(tmp_path / "absent.yml", required=True)
    [line] = str(caught.value).splitlines()
    assert line.startswith(f"{tmp_path / 'absent.yml'} does not exist, and CONVBOT_CONFIG names it")
    assert "create it" in line and "unset CONVBOT_CONFIG to run on the defaults" in line


DIGEST_WITH = "digests:\n  - {name: d, channel: C0123456789, every: 1m, %s}\n"
RESTRICT_WITH = (
    "oncall:\n  schedules:\n    - name: p\n"
    "      rotation: {users: [U0123456789], shift: 1d, start: '2026-01-05 09:00'}\n"
    "      restrict: [{days: MON, %s: '09:00', to: '17:00'}]\n"
)


@pytest.mark.parametrize(
    ("text", "path", "suggested"),
    [
        ("permisions: {}\n", "permisions", "permissions"),
        ("Permissions: {}\n", "Permissions", "permissions"),
        # The actions under permissions: are keys too, though a fixed set rather than fields.
        ("permissions:\n  asign: {users: [U01]}\n", "permissions.asign", "assign"),
        ("permissions:\n  close: {usr: [U01]}\n", "permissions.close.usr", "users"),
        (DIGEST_WITH % "filtr: {}", "digests[0].filtr", "filter"),
        (DIGEST_WITH % "filter: {priorty: HIGH}", "digests[0].filter.priorty", "priority"),
        ("oncall: {polices: []}\n", "oncall.polices", "policies"),
        ("retention: {audit: 30d}\n", "retention.audit", "audit_log"),
        ("local:\n  queues: [{id: q, name: Q, agent: []}]\n", "local.queues[0].agent", "agents"),
        # An alias is what the file says (`from:`), so it is what is suggested, not `from_`.
        (RESTRICT_WITH % "form", "oncall.schedules[0].restrict[0].form", "from"),
    ],
)
def test_a_misspelt_key_suggests_the_closest_one(
    tmp_path: Path, text: str, path: str, suggested: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    header, *problems = str(caught.value).splitlines()
    assert header.endswith("has errors:")
    given = path.rsplit(".", 1)[-1]
    assert f"  {path}: unknown key '{given}' — did you mean '{suggested}'?" in problems, problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zzz: 1\n", "zzz: unknown key 'zzz'; use one of agents, local, permissions, digests,"),
        ("permissions:\n  all: {}\n", "permissions.all: unknown key 'all'; use one of create,"),
        (
            "local:\n  queues: [{id: q, name: Q, auto_assignment: round_robn}]\n",
            "local.queues[0].auto_assignment: unknown value 'round_robn' — did you mean"
            " 'ROUND_ROBIN'?",
        ),
    ],
)
def test_an_unknown_key_or_value_says_what_is_allowed(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    assert f"\n  {expected}" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agents: {U1: a}\nagents: {U2: b}\n", "line 2: agents is given twice (first on line 1)"),
        ("agents: {U1: a, U1: b}\n", "line 1: agents.U1 is given twice"),
        (
            "digests:\n  - name: d\n    channel: C0123456789\n    every: 1m\n    every: 2m\n",
            "line 5: digests[0].every is given twice (first on line 4)",
        ),
    ],
)
def test_a_key_given_twice_is_an_error_with_its_path_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)


def test_merge_keys_are_not_repeats(tmp_path: Path) -> None:
    # `<<: *x` merges a mapping, its keys overridden by the ones beside it: not a repeat.
    config = load_config(
        write(
            tmp_path, "local:\n  agents:\n    - &ana {id: a, name: Ana}\n    - {<<: *ana, id: b}\n"
        )
    )
    assert [agent.name for agent in config.local.agents] == ["Ana", "Ana"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "permissions:\n  close: {users: [alice]}\n",
            "permissions.close.users[0]: 'alice' is not a Slack user id; use the id that starts"
            " with U or W (profile → ⋯ → Copy member ID), e.g. U0123456789",
        ),
        (
            "permissions:\n  close: {usergroups: ['@leads']}\n",
            "permissions.close.usergroups[0]: '@leads' is not a Slack user group id; use the id"
            " that starts with S, e.g. S0LEADS",
        ),
        (
            # A block scalar keeps its newline; Slack would refuse "C0123456789\n" at every tick.
            "digests:\n  - name: d\n    channel: |\n      C0123456789\n    every: 1m\n",
            "is not a Slack channel id; use the id that starts with C, G or D",
        ),
    ],
)
def test_slack_ids_are_checked_in_every_section(tmp_path: Path, text: str, expected: str) -> None:
    # A name where an id belongs matches nobody: a permission no one has, silently.
    with pytest.raises(InvalidInput) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)


def test_a_digest_may_go_to_a_direct_message(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "digests:\n  - {name: mine, channel: D0123456789, every: 1h}\n"
            "permissions:\n  close: {users: [U0123ABCD, W0123ABCD], usergroups: [S0LEADS]}\n",
        )
    )
    assert config.digests[0].channel == "D0123456789"
    assert config.permissions["close"].users == ["U0123ABCD", "W0123ABCD"]
