"""The whole embeddeers process through a real browser, with screenshots of the main pages.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright for Python; the app is
served by werkzeug on 127.0.0.1 from a thread, on the test database (fixtures
``browser`` and ``live_server`` in conftest).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hiring import services
from hiring.extensions import db
from hiring.models import Application, OutboxEmail
from hiring.pipeline import Stage
from hiring.settings import get_policy

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return take


def local_date(days_from_today: int) -> str:
    return (datetime.now(get_policy().tz) + timedelta(days=days_from_today)).date().isoformat()


class Person:
    """One team member in their own browser context (own cookies)."""

    def __init__(self, browser, base_url: str, user, width: int = 1280):
        self.context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.user = user
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        # Irreversible steps ask in a dialog (static/confirm.js): answered OK unless a test
        # sets ``answer`` to False; every question is kept in ``dialogs``.
        self.dialogs: list[str] = []
        self.answer = True
        self.page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        if self.answer:
            dialog.accept()
        else:
            dialog.dismiss()

    def login(self) -> None:
        page = self.page
        page.goto("/login")
        page.locator("#email").fill(self.user.email)
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/$"))

    def open(self, application_id: int) -> None:
        response = self.page.goto(f"/applications/{application_id}")
        assert response is not None and response.status == 200, response and response.status

    def submit(self, form_selector: str, button: str) -> None:
        form = self.page.locator(form_selector)
        with self.page.expect_navigation():
            form.get_by_role("button", name=button).click()

    def flash(self) -> str:
        return self.page.locator(".flashes").inner_text()

    def close(self) -> None:
        assert not [e for e in self.errors if "Content Security Policy" in e], self.errors
        self.context.close()


def _interview_has_begun(application_id: int) -> None:
    """The test cannot wait for the interview's time: it moves the current interview to when
    the stage began (so "held" at its start is neither before the start nor before the stage)."""
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    application.current_interview().scheduled_at = application.stage_entered_at
    db.session.commit()


def _stage(application_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Application, application_id).stage


def test_whole_process_in_the_browser(app, browser, live_server, factory, screenshot, tmp_path):
    admin = factory.user("admin", name="Ada Admin", email="ada@example.com")
    recruiter = factory.user("recruiter", name="Rita Recruiter", email="rita@example.com")
    interviewer1 = factory.user("interviewer", name="Ivo Interviewer", email="ivo@example.com")
    interviewer2 = factory.user("interviewer", name="Ina Interviewer", email="ina@example.com")
    manager = factory.user("manager", name="Max Manager", email="max@example.com")
    position = services.create_position("Embedded Software Engineer", department="Firmware", owner_id=recruiter.id,
                                        hiring_manager_id=manager.id, actor=admin)
    # Some context on the board and dashboard besides the walk-through's candidate.
    factory.application(Stage.FIRST_DECISION, position=position, panel=[interviewer1, interviewer2],
                        recommendations=["yes", None], at=datetime.now(get_policy().tz) - timedelta(days=9))
    cv = tmp_path / "Lena Vogel CV.pdf"
    cv.write_bytes(PDF)

    login_page = Person(browser, live_server, recruiter)
    login_page.page.goto("/login")
    screenshot(login_page.page, "login")
    login_page.close()

    rita = Person(browser, live_server, recruiter)
    rita.login()
    page = rita.page

    # New application, with the CV.
    page.goto("/candidates/new-application")
    page.locator("#position_id").select_option(label="Embedded Software Engineer")
    page.locator("#name").fill("Lena Vogel")
    page.locator("#email").fill("lena.vogel@example.org")
    page.locator("input[type=file]").set_input_files(str(cv))
    with page.expect_navigation():
        page.get_by_role("button", name="Save application").click()
    match = re.search(r"/applications/(\d+)$", page.url)
    assert match, page.url
    application_id = int(match.group(1))
    assert "Lena Vogel CV.pdf" in page.locator("#documents").inner_text()
    assert "Candidate told: answer by" in page.locator(".promise").inner_text()
    screenshot(page, "application-1-applied")

    # First interview, panel of two.
    form = page.locator("#schedule form")
    form.locator("#schedule-day").fill(local_date(2))
    form.locator("#schedule-start").fill("10:00")
    form.get_by_label("Place", exact=True).fill("Room Ada, 2nd floor")
    form.get_by_label("Ivo Interviewer (interviewer)", exact=True).check()
    form.get_by_label("Ina Interviewer (interviewer)", exact=True).check()
    rita.submit("#schedule form", "Schedule and invite the candidate")
    assert "Interview scheduled" in rita.flash()
    assert _stage(application_id) == "first_interview"
    screenshot(page, "application-2-first-interview")

    # Before its time the interview cannot be marked held; once it has begun, it can (the
    # form suggests its start).
    assert page.locator("[id^=held-] form").count() == 0
    assert "Once it has taken place, mark it as held here" in page.locator("[id^=upcoming-]").inner_text()
    _interview_has_begun(application_id)
    rita.open(application_id)
    held = page.locator("[id^=held-] form")
    rita.submit("[id^=held-] form", "Mark as held")
    assert held.count() == 0 and _stage(application_id) == "first_decision"

    # Both interviewers give feedback; each sees the other's only after their own.
    ivo = Person(browser, live_server, interviewer1)
    ivo.login()
    ivo.open(application_id)
    assert "Your feedback on the first interview" in ivo.page.content()
    ivo.page.locator("[id^=feedback-] form").get_by_label("Yes", exact=True).check()
    ivo.page.locator("[id^=feedback-] form").get_by_label("Notes", exact=True).fill("Solid embedded C, good questions.")
    ivo.submit("[id^=feedback-] form", "Submit feedback")
    assert "feedback is recorded" in ivo.flash()

    ina = Person(browser, live_server, interviewer2)
    ina.login()
    ina.open(application_id)
    assert "Solid embedded C" not in ina.page.content()
    screenshot(ina.page, "application-3-feedback-hidden-until-own")
    ina.page.locator("[id^=feedback-] form").get_by_label("Strong yes", exact=True).check()
    ina.submit("[id^=feedback-] form", "Submit feedback")
    assert "Solid embedded C" in ina.page.content()
    assert "Who said what" in ina.page.content()
    screenshot(ina.page, "application-4-who-said-what")

    # The debrief: invite to the second interview.
    rita.open(application_id)
    decision = page.locator("#decision form")
    decision.get_by_label("Invite to the second interview", exact=True).check()
    decision.get_by_label("Rationale (internal)", exact=True).fill("Both yes; strong on RTOS.")
    rita.submit("#decision form", "Record the decision")
    assert _stage(application_id) == "second_interview"

    form = page.locator("#schedule form")
    form.locator("#schedule-day").fill(local_date(5))
    form.locator("#schedule-start").fill("14:30")
    form.locator("#schedule-duration_minutes").fill("90")
    form.get_by_label("Video link", exact=True).fill("https://meet.example.com/lena")
    form.get_by_label("Ivo Interviewer (interviewer)", exact=True).check()
    form.get_by_label("Ina Interviewer (interviewer)", exact=True).check()
    rita.submit("#schedule form", "Schedule and invite the candidate")
    assert "Interview scheduled" in rita.flash()
    _interview_has_begun(application_id)
    rita.open(application_id)
    rita.submit("[id^=held-] form", "Mark as held")
    assert _stage(application_id) == "final_decision"

    for person, recommendation in ((ivo, "Yes"), (ina, "Strong yes")):
        person.open(application_id)
        person.page.locator("[id^=feedback-] form").get_by_label(recommendation, exact=True).check()
        person.submit("[id^=feedback-] form", "Submit feedback")
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    assert application.verdict == "clear_hire"
    assert OutboxEmail.query.filter_by(application_id=application_id, template="approval_request").count() == 1

    # The recruiter cannot make the offer; the manager can.
    rita.open(application_id)
    assert "Record the offer decision" not in page.content()
    screenshot(page, "application-5-offer-decision-recruiter")

    max_ = Person(browser, live_server, manager)
    max_.login()
    screenshot(max_.page, "dashboard-manager")
    max_.open(application_id)
    assert "Clear recommendation to hire" in max_.page.content()
    offer = max_.page.locator("#offer-decision form")
    offer.get_by_label("Make the offer", exact=True).check()
    offer.get_by_label("Rationale", exact=True).fill("Agreed: salary band B.")
    max_.submit("#offer-decision form", "Record the offer decision")
    assert max_.dialogs == ["Make Lena Vogel the offer? The candidate is told at once; this cannot be undone."]
    assert _stage(application_id) == "offer"

    # Accepted.
    rita.open(application_id)
    response = page.locator("#offer-response form")
    response.get_by_label("Accepted the offer", exact=True).check()
    rita.submit("#offer-response form", "Record the answer")
    assert _stage(application_id) == "hired"
    timeline = page.locator("#timeline").inner_text()
    for entry in ("Application received", "First interview held", "Invited to the second interview",
                  "Second interview held", "Offer made", "Offer accepted", "Our offer – Embedded Software Engineer"):
        assert entry in timeline, entry
    screenshot(page, "application-6-hired")

    # The other main pages, for a look.
    page.goto("/")
    screenshot(page, "dashboard-recruiter")
    page.goto("/board")
    screenshot(page, "board")
    page.goto("/candidates/")
    screenshot(page, "candidates")

    ada = Person(browser, live_server, admin)
    ada.login()
    ada.page.goto("/admin/settings")
    screenshot(ada.page, "settings")

    phone = Person(browser, live_server, recruiter, width=390)
    phone.login()
    phone.open(application_id)
    screenshot(phone.page, "application-phone")
    screenshot(phone.page, "application-phone-first-screen", full_page=False)
    phone.page.goto("/")
    screenshot(phone.page, "dashboard-phone")
    # Nothing wider than the phone's screen.
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390 + 1

    for person in (rita, ivo, ina, max_, ada, phone):
        person.close()


def test_stale_form_in_the_browser_keeps_the_input(app, browser, live_server, factory):
    """Two recruiters on one application: the second one's form is stale, and says so."""
    first = factory.user("recruiter", name="Rita Recruiter")
    second = factory.user("recruiter", name="Rob Recruiter")
    application = factory.application(Stage.FIRST_DECISION, position=factory.position(owner=first),
                                      at=datetime.now(get_policy().tz) - timedelta(hours=1),
                                      recommendations=["yes", "no"])
    rita, rob = Person(browser, live_server, first), Person(browser, live_server, second)
    rita.login()
    rob.login()
    rita.open(application.id)
    rob.open(application.id)
    rob.page.locator("#decision form").get_by_label("Reject", exact=True).check()
    rob.page.locator("#decision form").get_by_label("Rationale (internal)", exact=True).fill("Rob's long debrief notes")

    rita.page.locator("#decision form").get_by_label("Invite to the second interview", exact=True).check()
    rita.submit("#decision form", "Record the decision")
    assert _stage(application.id) == "second_interview"

    rob.page.locator("#decision form").get_by_role("button", name="Record the decision").click()
    rob.page.wait_for_load_state()
    assert "Someone else changed this application" in rob.page.content()
    # The decision is now only "reject" (in More actions); Rob's text is still in it.
    assert rob.page.locator("#decision-rationale").input_value() == "Rob's long debrief notes"
    assert rob.page.locator("#reject").get_attribute("open") is not None
    assert _stage(application.id) == "second_interview"
    rita.close()
    rob.close()


