"""A new user's first minute with `convbot dev`, in a real browser.

Create a conversation with `/conv create`, see its card, press Take and see the card redrawn;
open the create form and get an inline error for an empty topic; escalate and acknowledge the
page from the DM; see the scheduled digest (every minute in the demo) arrive. A screenshot of
each step is kept (see conftest.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import expect

from bot.config import OpsConfig
from bot.dev import demo
from bot.oncall.rota import on_call
from tests.browser.conftest import shot

ANA = demo.PEOPLE[0][0]
DIGEST_WAIT_MS = 100_000  # the demo's digest runs every minute from the start


def _open(page: Any, dev_url: str, user: str = ANA) -> None:
    page.goto(f"{dev_url}/dev?user={user}&channel={demo.SUPPORT}")
    expect(page.get_by_test_id("composer")).to_be_visible()


def _type(page: Any, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def _card(page: Any, topic: str) -> Any:
    """The conversation card for `topic` in the channel (a message with a Take button)."""
    return (
        page.get_by_test_id("message")
        .filter(has_text=topic)
        .filter(has=page.get_by_role("button", name="Take", exact=True))
    )


def _on_call_now() -> str:
    """Who the demo's first schedule has on call now (Ana and Ben take a day each)."""
    schedule = OpsConfig.model_validate(demo.operations()).oncall.schedules[0]
    user = on_call(schedule, datetime.now(UTC))
    assert user is not None
    return user


def test_create_take_form_error_escalate_acknowledge_and_the_digest(
    page: Any, dev_url: str
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # Block Kit confirm dialogs
    _open(page, dev_url)
    shot(page, "01-support-channel")

    # /conv create: the card in the channel.
    _type(page, "/conv create Printer on fire priority:high")
    card = _card(page, "Printer on fire")
    expect(card).to_be_visible()
    expect(card).to_contain_text("High")
    shot(page, "02-card")

    # Take: the same card, redrawn with Ana as its agent.
    card.get_by_role("button", name="Take", exact=True).click()
    expect(card).to_contain_text("(edited)")
    expect(card).to_contain_text("@ana")
    shot(page, "03-card-taken")

    # The create form: an empty topic is refused beside the field, the form stays open.
    _type(page, "/conv create")
    form = page.get_by_role("dialog", name="New conversation")
    expect(form.get_by_label("Topic")).to_be_visible()
    form.get_by_role("button", name="Create").click()
    expect(form.get_by_role("alert")).to_contain_text("topic")
    shot(page, "04-form-inline-error")
    form.get_by_label("Topic").fill("Fax machine jammed")
    form.get_by_role("button", name="Create").click()
    expect(form).to_be_hidden()

    # Escalate an urgent one: whoever the demo's primary rotation has on call is paged in the DM.
    _type(page, "/conv create Checkout is down priority:urgent")
    urgent = _card(page, "Checkout is down")
    urgent.get_by_role("button", name="Escalate").click()
    on_call_user = _on_call_now()
    page.get_by_test_id("user-select").select_option(on_call_user)
    # Their own DM with the bot (the sidebar is redrawn for the person chosen).
    page.locator(f'[data-testid="channel-link"][data-channel-id="D{on_call_user[1:]}"]').click()
    paged = (
        page.get_by_test_id("message")
        .filter(has_text="Checkout is down")
        .filter(has=page.get_by_role("button", name="Acknowledge"))
    )
    expect(paged).to_be_visible()
    shot(page, "05-page-in-dm")
    paged.get_by_role("button", name="Acknowledge").click()
    acknowledged = page.get_by_test_id("message").filter(has_text="Acknowledged by")
    expect(acknowledged).to_be_visible()
    shot(page, "06-page-acknowledged")

    # The digest of open URGENT and HIGH conversations, posted by the scheduler in #support.
    page.get_by_test_id("channel-link").filter(has_text="support").click()
    digest = page.get_by_test_id("message").filter(
        has_text=re.compile("open high-priority conversations")
    )
    expect(digest.first).to_be_visible(timeout=DIGEST_WAIT_MS)
    digest.first.scroll_into_view_if_needed()
    shot(page, "07-digest")


def test_the_app_home_shows_what_is_assigned_to_you(page: Any, dev_url: str) -> None:
    _open(page, dev_url)
    page.get_by_test_id("home-link").click()
    home = page.get_by_test_id("home")
    expect(home).to_be_visible()
    expect(home.get_by_role("button", name=re.compile("Refresh"))).to_be_visible()
    shot(page, "08-app-home")
