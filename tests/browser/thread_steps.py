"""A conversation's thread in the local Slack, step by step: shared by the browser test and
docs/make_thread_screenshot.py, which photographs the last step for the README."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from bot.devtools.dev import demo

ANA = demo.PEOPLE[0][0]
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# How long the customer's message may take to show: the demo's threads look every 2 s.
MIRROR_WAIT_MS = 15_000
CUSTOMER_SAYS = "It still hasn't arrived. The invoice was paid on Friday."
REPLY = "Sorry about that! I've asked billing to resend the refund today."
NOTE = "Billing says the bank returned it: checking the IBAN."


def _type(page: Any, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def open_a_thread(page: Any, dev_url: str) -> Any:
    """As Ana: take and tag the most urgent demo conversation (a change posts its card in
    #support), press Thread, open the thread beside the channel; the pane's messages."""
    page.goto(f"{dev_url}/dev?user={ANA}&channel={demo.SUPPORT}")
    expect(page.get_by_test_id("composer")).to_be_visible()
    _type(page, "/conv list")
    listing = page.locator('[data-testid="message"][data-ephemeral="true"]').last
    expect(listing).to_contain_text("conversations")
    found = _ID.search(listing.inner_text())
    assert found, listing.inner_text()
    conversation = found.group(0)
    # Hers for sure (Reply needs the assignee; routing made it hers already, and then this
    # changes nothing), then a change the whole channel sees: its card (either card will do).
    _type(page, f"/conv take {conversation}")
    _type(page, f"/conv tag {conversation} refund")
    card = (
        page.locator('[data-testid="message"]:not([data-ephemeral])')
        .filter(has_text=conversation)
        .filter(has=page.get_by_role("button", name="Thread"))
        .last
    )
    expect(card).to_be_visible()
    card.get_by_role("button", name="Thread").click()
    replies = card.get_by_test_id("replies")
    expect(replies).to_be_visible()
    replies.click()
    pane = page.get_by_test_id("thread-messages")
    expect(page.get_by_test_id("thread-pane")).to_be_visible()
    # The transcript: the customer's first message, under the card.
    expect(pane).to_contain_text(re.compile("Can you help|second time|what should I do"))
    return pane


def customer_writes(page: Any, pane: Any) -> None:
    """Play the customer from the pane; their message arrives in the thread by itself."""
    box = page.get_by_test_id("customer-composer")
    box.fill(CUSTOMER_SAYS)
    box.press("Enter")
    expect(pane).to_contain_text(CUSTOMER_SAYS, timeout=MIRROR_WAIT_MS)


def agent_replies(page: Any, pane: Any) -> None:
    """Reply from the card in the pane (its buttons work there): the form, Send, the reply
    drawn in the thread."""
    root = pane.get_by_test_id("message").first
    root.get_by_role("button", name="Reply").click()
    form = page.get_by_role("dialog", name="Reply to the customer")
    form.get_by_label("Message to the customer").fill(REPLY)
    form.get_by_role("button", name="Send").click()
    sent = page.get_by_role("dialog", name="Reply sent")  # what Infobip said, in the form
    expect(sent).to_contain_text("accepted")
    sent.get_by_role("button", name="Done").click()
    expect(sent).to_be_hidden()
    expect(pane).to_contain_text(REPLY, timeout=MIRROR_WAIT_MS)


def colleague_writes(page: Any, pane: Any) -> None:
    """A person's own message in the thread (the bot receives it as Slack's `message` event)."""
    box = page.get_by_test_id("thread-composer")
    box.fill(NOTE)
    box.press("Enter")
    expect(pane.get_by_test_id("message").filter(has_text=NOTE)).to_be_visible()
