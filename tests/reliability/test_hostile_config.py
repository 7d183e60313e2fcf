"""A config file that is missing, odd or hostile stops `convbot check-config` and `convbot serve`
with one line naming the file and what to do, and a non-zero exit: never a traceback, never a bot
started with other permissions than the file says.

Each case runs the real `python -m bot` process, as a person or a service manager would, so the
assertions cover the whole path from the environment to the printed line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_cli import run_in

SLACK = {"SLACK_BOT_TOKEN": "xoxb-hostile", "SLACK_SIGNING_SECRET": "hostile-secret"}


def run(workdir: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # serve listens on a port only after the config was read: none of these cases gets there,
    # and a port of its own keeps a regression from clashing with another test.
    return run_in(workdir, command, env={**SLACK, "HOST": "127.0.0.1", "PORT": "1", **env})


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, result.stdout
    # "has errors:" lists one line per mistake under it; every other problem is one line.
    if lines[0].endswith("has errors:"):
        assert len(lines) == 2, lines
        return " ".join(lines)
    assert len(lines) == 1, lines
    return lines[0]


DEEP = "a: " + "[" * 5000 + "]" * 5000 + "\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
    for prev, name in zip("abcdefg", "bcdefgh", strict=True)
)
CASES: dict[str, tuple[bytes | None, str]] = {
    # name: (file contents, or None for a path that is not a file we write; expected words)
    "named but missing": (None, "does not exist, and CONVBOT_CONFIG names it"),
    "permissions twice": (
        b"permissions:\n  close: {users: [U01]}\nagents: {}\n"
        b"permissions:\n  route: {users: [U02]}\n",
        "line 4: permissions is given twice (first on line 1)",
    ),
    "a key twice deep inside": (
        b"local:\n  agents:\n    - id: a\n      name: A\n      name: B\n",
        "line 5: local.agents[0].name is given twice (first on line 4)",
    ),
    "an interval of 27,000 years": (
        b"digests:\n  - {name: d, channel: C0123456789, every: 10000000d}\n",
        "digests[0].every: '10000000d' is longer than a year",
    ),
    "a wait of 27,000 years": (
        b"oncall:\n  policies:\n    - name: p\n"
        b"      steps: [{notify: ['user:U0ANA'], wait: 9999999d}]\n",
        "is longer than a year",
    ),
    "nested 5,000 deep": (DEEP.encode(), "nests deeper than 50 levels (line 1)"),
    "aliases expanding to 10**8 values": (LAUGHS.encode(), "expands to more than 100,000 values"),
    "not UTF-8": (b"agents: {}\n# caf\xe9\n", "is not UTF-8 text (line 2, byte 16)"),
    "larger than 1 MiB": (b"# " + b"x" * (1 << 20) + b"\n", "is larger than 1024 KiB"),
    "invalid YAML": (b"local: [\n", "is not valid YAML: line 2, column 1:"),
}


@pytest.mark.parametrize("command", ["check-config", "serve"])
@pytest.mark.parametrize("case", CASES)
def test_a_bad_config_file_is_one_line_and_a_failure(
    tmp_path: Path, command: str, case: str
) -> None:
    contents, expected = CASES[case]
    config = tmp_path / "ops.yml"
    if contents is not None:
        config.write_bytes(contents)
    line = one_error_line(run(tmp_path, command, {"CONVBOT_CONFIG": str(config)}))
    assert str(config) in line and expected in line, line


@pytest.mark.parametrize("command", ["check-config", "serve"])
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dev/zero", "/dev/zero is not a regular file"),  # read whole, it is a MemoryError
        (".", ". is a directory; point CONVBOT_CONFIG at the YAML file in it"),
    ],
)
def test_a_path_that_is_no_file_is_one_line(
    tmp_path: Path, command: str, path: str, expected: str
) -> None:
    line = one_error_line(run(tmp_path, command, {"CONVBOT_CONFIG": path}))
    assert expected in line, line


def test_the_default_file_may_be_absent(tmp_path: Path) -> None:
    # Only the file named explicitly must exist: without CONVBOT_CONFIG, no convbot.yml in the
    # working directory still means "no operations file" (documented in the README).
    result = run_in(tmp_path, "check-config")
    assert result.returncode == 0, result.stderr
    assert "convbot.yml: not in" in result.stdout and "running on the defaults" in result.stdout