def test_irreversible_steps_ask_first_in_the_browser(app, browser, live_server, factory):
    admin = factory.user("admin", name="Ada Admin")
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    position = factory.position(owner=recruiter, title="Firmware Engineer")
    application = factory.application(Stage.FIRST_DECISION, position=position, recommendations=["yes", "no"],
                                      at=datetime.now(get_policy().tz) - timedelta(hours=1))
    rita = Person(browser, live_server, recruiter)
    rita.login()
    rita.open(application.id)
    form = rita.page.locator("#decision form")
    form.get_by_label("Reject", exact=True).check()
    form.get_by_label("Rationale (internal)", exact=True).fill("Not enough embedded C.")
    rita.answer = False  # "Cancel" in the dialog: nothing is sent
    form.get_by_role("button", name="Record the decision").click()
    rita.page.wait_for_timeout(300)
    name = application.candidate.name
    assert rita.dialogs == [f"Reject {name}? The candidate is told at once; this cannot be undone."]
    assert _stage(application.id) == "first_decision"
    assert form.get_by_label("Rationale (internal)", exact=True).input_value() == "Not enough embedded C."
    rita.answer = True
    rita.submit("#decision form", "Record the decision")
    assert _stage(application.id) == "rejected"
    assert len(rita.dialogs) == 2  # asked once more, and only once: the box was ticked by the answer

    # Advancing in the debrief is no irreversible step: no question.
    other = factory.application(Stage.FIRST_DECISION, position=position, recommendations=["yes", "yes"],
                                at=datetime.now(get_policy().tz) - timedelta(hours=1))
    rita.open(other.id)
    rita.page.locator("#decision form").get_by_label("Invite to the second interview", exact=True).check()
    rita.submit("#decision form", "Record the decision")
    assert _stage(other.id) == "second_interview" and len(rita.dialogs) == 2

    # Deactivating a team member and closing a position ask too.
    ada = Person(browser, live_server, admin)
    ada.login()
    ada.page.goto(f"/admin/users?q={recruiter.email}")
    with ada.page.expect_navigation():
        ada.page.get_by_role("button", name="Deactivate Rita Recruiter").click()
    assert ada.dialogs == ["Deactivate Rita Recruiter? They can no longer log in."]
    db.session.expire_all()
    assert db.session.get(type(recruiter), recruiter.id).active is False
    ada.page.goto("/positions/")
    ada.answer = False
    ada.page.get_by_role("button", name="Close Firmware Engineer").click()
    ada.page.wait_for_timeout(300)
    assert ada.dialogs[-1] == "Close “Firmware Engineer”? It takes no new applications."
    db.session.expire_all()
    assert db.session.get(type(position), position.id).status == "open"
    ada.answer = True
    with ada.page.expect_navigation():
        ada.page.get_by_role("button", name="Close Firmware Engineer").click()
    db.session.expire_all()
    assert db.session.get(type(position), position.id).status == "closed"
    rita.close()
    ada.close()


