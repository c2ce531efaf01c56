"""Every transition queues exactly the expected candidate email, with the right date,
in the candidate's language, as text and HTML; the invitation's .ics is right in UTC.
The interview panel gets its own calendar entry (and its updates and cancellations)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from hiring import mailer, services
from hiring.extensions import db
from hiring.models import AuditEvent, OutboxEmail
from hiring.pipeline import Stage


def candidate_emails(application) -> list[OutboxEmail]:
    return db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.application_id == application.id, OutboxEmail.to_candidate.is_(True))
        .order_by(OutboxEmail.id)
    ).all()


def emails_of(application) -> list[OutboxEmail]:
    """Every email about the application, the candidate's and the team's, in queue order."""
    return db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.application_id == application.id).order_by(OutboxEmail.id)
    ).all()


def new_emails(application, seen: list[OutboxEmail]) -> list[OutboxEmail]:
    known = {e.id for e in seen}
    return [e for e in emails_of(application) if e.id not in known]


def ics(email: OutboxEmail) -> Calendar:
    [attachment] = email.attachments
    return Calendar.from_ical(attachment["data"])


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter")
    manager = factory.user("manager")
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    return recruiter, manager, panel, factory.position(owner=recruiter, hiring_manager=manager)


def test_each_transition_sends_exactly_the_expected_email_with_the_right_date(team, now):
    recruiter, manager, panel, position = team
    seen: list[OutboxEmail] = []
    candidate = "ada@example.org"

    def to_panel(template: str) -> list[tuple[str, str]]:
        return [(template, member.email) for member in panel]

    def step(expected_template: str, *expected_text: str, before: tuple = (), after: tuple = ()) -> OutboxEmail:
        """Exactly these new emails, in order: ``before``, the candidate's, ``after``."""
        emails = new_emails(application, seen)
        assert [(e.template, e.recipient) for e in emails] == [*before, (expected_template, candidate), *after]
        [email] = [e for e in emails if e.to_candidate]
        for text in expected_text:
            assert text in email.body_text, (text, email.body_text)
        assert email.body_html.startswith("<!doctype html>")
        seen.extend(emails)
        return email

    application = services.submit_application(position, name="Ada Lovelace", email="ada@example.org",
                                              actor=recruiter, now=now)
    received = step("application_received", "Dear Ada Lovelace,",
                    "will tell you by Tuesday, 8 December 2026 whether we invite you")
    assert received.subject == "Your application for Embedded Software Engineer"
    assert "You will hear from us by Tuesday, 8 December 2026 at the latest." in received.body_html

    at = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)  # 14:30 in Berlin
    interview = services.schedule_interview(application, round=1, scheduled_at=at, duration_minutes=45,
                                            panel_user_ids=[u.id for u in panel], location="Room Ada",
                                            actor=recruiter, now=now)
    invitation = step("interview_invitation", "Friday, 27 November 2026, 14:30 (Europe/Berlin), 45 minutes",
                      "Room Ada", after=to_panel("panel_invitation"))
    event = ics(invitation).walk("VEVENT")[0]
    assert ics(invitation)["METHOD"] == "REQUEST"
    assert event.decoded("DTSTART") == at and event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert "DTSTART:20261127T133000Z" in invitation.attachments[0]["data"].replace("\r\n", "\n")
    assert event.decoded("DTEND") == at + timedelta(minutes=45)
    assert str(event["ATTENDEE"]) == "mailto:ada@example.org"
    assert str(event["ORGANIZER"]) == "mailto:hiring@localhost"  # MAIL_DEFAULT_SENDER
    uid = str(event["UID"])

    moved = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    services.reschedule_interview(interview, scheduled_at=moved, panel_user_ids=[u.id for u in panel],
                                  location="Room Ada", actor=recruiter, now=now + timedelta(hours=1))
    updated = step("interview_updated", "Monday, 30 November 2026, 10:00 (Europe/Berlin)",
                   after=to_panel("panel_updated"))
    event = ics(updated).walk("VEVENT")[0]
    assert (str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART")) == (uid, 1, moved)

    held = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    services.record_interview_held(interview, held_at=held, actor=recruiter, now=held)
    step("interview_thanks", "You will hear from us by Monday, 7 December 2026 at the latest.")
    assert application.promised_at > application.due_at  # the team's deadline comes first

    services.decide(application, outcome="advance", rationale="Strong on RTOS.", actor=recruiter,
                    now=held + timedelta(days=2))
    step("second_interview_invitation", "by Wednesday, 16 December 2026")

    second = services.schedule_interview(application, round=2, scheduled_at=held + timedelta(days=5),
                                         panel_user_ids=[u.id for u in panel], video_link="https://meet.example/x",
                                         actor=recruiter, now=held + timedelta(days=3))
    step("interview_invitation", "second interview", "https://meet.example/x", after=to_panel("panel_invitation"))
    services.record_interview_held(second, actor=recruiter, now=held + timedelta(days=5, hours=2))
    step("interview_thanks", "together with management", "You will hear from us by Saturday, 12 December 2026")
    for member in panel:
        services.submit_feedback(second, interviewer=member, recommendation="yes", now=held + timedelta(days=6))
    services.decide(application, outcome="advance", actor=manager, now=held + timedelta(days=7))
    offer = step("offer", "We would be glad to hear from you by Monday, 14 December 2026.",
                 before=(("approval_request", manager.email),))
    assert offer.subject == "Our offer – Embedded Software Engineer"


def test_rejection_with_feedback_and_talent_pool_invitation_in_german(factory, team, now):
    recruiter, _, panel, position = team
    application = factory.application(Stage.FIRST_DECISION, position=position, panel=panel, language="de")
    services.decide(application, outcome="reject", rationale="internal only", candidate_feedback="Mehr RTOS-Praxis.",
                    actor=recruiter, now=now + timedelta(hours=1))
    rejection = candidate_emails(application)[-1]
    assert rejection.template == "rejection"
    assert rejection.subject == "Ihre Bewerbung als Embedded Software Engineer"
    assert rejection.body_text.startswith("Guten Tag Candidate")
    assert "Mehr RTOS-Praxis." in rejection.body_text and "Mehr RTOS-Praxis." in rejection.body_html
    assert "internal only" not in rejection.body_text + rejection.body_html
    assert "Talentpool" in rejection.body_text and "Talentpool" in rejection.body_html
    assert "Mit freundlichen Grüßen" in rejection.body_html


def test_extension_cancellation_and_withdrawal_emails(factory, team, now):
    recruiter, _, panel, position = team
    application = factory.application(Stage.FIRST_DECISION, position=position, panel=panel, language="de")
    services.extend_deadline(application, until=date(2026, 12, 10), reason="Eine Referenz steht noch aus.",
                             actor=recruiter, now=now)
    extended = candidate_emails(application)[-1]
    assert extended.template == "deadline_extended"
    assert "Eine Referenz steht noch aus." in extended.body_text
    assert "Sie hören spätestens am Donnerstag, 10. Dezember 2026 von uns." in extended.body_text

    other = factory.application(Stage.FIRST_INTERVIEW, position=position, panel=panel)
    interview = other.interviews[0]
    services.cancel_interview(interview, reason="Our interviewer is ill.", actor=recruiter, now=now)
    cancelled = candidate_emails(other)[-1]
    assert cancelled.template == "interview_cancelled"
    calendar = ics(cancelled)
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert "We will be in touch with a new date by" in cancelled.body_text

    services.withdraw(other, reason="Took another job.", actor=recruiter, now=now + timedelta(hours=1))
    assert candidate_emails(other)[-1].template == "withdrawal_confirmation"


def event_id(application, kind: str) -> int:
    return db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.application_id == application.id,
                                                                   AuditEvent.kind == kind))


