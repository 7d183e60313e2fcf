"""A PostgreSQL cluster of the test's own, to stop and start under a running bot.

The machine's shared server (127.0.0.1:5432) serves every other test and other people's runs;
this one lives in a temporary directory, listens on a free port, and is gone afterwards. It is
made with the server's own tools (initdb, pg_ctl) run as the `postgres` user (`runuser`, so the
tests must run as root, as CI does); `CONVBOT_TEST_POSTGRES_BIN` names another bin directory.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_POSTGRES
from tests.reliability.processes import free_port

SERVER_USER = "postgres"


def postgres_bin() -> Path | None:
    """The newest server's bin directory (Debian: /usr/lib/postgresql/<version>/bin)."""
    named = os.environ.get("CONVBOT_TEST_POSTGRES_BIN")
    if named:
        return Path(named)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def unavailable() -> str | None:
    """Why no private cluster can be made here, or None."""
    binaries = postgres_bin()
    if binaries is None or not (binaries / "initdb").exists():
        return "no PostgreSQL server binaries (initdb, pg_ctl) were found"
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    if os.geteuid() != 0:
        return "a private PostgreSQL cluster is made as root (runuser -u postgres); not root"
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return f"there is no '{SERVER_USER}' user to run a private PostgreSQL cluster as"
    return None


@dataclass
class PrivateCluster:
    bin: Path
    data: Path
    sockets: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), *args]
        done = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            server_log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"pg_ctl {args[-1]}: {done.stderr or done.stdout}\n{server_log}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clients are disconnected; `immediate`: the server dies as in a crash."""
        self._pg_ctl("-m", mode, "-w", "-t", "30", "stop")

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    async def stop_async(self, mode: str = "fast") -> None:
        await asyncio.to_thread(self.stop, mode)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running private cluster (user postgres, trust authentication), removed afterwards.

    Skips the test with the reason when one cannot be made here; fails it instead under
    CONVBOT_REQUIRE_POSTGRES=1 (CI), like the tests on the shared server.
    """
    problem = unavailable()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem + " (CONVBOT_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)
    binaries = postgres_bin()
    assert binaries is not None
    # Not under pytest's tmp_path: its parents are root's alone, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="convbot-pg-"))
    user = pwd.getpwnam(SERVER_USER)
    try:
        (base / "sockets").mkdir()
        for path in (base, base / "sockets"):
            os.chown(path, user.pw_uid, user.pw_gid)
        cluster = PrivateCluster(
            binaries, base / "data", base / "sockets", free_port(), base / "server.log"
        )
        initdb = [str(binaries / "initdb"), "-D", str(cluster.data), "-A", "trust"]
        initdb += ["-U", SERVER_USER, "-E", "UTF8", "--no-sync"]
        made = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", *initdb],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, f"initdb failed: {made.stderr or made.stdout}"
        cluster.start()
        try:
            yield cluster
        finally:
            with suppress(AssertionError):  # already stopped by the test
                cluster.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)
