"""The CLI's edges, as a person meets them in a terminal: out-of-range ports, a file given as a
folder, `convbot dev` asked to listen where other machines reach it, Ctrl-C or SIGTERM with the
page open, an emulator whose port is taken. Each ends in one line (or a clean stop), never a
traceback, and a real `python -m bot` process shows it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.test_cli import Cli, run_in

# The slow tier (tests/conftest.py): nearly every test runs `python -m bot` as a subprocess.
pytestmark = pytest.mark.slow


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_in(tmp_path, *args, env=env)

    return run


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("command", ["dev", "emulator"])
@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_one_line(cli: Cli, command: str, port: str) -> None:
    line = one_line(cli(command, "--port", port), 2)
    assert f"convbot {command}: argument --port:" in line, line
    assert "1-65535" in line or "not a port number" in line, line


def test_a_port_out_of_range_in_the_environment_is_named(cli: Cli) -> None:
    # Before: uvicorn was handed 99999, logged it, and the OS listened on 99999 - 65536.
    result = cli(
        "serve", env={"PORT": "99999", "SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y"}
    )
    assert result.returncode == 1, result.stderr
    assert "PORT: '99999' is too large; use 65535 or less" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_as_the_dev_folder_is_one_line(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    line = one_line(cli("dev", "--port", "0", "--folder", "notes.txt"), 2)
    assert "--folder notes.txt is a file" in line, line


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "myhost.example"])
def test_dev_off_loopback_needs_the_unsafe_flag(cli: Cli, host: str) -> None:
    line = one_line(cli("dev", "--host", host, "--port", "0"), 2)
    assert f"not listening on {host}: the page has no sign-in" in line, line
    assert "--host 127.0.0.1" in line and "--unsafe-expose" in line, line


def test_the_emulator_says_nothing_of_a_port_it_could_not_take(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli("emulator", "--port", port, "--database-url", "sqlite+aiosqlite:///e.db")
    line = one_line(result, 2)
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in line, line
    assert "Infobip emulator on" not in result.stdout  # the banner would point people at it


@contextmanager
def dev_process(workdir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`convbot dev --port 0 <args>` until its URL is printed; yields it and the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "dev", "--port", "0", "--folder", "demo", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        assert found and "open http://" in found[0], found
        yield process, found[0].split("open ", 1)[1].split()[0].removesuffix("/dev")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_dev_stops_cleanly_with_the_page_open(tmp_path: Path, stop: signal.Signals) -> None:
    # Listening on every interface with the flag, warned about; stopped mid long-poll.
    with dev_process(tmp_path, "--host", "0.0.0.0", "--unsafe-expose") as (process, url):
        with httpx.Client(base_url=url, timeout=30) as http:
            http.get("/dev/api/state")  # opens the App Home: a change
            version = http.get("/dev/api/state").json()["version"]
            answers: list[int] = []
            poll = threading.Thread(
                target=lambda: answers.append(
                    http.get("/dev/api/state", params={"since": version}).status_code
                )
            )
            poll.start()
            threading.Event().wait(0.5)  # the poll is waiting in the server
            process.send_signal(stop)
            process.wait(15)  # the poll is answered at once, not after its 25 s
            poll.join(15)
        stderr = process.stderr.read() if process.stderr else ""
    assert answers == [200], (answers, stderr)
    assert "WARNING: --unsafe-expose: listening on 0.0.0.0:" in stderr, stderr
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr


@pytest.mark.parametrize("faults", [[], ["--faults", "drop-after", "--fault-rate", "0.01"]])
def test_the_emulator_on_any_free_port_names_it_and_stops_cleanly(
    tmp_path: Path, faults: list[str]
) -> None:
    # --port 0: the banner names the port it got (bound before the banner), also when a fault
    # proxy takes that socket; Ctrl-C then stops it without a traceback.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "emulator", "--port", "0", "--api-key", "k", *faults],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        base = banner.split("http://", 1)[1].split("/", 1)[0]
        assert not base.endswith(":0"), banner
        answered = None
        for _ in range(100):  # the database is migrated after the banner
            try:
                answered = httpx.get(
                    f"http://{base}/ccaas/1/queues", headers={"Authorization": "App k"}, timeout=5
                )
                break
            except httpx.TransportError:
                threading.Event().wait(0.1)
        assert answered is not None and answered.status_code == 200, answered
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    stderr = process.stderr.read() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