def attendees(calendar: Calendar) -> list[str]:
    value = calendar.walk("VEVENT")[0]["ATTENDEE"]
    return sorted(str(a) for a in (value if isinstance(value, list) else [value]))


def test_the_panel_is_told_with_a_calendar_entry_when_scheduled_moved_and_cancelled(factory, team, now):
    recruiter, _, panel, position = team
    newcomer = factory.user("interviewer", name="Nina Newcomer")
    application = services.submit_application(position, name="Grace <Hopper>", email="grace@example.org",
                                              actor=recruiter, now=now)
    seen = emails_of(application)
    link = f"http://hiring.test/applications/{application.id}"

    at = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)  # 14:30 in Berlin
    interview = services.schedule_interview(application, round=1, scheduled_at=at, duration_minutes=45,
                                            panel_user_ids=[u.id for u in panel], location="Room Ada",
                                            actor=recruiter, now=now)
    emails = new_emails(application, seen)
    candidate_ics = ics(emails[0])
    assert [(e.template, e.recipient) for e in emails] == [
        ("interview_invitation", "grace@example.org"), *[("panel_invitation", m.email) for m in panel]]
    scheduled = event_id(application, "interview_scheduled")
    for member, email in zip(panel, emails[1:], strict=True):
        assert not email.to_candidate and email.recipient_user_id == member.id
        assert email.idempotency_key == f"panel:{interview.id}:{scheduled}:{member.id}"
        assert email.subject == ("Interview panel: Grace <Hopper> – Embedded Software Engineer, "
                                 "Friday, 27 November 2026")
        assert email.body_text.startswith(f"Hello {member.name},\n\nyou are on the panel for the first interview "
                                          'with Grace <Hopper> for "Embedded Software Engineer":')
        assert "When:  Friday, 27 November 2026, 14:30 (Europe/Berlin), 45 minutes" in email.body_text
        assert f"Panel: {panel[0].name}, {panel[1].name}" in email.body_text
        assert link in email.body_text and f'href="{link}"' in email.body_html
        assert "Grace &lt;Hopper&gt;" in email.body_html and "<Hopper>" not in email.body_html
        calendar = ics(email)
        event = calendar.walk("VEVENT")[0]
        assert calendar["METHOD"] == "REQUEST" and email.attachments[0]["filename"] == "interview.ics"
        assert str(event["UID"]) == str(candidate_ics.walk("VEVENT")[0]["UID"]) == interview.ical_uid
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == at and event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert event.decoded("DTEND") == at + timedelta(minutes=45)
        assert str(event["ORGANIZER"]) == "mailto:hiring@localhost"
        assert attendees(calendar) == sorted(f"mailto:{m.email}" for m in panel)
        assert str(event["SUMMARY"]) == "First interview: Grace <Hopper> – Embedded Software Engineer"
        assert str(event["DESCRIPTION"]) == f"Application: {link}"
    seen += emails

    # Moved, and the panel changes: panel[0] stays, panel[1] leaves, the newcomer joins.
    moved = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    services.reschedule_interview(interview, scheduled_at=moved, panel_user_ids=[panel[0].id, newcomer.id],
                                  location="Room Ada", actor=recruiter, now=now + timedelta(hours=1))
    emails = new_emails(application, seen)
    assert [(e.template, e.recipient) for e in emails] == [
        ("interview_updated", "grace@example.org"), ("panel_updated", panel[0].email),
        ("panel_invitation", newcomer.email), ("panel_cancelled", panel[1].email)]
    rescheduled = event_id(application, "interview_rescheduled")
    assert [e.idempotency_key for e in emails[1:]] == [
        f"panel:{interview.id}:{rescheduled}:{u.id}" for u in (panel[0], newcomer, panel[1])]
    updated, invited, removed = emails[1:]
    assert "has changed (it was on Friday, 27 November 2026, 14:30):" in updated.body_text
    assert "When:  Monday, 30 November 2026, 10:00 (Europe/Berlin), 60 minutes" in updated.body_text
    assert f"Panel: {panel[0].name}, Nina Newcomer" in updated.body_text
    assert "you are on the panel for the first interview" in invited.body_text
    for email in (updated, invited):
        calendar = ics(email)
        event = calendar.walk("VEVENT")[0]
        assert calendar["METHOD"] == "REQUEST"
        assert (str(event["UID"]), int(event["SEQUENCE"]), event.decoded("DTSTART")) == (interview.ical_uid, 1, moved)
        assert attendees(calendar) == sorted(f"mailto:{u.email}" for u in (panel[0], newcomer))
    # The leaver is told the date that is in their calendar.
    assert removed.subject == ("Taken off the panel: Grace <Hopper> – Embedded Software Engineer, "
                               "Friday, 27 November 2026")
    assert ("you are no longer on the panel for the first interview with Grace <Hopper> for "
            '"Embedded Software Engineer" on Friday, 27 November 2026, 14:30.') in removed.body_text
    calendar = ics(removed)
    assert calendar["METHOD"] == "CANCEL" and removed.attachments[0]["filename"] == "cancelled-interview.ics"
    assert int(calendar.walk("VEVENT")[0]["SEQUENCE"]) == 1
    assert attendees(calendar) == [f"mailto:{panel[1].email}"]
    seen += emails

    services.cancel_interview(interview, reason="The room is being renovated.", actor=recruiter,
                              now=now + timedelta(hours=2))
    emails = new_emails(application, seen)
    current = sorted((panel[0], newcomer), key=lambda u: u.id)
    assert [(e.template, e.recipient) for e in emails] == [
        ("interview_cancelled", "grace@example.org"), *[("panel_cancelled", u.email) for u in current]]
    cancelled = event_id(application, "interview_cancelled")
    for member, email in zip(current, emails[1:], strict=True):
        assert email.idempotency_key == f"panel:{interview.id}:{cancelled}:{member.id}"
        assert email.subject == ("Interview cancelled: Grace <Hopper> – Embedded Software Engineer, "
                                 "Monday, 30 November 2026")
        assert ('"Embedded Software Engineer" on Monday, 30 November 2026, 10:00 is cancelled. '
                "The room is being renovated.") in email.body_text
        calendar = ics(email)
        assert calendar["METHOD"] == "CANCEL" and calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
        assert int(calendar.walk("VEVENT")[0]["SEQUENCE"]) == 2
        assert attendees(calendar) == sorted(f"mailto:{u.email}" for u in current)


