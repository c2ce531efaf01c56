"""The application page and its actions, through the Flask test client, per role."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from hiring import services
from hiring.extensions import db
from hiring.models import Application, CandidateContact, Document, OutboxEmail, Reference
from hiring.pipeline import Stage
from hiring.settings import get_policy

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def now() -> datetime:
    """The views use the real clock, so the states are built up to just now."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def login(client, user) -> None:
    """Signed in without the login form: a session record, as the form would make."""
    from hiring import security

    _, secret = services.start_session(user)
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[security.SESSION_KEY] = secret


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    manager = factory.user("manager", name="Max Manager")
    position = factory.position(owner=recruiter, hiring_manager=manager)
    return {
        "recruiter": recruiter,
        "manager": manager,
        "admin": factory.user("admin", name="Ada Admin"),
        "interviewer": factory.user("interviewer", name="Ivo Interviewer"),
        "interviewer2": factory.user("interviewer", name="Ina Interviewer"),
        "outsider": factory.user("interviewer", name="Otto Outsider"),
        "position": position,
    }


def make(factory, team, stage, **kw) -> Application:
    return factory.application(stage, position=team["position"], panel=[team["interviewer"], team["interviewer2"]],
                               **kw)


def local_tomorrow() -> str:
    return (datetime.now(get_policy().tz) + timedelta(days=1)).date().isoformat()