def test_a_side_form_error_takes_the_focus_and_is_summarised_at_the_top(app, browser, live_server, factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    application = factory.application(Stage.FIRST_DECISION, position=factory.position(owner=recruiter),
                                      at=datetime.now(get_policy().tz) - timedelta(hours=1))
    rita = Person(browser, live_server, recruiter)
    rita.login()
    rita.page.goto(f"/applications/{application.id}?action=extend#extend")
    rita.page.locator("#extend-reason").fill("The hiring manager is travelling.")
    rita.submit("#extend form", "Extend and tell the candidate")
    page = rita.page
    assert page.evaluate("document.activeElement.id") == "extend-until"
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert summary.locator("a").inner_text() == "New answer date: Choose the new date."
    assert summary.bounding_box()["y"] < page.locator("#extend").bounding_box()["y"]
    assert page.locator("#extend-reason").input_value() == "The hiring manager is travelling."
    page.locator("#extend-reason").focus()
    summary.locator("a").click()
    assert page.url.endswith("#extend-until")
    rita.close()


def test_the_panel_picker_takes_a_unique_first_name(app, browser, live_server, factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    otto = factory.user("interviewer", name="Otto Outsider")
    factory.user("interviewer", name="Ina Interviewer")
    factory.user("interviewer", name="Ina Ivanova")
    application = factory.application(Stage.APPLIED, position=factory.position(owner=recruiter))
    rita = Person(browser, live_server, recruiter)
    rita.login()
    rita.open(application.id)
    more = rita.page.locator("#schedule-panel_more")
    more.fill("otto")
    rita.page.locator("#schedule-panel_more-list option").first.wait_for(state="attached")
    more.press("Enter")
    box = rita.page.locator(f"#schedule input[type=checkbox][value='{otto.id}']")
    assert box.is_checked()
    assert more.input_value() == ""
    # A first name two people share is not picked: Enter leaves it for the server to explain.
    more.fill("ina")
    rita.page.locator("#schedule-panel_more-list option").nth(1).wait_for(state="attached")
    form = rita.page.locator("#schedule form")
    form.locator("#schedule-day").fill(local_date(2))
    form.locator("#schedule-start").fill("10:00")
    form.get_by_label("Place", exact=True).fill("Room 1")
    rita.submit("#schedule form", "Schedule and invite the candidate")
    assert "2 people have the first name “ina”" in rita.page.locator("#schedule-panel_more-error").inner_text()
    assert rita.page.evaluate("document.activeElement.id") == "schedule-panel_more"
    assert rita.page.locator(f"#schedule input[type=checkbox][value='{otto.id}']").is_checked()  # kept
    rita.close()