@pytest.mark.parametrize("how", ["rejected", "withdrawn"])
def test_a_rejection_or_withdrawal_takes_the_upcoming_interview_out_of_the_panels_calendars(factory, team, now,
                                                                                           how):
    recruiter, _, panel, position = team
    application = factory.application(Stage.FIRST_INTERVIEW, position=position, panel=panel)
    interview = application.current_interview()
    seen = emails_of(application)
    services.update_user(panel[1], active=False, now=now)  # a deactivated member is not written to
    if how == "rejected":
        services.decide(application, outcome="reject", rationale="Not a fit.", actor=recruiter, now=now)
        expected = [("rejection", application.candidate.email), ("panel_cancelled", panel[0].email)]
        kind, why = "decision", "is cancelled: the application was rejected."
    else:
        services.withdraw(application, reason="Took another job.", actor=recruiter, now=now)
        expected = [("withdrawal_confirmation", application.candidate.email), ("panel_cancelled", panel[0].email)]
        kind, why = "withdrawn", "is cancelled: the candidate withdrew."
    emails = new_emails(application, seen)
    assert [(e.template, e.recipient) for e in emails] == expected
    notice = emails[1]
    assert notice.idempotency_key == f"panel:{interview.id}:{event_id(application, kind)}:{panel[0].id}"
    assert why in notice.body_text
    calendar = ics(notice)
    assert calendar["METHOD"] == "CANCEL"
    assert int(calendar.walk("VEVENT")[0]["SEQUENCE"]) == interview.ical_sequence == 1


