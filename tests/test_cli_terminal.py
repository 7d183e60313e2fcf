"""What `convbot conv` prints is terminal text: no Slack marks, tables whose columns hold with
emoji and CJK topics, short ids, and the whole command accepted as one pasted argument. The CLI
tests run a real `python -m bot` process on the embedded store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.render import render_table, shortest_ids
from bot.cli.terminal_text import clip, pad, plain, width
from bot.models import Conversation, Priority, ResultPage, Status
from tests.test_cli import Cli, run_in

FIRE = "🔥 Printer on fire 日本語のテキスト"
SLACK_MARKS = ("`", "*", "<@", "<http", ":warning:")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def created(cli: Cli, *words: str) -> dict[str, object]:
    result = cli("conv", "--json", *words)
    assert result.returncode == 0, result.stderr
    conversation: dict[str, object] = json.loads(result.stdout)
    return conversation


def no_slack_marks(text: str) -> None:
    for mark in SLACK_MARKS:
        assert mark not in text, (mark, text)


# --- the whole command in one argument ---------------------------------------------------------


def test_the_whole_command_in_one_argument_works_like_words(cli: Cli) -> None:
    one = created(cli, "create Printer on fire priority:high")
    words = created(cli, "create", "Printer", "on", "fire", "priority:high")
    assert (one["topic"], one["priority"]) == (words["topic"], words["priority"])
    assert (one["topic"], one["priority"]) == ("Printer on fire", "HIGH")


def test_a_command_pasted_from_slack_keeps_its_slash_and_quotes(cli: Cli) -> None:
    pasted = created(cli, '/conv create Refund “twice” summary:"Charged twice" #vip')
    assert pasted["topic"] == "Refund twice"
    assert pasted["summary"] == "Charged twice" and pasted["tags"] == ["vip"]
    listed = cli("conv", "/conv list tag:vip")
    assert listed.returncode == 0, listed.stderr
    assert "Refund twice" in listed.stdout
    for words in (
        ["list tag:vip", "--json"],
        ["list tag:vip --json"],
        ["/conv", "list", "tag:vip"],
    ):
        result = cli("conv", *words)
        assert result.returncode == 0, (words, result.stderr)
        assert "Refund twice" in result.stdout
    assert json.loads(cli("conv", "list tag:vip", "--json").stdout)["pagination"]["totalItems"] == 1


def test_an_unclosed_quote_in_one_argument_is_one_readable_error(cli: Cli) -> None:
    result = cli("conv", 'create Printer summary:"on fire')
    assert result.returncode == 1
    assert result.stderr.startswith('A double quote (") is not closed')
    assert "Usage: create <topic words>" in result.stderr and "Traceback" not in result.stderr


# --- terminal text -----------------------------------------------------------------------------


def test_help_prints_terminal_text_grouped_by_section(cli: Cli) -> None:
    result = cli("conv", "help")
    assert result.returncode == 0, result.stderr
    no_slack_marks(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0] == "Work on conversations"
    assert "On call (Slack only)" in lines and "Digests (Slack only)" in lines
    assert "  show <id> — Show one conversation." in lines
    details = cli("conv", "help", "update")
    no_slack_marks(details.stdout)
    assert details.stdout.startswith("update <id> [topic:")


def test_errors_print_as_terminal_text(cli: Cli) -> None:
    for args, expected in [
        (("conv", "craete", "x"), "Did you mean create?"),
        (("conv", "list", "sort:size"), "Unknown sort field 'size'."),
        (("conv", "create", "x", "summary:"), "Option summary: needs a value"),
    ]:
        result = cli(*args)
        assert result.returncode == 1, result.stderr
        assert expected in result.stderr
        no_slack_marks(result.stderr.split("\nUsage:")[0])


@pytest.mark.parametrize(
    ("command", "pointer"),
    [
        ("digest", "In a shell, convbot digest <name> posts"),
        ("schedules", "under digests: in convbot.yml"),
        ("oncall primary", "under oncall.schedules: in convbot.yml"),
        ("escalations", "type /conv escalations there."),
        ("escalate 8f3a2c1d", "type /conv escalate <id>"),
    ],
)
def test_slack_only_commands_point_to_what_exists(cli: Cli, command: str, pointer: str) -> None:
    result = cli("conv", *command.split())
    assert result.returncode == 1
    assert pointer in result.stderr
    assert ("convbot digest" in result.stderr) == command.startswith("digest")
    no_slack_marks(result.stderr)


def test_show_prints_the_topic_once_and_the_full_id(cli: Cli) -> None:
    conversation = created(cli, "create", FIRE, "priority:high")
    shown = cli("conv", "show", str(conversation["id"]))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("Printer on fire") == 1
    assert shown.stdout.startswith(FIRE + "\n")
    assert f"Id        {conversation['id']}" in shown.stdout


def test_the_table_keeps_its_columns_with_emoji_and_cjk(cli: Cli) -> None:
    ids = [
        created(cli, "create", FIRE, "priority:high")["id"],
        created(cli, "create", "Plain ascii topic")["id"],
        created(cli, "create", "長い" * 30, "priority:urgent")["id"],  # clipped to the column
    ]
    listed = cli("conv", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows, footer = listed.stdout.splitlines()
    assert footer == "1-3 of 3 conversations (page 1 of 1), most urgent and oldest first."
    assert len(rows) == 3
    updated = header.index("UPDATED")
    for row in rows:
        # The last column, "YYYY-MM-DD HH:MM UTC", starts in the same terminal column on each row.
        assert width(row[: -len("2026-12-07 01:10 UTC")]) == updated, listed.stdout
    # Short ids: the first 8 characters (uuids from the store share none here).
    assert sorted(row.split()[0] for row in rows) == sorted(str(i)[:8] for i in ids)
    assert not any(str(i) in listed.stdout for i in ids)


# --- the converter and the columns, directly ---------------------------------------------------


@pytest.mark.parametrize(
    ("mrkdwn", "text"),
    [
        ("Use `show <id>` or *take* it.", "Use show <id> or take it."),
        ("`a *b* _c_` stays", "a *b* _c_ stays"),
        (":warning: Slack is down.", "Slack is down."),
        (
            "You can't close it — ask <@U123> or <!subteam^S1|@leads>.",
            "You can't close it — ask @U123 or @leads.",
        ),
        ("Taken by <@U9|ana>.", "Taken by @ana."),
        ("In <#C1|support>, <!here>.", "In #support, @here."),
        ("Ask <!subteam^S1>.", "Ask @S1."),
        ("At <!date^1700000000^{time}>.", "At 2023-11-14 22:13 UTC."),
        ("See <https://x.example/a|the runbook>.", "See the runbook (https://x.example/a)."),
        ("<https://x.example>", "https://x.example"),
        ("changed <!date^1700000000^{date_short_pretty}|Nov 14> by ben", "changed Nov 14 by ben"),
        (
            "sort:updated:desc snake_case_name 2*3*4 ~gone~",
            "sort:updated:desc snake_case_name 2*3*4 gone",
        ),
        ("create <topic words> [#tag …]", "create <topic words> [#tag …]"),
        ("channel: '#_ops_' is not an id; cron '*/5 * * * *' neither", None),
        ("*Bold*, (_italic_); ~x~!", "Bold, (italic); x!"),
        ("```\nblock *kept*\n```", "\nblock *kept*\n"),
    ],
)
def test_plain_turns_mrkdwn_into_terminal_text(mrkdwn: str, text: str | None) -> None:
    assert plain(mrkdwn) == (mrkdwn if text is None else text)


def test_width_counts_terminal_columns() -> None:
    assert width("abc") == 3
    assert width("日本語") == 6
    assert width("🔥") == 2
    assert width("e\u0301") == 1  # a combining accent takes no column
    assert width("⚠\ufe0f") == 2  # emoji presentation
    assert width("a\u200bb") == 2  # zero-width space
    assert pad("日本", 6) == "日本  "


def test_clip_cuts_by_columns_and_never_splits_a_character_from_its_accent() -> None:
    assert clip("short", 10) == "short"
    assert clip("日本語のテキスト", 7) == "日本語…"
    assert width(clip("🔥" * 10, 9)) <= 9
    assert clip("cafe\u0301 au lait", 5) == "cafe\u0301…"
    assert clip("two\n  lines", 20) == "two lines"


def _conversation(conversation_id: str, topic: str) -> Conversation:
    at = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    return Conversation(
        id=conversation_id,
        topic=topic,
        status=Status.OPEN,
        priority=Priority.NORMAL,
        createdAt=at,
        updatedAt=at,
    )


def test_short_ids_grow_only_where_two_rows_share_a_prefix() -> None:
    ids = ["8f3a2c1d-aaaa", "8f3a2c1d-abbb", "12345678-zzzz", "abc"]
    assert shortest_ids(ids) == {
        "8f3a2c1d-aaaa": "8f3a2c1d-aa",
        "8f3a2c1d-abbb": "8f3a2c1d-ab",
        "12345678-zzzz": "12345678",
        "abc": "abc",
    }
    page = ResultPage[Conversation](
        items=[_conversation(i, "t") for i in ids], totalItems=4, page=0, limit=20
    )
    table = render_table(page, {})
    assert table.splitlines()[1].startswith("8f3a2c1d-aa  ")


@settings(derandomize=True, deadline=None, database=None, max_examples=300)
@given(
    text=st.text(alphabet=st.sampled_from("a 日🔥\u0301\ufe0f\u200b*_~`<>|@#!:^\n"), max_size=40)
)
def test_any_text_plain_and_clipped_stays_within_its_columns(text: str) -> None:
    plain(text)  # never raises, whatever the marks
    for columns in (1, 5, 12):
        assert width(clip(text, columns)) <= columns


def test_a_dry_run_digest_points_to_the_shell_command_for_the_rest(
    tmp_path: Path, cli: Cli
) -> None:
    (tmp_path / "convbot.yml").write_text(
        "digests:\n  - {name: high, channel: C0123456789, every: 30m, max_items: 1}\n"
    )
    for topic in ("Server down", "Disk full"):
        assert cli("conv", "create", topic, "priority:urgent").returncode == 0
    result = cli("digest", "high", "--dry-run")
    assert result.returncode == 0, result.stderr
    (more,) = [line for line in result.stdout.splitlines() if "more:" in line]
    assert "…and 1 more: convbot conv list " in more and "/conv" not in more
    command = more.split("more: convbot conv ")[1].split()
    listed = cli("conv", *command)
    assert listed.returncode == 0 and "2 conversations" in listed.stdout, listed.stderr


@pytest.mark.slow
def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`convbot conv list | head -1`: the pipe closes before the CLI has written."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "conv", "help"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert "unexpected error" not in result.stderr and "BrokenPipe" not in result.stderr
