"""`convbot dev` started as the README says, and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work on this machine kind, so the tests launch the
system Chromium by its path (`apt-get install chromium`; .ci/run installs it). Without it, or
without the playwright package, the tests skip with the reason — and fail instead under
CONVBOT_REQUIRE_BROWSER=1, as in CI. Screenshots of each step go to CONVBOT_BROWSER_ARTIFACTS
(default: test-artifacts/browser in the working directory).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRE_BROWSER = os.environ.get("CONVBOT_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("CONVBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CONVBOT_BROWSER_ARTIFACTS", "test-artifacts/browser"))
START_TIMEOUT = 90.0
CHECKOUT = Path(__file__).resolve().parents[2]
_URL = re.compile(r"open (http://\S+)/dev")


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CONVBOT_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`convbot dev` on a free port, in a folder of its own; its base URL."""
    problem = _unavailable()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(problem + " (CONVBOT_REQUIRE_BROWSER=1)")
        pytest.skip(problem)
    folder = tmp_path_factory.mktemp("convbot-dev")
    process = start_dev(folder)
    try:
        yield _announced_url(process)
    finally:
        stop_dev(process)


def start_dev(folder: Path) -> subprocess.Popen[str]:
    """`python -m bot dev` in `folder`, on any free port, keeping its files in `folder/demo`.

    It runs in `folder`, away from this checkout: the checkout goes first on PYTHONPATH so that
    the code under test is this one, not whichever copy of convbot `pip install -e` pointed at.
    """
    path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "dev", "--port", "0", "--folder", str(folder / "demo")],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_dev(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _announced_url(process: subprocess.Popen[str]) -> str:
    """The URL `convbot dev` prints once it is up; its output so far if it never does."""
    seen: list[str] = []
    found: list[str] = []
    announced = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(1))
                announced.set()
        announced.set()  # the process ended

    threading.Thread(target=read, daemon=True).start()
    if not announced.wait(START_TIMEOUT) or not found:
        process.kill()
        raise AssertionError("convbot dev did not announce its URL:\n" + "".join(seen)[-3000:])
    return found[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.set_default_timeout(15_000)
    # The context's timeout is not expect()'s (5 s by default): a round trip through the bot
    # and a redraw in Chromium on a loaded CI machine gets the same 15 s.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        shot(page, f"FAILED-{request.node.name}")
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def shot(page: Any, name: str) -> Path:
    """A screenshot of the page as it is, kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