def test_html_escapes_names_and_every_link_is_absolute(factory, team, now):
    recruiter, _, panel, position = team
    application = services.submit_application(position, name="<script>x</script> Eve", email="eve@example.org",
                                              actor=recruiter, now=now)
    email = candidate_emails(application)[0]
    assert "<script>" not in email.body_html and "&lt;script&gt;" in email.body_html
    factory.application(Stage.FIRST_DECISION, position=position, panel=panel, at=now - timedelta(days=10))
    from hiring import reminders

    reminders.check_deadlines(now)
    reminders.send_weekly_digest(now)
    team_emails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_candidate.is_(False))).all()
    assert {e.template for e in team_emails} == {"panel_invitation", "overdue_notice", "digest"}
    for team_email in team_emails:
        links = re.findall(r'href="([^"]+)"', team_email.body_html)
        assert links and all(link.startswith("http://hiring.test/") for link in links)
        assert team_email.body_text.count("http://hiring.test/") >= 1


def test_without_a_mail_server_emails_stay_visible_as_not_delivered(factory, now):
    application = factory.application(Stage.APPLIED)
    assert mailer.relay_outbox(now) == {"sent": 0, "retry": 0, "failed": 0, "not_delivered": 1}
    [email] = candidate_emails(application)
    db.session.refresh(email)
    assert email.status == "not_delivered"
    assert email.last_error == "not delivered: no SMTP server configured"


