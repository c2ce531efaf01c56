"""The Emails page in a real Chromium: the list fits the screen, the email renders inside
its sandboxed frame, and neither page's CSP blocks anything we ship."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hiring import mailer
from hiring.extensions import db
from hiring.models import OutboxEmail, utcnow
from hiring.pipeline import Stage

from .test_browser_pages import Session

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_emails_page_lists_and_renders_emails(live_server, browser, factory, width):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    position = factory.position(owner=recruiter)
    factory.application(Stage.FIRST_INTERVIEW, position=position, at=utcnow())
    mailer.relay_outbox(utcnow())  # no SMTP server in tests: not delivered, and shown as such
    invitation = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "interview_invitation"))

    tab = Session(browser, live_server, width)
    tab.login(recruiter)
    page = tab.visit("/emails/", "emails")
    assert page.get_by_role("heading", name="Emails").is_visible()
    assert page.get_by_text("not delivered: no SMTP server configured").first.is_visible()
    assert tab.fits_the_width(), "the emails list scrolls sideways"

    page = tab.visit(f"/emails/{invitation.id}", "email-detail")
    frame = page.frame_locator("iframe.email-preview")
    assert frame.get_by_text("we would like to invite you to your first interview").is_visible()
    assert frame.get_by_text("Room 1").is_visible()
    assert page.get_by_role("button", name="Send again").is_visible()
    tab.shot("email-detail")
    assert tab.errors == []
