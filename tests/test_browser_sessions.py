"""A copied session cookie in a real browser: it works until the owner logs out, then it is
worth nothing (issue 11, item 2). Chromium through Playwright, as in test_browser.py."""

from __future__ import annotations

import re

import pytest

from .test_browser import Person

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}  # the browser sends the real forms


def test_a_copied_cookie_dies_with_the_owners_logout(app, browser, live_server, factory):
    owner = Person(browser, live_server, factory.user("recruiter"))
    owner.login()
    thief = browser.new_context(base_url=live_server)
    thief.add_cookies(owner.context.cookies())
    stolen = thief.new_page()
    stolen.goto("/")
    assert stolen.url.rstrip("/") == live_server  # the copy works while the session lives

    sessions = owner.page
    sessions.get_by_role("link", name="Your sessions").click()
    sessions.wait_for_url(re.compile(r"/account/sessions$"))
    assert sessions.get_by_text("(this browser)").is_visible()
    sessions.set_viewport_size({"width": 390, "height": 900})
    assert sessions.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    with owner.page.expect_navigation():
        owner.page.get_by_role("button", name="Log out everywhere").click()
    assert "every other device" in owner.flash()

    stolen.goto("/")
    assert "/login" in stolen.url
    assert "You were logged out" in stolen.locator(".flashes").inner_text()
    thief.close()
    owner.close()
