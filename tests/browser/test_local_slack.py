"""A new user's first minute with `convbot dev`, in a real browser.

Create a conversation with `/conv create`, see its card, press Take and see the card redrawn;
open the create form and get an inline error for an empty topic; escalate and acknowledge the
page from the DM; see the scheduled digest (every minute in the demo) arrive, and be redrawn
in place rather than posted again. Then what keeps the page calm: the welcome, unread counts in
the sidebar, no old form error after a reload, long words wrapping, the bot's spaces kept, a
narrow window. A screenshot of each step is kept (see conftest.py); the README shows a few of
them, copied to docs/ by hand (local-slack-card, -form-error, -list, -home).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.config import OpsConfig
from bot.devtools.dev import demo
from bot.oncall.rota import on_call
from tests.browser.conftest import shot

# One `convbot dev` and one Chromium serve the whole module (conftest.py), its tests aware of
# each other: under `pytest -n`, they stay on one worker (`--dist loadgroup`, pyproject.toml).
pytestmark = pytest.mark.xdist_group("browser")

ANA = demo.PEOPLE[0][0]
CLEO = demo.PEOPLE[2][0]  # no other test acts as Cleo
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
    expect(digest.first).to_contain_text("@oncall")  # the user group by its handle, as Slack
    shot(page, "07-digest")
    # The next tick redraws the same message instead of posting another below everyone's work.
    expect(digest.first).to_contain_text("(edited)", timeout=DIGEST_WAIT_MS)
    expect(digest).to_have_count(1)


def test_the_app_home_shows_what_is_assigned_to_you(page: Any, dev_url: str) -> None:
    _open(page, dev_url)
    page.get_by_test_id("home-link").click()
    home = page.get_by_test_id("home")
    expect(home).to_be_visible()
    expect(home.get_by_role("button", name=re.compile("Refresh"))).to_be_visible()
    shot(page, "08-app-home")  # docs/local-slack-home.png


def test_the_list_answer(page: Any, dev_url: str) -> None:
    _open(page, dev_url)
    _type(page, "/conv list")
    listing = page.locator('[data-testid="message"][data-ephemeral="true"]').filter(
        has_text=re.compile("conversations", re.IGNORECASE)
    )
    expect(listing.last).to_be_visible()
    listing.last.evaluate("el => el.scrollIntoView({block: 'start'})")  # its first rows
    shot(page, "09-list")  # docs/local-slack-list.png


def _welcomes(page: Any) -> Any:
    return page.get_by_test_id("message").filter(has_text="Welcome to the convbot demo")


def test_support_opens_with_one_welcome_saying_what_to_try(page: Any, dev_url: str) -> None:
    _open(page, dev_url, CLEO)  # her first look: #support opens at its first unread message
    expect(_welcomes(page)).to_be_in_viewport()
    shot(page, "00-welcome")
    for _reload in range(2):
        expect(_welcomes(page)).to_have_count(1)
        for hint in ("/conv list", "/conv create", "Take", "App Home", "/conv help"):
            expect(_welcomes(page)).to_contain_text(hint)
        page.reload()
        expect(page.get_by_test_id("composer")).to_be_visible()
    expect(_welcomes(page)).to_have_count(1)


def test_a_page_in_a_dm_is_marked_unread_until_it_is_opened(page: Any, dev_url: str) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    on_call_user = _on_call_now()
    dm = f"D{on_call_user[1:]}"
    _open(page, dev_url, on_call_user)
    dm_link = page.locator(f'[data-testid="channel-link"][data-channel-id="{dm}"]')
    dm_link.click()  # whatever was there before is read
    expect(dm_link.get_by_test_id("unread-count")).to_have_count(0)
    page.get_by_test_id("channel-link").filter(has_text="support").click()

    _type(page, "/conv create Lift stuck on floor 3 priority:urgent")
    _card(page, "Lift stuck on floor 3").get_by_role("button", name="Escalate").click()
    # The page arrives in the DM while #support is on screen: bold, with a count.
    expect(dm_link.get_by_test_id("unread-count")).to_have_text(re.compile(r"^[1-9]"))
    expect(dm_link).to_have_class(re.compile(r"\bunread\b"))
    shot(page, "10-unread-dm")
    dm_link.click()
    expect(page.get_by_test_id("message").filter(has_text="Lift stuck on floor 3")).to_be_visible()
    expect(dm_link.get_by_test_id("unread-count")).to_have_count(0)
    expect(dm_link).not_to_have_class(re.compile(r"\bunread\b"))


def test_a_reload_after_a_form_error_shows_no_error(page: Any, dev_url: str) -> None:
    _open(page, dev_url)
    _type(page, "/conv create")
    form = page.get_by_role("dialog", name="New conversation")
    expect(form.get_by_label("Topic")).to_be_visible()
    form.get_by_role("button", name="Create").click()
    expect(form.get_by_test_id("input-error")).to_be_visible()
    page.reload()
    form = page.get_by_role("dialog", name="New conversation")
    expect(form.get_by_label("Topic")).to_be_visible()  # still open, as nothing closed it
    expect(page.get_by_test_id("input-error")).to_have_count(0)
    shot(page, "11-form-after-reload")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_be_hidden()


def test_long_words_wrap_and_the_bots_spaces_are_kept(page: Any, dev_url: str) -> None:
    _open(page, dev_url)
    word = "https://example.com/" + "a" * 280
    _type(page, f"/conv create {word} priority:low")
    expect(page.get_by_test_id("message").filter(has_text="example.com/aaaa").first).to_be_visible()
    _type(page, '/conv create "Spaces   kept   here" priority:low')
    card = page.get_by_test_id("message").filter(has_text=re.compile(r"Spaces\s+kept"))
    expect(card.first).to_be_visible()
    shot(page, "12-long-word-and-spaces")
    messages = page.get_by_test_id("messages")
    widths = messages.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], f"the channel scrolls sideways: {widths}"
    assert "Spaces   kept   here" in card.first.inner_text()


def test_a_narrow_window_still_shows_the_message_box_and_send(browser: Any, dev_url: str) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 700})
    try:
        page = context.new_page()
        _open(page, dev_url)
        for control in (page.get_by_test_id("composer"), page.get_by_role("button", name="Send")):
            expect(control).to_be_in_viewport()
            box = control.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400, box
            assert box["y"] + box["height"] <= 700, box
        widths = page.get_by_test_id("messages").evaluate("el => [el.scrollWidth, el.clientWidth]")
        assert widths[0] <= widths[1], f"the channel scrolls sideways: {widths}"
        shot(page, "13-narrow-window")
    finally:
        context.close()
