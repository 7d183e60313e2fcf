"""A conversation's thread in the local Slack, in a real browser: press Thread on a card, open
the thread beside the channel and read the transcript; play the customer and see their
message arrive; reply from the card in the thread; write in the thread as a person."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import thread_steps
from tests.browser.conftest import shot

pytestmark = pytest.mark.xdist_group("browser")


def test_a_thread_opens_beside_the_channel_with_the_transcript(page: Any, dev_url: str) -> None:
    pane = thread_steps.open_a_thread(page, dev_url)
    shot(page, "thread-01-transcript")
    thread_steps.customer_writes(page, pane)
    thread_steps.agent_replies(page, pane)
    thread_steps.colleague_writes(page, pane)
    shot(page, "thread-02-customer-reply-and-colleague")
    # The card in the channel counts what is under it; closing the pane gives the width back.
    card_replies = page.get_by_test_id("messages").get_by_test_id("replies").last
    expect(card_replies).to_contain_text("replies")
    page.get_by_test_id("thread-close").click()
    expect(page.get_by_test_id("thread-pane")).to_be_hidden()