def page(client, application) -> str:
    response = client.get(f"/applications/{application.id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- viewing ---------------------------------------------------------------------------------


def test_page_shows_candidate_promise_timeline_and_emails(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["yes", None])
    services.record_candidate_contact(application, kind="thank_you", channel="email", summary="Thanks for today!",
                                      actor=team["recruiter"])
    login(client, team["recruiter"])
    html = page(client, application)
    assert application.candidate.name in html
    assert application.candidate.email in html
    assert "Debrief decision" in html  # the stage's next step
    assert re.search(r"Candidate told: answer by</span>\s*<strong>\w{3} \d{1,2} \w{3}</strong>\s*"
                     r"<span class=\"muted\">\(in \d days\)", html)
    assert re.search(r"Team deadline:</span>\s*<strong>\w{3} \d{1,2} \w{3} · in \d days</strong>", html)
    assert "Application received" in html and "First interview held" in html
    assert 'class="tl-email"' in html  # the outbox shows in the timeline, linked to each email
    email = OutboxEmail.query.filter_by(application_id=application.id).first()
    assert f'href="/emails/{email.id}"' in html
    assert "Thanks for today!" in html
    assert "Europe/Berlin" in html
    assert "source: Direct" in html and "<dd>English</dd>" in html  # stored values in the screen's words


def test_a_late_team_sees_how_late_since_the_first_deadline_it_missed(client, factory, team):
    from hiring import pipeline, timefmt

    application = make(factory, team, "first_decision", at=datetime.now(UTC) - timedelta(days=30))
    missed = application.due_at
    policy = get_policy()
    assert services.send_delay_notice(application, now=pipeline.delay_notice_at(application.promised_at, policy))
    assert application.due_at > missed  # the delay notice moved the team's deadline on
    login(client, team["recruiter"])
    html = page(client, application)
    assert "⚠ Team overdue" in html
    assert re.search(r"\d+ days late \(since " + re.escape(timefmt.short_date(missed, policy)) + r"\)", html)


def test_timeline_within_one_instant_shows_the_later_recorded_first(client, factory, team, now):
    """Newest first, also among entries of the same instant (the order they were logged in)."""
    application = make(factory, team, "applied")
    moment = now - timedelta(minutes=5)
    for summary in ("Called first", "Called again", "Called a third time"):
        services.record_candidate_contact(application, kind="enquiry", channel="phone", summary=summary,
                                          occurred_at=moment, actor=team["recruiter"])
    login(client, team["recruiter"])
    html = page(client, application)
    positions = [html.index(summary) for summary in ("Called a third time", "Called again", "Called first")]
    assert positions == sorted(positions)


def test_anonymous_is_sent_to_login(client, factory, team):
    application = make(factory, team, "applied")
    response = client.get(f"/applications/{application.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post(f"/applications/{application.id}/withdraw", data={"withdraw-version": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.get(Application, application.id).stage == Stage.APPLIED


def test_interviewer_sees_only_applications_on_their_panel(client, factory, team):
    application = make(factory, team, "first_interview")
    login(client, team["outsider"])
    response = client.get(f"/applications/{application.id}")
    # The same page as for an id that does not exist: a 403 confirmed that this one does.
    assert response.status_code == 404
    assert application.candidate.email not in response.get_data(as_text=True)
    # The CSRF token in the logout form carries the second it was signed; mask it.
    assert without_csrf_token(response) == without_csrf_token(client.get("/applications/2147483647"))
    login(client, team["interviewer"])
    html = page(client, application)
    assert application.candidate.name in html
    assert "Schedule" not in html and "Mark as held" not in html and "Withdraw" not in html
    assert 'class="tl-email"' not in html  # interviewers do not read the candidate's emails


def test_unknown_application_is_404(client, team):
    login(client, team["recruiter"])
    assert client.get("/applications/999999").status_code == 404


@pytest.mark.parametrize("role", ["recruiter", "admin", "manager"])
def test_whole_team_except_interviewers_can_view(client, factory, team, role):
    application = make(factory, team, "applied")
    login(client, team[role])
    page(client, application)


def test_only_fitting_forms_are_shown(client, factory, team):
    application = make(factory, team, "final_decision", recommendations=["yes", "yes"])
    login(client, team["recruiter"])
    html = page(client, application)
    assert "Record the offer decision" not in html  # the hiring manager's decision, both ways
    assert "Schedule and invite" not in html
    assert "Reject the application" not in html and "Extend the answer date" in html
    assert "Waiting for the offer decision by management (Max Manager)" in html
    login(client, team["manager"])
    html = page(client, application)
    assert "Record the offer decision" in html and "Clear recommendation to hire" in html
    assert "Log a candidate contact" not in html and "Withdraw the application" not in html
    assert "offer_decision-acting_for" not in html
    login(client, factory.user("manager"))  # another manager: not theirs to decide
    html = page(client, application)
    assert "Record the offer decision" not in html and "Waiting for the offer decision" in html
    login(client, team["admin"])  # an admin may, for the hiring manager, saying why
    html = page(client, application)
    assert "Record the offer decision" in html and 'name="offer_decision-acting_for"' in html


# --- actions × roles ---------------------------------------------------------------------------


def _interview_data(prefix, application, team):
    return {f"{prefix}-version": application.version, f"{prefix}-day": local_tomorrow(), f"{prefix}-start": "10:30",
            f"{prefix}-duration_minutes": "45", f"{prefix}-location": "Room 4",
            f"{prefix}-panel": [team["interviewer"].id, team["interviewer2"].id]}


def _current(application):
    return application.current_interview()


ACTIONS = {
    # name: (stage, recommendations, path(app), data(app, team), allowed roles, check(app) after success)
    "schedule": ("applied", None, lambda a: "interviews", lambda a, t: _interview_data("schedule", a, t),
                 {"recruiter", "admin"}, lambda a: a.stage == Stage.FIRST_INTERVIEW),
    "reschedule": ("first_interview", None, lambda a: f"interviews/{_current(a).id}/reschedule",
                   lambda a, t: _interview_data(f"reschedule-{_current(a).id}", a, t),
                   {"recruiter", "admin"}, lambda a: _current(a).location == "Room 4"),
    "cancel": ("first_interview", None, lambda a: f"interviews/{_current(a).id}/cancel",
               lambda a, t: {f"cancel-{_current(a).id}-version": a.version, f"cancel-{_current(a).id}-reason": "Ill"},
               {"recruiter", "admin"}, lambda a: a.stage == Stage.APPLIED),
    "held": ("first_interview", None, lambda a: f"interviews/{_current(a).id}/held",
             lambda a, t: {f"held-{_current(a).id}-version": a.version,
                           f"held-{_current(a).id}-day": datetime.now(get_policy().tz).date().isoformat(),
                           f"held-{_current(a).id}-start": datetime.now(get_policy().tz).strftime("%H:%M")},
             {"recruiter", "admin"}, lambda a: a.stage == Stage.FIRST_DECISION),
    "decision": ("first_decision", ["yes", "yes"], lambda a: "decision",
                 lambda a, t: {"decision-version": a.version, "decision-outcome": "advance",
                               "decision-rationale": "Strong"},
                 {"recruiter", "admin"}, lambda a: a.stage == Stage.SECOND_INTERVIEW),
    "offer_decision": ("final_decision", ["yes", "yes"], lambda a: "offer-decision",
                       lambda a, t: {"offer_decision-version": a.version, "offer_decision-outcome": "advance",
                                     "offer_decision-acting_for": "Max is on leave; agreed by phone.",
                                     "offer_decision-confirm": "y"},
                       {"manager", "admin"}, lambda a: a.stage == Stage.OFFER),
    "offer_response": ("offer", ["yes", "yes"], lambda a: "offer-response",
                       lambda a, t: {"offer_response-version": a.version, "offer_response-response": "accepted"},
                       {"recruiter", "admin"}, lambda a: a.stage == Stage.HIRED),
    "extend": ("first_decision", None, lambda a: "deadline",
               lambda a, t: {"extend-version": a.version,
                             "extend-until": (datetime.now(get_policy().tz) + timedelta(days=12)).date().isoformat(),
                             "extend-reason": "Panel member on holiday"},
               {"recruiter", "admin", "manager"}, lambda a: a.extension_reason == "Panel member on holiday"),
    "competing": ("first_decision", None, lambda a: "competing-offer",
                  lambda a, t: {"competing-version": a.version,
                                "competing-deadline": (datetime.now(get_policy().tz)
                                                       + timedelta(days=4)).date().isoformat()},
                  {"recruiter", "admin"}, lambda a: a.competing_offer_deadline is not None),
    "contact": ("first_decision", None, lambda a: "contacts",
                lambda a, t: {"contact-version": a.version, "contact-kind": "enquiry", "contact-channel": "phone",
                              "contact-summary": "Asked about timing"},
                {"recruiter", "admin"},
                lambda a: CandidateContact.query.filter_by(application_id=a.id, kind="enquiry").count() == 1),
    "reference": ("first_decision", None, lambda a: "references",
                  lambda a, t: {"reference-version": a.version, "reference-name": "Dr. Weber",
                                "reference-status": "requested"},
                  {"recruiter", "admin"}, lambda a: Reference.query.filter_by(application_id=a.id).count() == 1),
    "withdraw": ("first_decision", None, lambda a: "withdraw",
                 lambda a, t: {"withdraw-version": a.version, "withdraw-reason": "Took another job",
                               "withdraw-confirm": "y"},
                 {"recruiter", "admin"}, lambda a: a.stage == Stage.WITHDRAWN),
    "document": ("first_decision", None, lambda a: "documents",
                 lambda a, t: {"document-version": a.version, "document-document": (io.BytesIO(PDF), "cv.pdf")},
                 {"recruiter", "admin"}, lambda a: Document.query.filter_by(application_id=a.id).count() == 1),
}


@pytest.mark.parametrize("role", ["recruiter", "admin", "manager", "interviewer"])
@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_by_role(client, factory, team, name, role):
    stage, recommendations, path, data, allowed, check = ACTIONS[name]
    # An interview that has begun (yesterday): it can be marked held.
    begun = {"at": datetime.now(UTC) - timedelta(days=4)} if stage == "first_interview" else {}
    application = make(factory, team, stage, recommendations=recommendations, **begun)
    version = application.version
    login(client, team[role])
    response = client.post(f"/applications/{application.id}/{path(application)}", data=data(application, team))
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    if role in allowed:
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
        assert response.headers["Location"].startswith(f"/applications/{application.id}")
        assert check(application)
        assert application.version > version
        follow = client.get(response.headers["Location"])
        assert 'class="flash flash-success"' in follow.get_data(as_text=True)
    else:
        # A role that may not act gets a 403, unless it may not even see the application (404).
        visible = services.can_view_application(team[role], application)
        assert response.status_code == (403 if visible else 404)
        assert application.version == version
        assert not check(application)


@pytest.mark.parametrize("name", list(ACTIONS))
def test_action_anonymous_goes_to_login(client, factory, team, name):
    stage, recommendations, path, data, _allowed, check = ACTIONS[name]
    application = make(factory, team, stage, recommendations=recommendations)
    version = application.version
    response = client.post(f"/applications/{application.id}/{path(application)}", data=data(application, team))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Application, application.id).version == version


def test_feedback_by_panel_member_only(client, factory, team):
    application = make(factory, team, "first_decision")
    interview = application.current_interview()
    data = {f"feedback-{interview.id}-version": application.version,
            f"feedback-{interview.id}-recommendation": "strong_yes", f"feedback-{interview.id}-notes": "Great C++"}
    for role in ("recruiter", "manager", "outsider"):
        login(client, team[role])
        assert client.post(f"/applications/{application.id}/interviews/{interview.id}/feedback",
                           data=data).status_code == (404 if role == "outsider" else 403)
    login(client, team["interviewer"])
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/feedback", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).current_interview().feedback[0].notes == "Great C++"
    # Once given, the form is gone and a second post is refused with a message, not a 500.
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/feedback", data=data)
    assert response.status_code == 409
    assert "already submitted feedback" in response.get_data(as_text=True)


# --- forms and safety ----------------------------------------------------------------------------


def test_stale_form_shows_conflict_and_keeps_input(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["yes", "no"])
    stale_version = application.version
    services.add_reference(application, name="Someone else's change", actor=team["admin"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/decision", data={
        "decision-version": stale_version, "decision-outcome": "reject",
        "decision-rationale": "My long debrief notes", "decision-candidate_feedback": "Kind words"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else changed this application" in html
    assert "My long debrief notes" in html and "Kind words" in html  # the input is kept
    assert "Someone else&#39;s change" in html  # and their change is shown
    assert f'value="{stale_version + 1}"' in html  # resubmitting is a conscious second step
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FIRST_DECISION


def test_stale_form_for_a_step_that_no_longer_fits_still_shows_the_input(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["yes", "yes"])
    stale_version = application.version
    services.decide(application, outcome="advance", actor=team["admin"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/offer-response", data={
        "offer_response-version": stale_version, "offer_response-response": "accepted",
        "offer_response-note": "Phoned me at noon"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Phoned me at noon" in html and "no longer fits" in html


def test_validation_messages_sit_next_to_the_fields(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/interviews", data={
        "schedule-version": application.version, "schedule-day": local_tomorrow(), "schedule-start": "",
        "schedule-duration_minutes": "5", "schedule-location": "", "schedule-video_link": "ftp://x"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="schedule-start-error"[^>]*>Choose a time\.', html)
    assert re.search(r'id="schedule-duration_minutes-error"[^>]*>Between 15 and 480 minutes\.', html)
    assert re.search(r'id="schedule-panel-error"[^>]*>Choose at least one interviewer\.', html)
    assert re.search(r'id="schedule-video_link-error"[^>]*>Enter a link starting with https://', html)
    assert 'value="5"' in html  # kept
    assert db.session.get(Application, application.id).stage == Stage.APPLIED


def test_a_rejection_without_a_rationale_is_a_field_error_with_the_input_kept(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["yes", "no"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/decision", data={
        "decision-version": application.version, "decision-outcome": "reject", "decision-rationale": "  ",
        "decision-candidate_feedback": "Kind words about the RTOS task", "decision-confirm": "y"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="decision-rationale-error"[^>]*>Write down why the application is rejected', html)
    assert "Kind words about the RTOS task" in html  # kept
    assert re.search(r'value="reject"[^>]*checked|checked[^>]*value="reject"', html)
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FIRST_DECISION

    final = make(factory, team, "final_decision", recommendations=["no", "no"])
    client.post("/logout")
    login(client, final.position.hiring_manager)
    response = client.post(f"/applications/{final.id}/offer-decision", data={
        "offer_decision-version": final.version, "offer_decision-outcome": "reject", "offer_decision-rationale": "",
        "offer_decision-confirm": "y"})
    assert response.status_code == 422
    assert re.search(r'id="offer_decision-rationale-error"[^>]*>Write down why the application is rejected',
                     response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Application, final.id).stage == Stage.FINAL_DECISION


def test_service_field_errors_land_next_to_the_field(client, factory, team):
    application = make(factory, team, "first_decision")
    login(client, team["recruiter"])
    earlier = (application.due_at - timedelta(days=2)).astimezone(get_policy().tz).date().isoformat()
    response = client.post(f"/applications/{application.id}/deadline", data={
        "extend-version": application.version, "extend-until": earlier, "extend-reason": "Holiday"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="extend-until-error"[^>]*>The new date must be later than the current one', html)
    assert "Holiday" in html


def test_past_interview_time_is_refused_with_a_message(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-day"] = "2020-01-06"
    response = client.post(f"/applications/{application.id}/interviews", data=data)
    assert response.status_code == 422
    assert re.search(r'id="schedule-day-error"[^>]*>Choose a time in the future\.', response.get_data(as_text=True))


def _held_form(html: str, interview_id: int) -> dict[str, str]:
    form = re.search(rf'<form[^>]*action="[^"]*/interviews/{interview_id}/held".*?</form>', html, re.S).group(0)
    return {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)}


def test_held_before_the_stage_began_is_refused_like_in_the_api(client, factory, team):
    """The same rule as the API (pipeline.check_reported_time): a typed time before the
    interview was scheduled is a field error with the input kept, never moved silently."""
    began = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=37, microsecond=0)
    application = factory.application(Stage.FIRST_INTERVIEW, position=team["position"], at=began,
                                      panel=[team["interviewer"], team["interviewer2"]])
    interview = _current(application)
    login(client, team["recruiter"])
    local = began.astimezone(get_policy().tz)
    typed = {f"held-{interview.id}-version": application.version, f"held-{interview.id}-day": local.date().isoformat(),
             f"held-{interview.id}-start": local.strftime("%H:%M")}  # the minute it began, 37 s too early
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/held", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # The interview has not begun, so the page offers no held form to put the error next to:
    # it is said at the top, and what was typed is shown to copy.
    assert (f"Held on: Not before the interview was scheduled ({local.day} {local:%b %Y}, {local:%H:%M}:37)."
            in html)
    assert f"<dd>{local:%H:%M}:00</dd>" in html or f"<dd>{local:%H:%M}</dd>" in html  # what was typed stays
    assert db.session.get(Application, application.id).stage == Stage.FIRST_INTERVIEW
    # Until the interview has begun, the page does not offer to mark it held.
    assert f'id="held-{interview.id}"' not in page(client, application)


def test_held_before_the_scheduled_start_is_a_field_error_and_the_suggestion_is_never_refused(
        client, factory, team):
    application = make(factory, team, "first_interview", at=datetime.now(UTC) - timedelta(days=4))
    interview = _current(application)
    start = interview.scheduled_at.astimezone(get_policy().tz)
    login(client, team["recruiter"])
    typed = {f"held-{interview.id}-version": application.version,
             f"held-{interview.id}-day": (start - timedelta(hours=2)).date().isoformat(),
             f"held-{interview.id}-start": (start - timedelta(hours=2)).strftime("%H:%M")}
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/held", data=typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="held-{interview.id}-day-error"[^>]*>Not before the scheduled start '
                     rf'\({start.day} {start:%b %Y}, {start:%H:%M}\)\. If it really took place earlier, reschedule '
                     rf'it to the real time first\.', html)
    assert f'value="{(start - timedelta(hours=2)):%H:%M}"' in html  # what was typed stays
    # The summary at the top links to the field, which has the focus.
    assert re.search(rf'<a href="#held-{interview.id}-day">Held on: Not before the scheduled start', html)
    assert re.search(rf'<input[^>]*autofocus[^>]*id="held-{interview.id}-day"|'
                     rf'<input[^>]*id="held-{interview.id}-day"[^>]*autofocus', html)
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FIRST_INTERVIEW
    # The form's own suggestion is never refused: the scheduled start, to the second.
    prefilled = _held_form(page(client, application), interview.id)
    assert prefilled[f"held-{interview.id}-start"].count(":") == 2
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/held", data=prefilled)
    assert response.status_code == 302
    assert db.session.get(Application, application.id).stage == Stage.FIRST_DECISION


def test_illegal_step_is_a_flash_message_not_a_500(client, factory, team):
    application = make(factory, team, "first_decision")
    interview = application.current_interview()
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/held", data={
        f"held-{interview.id}-version": application.version, f"held-{interview.id}-day": "2026-01-05",
        f"held-{interview.id}-start": "10:00"})
    assert response.status_code == 409
    assert "already marked as held" in response.get_data(as_text=True)


def test_contact_on_a_later_day_is_refused_not_moved_to_today(client, factory, team):
    application = make(factory, team, "first_decision")
    login(client, team["recruiter"])
    today = datetime.now(get_policy().tz).date()
    data = {"contact-version": application.version, "contact-kind": "enquiry", "contact-channel": "phone",
            "contact-summary": "Asked about timing"}
    response = client.post(f"/applications/{application.id}/contacts",
                           data={**data, "contact-day": (today + timedelta(days=3)).isoformat()})
    assert response.status_code == 422
    assert re.search(r'id="contact-day-error"[^>]*>Not in the future\.', response.get_data(as_text=True))
    assert "Asked about timing" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CandidateContact)) == 0
    # Today without a time: some time today, never later than now.
    response = client.post(f"/applications/{application.id}/contacts", data={**data, "contact-day": today.isoformat()})
    assert response.status_code == 302
    contact = db.session.scalars(db.select(CandidateContact)).one()
    assert contact.occurred_at.astimezone(get_policy().tz).date() == today
    assert contact.occurred_at <= datetime.now(UTC)


def test_interview_time_is_read_in_the_company_time_zone(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    client.post(f"/applications/{application.id}/interviews", data=data)
    db.session.expire_all()
    interview = db.session.get(Application, application.id).current_interview()
    local = interview.scheduled_at.astimezone(get_policy().tz)
    assert (local.date().isoformat(), local.strftime("%H:%M")) == (data["schedule-day"], "10:30")
    assert interview.duration_minutes == 45 and interview.panel_user_ids == sorted(
        [team["interviewer"].id, team["interviewer2"].id])


def test_competing_offer_can_be_cleared(client, factory, team, now):
    application = make(factory, team, "first_decision")
    services.set_competing_offer(application, deadline=(now + timedelta(days=5)).date(), actor=team["recruiter"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/competing-offer", data={
        "competing-version": application.version, "competing-deadline": "", "competing-clear": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).competing_offer_deadline is None


def test_reference_outcome_update(client, factory, team):
    application = make(factory, team, "first_decision")
    reference = services.add_reference(application, name="Dr. Weber", actor=team["recruiter"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/references/{reference.id}", data={
        f"refout-{reference.id}-version": application.version, f"refout-{reference.id}-status": "positive",
        f"refout-{reference.id}-notes": "Very reliable"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Reference, reference.id).status == "positive"
    login(client, team["manager"])
    assert client.post(f"/applications/{application.id}/references/{reference.id}", data={
        f"refout-{reference.id}-version": application.version + 1,
        f"refout-{reference.id}-status": "negative"}).status_code == 403


# --- feedback visibility -----------------------------------------------------------------------


def test_panel_sees_others_feedback_only_after_giving_their_own(client, factory, team):
    application = make(factory, team, "first_decision")
    interview = application.current_interview()
    services.submit_feedback(interview, interviewer=team["interviewer"], recommendation="strong_no",
                             notes="Secret concerns about testing")
    login(client, team["interviewer2"])
    html = page(client, application)
    assert "Secret concerns about testing" not in html
    assert "rec-strong_no" not in html  # not in the panel table
    assert '<span class="tl-detail">Strong no' not in html  # nor in the timeline
    assert "1 of 2 panel members have submitted feedback" in html
    assert "Your feedback on the first interview" in html

    response = client.post(f"/applications/{application.id}/interviews/{interview.id}/feedback", data={
        f"feedback-{interview.id}-version": application.version,
        f"feedback-{interview.id}-recommendation": "yes", f"feedback-{interview.id}-notes": "Solid"})
    assert response.status_code == 302
    html = page(client, application)
    assert "Secret concerns about testing" in html and "Who said what" in html
    assert "Ivo Interviewer — Strong no" in html and "Ina Interviewer — Yes" in html
    assert '<span class="tl-detail">Strong no' in html
    assert "The panel disagrees" in html

    login(client, team["recruiter"])  # off the panel, sees everything
    assert "Secret concerns about testing" in page(client, application)


def test_page_and_api_show_feedback_by_the_same_rule(client, factory, team, now):
    """Ivo gave his feedback on a second interview that was then rescheduled without him
    (he still sits on the first one's panel). He has given his own, so he may read the
    others' — the API said so, the page hid it: both now ask pipeline.may_see_feedback."""
    ivo, ina = team["interviewer"], team["interviewer2"]
    application = make(factory, team, "second_interview")
    starts = now + timedelta(hours=1)
    interview = services.schedule_interview(application, round=2, scheduled_at=starts, panel_user_ids=[ivo.id, ina.id],
                                            location="Room 2", actor=team["recruiter"], now=now)
    later = starts + timedelta(hours=1)  # feedback on an interview whose time has come, not yet marked held
    services.submit_feedback(interview, interviewer=ina, recommendation="yes", notes="Ina's private notes", now=later)
    services.submit_feedback(interview, interviewer=ivo, recommendation="no", notes="Ivo's notes", now=later)
    services.reschedule_interview(interview, scheduled_at=now + timedelta(days=2), panel_user_ids=[ina.id],
                                  location="Room 2", actor=team["recruiter"])
    _, token = services.create_api_token(ivo)
    api = client.get(f"/api/v1/interviews/{interview.id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert [f["notes"] for f in api.get_json()["feedback"]] == ["Ina's private notes", "Ivo's notes"]
    login(client, ivo)
    assert "Ina&#39;s private notes" in page(client, application)


# --- documents -------------------------------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_document_upload_and_download(client, factory, team, app):
    application = make(factory, team, "first_interview")
    docx = _docx()
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/documents", data={
        "document-version": application.version, "document-document": (io.BytesIO(docx), "CV Anna.docx")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    document = Document.query.filter_by(application_id=application.id).one()
    assert services.document_path(document).is_file()
    assert str(services.document_path(document)).startswith(app.config["UPLOAD_FOLDER"])
    html = page(client, application)
    assert "CV Anna.docx" in html

    url = f"/applications/{application.id}/documents/{document.id}"
    for role in ("recruiter", "admin", "manager", "interviewer"):  # the interviewer sits on the panel
        login(client, team[role])
        with client.get(url) as response:
            assert response.status_code == 200, role
            assert response.data == docx
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert "CV Anna.docx" in response.headers["Content-Disposition"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.mimetype == services.DOCUMENT_TYPES["docx"]
    login(client, team["outsider"])
    assert client.get(url).status_code == 404
    with client.session_transaction() as session:
        session.clear()
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A document of another application is not reachable through this one.
    other = make(factory, team, "applied", email="other@example.org")
    login(client, team["recruiter"])
    assert client.get(f"/applications/{other.id}/documents/{document.id}").status_code == 404


def test_document_type_is_checked_by_content(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/documents", data={
        "document-version": application.version,
        "document-document": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "cv.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert re.search(r'id="document-document-error"[^>]*>Upload a PDF, DOC, DOCX or ODT document\.',
                     response.get_data(as_text=True))
    assert Document.query.count() == 0


def _post_large(client, url, fields: dict, filename: str, data: bytes):
    """A multipart body built in memory: the test client would spool a large one to a
    temporary file it never closes."""
    boundary = "----hiring-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="document-document"; '
                 f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_document_over_10_mb_is_refused(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    url = f"/applications/{application.id}/documents"
    big = PDF + b"0" * (services.MAX_DOCUMENT_BYTES)
    response = _post_large(client, url, {"document-version": application.version}, "cv.pdf", big)
    assert response.status_code == 422
    assert re.search(r'id="document-document-error"[^>]*>At most 10 MB', response.get_data(as_text=True))
    huge = PDF + b"0" * (12 * 1024 * 1024)
    response = _post_large(client, url, {"document-version": application.version}, "cv.pdf", huge)
    assert response.status_code == 302 and response.headers["Location"].endswith("#documents")
    assert "at most 10 MB" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert Document.query.count() == 0


# --- a constant number of SQL statements ----------------------------------------------------------


def _count_statements(client, url) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_page_statements_do_not_grow_with_the_history(client, factory, team, now):
    small = make(factory, team, "first_decision", recommendations=["yes", None])
    big = make(factory, team, "offer", recommendations=["yes", "yes"])
    for n in range(6):
        services.record_candidate_contact(big, kind="enquiry", channel="email", summary=f"Q{n}",
                                          actor=team["recruiter"])
        services.add_reference(big, name=f"Ref {n}", actor=team["recruiter"])
        services.add_document(big, filename=f"cv{n}.pdf", data=PDF, actor=team["recruiter"])
    for role in ("recruiter", "manager", "interviewer"):
        login(client, team[role])
        client.get(f"/applications/{small.id}")  # warm up the per-process caches (first-run check)
        counts = [_count_statements(client, f"/applications/{a.id}") for a in (small, big)]
        assert counts[0] == counts[1], (role, counts)


# --- the panel picker: likely interviewers listed, anyone else found by name or email ----------


def _panel_labels(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<input[^>]*name="{prefix}-panel"[^>]*>\s*([^<]+?)\s*</label>', html)


def test_panel_picker_lists_the_likely_interviewers_not_the_whole_team(client, factory, team):
    earlier = make(factory, team, "first_decision")  # Ivo and Ina interviewed for this position
    other = factory.position(title="Other position", owner=team["recruiter"])
    factory.application(Stage.FIRST_DECISION, position=other, panel=[team["outsider"]])
    for i in range(30):
        factory.user("interviewer", name=f"Zed Extra {i:02d}")
    application = factory.application(Stage.APPLIED, position=team["position"])
    login(client, team["recruiter"])
    labels = _panel_labels(page(client, application), "schedule")
    assert labels == ["Ina Interviewer (interviewer)", "Ivo Interviewer (interviewer)", "Max Manager (manager)"]
    assert earlier.id != application.id
    # The rest of the team is one search away, with suggestions as one types.
    html = page(client, application)
    assert 'name="schedule-panel_more"' in html and 'data-people-search="/applications/people"' in html
    assert "panel-picker.js" in html


def test_reschedule_keeps_the_current_panel_ticked(client, factory, team):
    application = make(factory, team, "first_interview")
    interview = application.current_interview()
    login(client, team["recruiter"])
    html = client.get(f"/applications/{application.id}?action=reschedule-{interview.id}").get_data(as_text=True)
    ticked = re.findall(rf'<input checked[^>]*name="reschedule-{interview.id}-panel"[^>]*value="(\d+)"', html)
    assert sorted(int(i) for i in ticked) == sorted([team["interviewer"].id, team["interviewer2"].id])


def test_anyone_on_the_team_can_be_added_by_email_or_name(client, factory, team):
    application = factory.application(Stage.APPLIED, position=team["position"])
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-panel"] = [team["interviewer"].id]
    data["schedule-panel_more"] = f"{team['outsider'].email.upper()}; ada admin"
    response = client.post(f"/applications/{application.id}/interviews", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    interview = db.session.get(Application, application.id).current_interview()
    assert interview.panel_user_ids == sorted([team["interviewer"].id, team["outsider"].id, team["admin"].id])


def test_a_ticked_box_outside_the_suggestions_counts_too(client, factory, team):
    """The script adds a ticked box for a person found by search: the server takes any id and
    the service checks it is an active team member."""
    application = factory.application(Stage.APPLIED, position=team["position"])
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-panel"] = [team["outsider"].id]
    assert client.post(f"/applications/{application.id}/interviews", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).current_interview().panel_user_ids == [team["outsider"].id]


def test_unknown_or_ambiguous_people_are_refused_next_to_the_field_and_nothing_is_lost(client, factory, team):
    factory.user("interviewer", name="Ina Interviewer")  # a second Ina
    inactive = factory.user("interviewer", name="Gone Gabi")
    inactive.active = False
    db.session.commit()
    application = factory.application(Stage.APPLIED, position=team["position"])
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-panel"] = [team["outsider"].id]
    data["schedule-panel_more"] = "Nobody Known, ina interviewer, gone gabi"
    response = client.post(f"/applications/{application.id}/interviews", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'id="schedule-panel_more-error"[^>]*>([^<]+)<', html).group(1)
    assert "Nobody on the active team is called or has the email “Nobody Known”." in error
    assert "2 people are called “ina interviewer”: type the email address instead." in error
    assert "“gone gabi”" in error  # inactive people cannot sit on a panel
    assert 'value="Nobody Known, ina interviewer, gone gabi"' in html  # the input is kept
    # The person ticked from a search is still listed and ticked, though not a suggestion.
    assert re.search(rf'<input checked[^>]*value="{team["outsider"].id}"[^>]*>\s*Otto Outsider', html)
    assert db.session.get(Application, application.id).stage == Stage.APPLIED


def test_people_search_finds_active_team_members_by_name_or_email(client, factory, team):
    inactive = factory.user("interviewer", name="Ingo Inactive")
    inactive.active = False
    db.session.commit()
    login(client, team["recruiter"])
    found = client.get("/applications/people?q=INA").get_json()["people"]  # not the inactive "Ingo Inactive"
    assert [p["name"] for p in found] == ["Ina Interviewer"]
    assert found[0] == {"id": team["interviewer2"].id, "name": "Ina Interviewer", "email": team["interviewer2"].email,
                        "role": "interviewer", "label": "Ina Interviewer (interviewer)"}
    by_email = client.get(f"/applications/people?q={team['outsider'].email[:6]}").get_json()["people"]
    assert team["outsider"].id in [p["id"] for p in by_email]
    assert client.get("/applications/people?q=i").get_json() == {"people": []}  # two characters at least
    assert client.get("/applications/people?q=%25").get_json() == {"people": []}  # LIKE wildcards are literal
    login(client, team["interviewer"])
    assert client.get("/applications/people?q=ina").status_code == 403


def test_rare_actions_are_links_until_asked_for(client, factory, team):
    application = make(factory, team, "first_interview")
    interview = application.current_interview()
    login(client, team["recruiter"])
    html = page(client, application)
    for key, anchor, label in (("contact", "log-contact", "Log a candidate contact"),
                               ("withdraw", "withdraw", "The candidate withdrew"),
                               ("reference", "add-reference", "Add a reference"),
                               (f"reschedule-{interview.id}", f"reschedule-{interview.id}",
                                "Reschedule or change the panel")):
        assert (f'href="/applications/{application.id}?action={key}#{anchor}">{label}</a>') in html
    assert 'name="contact-summary"' not in html and f'name="reschedule-{interview.id}-panel"' not in html
    # Asked for: that form, open, and only that one.
    html = client.get(f"/applications/{application.id}?action=contact").get_data(as_text=True)
    assert '<details id="log-contact" open>' in html and 'name="contact-summary"' in html
    assert 'name="withdraw-reason"' not in html
    # A form sent back with an error is shown open, with what was typed.
    response = client.post(f"/applications/{application.id}/contacts", data={
        "contact-version": application.version, "contact-kind": "enquiry", "contact-channel": "email",
        "contact-day": "not a date", "contact-summary": "Asked about the team"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<details id="log-contact" open>' in html and "Asked about the team" in html
    # An unknown action shows the page as usual.
    assert client.get(f"/applications/{application.id}?action=nonsense").status_code == 200


# --- issue 10 on the page: the panel's word, who decides, confirmations, errors in view ----------


def test_the_debrief_against_a_unanimous_no_asks_for_the_rationale_next_to_the_field(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["no", "strong_no"])
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/decision", data={
        "decision-version": application.version, "decision-outcome": "advance", "decision-rationale": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="decision-rationale-error"[^>]*>The whole panel recommended not to hire this candidate; '
                     r'write down why you advance\.', html)
    assert '<a href="#decision-rationale">Rationale (internal): The whole panel recommended not to hire' in html
    assert re.search(r'<textarea[^>]*autofocus[^>]*id="decision-rationale"|<textarea[^>]*id="decision-rationale"'
                     r'[^>]*autofocus', html)
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FIRST_DECISION


def test_a_rejection_needs_its_confirmation_and_keeps_the_input(client, factory, team):
    application = make(factory, team, "first_decision", recommendations=["yes", "no"])
    login(client, team["recruiter"])
    data = {"decision-version": application.version, "decision-outcome": "reject",
            "decision-rationale": "Needs more embedded C.", "decision-candidate_feedback": "Practise C."}
    response = client.post(f"/applications/{application.id}/decision", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="decision-confirm-error"[^>]*>Tick this box to confirm', html)
    assert "Needs more embedded C." in html and "Practise C." in html
    assert re.search(r'<input[^>]*autofocus[^>]*id="decision-confirm"|<input[^>]*id="decision-confirm"[^>]*autofocus',
                     html)
    assert 'data-confirm-reject="Reject ' in html  # the script asks the same question in a dialog
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FIRST_DECISION
    assert not OutboxEmail.query.filter_by(application_id=application.id, template="rejection").count()
    response = client.post(f"/applications/{application.id}/decision", data={**data, "decision-confirm": "y"})
    assert response.status_code == 302
    assert db.session.get(Application, application.id).stage == Stage.REJECTED


def test_a_withdrawal_needs_its_confirmation(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/withdraw", data={
        "withdraw-version": application.version, "withdraw-reason": "Moved abroad"})
    assert response.status_code == 422
    assert "Moved abroad" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.APPLIED


def test_another_manager_or_a_recruiter_cannot_decide_the_offer_on_the_page(client, factory, team):
    application = make(factory, team, "final_decision", recommendations=["yes", "yes"])
    data = {"offer_decision-version": application.version, "offer_decision-outcome": "reject",
            "offer_decision-rationale": "Budget.", "offer_decision-confirm": "y"}
    for user, message in ((factory.user("manager"), "Only the position&#39;s hiring manager takes the offer decision"),
                          (team["recruiter"], "Your role (recruiter) may not take the offer decision")):
        login(client, user)
        response = client.post(f"/applications/{application.id}/offer-decision", data=data)
        assert response.status_code == 403
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.FINAL_DECISION
    login(client, team["recruiter"])  # nor reject it through the debrief's form
    response = client.post(f"/applications/{application.id}/decision", data={
        "decision-version": application.version, "decision-outcome": "reject", "decision-rationale": "No.",
        "decision-confirm": "y"})
    assert response.status_code == 403
    assert db.session.get(Application, application.id).stage == Stage.FINAL_DECISION


def test_an_admin_acting_for_the_hiring_manager_says_why(client, factory, team):
    application = make(factory, team, "final_decision", recommendations=["yes", "yes"])
    login(client, team["admin"])
    data = {"offer_decision-version": application.version, "offer_decision-outcome": "advance",
            "offer_decision-confirm": "y"}
    response = client.post(f"/applications/{application.id}/offer-decision", data=data)
    assert response.status_code == 422
    assert re.search(r'id="offer_decision-acting_for-error"[^>]*>Say why you decide for the hiring manager',
                     response.get_data(as_text=True))
    response = client.post(f"/applications/{application.id}/offer-decision",
                           data={**data, "offer_decision-acting_for": "Max is ill; agreed by phone."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).stage == Stage.OFFER


def test_a_side_form_error_is_summarised_at_the_top_and_focused(client, factory, team):
    application = make(factory, team, "first_decision")
    login(client, team["recruiter"])
    response = client.post(f"/applications/{application.id}/deadline", data={
        "extend-version": application.version, "extend-until": "", "extend-reason": "Panel on holiday"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = html.index('id="error-summary"')
    assert summary < html.index('id="extend"')  # above the side form, where the eye starts
    assert '<a href="#extend-until">New answer date: Choose the new date.</a>' in html
    assert re.search(r'<input[^>]*autofocus[^>]*id="extend-until"|<input[^>]*id="extend-until"[^>]*autofocus', html)
    assert "Panel on holiday" in html
    assert html.count("autofocus") == 1


def test_a_unique_first_name_puts_someone_on_the_panel(client, factory, team):
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-panel"] = []
    data["schedule-panel_more"] = "otto"  # Otto Outsider, the only Otto
    response = client.post(f"/applications/{application.id}/interviews", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    assert _current(db.session.get(Application, application.id)).panel_user_ids == [team["outsider"].id]


def test_a_shared_first_name_is_refused_naming_who_has_it(client, factory, team):
    factory.user("interviewer", name="Ina Ivanova")  # a second Ina
    application = make(factory, team, "applied")
    login(client, team["recruiter"])
    data = _interview_data("schedule", application, team)
    data["schedule-panel_more"] = "Ina"
    response = client.post(f"/applications/{application.id}/interviews", data=data)
    assert response.status_code == 422
    assert ("2 people have the first name “Ina” (Ina Interviewer, Ina Ivanova): type the full name or the email "
            "address instead.") in response.get_data(as_text=True)


def test_the_settings_page_says_what_working_day_mode_does(client, team):
    login(client, team["admin"])
    html = client.get("/admin/settings").get_data(as_text=True)
    assert "The stage days above are calendar days in both modes" in html
    assert "moves to the working day before it" in html


def test_every_step_has_its_form_and_endpoint(app):
    """The action table covers every step pipeline.available_actions can offer, and each
    entry's POST goes to a view that exists: a new step without a form fails here."""
    from hiring.pipeline import Step
    from hiring.views.applications.actions import ACTION_FORMS

    assert set(ACTION_FORMS) == set(Step)
    for step, spec in ACTION_FORMS.items():
        assert spec.endpoint in app.view_functions, step
    assert len({spec.key for spec in ACTION_FORMS.values()}) == len(ACTION_FORMS)


def test_every_application_audit_kind_has_a_describer(app):
    """Each audit kind the services write about an application reads as words on the page,
    not as its code name."""
    import re
    from pathlib import Path

    import hiring
    from hiring.views.applications.timeline import DESCRIBERS, HIDDEN_KINDS

    source = "\n".join(p.read_text() for p in Path(hiring.__file__).parent.rglob("*.py"))
    call = r'audit(?:_row)?\(\s*"([a-z_]+)"(?:\s+if[^,]*else\s+"([a-z_]+)")?,\s*\w+,\s*\w+,\s*application\b'
    calls = re.findall(call, source)
    kinds = {kind for call in calls for kind in call if kind}
    assert {"application_submitted", "decision", "withdrawn"} <= kinds, "the services' audit calls were not found"
    assert kinds - set(DESCRIBERS) - HIDDEN_KINDS == set()


def without_csrf_token(response):
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', response.get_data(as_text=True))
