"""The scheduled jobs' services: each notice once, whatever the timing of the runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from hiring import pipeline, reminders, services
from hiring.extensions import db
from hiring.models import Application, AuditEvent, OutboxEmail, PanelMember
from hiring.pipeline import UTC, Stage
from hiring.settings import get_policy


def outbox(template: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if template:
        query = query.where(OutboxEmail.template == template)
    return db.session.scalars(query).all()


def audit(kind: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all()


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    manager = factory.user("manager", name="Mona Manager")
    panel = [factory.user("interviewer", name="Ivan"), factory.user("interviewer", name="Ines")]
    position = factory.position(owner=recruiter, hiring_manager=manager)
    return {"recruiter": recruiter, "manager": manager, "panel": panel, "position": position}


# --- deadlines ------------------------------------------------------------------------------------


def test_due_soon_then_overdue_each_once_to_the_position_owner(factory, team, now):
    # Held 5 days ago → the candidate was told Thu 26 Nov, the team's deadline is the working
    # day before: tomorrow night (Berlin) → due soon now.
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      at=now - timedelta(days=5))
    assert application.due_at.isoformat() == "2026-11-25T22:59:59+00:00"
    version = application.version

    assert reminders.check_deadlines(now) == {"applications": 1, "due_soon": 1}
    assert reminders.check_deadlines(now + timedelta(minutes=15)) == {"applications": 0}
    [notice] = outbox("due_soon_notice")
    assert notice.recipient == team["recruiter"].email
    assert "Wednesday, 25 November 2026" in notice.body_text
    assert f"http://hiring.test/applications/{application.id}" in notice.body_text
    assert f'href="http://hiring.test/applications/{application.id}"' in notice.body_html
    db.session.refresh(application)
    assert application.version == version  # bookkeeping does not make open forms stale

    later = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert reminders.check_deadlines(later) == {"applications": 1, "overdue": 1}
    assert reminders.check_deadlines(later) == {"applications": 0}
    assert reminders.check_deadlines(later + timedelta(days=3)) == {"applications": 0}
    [overdue] = outbox("overdue_notice")
    assert overdue.recipient == team["recruiter"].email
    assert overdue.subject.startswith("Overdue: ")
    assert [e.data["recipient"] for e in audit("overdue_notice")] == [team["recruiter"].email]


def test_a_day_late_run_sends_only_the_overdue_notice_once(factory, team, now):
    factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                        at=now - timedelta(days=6))
    a_day_late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    reminders.check_deadlines(a_day_late)
    reminders.check_deadlines(a_day_late)
    assert [e.template for e in outbox() if not e.to_candidate] == ["panel_invitation", "panel_invitation",
                                                                    "overdue_notice"]


def test_an_overdue_notice_after_a_delay_notice_names_the_deadline_that_was_missed(factory, team, now):
    # The deadline job was down: the candidate's morning came first, so the delay notice
    # moved due_at on to Friday 27 Nov before anyone told the owner the team is late.
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      at=now - timedelta(days=6))
    missed = application.due_at  # Tue 24 Nov, the working day before the promised Wed 25 Nov
    assert missed.isoformat() == "2026-11-24T22:59:59+00:00"
    morning = pipeline.delay_notice_at(application.promised_at, get_policy())
    assert reminders.send_delay_notices(morning)["delay_notices"] == 1
    db.session.refresh(application)
    assert application.due_at.isoformat() == "2026-11-27T22:59:59+00:00"
    assert reminders.check_deadlines(morning + timedelta(minutes=1))["overdue"] == 1
    [overdue] = outbox("overdue_notice")
    assert "(due Tuesday, 24 November 2026)" in overdue.subject
    assert "was due by Tuesday, 24 November 2026 and is now overdue (1 day late)" in overdue.body_text
    assert "27 November" not in overdue.subject


def test_a_new_due_date_is_announced_anew(factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      at=now - timedelta(days=6))
    reminders.check_deadlines(now)
    services.extend_deadline(application, until=date(2026, 12, 3), reason="References pending.",
                             actor=team["recruiter"], now=now)
    reminders.check_deadlines(now)  # Dec 3 is more than two days away: nothing to say yet
    assert len(outbox("due_soon_notice")) == 1
    reminders.check_deadlines(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    assert len(outbox("due_soon_notice")) == 2


def test_offer_decision_goes_to_the_hiring_manager_with_needs_discussion_once(factory, team, now):
    application = factory.application(Stage.FINAL_DECISION, position=team["position"], panel=team["panel"],
                                      recommendations=["yes", "no"], at=now - timedelta(hours=1))
    result = reminders.check_deadlines(now)
    assert result == {"applications": 1, "needs_discussion": 1}
    reminders.check_deadlines(now + timedelta(hours=1))
    [notice] = outbox("needs_discussion_notice")
    assert notice.recipient == team["manager"].email
    assert "the whole panel has given its feedback, but it is not a clear recommendation" in notice.body_text
    reminders.check_deadlines(application.due_at - timedelta(days=1))
    assert [e.recipient for e in outbox("due_soon_notice")] == [team["manager"].email]


def test_no_needs_discussion_notice_before_the_whole_panel_has_given_feedback(factory, team, now):
    application = factory.application(Stage.FINAL_DECISION, position=team["position"], panel=team["panel"],
                                      recommendations=["yes"], at=now - timedelta(hours=1))
    assert reminders.check_deadlines(now) == {"applications": 0}
    assert outbox("needs_discussion_notice") == []
    services.submit_feedback(application.current_interview(), interviewer=team["panel"][1], recommendation="no",
                             now=now + timedelta(minutes=10))
    assert reminders.check_deadlines(now + timedelta(minutes=15)) == {"applications": 1, "needs_discussion": 1}
    assert reminders.check_deadlines(now + timedelta(minutes=30)) == {"applications": 0}
    [notice] = outbox("needs_discussion_notice")
    assert notice.recipient == team["manager"].email
    assert "the whole panel has given its feedback, but it is not a clear recommendation" in notice.body_text


def test_expedite_is_announced_once_per_competing_offer(factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"])
    services.set_competing_offer(application, deadline=date(2026, 12, 10), actor=team["recruiter"], now=now)
    reminders.check_deadlines(now)
    reminders.check_deadlines(now + timedelta(minutes=15))
    assert len(outbox("expedite_notice")) == 1
    services.set_competing_offer(application, deadline=date(2026, 11, 28), actor=team["recruiter"], now=now)
    reminders.check_deadlines(now + timedelta(minutes=30))
    notices = outbox("expedite_notice")
    assert len(notices) == 2
    assert "Saturday, 28 November 2026" in notices[1].body_text


def test_statement_count_does_not_grow_with_applications_that_need_nothing(factory, team, now):
    position = team["position"]
    owner = position.owner

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            services.submit_application(position, name=f"C {n}", email=f"c{n}@example.org", actor=owner, now=now)

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            db.session.expire_all()
            from hiring.settings import forget_policy

            forget_policy()
            assert reminders.check_deadlines(now) == {"applications": 0}
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    add(3, 0)
    few = statements()
    add(40, 100)
    assert statements() == few <= 3


# --- feedback reminders ---------------------------------------------------------------------------


def test_feedback_reminders_after_24_hours_then_daily_at_most_five(factory, team, now):
    ivan, ines = team["panel"]
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      recommendations=["yes"], at=now)
    assert reminders.send_feedback_reminders(now + timedelta(hours=23)) == {"reminders": 0}
    assert reminders.send_feedback_reminders(now + timedelta(hours=24)) == {"reminders": 1}
    assert reminders.send_feedback_reminders(now + timedelta(hours=25)) == {"reminders": 0}
    moment = now + timedelta(hours=24)
    for _ in range(10):
        moment += timedelta(days=1)
        reminders.send_feedback_reminders(moment)
        reminders.send_feedback_reminders(moment)  # twice: still one a day
    sent = outbox("feedback_reminder")
    assert [e.recipient for e in sent] == [ines.email] * 5
    assert sent[0].subject == f"Reminder 1/5: your feedback on {application.candidate.name}"
    member = db.session.get(PanelMember, (application.interviews[0].id, ines.id))
    assert member.reminders_sent == 5


def test_no_feedback_reminders_before_the_interview_is_held_or_once_cancelled(factory, team, now):
    scheduled = factory.application(Stage.FIRST_INTERVIEW, position=team["position"], panel=team["panel"])
    interview = scheduled.interviews[0]
    assert reminders.send_feedback_reminders(interview.scheduled_at + timedelta(days=2)) == {"reminders": 0}
    services.cancel_interview(interview, actor=team["recruiter"], now=now)
    assert reminders.send_feedback_reminders(interview.scheduled_at + timedelta(days=3)) == {"reminders": 0}
    # Decided without everyone's feedback: nobody is chased for a decision already made.
    decided = factory.application(Stage.SECOND_INTERVIEW, position=team["position"], panel=team["panel"],
                                  recommendations=["yes"], at=now)
    assert decided.stage == Stage.SECOND_INTERVIEW
    assert reminders.send_feedback_reminders(now + timedelta(days=2)) == {"reminders": 0}
    assert outbox("feedback_reminder") == []


# --- delay notices --------------------------------------------------------------------------------


def test_delay_notice_on_the_promised_morning_in_the_candidates_language(factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      at=now - timedelta(days=6), language="de")
    policy = get_policy()
    promised = application.promised_at  # Wed 25 Nov, 23:59:59 Berlin: the date given with the invitation
    morning = pipeline.delay_notice_at(promised, policy)  # Wed 25 Nov, 09:00 Berlin
    assert morning == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert reminders.send_delay_notices(morning - timedelta(minutes=1)) == {"delay_notices": 0, "skipped": 0}
    assert reminders.send_delay_notices(morning) == {"delay_notices": 1, "skipped": 0}
    assert reminders.send_delay_notices(morning + timedelta(minutes=15))["delay_notices"] == 0

    [notice] = outbox("delay_notice")
    assert notice.to_candidate and notice.recipient == application.candidate.email
    assert notice.subject == "Wir benötigen etwas mehr Zeit – Embedded Software Engineer"
    assert "Sie hören spätestens am Montag, 30. November 2026 von uns." in notice.body_text
    db.session.refresh(application)
    assert application.promised_at.isoformat() == "2026-11-30T22:59:59+00:00"
    assert application.due_at.isoformat() == "2026-11-27T22:59:59+00:00"  # Friday: the working day before
    [extension] = audit("deadline_extended")[-1:]
    assert extension.data["automatic"] is True and extension.actor_id is None
    assert "morning of 2026-11-25" in extension.data["reason"]

    # The new date's morning comes too: another notice, once.
    again = pipeline.delay_notice_at(application.promised_at, policy)
    reminders.send_delay_notices(again)
    reminders.send_delay_notices(again)
    assert len(outbox("delay_notice")) == 2


def test_no_delay_notice_at_the_offer(factory, team, now):
    factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                        at=now - timedelta(days=20))
    offer = factory.application(Stage.OFFER, position=team["position"], panel=team["panel"],
                                recommendations=["yes", "yes"], at=now - timedelta(days=20))
    assert offer.promised_at is None  # the candidate holds our offer and answers by its date
    assert reminders.send_delay_notices(now)["delay_notices"] == 1
    assert offer.id not in {e.application_id for e in outbox("delay_notice")}


def test_no_delay_notice_once_the_candidate_has_a_new_date(factory, team, now):
    application = factory.application(Stage.SECOND_INTERVIEW, position=team["position"], panel=team["panel"],
                                      recommendations=["yes", "yes"], at=now - timedelta(days=10))
    # The interview was scheduled (and the candidate invited, with the answer date after it)
    # before the date they held: that answered it.
    services.schedule_interview(application, round=2, scheduled_at=now + timedelta(days=2),
                                panel_user_ids=[u.id for u in team["panel"]], location="Room 2",
                                actor=team["recruiter"], now=now - timedelta(days=1))
    assert application.promised_at > now
    assert reminders.send_delay_notices(now)["delay_notices"] == 0


# --- weekly digest --------------------------------------------------------------------------------


def test_digest_once_per_person_per_week_grouped_by_position(factory, team, now):
    other = factory.position(title="FPGA Developer", owner=team["recruiter"], hiring_manager=team["manager"])
    late = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                               at=now - timedelta(days=10))
    later = factory.application(Stage.APPLIED, position=other, panel=team["panel"], at=now - timedelta(days=20))
    soon = factory.application(Stage.FIRST_DECISION, position=other, panel=team["panel"], at=now - timedelta(days=5))
    # A manager with only a decision due this week gets no digest: nothing is overdue.
    factory.application(Stage.FINAL_DECISION, position=team["position"], panel=team["panel"],
                        recommendations=["yes", "yes"], at=now - timedelta(days=1))

    assert reminders.send_weekly_digest(now) == {"week": "2026-W48", "digests": 1}
    assert reminders.send_weekly_digest(now + timedelta(hours=1)) == {"week": "2026-W48", "digests": 0}
    [digest] = outbox("digest")
    assert digest.recipient == team["recruiter"].email
    assert digest.subject == "Weekly digest 2026-W48: 2 overdue, 1 due this week"
    text = digest.body_text
    assert text.index("== FPGA Developer ==") < text.index("== Embedded Software Engineer ==")
    # Late against the team's deadline (a working day before the candidate's date), and the date told.
    assert f"OVERDUE 7 days: {later.candidate.name} – Applied, candidate told Wednesday, 18 November 2026" in text
    assert f"OVERDUE 4 days: {late.candidate.name} – Debrief decision, candidate told Saturday, 21 November" in text
    assert f"due Wednesday, 25 November 2026: {soon.candidate.name}" in text
    for application in (late, later, soon):
        assert f"http://hiring.test/applications/{application.id}" in text
        assert f'href="http://hiring.test/applications/{application.id}"' in digest.body_html
    assert digest.idempotency_key == f"digest:{team['recruiter'].id}:2026-W48"

    # Next week: a new digest, once.
    next_monday = datetime(2026, 11, 30, 6, 59, tzinfo=UTC)  # 07:59 in Berlin: not yet
    assert reminders.send_weekly_digest(next_monday)["digests"] == 0
    # The manager's offer decision is overdue too by now: the team's deadline (Friday) came a
    # working day before the date told to the candidate (Monday). Their first digest.
    assert reminders.send_weekly_digest(next_monday + timedelta(minutes=1))["digests"] == 2
    assert reminders.send_weekly_digest(next_monday + timedelta(hours=5))["digests"] == 0
    assert reminders.send_weekly_digest(next_monday + timedelta(days=3))["digests"] == 0
    assert [e.recipient for e in outbox("digest")] == [team["recruiter"].email] * 2 + [team["manager"].email]


def test_digest_missed_on_monday_goes_out_on_tuesday(factory, team, now):
    factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                        at=now - timedelta(days=10))
    early_monday = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 07:00 in Berlin, before the digest hour
    assert reminders.send_weekly_digest(early_monday) == {"week": "2026-W49", "digests": 0, "not_yet": 1}
    tuesday = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # the scheduler was down all Monday
    assert reminders.send_weekly_digest(tuesday) == {"week": "2026-W49", "digests": 1}
    assert reminders.send_weekly_digest(tuesday + timedelta(days=1))["digests"] == 0
    assert [e.idempotency_key.rsplit(":", 1)[1] for e in outbox("digest")] == ["2026-W49"]


def _digest_team(factory, team, now, people: int) -> None:
    """``people`` recruiters, each owning a position with one overdue decision."""
    for index in range(people):
        owner = factory.user("recruiter", name=f"Recruiter {index}")
        position = factory.position(title=f"Position {index}", owner=owner, hiring_manager=team["manager"])
        factory.application(Stage.FIRST_DECISION, position=position, panel=team["panel"], at=now - timedelta(days=10))


def _digest_statements(now) -> tuple[int, int]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        sent = reminders.send_weekly_digest(now)["digests"]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return sent, len(statements)


def test_digest_statements_do_not_grow_with_recipients(factory, team, now):
    _digest_team(factory, team, now, 2)
    sent_few, few = _digest_statements(now)
    # Next week, with eight times as many people to tell.
    _digest_team(factory, team, now, 14)
    sent_many, many = _digest_statements(now + timedelta(days=7))
    assert (sent_few, sent_many) == (2, 16)
    assert many == few
    assert len(audit("digest_sent")) == 18
    assert len({e.idempotency_key for e in outbox("digest")}) == 18


def test_digest_racing_another_run_sends_each_person_one(factory, team, now, monkeypatch):
    _digest_team(factory, team, now, 3)
    first = db.session.scalars(select(Application).order_by(Application.id)).first()
    racer_key = f"digest:{first.owner_id}:2026-W48"
    render = reminders.notify.render_email
    raced = []

    def render_while_another_run_commits(**kwargs):
        if not raced:
            # Another process queues one person's digest after our check, before our commit.
            raced.append(kwargs["idempotency_key"])
            with db.engine.begin() as connection:
                connection.execute(OutboxEmail.__table__.insert(), [{
                    "template": "digest", "recipient": "racer@example.com", "recipient_user_id": first.owner_id,
                    "to_candidate": False, "subject": "the other run's digest", "body_text": "", "body_html": "",
                    "attachments": [], "idempotency_key": racer_key, "status": "queued", "attempts": 0,
                    "next_attempt_at": now, "created_at": now}])
        return render(**kwargs)

    monkeypatch.setattr(reminders.notify, "render_email", render_while_another_run_commits)
    assert reminders.send_weekly_digest(now) == {"week": "2026-W48", "digests": 2}
    assert raced == [racer_key]
    digests = outbox("digest")
    assert sorted(e.idempotency_key for e in digests) == sorted({e.idempotency_key for e in digests})
    assert len(digests) == 3
    # The failed attempt left no audit event behind: one per digest this run sent.
    assert len(audit("digest_sent")) == 2
    assert reminders.send_weekly_digest(now + timedelta(hours=1))["digests"] == 0


def test_nobody_gets_an_empty_digest(factory, team, now):
    factory.application(Stage.APPLIED, position=team["position"], panel=team["panel"])
    assert reminders.send_weekly_digest(now)["digests"] == 0
    assert outbox("digest") == []
    assert db.session.scalar(select(Application.id)) is not None


def test_an_unanswered_offer_is_a_follow_up_not_a_broken_promise(factory, team, now):
    factory.application(Stage.OFFER, position=team["position"], panel=team["panel"], recommendations=["yes", "yes"],
                        at=now - timedelta(days=8))
    reminders.check_deadlines(now)
    [notice] = outbox("overdue_notice")
    assert "has not answered our offer yet" in notice.body_text
    assert "has not answered our offer yet" in notice.body_html
    assert "waiting for the answer we promised" not in notice.body_text


def test_a_cancelled_interview_promises_a_new_date_that_the_delay_notice_keeps(factory, team, now):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team["position"], panel=team["panel"])
    services.cancel_interview(application.interviews[0], reason="Our interviewer is ill.", actor=team["recruiter"],
                              now=now)
    assert application.stage == Stage.APPLIED
    named = application.promised_at  # the date the cancellation email names
    assert pipeline.local_date(named, get_policy()).isoformat() in outbox("interview_cancelled")[0].idempotency_key \
        or "8 December 2026" in outbox("interview_cancelled")[0].body_text
    # Nobody reschedules: on that date's morning the candidate hears from us, before it passes.
    morning = pipeline.delay_notice_at(named, get_policy())
    assert reminders.send_delay_notices(morning)["delay_notices"] == 1
    assert outbox("delay_notice")[0].recipient == application.candidate.email
