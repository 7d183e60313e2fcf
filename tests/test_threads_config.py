"""`threads:` in convbot.yml (issue 18): per-channel settings, the poll interval and the first
page, each mistake named with its path and a fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config_file import load_config
from bot.errors import InvalidInput


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "convbot.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_threads_default_to_a_press_with_replies_off(tmp_path: Path) -> None:
    threads = load_config(tmp_path / "absent.yml").threads
    assert threads.poll_interval == timedelta(seconds=5) and threads.latest == 20
    assert not threads.is_auto("C0123ABCD")
    assert threads.channel("C0123ABCD").thread_replies == "off"


def test_a_channel_opens_threads_by_itself_when_told(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "threads:\n  poll_interval: 2s\n  latest: 50\n  channels:\n"
            "    C0123ABCD: {auto: true, thread_replies: note}\n",
        )
    )
    threads = config.threads
    assert threads.is_auto("C0123ABCD") and not threads.is_auto("C0OTHER01")
    assert threads.channel("C0123ABCD").thread_replies == "note"
    assert threads.poll_interval == timedelta(seconds=2) and threads.latest == 50
    assert config.retention.threads == timedelta(days=30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("threads:\n  poll_interval: 90s\n", "threads.poll_interval: must be between 1s and 60s"),
        ("threads:\n  latest: 51\n", "threads.latest: 51 is too large; use 50 or less"),
        ("threads:\n  latest: 0\n", "threads.latest: 0 is too small; use 1 or more"),
        (
            "threads:\n  channels:\n    '#support': {auto: true}\n",
            "threads.channels.#support: '#support' is not a Slack channel id (that is a name)",
        ),
        (
            "threads:\n  channels:\n    C0123ABCD: {thread_replies: customers}\n",
            "thread_replies: unknown value 'customers' — did you mean 'customer'?",
        ),
        (
            "threads:\n  channels:\n    C0123ABCD: {autoo: true}\n",
            "threads.channels.C0123ABCD.autoo: unknown key 'autoo' — did you mean 'auto'?",
        ),
        ("threads:\n  pol_interval: 5s\n", "did you mean 'poll_interval'?"),
        ("retention:\n  threads: 1h\n", "retention.threads: must be at least 1d"),
    ],
)
def test_a_threads_mistake_names_its_path_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        load_config(write(tmp_path, text))
    assert expected in str(raised.value)