def test_the_invitation_names_the_panel_with_their_roles(factory, now):
    recruiter = factory.user("recruiter", name="Rita Recruiter", email="rita@example.com")
    manager = factory.user("manager", name="Mona Manager")
    ivan = factory.user("interviewer", name="Ivan Interviewer")
    position = factory.position(owner=recruiter, hiring_manager=manager)
    for language, lines in (
        ("en", ["You meet: Ivan Interviewer (Interviewer)", "          Mona Manager (Hiring manager)",
                "          Rita Recruiter (Recruiter)"]),
        ("de", ["Sie treffen: Ivan Interviewer (Interviewer:in)",
                "             Mona Manager (Einstellende Führungskraft)", "             Rita Recruiter (Recruiting)"]),
    ):
        application = factory.application(Stage.APPLIED, position=position, language=language)
        services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=2),
                                    panel_user_ids=[ivan.id, manager.id, recruiter.id], location="Room Ada",
                                    actor=recruiter, now=now)
        invitation = candidate_emails(application)[-1]
        assert invitation.template == "interview_invitation"
        assert "\n".join(lines) in invitation.body_text, invitation.body_text
        assert "Ivan Interviewer (Interviewer" in invitation.body_html
        assert "Mona Manager (" + lines[1].split("(")[1] in invitation.body_html


