"""The promise engine, through the services and the jobs: every hole of issue 10 that the
scheduler and the verbs close. Each test failed before the promise engine."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from hiring import pipeline, reminders, services
from hiring.extensions import db
from hiring.models import Application, OutboxEmail, Promise
from hiring.pipeline import UTC, Flag, InvalidInput, Stage
from hiring.settings import get_policy


def outbox(template: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if template:
        query = query.where(OutboxEmail.template == template)
    return db.session.scalars(query).all()


def promises(application: Application) -> list[Promise]:
    return db.session.scalars(select(Promise).where(Promise.application_id == application.id)
                              .order_by(Promise.id)).all()


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=pipeline.ZoneInfo("Europe/Berlin")).astimezone(UTC)


def told(application: Application) -> date:
    return pipeline.local_date(application.promised_at, get_policy())


@pytest.fixture
def team(factory):
    recruiter = factory.user("recruiter", name="Rita Recruiter")
    manager = factory.user("manager", name="Mona Manager")
    admin = factory.user("admin", name="Ada Admin")
    panel = [factory.user("interviewer", name="Ivan"), factory.user("interviewer", name="Ines")]
    position = factory.position(owner=recruiter, hiring_manager=manager)
    return {"recruiter": recruiter, "manager": manager, "admin": admin, "panel": panel, "position": position}


# --- hole 1: the team's deadline comes before the candidate's date ---------------------------


def test_the_team_deadline_is_a_working_day_before_the_date_told(team, now):
    application = services.submit_application(team["position"], name="Ada", email="ada@example.org",
                                              actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 12, 8)  # Tuesday 24 Nov + 14 days
    assert application.due_at == berlin(2026, 12, 7, 23, 59, 59)  # Monday: one working day before
    [record] = promises(application)
    assert (record.promised_for, record.told_in, record.outcome) == (date(2026, 12, 8), "application_received", None)
    [email] = outbox("application_received")
    assert "Tuesday, 8 December 2026" in email.body_text


def test_the_delay_notice_goes_out_on_the_promised_morning_before_the_date_passes(team, now):
    application = services.submit_application(team["position"], name="Ada", email="ada@example.org",
                                              actor=team["recruiter"], now=now)
    assert reminders.send_delay_notices(berlin(2026, 12, 8, 8, 59))["delay_notices"] == 0
    assert reminders.send_delay_notices(berlin(2026, 12, 8, 9, 0))["delay_notices"] == 1
    assert reminders.send_delay_notices(berlin(2026, 12, 8, 9, 15))["delay_notices"] == 0
    db.session.refresh(application)
    assert told(application) == date(2026, 12, 13)  # the promised day + 5
    assert application.promise_moves == 1 and application.automatic_delays == 1
    [notice] = outbox("delay_notice")
    assert notice.created_at < berlin(2026, 12, 8, 23, 59, 59)  # before the old date passed
    assert "Sunday, 13 December 2026" in notice.body_text
    first, second = promises(application)
    assert (first.outcome, first.resolved_by) == ("moved", "delay_notice")
    assert (second.promised_for, second.automatic, second.outcome) == (date(2026, 12, 13), True, None)
    # The team stays late: the delay notice moved the candidate's date, not its punctuality.
    state_flags = application.flags(berlin(2026, 12, 8, 10, 0), get_policy())
    assert Flag.OVERDUE in state_flags


def test_an_idle_team_never_leaves_a_promise_in_the_past(team, now):
    """Every 15 minutes for 60 days, nobody acting: the date told is never in the past, each
    promise is moved before it lapses, and after the allowed automatic delays each further
    notice escalates to the hiring manager and every admin, and the application is stalled."""
    applications = [
        services.submit_application(team["position"], name=f"C{n}", email=f"c{n}@example.org",
                                    actor=team["recruiter"], now=now + timedelta(hours=5 * n))
        for n in range(3)
    ]
    moment = now
    while moment < now + timedelta(days=60):
        reminders.send_delay_notices(moment)
        for application in db.session.scalars(select(Application)):
            assert application.promised_at >= moment, (application.id, application.promised_at, moment)
        moment += timedelta(minutes=15)
    for application in applications:
        db.session.refresh(application)
        records = promises(application)
        assert [r.outcome for r in records[:-1]] == ["moved"] * (len(records) - 1)
        assert all(r.resolved_at <= r.lapses_at for r in records[:-1])
        assert application.automatic_delays == len(records) - 1 > get_policy().max_automatic_delays
        assert Flag.STALLED in application.flags(moment, get_policy())
    stalled = outbox("stalled_notice")
    assert {e.recipient for e in stalled} == {team["manager"].email, team["admin"].email}
    assert team["recruiter"].email not in {e.recipient for e in stalled}


def test_a_person_acting_ends_the_stall(team, now):
    application = services.submit_application(team["position"], name="Ada", email="ada@example.org",
                                              actor=team["recruiter"], now=now)
    moment = berlin(2026, 12, 8, 9, 0)
    for _ in range(3):
        reminders.send_delay_notices(moment)
        db.session.refresh(application)
        moment = pipeline.delay_notice_at(application.promised_at, get_policy())
    assert application.automatic_delays == 3
    services.extend_deadline(application, until=told(application) + timedelta(days=3), reason="Panel on leave.",
                             actor=team["recruiter"], now=moment - timedelta(hours=2))
    assert application.automatic_delays == 0 and application.overdue_since is None
    assert Flag.STALLED not in application.flags(moment, get_policy())
    assert application.promise_moves == 4  # three automatic moves and one by a person


# --- hole 2: an interview promises its answer date; an unrecorded one is flagged --------------


def test_the_invitation_promises_the_answer_date_and_it_holds_without_held(factory, team, now):
    application = factory.application(Stage.APPLIED, position=team["position"], panel=team["panel"])
    interview = services.schedule_interview(application, round=1, scheduled_at=berlin(2026, 11, 27, 10, 0),
                                            panel_user_ids=[u.id for u in team["panel"]], location="Room 1",
                                            actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 12, 4)  # interview day + 7
    assert application.due_at == berlin(2026, 12, 3, 23, 59, 59)
    [invitation] = outbox("interview_invitation")
    assert "Friday, 4 December 2026" in invitation.body_text
    received, invited = promises(application)
    assert (received.outcome, received.resolved_by) == ("kept", "interview_scheduled")
    assert invited.promised_for == date(2026, 12, 4)
    # Nobody marks it held: the owner is told once, a day after its end; the date stands.
    ends = interview.scheduled_at + timedelta(minutes=interview.duration_minutes)
    assert reminders.check_deadlines(ends + timedelta(hours=23)).get("unrecorded") is None
    assert reminders.check_deadlines(ends + timedelta(hours=24, minutes=1))["unrecorded"] == 1
    assert reminders.check_deadlines(ends + timedelta(hours=25)).get("unrecorded") is None
    [notice] = outbox("unrecorded_notice")
    assert notice.recipient == team["recruiter"].email
    db.session.refresh(application)
    assert Flag.UNRECORDED in application.flags(ends + timedelta(hours=25), get_policy())
    # Marked held on the day: the date told with the invitation holds.
    services.record_interview_held(interview, held_at=ends, actor=team["recruiter"], now=ends + timedelta(days=2))
    assert told(application) == date(2026, 12, 4)
    assert application.interview_ends_at is None
    assert len(promises(application)) == 2


def test_the_digest_lists_an_unrecorded_interview(factory, team, now):
    application = factory.application(Stage.APPLIED, position=team["position"], panel=team["panel"])
    services.schedule_interview(application, round=1, scheduled_at=berlin(2026, 11, 25, 10, 0),
                                panel_user_ids=[u.id for u in team["panel"]], location="Room 1",
                                actor=team["recruiter"], now=now)
    reminders.send_weekly_digest(berlin(2026, 11, 30, 8, 30))  # the next Monday's digest
    [digest] = outbox("digest")
    assert digest.recipient == team["recruiter"].email
    assert "INTERVIEW NOT RECORDED" in digest.body_text


# --- hole 4: a second interview after the promised date needs the date moved -----------------


def test_a_second_interview_after_the_hold_by_date_needs_a_new_date_and_reason(factory, team, now):
    application = factory.application(Stage.SECOND_INTERVIEW, position=team["position"], panel=team["panel"])
    assert told(application) == date(2026, 12, 8)  # invited today: held within 14 days
    late = berlin(2026, 12, 10, 10, 0)
    panel = [u.id for u in team["panel"]]
    with pytest.raises(InvalidInput) as refused:
        services.schedule_interview(application, round=2, scheduled_at=late, panel_user_ids=panel,
                                    location="Room 2", actor=team["recruiter"], now=now)
    assert "8 Dec" in refused.value.fields["scheduled_at"]
    with pytest.raises(InvalidInput) as no_reason:
        services.schedule_interview(application, round=2, scheduled_at=late, panel_user_ids=panel,
                                    location="Room 2", actor=team["recruiter"], now=now,
                                    extend_until=date(2026, 12, 10))
    assert "reason" in no_reason.value.fields
    services.schedule_interview(application, round=2, scheduled_at=late, panel_user_ids=panel, location="Room 2",
                                actor=team["recruiter"], now=now, extend_until=date(2026, 12, 10),
                                reason="The hiring manager is travelling until the 9th.")
    assert told(application) == date(2026, 12, 17)  # interview day + 7
    invitation = outbox("interview_invitation")[-1]
    assert "The hiring manager is travelling until the 9th." in invitation.body_text
    assert "Thursday, 17 December 2026" in invitation.body_text
    assert promises(application)[-2].outcome == "moved"
    # Within the date, no extension is needed; an earlier move keeps the date told.
    interview = application.current_interview()
    services.reschedule_interview(interview, scheduled_at=berlin(2026, 12, 9, 10, 0), panel_user_ids=panel,
                                  location="Room 2", actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 12, 17)


# --- hole 5: a competing offer ---------------------------------------------------------------


def test_a_competing_offer_is_confirmed_to_the_candidate_with_the_earlier_date(factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"])
    assert told(application) == date(2026, 12, 1)  # a week after the interview
    services.set_competing_offer(application, deadline=date(2026, 11, 28), actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 11, 27)
    [confirmation] = outbox("competing_offer_confirmation")
    assert "Friday, 27 November 2026" in confirmation.body_text and "brought our answer forward" in \
        confirmation.body_text


def test_an_expired_competing_offer_no_longer_caps_the_delay_notice(factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"])
    services.set_competing_offer(application, deadline=date(2026, 11, 27), actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 11, 26)
    # Nobody decided; the morning of the 26th: the delay notice may go to the deadline day.
    assert reminders.send_delay_notices(berlin(2026, 11, 26, 9, 0))["delay_notices"] == 1
    db.session.refresh(application)
    assert told(application) == date(2026, 11, 27)
    # The 27th comes, the competing offer expires: the next notice is not capped, never skipped.
    assert reminders.send_delay_notices(berlin(2026, 11, 27, 9, 0)) == {"delay_notices": 1, "skipped": 0}
    db.session.refresh(application)
    assert told(application) == date(2026, 12, 2)
    assert Flag.EXPEDITE not in application.flags(berlin(2026, 11, 28, 9, 0), get_policy())


# --- hole 6: a cancellation never moves the date earlier -------------------------------------


def test_cancelling_an_interview_keeps_an_extended_date(factory, team, now):
    application = factory.application(Stage.FIRST_INTERVIEW, position=team["position"], panel=team["panel"])
    services.extend_deadline(application, until=date(2026, 12, 21), reason="Christmas planning.",
                             actor=team["recruiter"], now=now)
    assert told(application) == date(2026, 12, 21)
    services.cancel_interview(application.current_interview(), reason="Room flooded.", actor=team["recruiter"],
                              now=now + timedelta(hours=1))
    assert application.stage == Stage.APPLIED
    assert told(application) == date(2026, 12, 21)  # not the fresh 8 Dec
    assert "Monday, 21 December 2026" in outbox("interview_cancelled")[-1].body_text


# --- hole 12: a change between the job's read and write is never marked as announced --------


def test_an_extension_between_the_deadline_jobs_read_and_write_is_announced(app, factory, team, now):
    application = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                      at=now - timedelta(days=6))
    policy = get_policy()
    moment = application.due_at - timedelta(hours=1)
    stale = db.session.get(Application, application.id)
    with app.app_context():  # a recruiter's request, meanwhile
        services.extend_deadline(db.session.get(Application, application.id), until=date(2026, 12, 10),
                                 reason="Waiting for a reference.", actor=None, now=moment)
    assert services.announce_flags(stale, moment, policy) == []
    db.session.rollback()
    fresh = db.session.get(Application, application.id)
    assert fresh.due_soon_notified_at is None
    assert outbox("due_soon_notice") == []
    # The next run announces the new date (when it is due soon).
    assert reminders.check_deadlines(fresh.due_at - timedelta(hours=1))["due_soon"] == 1


# --- the SQL that mirrors the rules, checked against them on the same data --------------------


def test_flag_sql_and_responsible_sql_match_the_pipeline_on_promise_states(factory, team, now):
    from hiring import queries
    from hiring.models import Position

    other_position = factory.position(title="FPGA Developer", owner=team["recruiter"], hiring_manager=None)
    stalled = services.submit_application(team["position"], name="Stella", email="stella@example.org",
                                          actor=team["recruiter"], now=now - timedelta(days=40))
    moment = now - timedelta(days=40)
    while moment < now:  # nobody acts: automatic delays until stalled
        reminders.send_delay_notices(moment)
        moment += timedelta(hours=6)
    factory.application(Stage.FIRST_INTERVIEW, position=team["position"], panel=team["panel"],
                        at=now - timedelta(days=5))  # its interview ended two days ago, unrecorded
    expired = factory.application(Stage.FIRST_DECISION, position=other_position, panel=team["panel"],
                                  at=now - timedelta(days=3))
    services.set_competing_offer(expired, deadline=(now + timedelta(days=2)).date(), actor=team["recruiter"],
                                 now=now - timedelta(hours=1))
    factory.application(Stage.FINAL_DECISION, position=other_position, panel=team["panel"],
                        recommendations=["yes", "no"], at=now - timedelta(days=2))
    factory.application(Stage.FINAL_DECISION, position=team["position"], panel=team["panel"],
                        recommendations=["yes", "yes"], at=now - timedelta(days=9))
    policy = get_policy()
    apps = db.session.scalars(select(Application)).all()
    later = now + timedelta(days=3)  # the competing offer has expired by then
    for moment in (now, later):
        for flag in Flag:
            expected = {a.id for a in apps if flag in a.flags(moment, policy)}
            by_value = set(db.session.scalars(select(Application.id).where(
                queries.flag_condition(flag, moment, policy))))
            by_binds = set(db.session.scalars(select(Application.id).where(
                queries.flag_condition(flag, queries.FLAG_BINDS)), queries.flag_bind_values(moment, policy)))
            assert by_value == by_binds == expected, (flag, moment)
    db.session.refresh(stalled)
    assert Flag.STALLED in stalled.flags(now, policy) and Flag.OVERDUE in stalled.flags(now, policy)
    assert any(Flag.UNRECORDED in a.flags(now, policy) for a in apps)
    assert Flag.EXPEDITE in expired.flags(now, policy) and Flag.EXPEDITE not in expired.flags(later, policy)
    rows = db.session.execute(select(Application.id, queries.responsible_user_id()).join(
        Position, Position.id == Application.position_id)).all()
    for application_id, user_id in rows:
        application = db.session.get(Application, application_id)
        assert user_id == pipeline.responsible(
            application.stage, owner_id=application.owner_id, position_owner_id=application.position.owner_id,
            hiring_manager_id=application.position.hiring_manager_id), application_id


def test_the_managers_needs_attention_holds_offer_decisions_and_stalls_not_recruiter_tasks(
        client, login, factory, team, now):
    from hiring.models import utcnow

    real_now = utcnow()
    overdue_debrief = factory.application(Stage.FIRST_DECISION, position=team["position"], panel=team["panel"],
                                          at=real_now - timedelta(days=30))
    offer_decision = factory.application(Stage.FINAL_DECISION, position=team["position"], panel=team["panel"],
                                         recommendations=["yes", "yes"], at=real_now - timedelta(days=1))
    login(team["manager"])
    page = client.get("/").get_data(as_text=True)
    assert f"/applications/{offer_decision.id}\"" in page
    assert f"/applications/{overdue_debrief.id}\"" not in page  # the recruiter's to decide
    # Stalled: the candidate's date moved automatically beyond the limit; the manager is told.
    moment = real_now - timedelta(days=30)
    while moment < real_now:
        reminders.send_delay_notices(moment)
        moment += timedelta(hours=6)
    db.session.refresh(overdue_debrief)
    assert overdue_debrief.automatic_delays > get_policy().max_automatic_delays
    page = client.get("/").get_data(as_text=True)
    assert f"/applications/{overdue_debrief.id}\"" in page and "Stalled" in page
    login(team["admin"])
    assert f"/applications/{overdue_debrief.id}\"" in client.get("/").get_data(as_text=True)
