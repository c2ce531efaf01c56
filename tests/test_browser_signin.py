"""Two-factor enrolment and sign-in, and single sign-on, in a real browser (CSP on: the
QR code is server-side SVG, the flows need no script)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from hiring import services

from .oidc_provider import Provider

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"


def new_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_enrol_then_sign_in_with_a_code(browser, live_server, factory, monkeypatch):
    now = [datetime.now(UTC).replace(microsecond=0)]
    monkeypatch.setattr(services.core, "utcnow", lambda: now[0])
    user = factory.user("manager", email="mona@example.com")
    context, page, errors = new_page(browser, live_server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto("/login")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Two-factor sign-in").click()
    qr = page.locator("figure.totp-qr svg")
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 100 and box["height"] >= 100
    page.screenshot(path=str(SCREENSHOTS / "two-factor-enrolment.png"), full_page=True)
    key = page.locator("code.totp-key").inner_text().replace(" ", "")
    page.locator("#code").fill(pyotp.TOTP(key).at(now[0]))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=str(SCREENSHOTS / "two-factor-recovery-codes.png"), full_page=True)

    page.get_by_role("button", name=re.compile("Log out")).click()
    page.wait_for_url(re.compile(r"/login"))
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    now[0] += timedelta(seconds=30)
    page.locator("#code").fill(pyotp.TOTP(key).at(now[0]))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "Mona" in page.locator(".whoami").inner_text() or user.name in page.content()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


@pytest.fixture
def oidc():
    provider = Provider()
    server, thread = provider.serve()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def app_config(oidc):
    return {"OIDC_ISSUER": oidc.issuer, "OIDC_CLIENT_ID": oidc.client.client_id,
            "OIDC_CLIENT_SECRET": oidc.client.client_secret, "OIDC_NAME": "Test IdP"}


def test_sign_in_with_the_identity_provider(app, browser, live_server, oidc, factory):
    app.config["BASE_URL"] = live_server
    oidc.client.redirect_uris = [f"{live_server}/login/sso/callback"]
    user = factory.user("recruiter", email="rita@example.com")
    oidc.identity = {"sub": "rita", "email": "rita@example.com", "email_verified": True}
    context, page, errors = new_page(browser, live_server)

    page.goto("/board")
    page.get_by_role("button", name="Sign in with Test IdP").click()  # a link styled as a button
    page.wait_for_url(re.compile(r"/board$"))
    assert user.name in page.content()
    assert "/authorize" in oidc.requests and "/token" in oidc.requests
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