def test_every_candidate_email_names_the_contact_person(factory, now):
    recruiter = factory.user("recruiter", name="Rita Recruiter", email="rita@example.com")
    manager = factory.user("manager")
    position = factory.position(owner=recruiter, hiring_manager=manager)
    hired = factory.application(Stage.HIRED, position=position, recommendations=["yes", "yes"])
    german = factory.application(Stage.REJECTED, position=position, language="de")
    moved = factory.application(Stage.FIRST_INTERVIEW, position=position)
    interview = moved.current_interview()
    services.reschedule_interview(interview, scheduled_at=now + timedelta(days=4),
                                  panel_user_ids=interview.panel_user_ids, location="Room 2", actor=recruiter, now=now)
    services.cancel_interview(interview, reason="Ill.", actor=recruiter, now=now)
    services.extend_deadline(moved, until=date(2026, 12, 30), reason="Holidays.", actor=recruiter, now=now)
    services.withdraw(moved, actor=recruiter, now=now)
    emails = candidate_emails(hired) + candidate_emails(german) + candidate_emails(moved)
    assert {e.template for e in emails} >= {
        "application_received", "interview_invitation", "interview_updated", "interview_cancelled", "interview_thanks",
        "second_interview_invitation", "offer", "rejection", "deadline_extended", "withdrawal_confirmation"}
    for email in emails:
        if email.recipient == german.candidate.email:
            assert "Ihre Ansprechperson: Rita Recruiter <rita@example.com>." in email.body_text, email.template
            assert "Ihre Ansprechperson:</strong> Rita Recruiter" in email.body_html
            assert "nach dem Grund" in email.body_text
        else:
            assert ("Your contact person: Rita Recruiter <rita@example.com>. If a date we gave you passes without "
                    "news from us, ask Rita Recruiter why") in email.body_text, email.template
            assert 'href="mailto:rita@example.com"' in email.body_html
    # Team emails name no contact person.
    team = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_candidate.is_(False))).all()
    assert team and not any("contact person" in e.body_text for e in team)


def test_no_contact_person_who_has_left_the_team(factory, now):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    application = factory.application(Stage.APPLIED, position=position)
    admin = factory.user("admin")
    services.update_user(recruiter, active=False, actor=admin, now=now)
    services.withdraw(application, actor=admin, now=now + timedelta(hours=1))
    assert "contact person" not in candidate_emails(application)[-1].body_text


def _rejection_text(factory, position, stage, *, recommendations=None, language="en"):
    application = factory.application(stage, position=position, language=language, recommendations=recommendations)
    actor = position.hiring_manager if stage == "final_decision" else position.owner
    services.decide(application, outcome="reject", rationale="Not this time.", actor=actor,
                    now=factory.now + timedelta(hours=1))
    email = candidate_emails(application)[-1]
    assert email.template == "rejection"
    return email.body_text + "\n" + email.body_html


PREFERRED = "another candidate matched this particular role more closely"


@pytest.mark.parametrize(("stage", "says"), [
    ("applied", "we have decided not to proceed with your application"),
    ("first_decision", "conversation in your first interview. After discussing it in the team"),
    ("final_decision", "After the second interview we have decided, together with management, not to make you"),
])
def test_the_rejection_says_what_it_follows_and_no_one_else_preferred_when_nobody_got_further(
        factory, team, stage, says):
    _, _, _, position = team
    text = _rejection_text(factory, position, stage)
    assert says in text
    assert PREFERRED not in text
    assert "This decision is about the fit with this particular role" in text


def test_the_rejection_names_a_preferred_candidate_only_when_one_got_further(factory, team):
    _, _, _, position = team
    factory.application(Stage.FIRST_DECISION, position=position)  # same stage: not further
    assert PREFERRED not in _rejection_text(factory, position, "first_decision")
    factory.application(Stage.SECOND_INTERVIEW, position=position)
    assert PREFERRED in _rejection_text(factory, position, "first_decision")
    assert PREFERRED not in _rejection_text(factory, position, "final_decision")
    factory.application(Stage.HIRED, position=position)
    assert PREFERRED in _rejection_text(factory, position, "final_decision")
    german = _rejection_text(factory, position, "applied", language="de")
    assert "Eine andere Bewerbung entsprach den Anforderungen dieser Stelle" in german
    assert "Nach sorgfältiger Prüfung haben wir uns entschieden, Ihre Bewerbung nicht weiter" in german


def test_an_other_candidate_rejected_later_counts_as_further(factory, team):
    _, _, _, position = team
    rival = factory.application(Stage.FINAL_DECISION, position=position)
    services.decide(rival, outcome="reject", rationale="Budget.", actor=position.hiring_manager,
                    now=factory.now + timedelta(hours=1))
    text = _rejection_text(factory, position, "applied")  # someone is at the offer decision
    assert PREFERRED in text
