"""Make docs/thread.png, the README's picture of a conversation's thread in the local Slack.

    python docs/make_thread_screenshot.py        # from the checkout

It starts `convbot dev` in a temporary folder and drives the page as tests/browser does (the
same steps: tests/browser/thread_steps.py): take the most urgent demo conversation's card,
press Thread, open the thread, write as the customer, reply from the card. Needs what
tests/browser needs (the playwright package, Debian's Chromium or CONVBOT_CHROMIUM) and, for
the emoji to be drawn, a colour emoji font (`apt-get install fonts-noto-color-emoji`). Not run
in CI: run it again when the page changes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import thread_steps  # noqa: E402
from tests.browser.conftest import CHROMIUM, _announced_url, start_dev, stop_dev  # noqa: E402

OUT = CHECKOUT / "docs" / "thread.png"
SIZE = {"width": 1280, "height": 820}
LIMIT = 300_000  # bytes: the README stays light


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        process = start_dev(Path(folder))
        try:
            url = _announced_url(process)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport=SIZE)
                page.set_default_timeout(15_000)
                pane = thread_steps.open_a_thread(page, url)
                thread_steps.customer_writes(page, pane)
                thread_steps.agent_replies(page, pane)
                # The card at the bottom of the channel, with its "N replies"; nothing hovered.
                page.get_by_test_id("messages").evaluate("el => el.scrollTop = el.scrollHeight")
                page.mouse.move(0, SIZE["height"] - 1)
                page.screenshot(path=str(OUT))
                browser.close()
        finally:
            stop_dev(process)
    size = OUT.stat().st_size
    print(f"{OUT.relative_to(CHECKOUT)}: {size // 1000} KB")
    return 0 if size <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
