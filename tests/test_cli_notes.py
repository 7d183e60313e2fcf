"""`convbot conv note` as a person runs it (issue 18): a real process, a real SQLite file. The
shell's user is linked to an agent in convbot.yml (`cli:<os user>`), or told how to be."""

from __future__ import annotations

import getpass
import json
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import Cli, run_in

# The slow tier (tests/conftest.py): `python -m bot` as a subprocess.
pytestmark = pytest.mark.slow


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def test_a_note_prints_that_it_was_saved_and_an_unlinked_user_is_told_how_to_link(
    tmp_path: Path, cli: Cli
) -> None:
    created = cli("conv", "--json", "create", "Parcel lost")
    assert created.returncode == 0, created.stderr
    cid = json.loads(created.stdout)["id"]

    unlinked = cli("conv", "note", cid, "Called", "them")
    assert unlinked.returncode == 1
    assert "not linked to an agent" in unlinked.stderr
    assert f"add cli:{getpass.getuser()}: <agent id> under agents:" in unlinked.stderr

    (tmp_path / "convbot.yml").write_text(
        "local:\n"
        "  agents: [{id: agent-ana, name: Ana Horvat}]\n"
        f"agents:\n  'cli:{getpass.getuser()}': agent-ana\n"
    )
    saved = cli("conv", "note", cid, "Called them: courier:DHL, back at 5")
    assert saved.returncode == 0, saved.stderr
    assert f"Note saved on conversation {cid}" in saved.stdout
    assert "Traceback" not in saved.stderr

    closed = cli("conv", "close", cid)
    assert closed.returncode == 0, closed.stderr
    late = cli("conv", "note", cid, "Too late")
    assert late.returncode == 1 and "is closed" in late.stderr
