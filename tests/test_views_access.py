"""Every page × every role: allowed → 200, forbidden → the friendly 403 without data,
anonymous → the login page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hiring import services
from hiring.pipeline import InvalidInput, Stage

ALL = {"admin", "recruiter", "interviewer", "manager"}
VIEWERS = {"admin", "recruiter", "manager"}
EDITORS = {"admin", "recruiter"}

# (path template, roles allowed to GET it)
PAGES = [
    ("/", ALL),
    ("/board", VIEWERS),
    ("/positions/{position}/board", VIEWERS),
    ("/candidates/", VIEWERS),
    ("/candidates/new-application", EDITORS),
    ("/positions/", VIEWERS),
    ("/positions/new", EDITORS),
    ("/positions/{position}/edit", EDITORS),
    ("/interviews/mine", ALL),
    ("/admin/settings", {"admin"}),
    ("/admin/users", {"admin"}),
]

# (path template, form data, roles allowed to POST it) — forbidden roles must change nothing
POSTS = [
    ("/positions/{position}/close", {"confirmed": "1"}, EDITORS),
    ("/positions/new", {"title": "Firmware Lead", "owner_id": "0", "hiring_manager_id": "0"}, EDITORS),
    ("/admin/settings", {"applied_days": "10"}, {"admin"}),
    ("/admin/users", {"name": "N", "email": "n@example.com", "role": "interviewer",
                      "password": "long enough passphrase"},
     {"admin"}),
    ("/admin/users/{other}/active", {"active": "0", "confirmed": "1"}, {"admin"}),
    ("/admin/users/{other}/role", {"uX-role": "manager"}, {"admin"}),
    ("/admin/users/{other}/password", {"pX-password": "a new long one"}, {"admin"}),
    ("/candidates/new-application", {"position_id": "{position}", "name": "Ada", "email": "ada@example.org",
                                     "language": "en"}, EDITORS),
]


@pytest.fixture
def world(factory):
    admin = factory.user("admin", name="Secret Admin")
    position = factory.position(title="Confidential Role")
    application = factory.application(Stage.FIRST_INTERVIEW, position=position)
    other = factory.user("interviewer", name="Other Person")
    return {"admin": admin, "position": position, "application": application, "other": other,
            "fmt": {"position": position.id, "other": other.id}}


def _user_for(role, world, factory):
    if role == "admin":
        return world["admin"]
    return factory.user(role)


SETTINGS = {"applied_days": "10", "first_decision_days": "7", "second_interview_days": "14",
            "final_decision_days": "7", "offer_days": "7", "holiday_country": "DE", "timezone": "Europe/Berlin",
            "due_soon_days": "2", "team_lead_days": "1", "delay_notice_hour": "9",
            "delay_notice_extension_days": "5", "max_automatic_delays": "2", "record_interview_hours": "24",
            "digest_weekday": "0", "digest_hour": "8"}
POSTS[2] = ("/admin/settings", SETTINGS, {"admin"})


# One test per role walks every page (building the data once per role keeps the suite fast).
@pytest.mark.parametrize("role", sorted(ALL))
def test_get_pages_by_role(client, login, factory, world, role):
    login(_user_for(role, world, factory))
    for path, allowed in PAGES:
        path = path.format(**world["fmt"])
        response = client.get(path)
        html = response.get_data(as_text=True)
        if role in allowed:
            assert response.status_code == 200, (path, role, html[:300])
            assert "<h1" in html
        else:
            assert response.status_code == 403, (path, role)
            assert "Not for your role" in html, path
            assert "Confidential Role" not in html and "Secret Admin" not in html, path


def test_anonymous_get_goes_to_login(client, world):
    for path, _ in PAGES:
        response = client.get(path.format(**world["fmt"]))
        assert response.status_code == 302, path
        assert "/login?next=" in response.headers["Location"], path


@pytest.mark.parametrize("role", sorted(ALL))
def test_posts_by_role(client, login, factory, world, role):
    """Allowed POSTs change something (and audit it); forbidden ones answer 403 and change nothing."""
    from hiring.extensions import db
    from hiring.models import AuditEvent

    login(_user_for(role, world, factory))
    for path, data, allowed in reversed(POSTS):  # closing the position comes last
        path = path.format(**world["fmt"])
        other = world["other"].id
        data = {k.replace("uX", f"u{other}").replace("pX", f"p{other}"): v.format(**world["fmt"])
                for k, v in data.items()}
        before = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
        response = client.post(path, data=data)
        after = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
        if role in allowed:
            assert response.status_code == 302, (path, role, response.get_data(as_text=True)[:800])
            assert after > before, path
        else:
            assert response.status_code == 403, (path, role)
            assert after == before, path


def test_anonymous_post_goes_to_login(client, world):
    for path, _, _ in POSTS:
        response = client.post(path.format(**world["fmt"]), data={})
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"], path


# --- input no page may turn into a 500 -----------------------------------------------------

HUGE = "99999999999999999999"  # past any id, and past what SQLite can even bind


@pytest.mark.parametrize("path, status", [
    (f"/applications/{HUGE}", 404),
    (f"/applications/{{application}}/documents/{HUGE}", 404),
    (f"/positions/{HUGE}/board", 404),
    (f"/emails/{HUGE}", 404),
    (f"/candidates/new-application?candidate={HUGE}&position={HUGE}", 404),
    (f"/candidates/?page={HUGE}", 404),
    (f"/emails/?page={HUGE}", 404),
    (f"/board?position={HUGE}&owner={HUGE}", 404),
    ("/board?position=%C2%B2", 200),  # '²' passes str.isdigit() but not int(): no number, ignored
    ("/board?page=abc", 200),
    # Past the integer columns (issue 11, item 6): each failed on PostgreSQL only.
    ("/candidates/new-application?candidate=2147483648", 404),
    ("/board?stage=applied&position=2147483648", 404),
    ("/board?stage=applied&page=2147483648", 404),
    ("/board?stage=applied&page=44739243", 404),  # (page - 1) * 50 past PostgreSQL's integer OFFSET
    ("/board?stage=applied&page=42949673", 200),  # the last page whose OFFSET fits: empty, not an error
    ("/positions/?page=2147483648", 404),
    ("/positions/?page=2147483647", 200),
    ("/candidates/?page=2147483647", 200),
    ("/emails/?page=2147483647", 200),
    ("/emails/?page=2147483647&status=failed", 200),
    ("/applications/2147483648", 404),
    ("/applications/{application}/documents/2147483648", 404),
    ("/applications/people?q=2147483648", 200),
])
def test_numbers_no_row_can_have_are_not_a_500(app, client, login, factory, path, status):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is an answer here, not a test error
    recruiter = factory.user("recruiter")
    application = factory.application(position=factory.position(owner=recruiter))
    login(recruiter)
    assert client.get(path.format(application=application.id)).status_code == status


@pytest.mark.parametrize("path", ["/admin/users?page=2147483647", "/admin/users?page=2147483648"])
def test_the_users_page_with_a_page_past_any_user(app, client, login, factory, path):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(factory.user("admin"))
    assert client.get(path).status_code == (200 if path.endswith("47") else 404)


def test_a_panel_member_id_past_the_integer_column_is_a_form_error(app, client, login, factory, now):
    """schedule-panel=2147483648 was a PostgreSQL 500 (integer out of range)."""
    from hiring.models import Interview

    app.config["PROPAGATE_EXCEPTIONS"] = False
    recruiter = factory.user("recruiter")
    application = factory.application(position=factory.position(owner=recruiter))
    login(recruiter)
    day = (now + timedelta(days=3)).date().isoformat()
    response = client.post(f"/applications/{application.id}/interviews", data={
        "schedule-version": application.version, "schedule-day": day, "schedule-start": "10:00",
        "schedule-duration_minutes": 60, "schedule-location": "Room 1", "schedule-panel": "2147483648"})
    assert response.status_code == 422
    assert "could not be coerced" in response.get_data(as_text=True)
    interviewer = factory.user("interviewer")
    interview = services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=3),
                                            panel_user_ids=[interviewer.id], location="Room 1", actor=recruiter,
                                            now=now)
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/reschedule", data={
        f"reschedule-{interview.id}-version": application.version, f"reschedule-{interview.id}-day": day,
        f"reschedule-{interview.id}-start": "11:00", f"reschedule-{interview.id}-duration_minutes": 60,
        f"reschedule-{interview.id}-location": "Room 1",
        f"reschedule-{interview.id}-panel": ["2147483648", str(interviewer.id)]})
    assert response.status_code == 422
    with pytest.raises(InvalidInput):  # the service refuses it too (the CLI and jobs reach it directly)
        services.reschedule_interview(interview, scheduled_at=now + timedelta(days=4), panel_user_ids=[2**31],
                                      location="Room 1", actor=recruiter, now=now)
    assert Interview.query.count() == 1


def test_nul_characters_are_a_clear_400_and_save_nothing(client, login, factory):
    from hiring.extensions import db
    from hiring.models import Candidate

    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    login(recruiter)
    search = client.get("/candidates/?q=%00abc")
    assert search.status_code == 400 and "NUL character" in search.get_data(as_text=True)
    response = client.post("/candidates/new-application", data={
        "position_id": position.id, "name": "Anna\x00", "email": "anna@example.org", "language": "en"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Candidate)) == 0
