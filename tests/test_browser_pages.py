"""The main pages in a real Chromium against a live server: they render without console
errors (so the CSP blocks nothing we ship), work at desktop and phone width, forms keep
input and show errors, and screenshots land in test-artifacts/screenshots/ for a look."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hiring.extensions import db
from hiring.models import Application, Candidate, utcnow
from hiring.pipeline import Stage

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"


class Session:
    """One user's browser tab that records console errors and takes screenshots."""

    def __init__(self, browser, base_url: str, width: int):
        self.base_url = base_url
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.width = width

    def login(self, user) -> None:
        self.page.goto(self.base_url + "/login")
        self.page.locator("#email").fill(user.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.base_url + "/")

    def visit(self, path: str, shot: str):
        response = self.page.goto(self.base_url + path)
        assert response.status == 200, path
        self.shot(shot)
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.width}.png"), full_page=True)

    def fits_the_width(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def team(factory):
    admin = factory.user("admin", name="Ada Admin")
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    manager = factory.user("manager", name="Mona Manager")
    ivan = factory.user("interviewer", name="Ivan Interviewer")
    ines = factory.user("interviewer", name="Ines Interviewer")
    position = factory.position(title="Embedded Software Engineer", owner=recruiter, hiring_manager=manager)
    now = utcnow()
    for stage, days in (("applied", 16), ("applied", 2), ("first_decision", 1), ("second_interview", 3),
                        ("final_decision", 1), ("offer", 5)):
        factory.application(stage, position=position, panel=[ivan, ines], at=now - timedelta(days=days),
                            recommendations=["", "yes"] if stage == "first_decision" else ["yes", "yes"])
    return {"admin": admin, "recruiter": recruiter, "manager": manager, "ivan": ivan, "position": position}


@pytest.mark.parametrize("width", [1280, 390])
def test_main_pages_render_cleanly(live_server, browser, team, width):
    recruiter = Session(browser, live_server, width)
    recruiter.login(team["recruiter"])
    dashboard = recruiter.visit("/", "dashboard-recruiter")
    assert dashboard.get_by_role("heading", name="Needs attention").is_visible()
    assert dashboard.get_by_text("days overdue").first.is_visible()
    assert recruiter.fits_the_width(), "the dashboard scrolls sideways"
    board = recruiter.visit("/board", "board")
    assert board.get_by_role("heading", name="Applied (2)").is_visible()
    recruiter.visit("/candidates/", "candidates")
    assert recruiter.fits_the_width()
    recruiter.visit("/positions/", "positions")
    assert recruiter.fits_the_width()
    recruiter.visit("/candidates/new-application", "new-application")
    # The application page with the panel's notes: on a phone the panel table stacks instead
    # of squeezing the notes into a sliver and running off the right edge.
    final = db.session.scalar(db.select(Application).where(Application.stage == Stage.FINAL_DECISION))
    for feedback in final.current_interview().feedback:
        feedback.notes = "Strong on RTOS scheduling, explained priority inversion with a real example."
    db.session.commit()
    page = recruiter.visit(f"/applications/{final.id}", "application-final-decision")
    assert recruiter.fits_the_width()
    notes = page.locator(".panel-table td.notes").first
    assert notes.is_visible() and notes.evaluate("td => td.getBoundingClientRect().right") <= width
    if width < 640:
        assert notes.evaluate("td => td.getBoundingClientRect().width") > width / 2
    assert recruiter.errors == []

    interviewer = Session(browser, live_server, width)
    interviewer.login(team["ivan"])
    page = interviewer.visit("/", "dashboard-interviewer")
    assert page.get_by_text("Awaiting my feedback").first.is_visible()
    interviewer.visit("/interviews/mine", "my-interviews")
    forbidden = interviewer.page.goto(live_server + "/board")
    assert forbidden.status == 403
    interviewer.shot("forbidden")
    assert interviewer.errors == [] or all("403" in e for e in interviewer.errors)

    admin = Session(browser, live_server, width)
    admin.login(team["admin"])
    admin.visit("/admin/settings", "settings")
    admin.visit("/admin/users", "users")
    assert admin.fits_the_width()
    assert admin.errors == []

    manager = Session(browser, live_server, width)
    manager.login(team["manager"])
    assert manager.visit("/", "dashboard-manager").get_by_text("Awaiting my offer decision").is_visible()
    assert manager.errors == []


def test_new_application_form_in_the_browser(live_server, browser, team, tmp_path):
    session = Session(browser, live_server, 1280)
    session.login(team["recruiter"])
    page = session.page
    page.goto(live_server + "/candidates/new-application")
    page.get_by_label("Candidate name").fill("Bea Browser")
    page.locator("#email").fill("not an email")
    page.get_by_role("button", name="Save application").click()
    assert page.get_by_text("Enter a valid email address.").is_visible()
    assert page.get_by_label("Candidate name").input_value() == "Bea Browser"  # the input is kept
    session.shot("new-application-error")
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(b"%PDF-1.4\n% a tiny CV\n")
    page.locator("#email").fill("bea@example.org")
    page.get_by_label("CV or other document").set_input_files(str(cv))
    page.get_by_role("button", name="Save application").click()
    page.wait_for_load_state()
    application = db.session.scalar(db.select(Application).join(Candidate).where(Candidate.email == "bea@example.org"))
    assert application is not None and page.url.endswith(f"/applications/{application.id}")


def test_keyboard_users_can_skip_to_content_and_see_focus(live_server, browser, team):
    session = Session(browser, live_server, 1280)
    session.login(team["recruiter"])
    page = session.page
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_text("Skip to content")
    assert skip.is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_panel_picker_and_board_filters_suggest_as_one_types(live_server, browser, team, factory):
    from datetime import datetime

    from hiring.settings import get_policy

    olga = factory.user("interviewer", name="Olga Outsider")  # never on a panel for this position
    application = factory.application(Stage.APPLIED, position=team["position"])
    session = Session(browser, live_server, 1280)
    session.login(team["recruiter"])
    page = session.page
    page.goto(f"{live_server}/applications/{application.id}")
    form = page.locator("#schedule form")
    assert form.get_by_label("Ivan Interviewer (interviewer)", exact=True).count() == 1  # suggested
    assert form.get_by_label("Olga Outsider (interviewer)", exact=True).count() == 0  # not listed
    more = form.locator("#schedule-panel_more")
    more.press_sequentially("Ine", delay=50)  # a few letters: the team members who match
    page.locator("#schedule-panel_more-list option").first.wait_for(state="attached")
    assert "Ines Interviewer (interviewer)" in page.locator("#schedule-panel_more-list").inner_html()
    more.fill(olga.email)  # a whole email (as picking a suggestion does): a ticked box, the field emptied
    box = form.get_by_label("Olga Outsider (interviewer)", exact=True)
    box.wait_for()
    assert box.is_checked() and more.input_value() == ""
    day = (datetime.now(get_policy().tz) + timedelta(days=2)).date().isoformat()
    form.locator("#schedule-day").fill(day)
    form.locator("#schedule-start").fill("10:00")
    form.get_by_label("Place", exact=True).fill("Room Ada")
    with page.expect_navigation():
        form.get_by_role("button", name="Schedule and invite the candidate").click()
    assert "Interview scheduled" in page.content()
    db.session.expire_all()
    assert db.session.get(Application, application.id).current_interview().panel_user_ids == [olga.id]

    page.goto(live_server + "/board")
    page.locator("#filter-position").press_sequentially("Embed", delay=50)
    page.locator("#filter-position-list option").first.wait_for(state="attached")
    assert page.locator("#filter-position-list option").first.get_attribute("value") == "Embedded Software Engineer"
    page.locator("#filter-position").fill("Embedded Software Engineer")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "Pipeline board: Embedded Software Engineer" in page.content()
    assert session.errors == []
