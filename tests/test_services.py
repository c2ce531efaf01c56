from datetime import timedelta

import pytest

from hiring import services
from hiring.models import AuditEvent, OutboxEmail
from hiring.pipeline import IllegalTransition, NotAllowed, StaleVersion


def test_whole_process_to_hired(factory, now):
    application = factory.application(Stage.HIRED, recommendations=["yes", "strong_yes"])
    assert application.stage == Stage.HIRED
    assert application.due_at is None
    emails = OutboxEmail.query.filter_by(application_id=application.id).order_by(OutboxEmail.id).all()
    # Each interview's panel (two people, both rounds) gets its calendar invitation.
    assert [e.template for e in emails if not e.to_candidate] == [
        "panel_invitation", "panel_invitation", "panel_invitation", "panel_invitation", "approval_request"]
    assert [e.template for e in emails if e.to_candidate] == [
        "application_received", "interview_invitation", "interview_thanks", "second_interview_invitation",
        "interview_invitation", "interview_thanks", "offer",
    ]


def test_held_first_interview_is_due_in_one_week(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    assert application.stage == Stage.FIRST_DECISION
    # Tue 24 Nov 09:00 Berlin → the candidate hears by Tue 1 Dec 23:59:59 Berlin = 22:59:59 UTC;
    # the team's deadline is the working day before.
    assert application.promised_at.isoformat() == "2026-12-01T22:59:59+00:00"
    assert application.due_at.isoformat() == "2026-11-30T22:59:59+00:00"


def test_stale_version_is_refused(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    version = application.version
    services.add_reference(application, name="Dr. Ref", actor=application.position.owner, now=now)
    assert application.version == version + 1
    with pytest.raises(StaleVersion):
        services.decide(application, outcome="advance", actor=application.position.owner, now=now,
                        expected_version=version)
    assert application.stage == Stage.FIRST_DECISION


def test_only_management_makes_the_offer(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    with pytest.raises(NotAllowed):
        services.decide(application, outcome="advance", actor=application.position.owner, now=now)
    services.decide(application, outcome="advance", actor=application.position.hiring_manager,
                    now=now + timedelta(hours=1))
    assert application.stage == Stage.OFFER


def test_illegal_transition_has_a_clear_message(factory, now):
    application = factory.application(Stage.APPLIED)
    with pytest.raises(IllegalTransition, match="scheduling its first interview"):
        services.decide(application, outcome="advance", actor=application.position.owner, now=now)
    assert AuditEvent.query.filter_by(application_id=application.id, kind="decision").count() == 0


def test_flag_sql_matches_pipeline_flags(factory, now, app):
    from hiring import queries
    from hiring.extensions import db
    from hiring.models import Application
    from hiring.pipeline import Flag
    from hiring.settings import get_policy

    for stage, days_ago in [("applied", 20), ("applied", 13), ("first_decision", 1), ("final_decision", 2),
                            ("offer", 8), ("hired", 3)]:
        factory.application(stage, at=now - timedelta(days=days_ago), recommendations=["yes", "no"])
    factory.application(Stage.FINAL_DECISION, at=now - timedelta(days=1), recommendations=["yes"])  # feedback missing
    policy = get_policy()
    apps = Application.query.all()
    for flag in Flag:
        expected = {a.id for a in apps if flag in a.flags(now, policy)}
        got = set(db.session.scalars(db.select(Application.id).where(queries.flag_condition(flag, now, policy))))
        assert got == expected, flag
    assert any(Flag.OVERDUE in a.flags(now, policy) for a in apps)



@pytest.mark.parametrize("limit", [0, 1, 2])
def test_stalled_sql_matches_pipeline_flags_at_any_limit(factory, now, app, limit):
    """The SQL of STALLED adds "> 0" for its partial index: the same applications at any
    limit the policy allows (0 to 20), open ones with 0 to 3 automatic moves."""
    import dataclasses

    from hiring import queries
    from hiring.extensions import db
    from hiring.models import Application
    from hiring.pipeline import Flag
    from hiring.settings import get_policy

    for delays, stage in enumerate(["applied", "first_decision", "offer", "hired", "applied"]):
        factory.application(stage, at=now - timedelta(days=3)).automatic_delays = delays % 4
    db.session.commit()
    policy = dataclasses.replace(get_policy(), max_automatic_delays=limit)
    expected = {a.id for a in Application.query.all() if Flag.STALLED in a.flags(now, policy)}
    got = set(db.session.scalars(db.select(Application.id).where(
        queries.flag_condition(Flag.STALLED, now, policy))))
    assert got == expected
    assert limit == 2 or expected

# --- every service: one audit event, one version step, the expected emails ------------------

import io  # noqa: E402
import zipfile  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from itertools import zip_longest  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from hiring.extensions import db  # noqa: E402
from hiring.models import (  # noqa: E402
    Application,
    Candidate,
    Decision,
    Document,
    Feedback,
    Interview,
    Position,
    Reference,
    User,
)
from hiring.pipeline import Flag, InvalidInput, Stage  # noqa: E402
from hiring.settings import get_policy  # noqa: E402


def _max_id(model) -> int:
    return db.session.scalar(select(func.coalesce(func.max(model.id), 0)))


@contextmanager
def one_change(application: Application | None, kind: str, emails: tuple[str | tuple[str, str], ...] = ()):
    """The block must write exactly one audit event of ``kind``, bump the application's
    version by one and queue exactly ``emails`` (templates, or (template, recipient)
    pairs, in order)."""
    audit_before, outbox_before = _max_id(AuditEvent), _max_id(OutboxEmail)
    version_before = application.version if application is not None else None
    yield
    db.session.expire_all()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > audit_before)).all()
    assert [e.kind for e in events] == [kind]
    queued = db.session.scalars(select(OutboxEmail).where(OutboxEmail.id > outbox_before)
                                .order_by(OutboxEmail.id)).all()
    assert [(e.template, e.recipient) if isinstance(want, tuple) else e.template
            for e, want in zip_longest(queued, emails)] == list(emails)
    if application is not None:
        assert events[0].application_id == application.id
        assert application.version == version_before + 1


def _snapshot(application: Application) -> tuple:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(AuditEvent)),
            db.session.scalar(select(func.count()).select_from(OutboxEmail)),
            db.session.scalar(select(func.count()).select_from(Decision)),
            db.session.scalar(select(func.count()).select_from(Interview).where(Interview.cancelled_at.is_(None))),
            application.version, application.stage, application.due_at, application.extended_until,
            application.competing_offer_deadline)


def test_submit_application(factory, now):
    position = factory.position()
    with one_change(None, "application_submitted", ("application_received",)):
        application = services.submit_application(
            position, name="  Anna Schmidt ", email="Anna.Schmidt@Example.org", phone="+49 89 1234", language="de",
            talent_pool_consent=True, actor=position.owner, applied_at=now - timedelta(days=1), now=now)
    assert application.stage == Stage.APPLIED
    assert application.version == 1
    assert application.owner_id == position.owner_id
    assert application.candidate.name == "Anna Schmidt"
    assert application.candidate.email == "anna.schmidt@example.org"
    assert application.candidate.talent_pool_consent is True
    # Applied Mon 23 Nov → the candidate is told Mon 7 Dec, end of day in Berlin; the team's
    # deadline is the working day before (Friday 4 Dec).
    assert application.promised_at == datetime(2026, 12, 7, 22, 59, 59, tzinfo=UTC)
    assert application.due_at == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)
    email = OutboxEmail.query.filter_by(application_id=application.id).one()
    assert email.recipient == "anna.schmidt@example.org" and email.to_candidate


def test_submit_application_reuses_the_candidate_by_email(factory, now):
    first, second = factory.position(), factory.position(title="FPGA Developer")
    a = services.submit_application(first, name="Anna Schmidt", email="anna@example.org", actor=first.owner, now=now)
    b = services.submit_application(second, name="Anna Schmidt-Weber", email=" ANNA@example.org", language="de",
                                    actor=second.owner, now=now)
    assert a.candidate_id == b.candidate_id
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 1
    assert b.candidate.name == "Anna Schmidt-Weber" and b.candidate.language == "de"


def test_duplicate_application_is_a_conflict_and_changes_nothing(factory, now):
    position = factory.position()
    application = services.submit_application(position, name="Anna", email="anna@example.org",
                                              actor=position.owner, now=now)
    before = _snapshot(application)
    with pytest.raises(services.Conflict, match="already applied"):
        services.submit_application(position, name="Anna S.", email="Anna@Example.org", actor=position.owner,
                                    now=now)
    assert _snapshot(application) == before
    assert application.candidate.name == "Anna"


# --- two requests at once: the unique constraints catch what the checks could not see ----------


def test_concurrent_duplicate_application_is_a_conflict(factory, now, race):
    position = factory.position()
    position_id = position.id

    def rival():
        theirs = db.session.get(Position, position_id)
        services.submit_application(theirs, name="Anna", email="anna@example.org", actor=theirs.owner, now=now)

    race(rival)
    with pytest.raises(services.Conflict, match="Anna has already applied"):
        services.submit_application(position, name="Anna S.", email="ANNA@example.org", actor=position.owner,
                                    now=now)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 1
    assert AuditEvent.query.filter_by(kind="application_submitted").count() == 1
    assert OutboxEmail.query.filter_by(template="application_received").count() == 1


def test_concurrent_new_candidate_is_reused_not_refused(factory, now, race):
    """Two positions, one new candidate, at the same moment: both applications land on
    the one candidate (the second request reuses the candidate the first created)."""
    first, second = factory.position(title="Firmware"), factory.position(title="Hardware")
    first_id = first.id

    def rival():
        theirs = db.session.get(Position, first_id)
        services.submit_application(theirs, name="Anna", email="anna@example.org", actor=theirs.owner, now=now)

    race(rival)
    ours = services.submit_application(second, name="Anna Schmidt", email="anna@example.org", language="de",
                                       actor=second.owner, now=now)
    applications = Application.query.order_by(Application.id).all()
    assert [a.position_id for a in applications] == [first.id, second.id]
    assert applications[0].candidate_id == applications[1].candidate_id == ours.candidate_id
    assert ours.candidate.name == "Anna Schmidt" and ours.candidate.language == "de"
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 1
    assert OutboxEmail.query.filter_by(template="application_received").count() == 2


def test_concurrent_duplicate_user_is_a_conflict(factory, now, race):
    race(lambda: services.create_user("ian@example.com", "Ian", "interviewer", now=now))
    with pytest.raises(services.Conflict, match="already exists"):
        services.create_user("Ian@Example.com", "Ian Two", "interviewer", now=now)
    assert [u.name for u in User.query.filter_by(email="ian@example.com")] == ["Ian"]


def test_concurrent_double_feedback_is_a_conflict(factory, now, race):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_DECISION, panel=panel)
    interview = application.current_interview()
    interview_id, member_id = interview.id, panel[0].id

    def rival():  # the same person's other tab
        services.submit_feedback(db.session.get(Interview, interview_id), interviewer=db.session.get(User, member_id),
                                 recommendation="yes", now=now)

    race(rival)
    with pytest.raises(services.Conflict, match="already submitted"):
        services.submit_feedback(interview, interviewer=panel[0], recommendation="no", now=now)
    assert [f.recommendation for f in Feedback.query.filter_by(interview_id=interview_id)] == ["yes"]


def test_submit_application_reports_every_bad_field(factory, now):
    position = factory.position()
    with pytest.raises(InvalidInput) as info:
        services.submit_application(position, name=" ", email="not-an-email", language="fr", phone="1" * 51,
                                    applied_at=now + timedelta(days=1), actor=position.owner, now=now)
    assert set(info.value.fields) == {"name", "email", "language", "phone", "applied_at"}
    assert all(info.value.fields.values())
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 0


def test_submit_application_refusals(factory, now):
    position = factory.position()
    with pytest.raises(InvalidInput) as info:
        services.submit_application(position, name="Anna", email="anna@example.org",
                                    applied_at=datetime(2026, 11, 1), actor=position.owner, now=now)
    assert "applied_at" in info.value.fields
    with pytest.raises(NotAllowed):
        services.submit_application(position, name="Anna", email="anna@example.org",
                                    actor=factory.user("interviewer"), now=now)
    services.close_position(position, actor=position.owner, now=now)
    with pytest.raises(IllegalTransition, match="is closed and takes no new applications"):
        services.submit_application(position, name="Anna", email="anna@example.org", actor=position.owner, now=now)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_schedule_first_interview(factory, now):
    application = factory.application(Stage.APPLIED)
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    with one_change(application, "interview_scheduled", (("interview_invitation", application.candidate.email),
                                                         ("panel_invitation", panel[0].email),
                                                         ("panel_invitation", panel[1].email))):
        interview = services.schedule_interview(
            application, round=1, scheduled_at=now + timedelta(days=3), panel_user_ids=[u.id for u in panel],
            location="Room Ada", actor=application.position.owner, now=now, expected_version=application.version)
    assert application.stage == Stage.FIRST_INTERVIEW
    # The invitation promises the answer: the interview's day (Fri 27 Nov) + 7 days.
    assert application.promised_at == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)
    assert application.due_at == datetime(2026, 12, 3, 22, 59, 59, tzinfo=UTC)
    assert interview.panel_user_ids == sorted(u.id for u in panel)
    email = OutboxEmail.query.filter_by(template="interview_invitation").one()
    assert email.attachments[0]["filename"] == "interview.ics"
    assert interview.ical_uid in email.attachments[0]["data"]


def test_schedule_interview_reports_bad_fields(factory, now):
    application = factory.application(Stage.APPLIED)
    owner = application.position.owner
    interviewer = factory.user("interviewer")
    with pytest.raises(InvalidInput) as info:
        services.schedule_interview(application, round=1, scheduled_at=now - timedelta(hours=1),
                                    panel_user_ids=[interviewer.id], duration_minutes=5, video_link="meet.example",
                                    actor=owner, now=now)
    assert set(info.value.fields) == {"scheduled_at", "duration_minutes", "video_link"}
    with pytest.raises(InvalidInput) as info:
        services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=1), panel_user_ids=[],
                                    location="Room", actor=owner, now=now)
    assert set(info.value.fields) == {"panel"}
    with pytest.raises(InvalidInput) as info:
        services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=1),
                                    panel_user_ids=[interviewer.id], actor=owner, now=now)
    assert set(info.value.fields) == {"location"}
    with pytest.raises(InvalidInput) as info:
        services.schedule_interview(application, round=3, scheduled_at=now + timedelta(days=1),
                                    panel_user_ids=[interviewer.id], location="Room", actor=owner, now=now)
    assert set(info.value.fields) == {"round"}
    with pytest.raises(InvalidInput, match="Unknown interviewer"):
        services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=1),
                                    panel_user_ids=[interviewer.id, 99999], location="Room", actor=owner, now=now)
    assert application.stage == Stage.APPLIED
    assert Interview.query.count() == 0


def test_second_interview_only_after_the_invitation_and_only_once(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    owner = application.position.owner
    panel_ids = [factory.user("interviewer").id]
    with pytest.raises(IllegalTransition, match="after the candidate has been invited"):
        services.schedule_interview(application, round=2, scheduled_at=now + timedelta(days=2),
                                    panel_user_ids=panel_ids, location="Room", actor=owner, now=now)
    services.decide(application, outcome="advance", rationale="Strong systems background.", actor=owner, now=now)
    due = application.due_at
    with one_change(application, "interview_scheduled", ("interview_invitation", "panel_invitation")):
        services.schedule_interview(application, round=2, scheduled_at=now + timedelta(days=2),
                                    panel_user_ids=panel_ids, video_link="https://meet.example.com/x", actor=owner,
                                    now=now)
    assert application.stage == Stage.SECOND_INTERVIEW
    # The invitation answers "when": the decision's date follows the interview's day.
    assert application.promised_at == datetime(2026, 12, 3, 22, 59, 59, tzinfo=UTC) and application.due_at != due
    with pytest.raises(IllegalTransition, match="already scheduled"):
        services.schedule_interview(application, round=2, scheduled_at=now + timedelta(days=3),
                                    panel_user_ids=panel_ids, location="Room", actor=owner, now=now)


def test_reschedule_interview(factory, now):
    application = factory.application(Stage.FIRST_INTERVIEW)
    interview = application.current_interview()
    uid, sequence = interview.ical_uid, interview.ical_sequence
    newcomer = factory.user("interviewer")
    first, second = interview.panel_user_ids
    with one_change(application, "interview_rescheduled", (
            ("interview_updated", application.candidate.email), ("panel_updated", db.session.get(User, first).email),
            ("panel_updated", db.session.get(User, second).email), ("panel_invitation", newcomer.email))):
        services.reschedule_interview(
            interview, scheduled_at=now + timedelta(days=5), panel_user_ids=[*interview.panel_user_ids, newcomer.id],
            duration_minutes=90, location="Room Grace", actor=application.position.owner, now=now,
            expected_version=application.version)
    assert interview.scheduled_at == now + timedelta(days=5)
    assert interview.ical_uid == uid and interview.ical_sequence == sequence + 1
    assert newcomer.id in interview.panel_user_ids and len(interview.panel_user_ids) == 3
    email = OutboxEmail.query.filter_by(template="interview_updated").one()
    assert f"SEQUENCE:{sequence + 1}" in email.attachments[0]["data"]


def test_cancel_first_interview_returns_to_applied(factory, now):
    application = factory.application(Stage.FIRST_INTERVIEW)
    interview = application.current_interview()
    with one_change(application, "interview_cancelled", ("interview_cancelled", "panel_cancelled", "panel_cancelled")):
        services.cancel_interview(interview, reason="Interviewer ill", actor=application.position.owner, now=now)
    assert application.stage == Stage.APPLIED
    # A fresh 14 days (the date given with the invitation was earlier; it only moves later).
    assert application.promised_at == datetime(2026, 12, 8, 22, 59, 59, tzinfo=UTC)
    assert interview.cancelled_at == now
    assert "METHOD:CANCEL" in OutboxEmail.query.filter_by(template="interview_cancelled").one().attachments[0]["data"]
    with pytest.raises(IllegalTransition, match="Only an upcoming interview"):
        services.cancel_interview(interview, actor=application.position.owner, now=now)
    with pytest.raises(IllegalTransition, match="Only an upcoming interview"):
        services.reschedule_interview(interview, scheduled_at=now + timedelta(days=2),
                                      panel_user_ids=interview.panel_user_ids, location="Room",
                                      actor=application.position.owner, now=now)


def test_record_interview_held(factory, now):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_INTERVIEW, at=now - timedelta(days=4), panel=panel)
    interview = application.current_interview()
    held = now - timedelta(hours=3)
    with one_change(application, "interview_held", ("interview_thanks",)):
        services.record_interview_held(interview, held_at=held, actor=application.position.owner, now=now,
                                       expected_version=application.version)
    assert application.stage == Stage.FIRST_DECISION
    assert application.stage_entered_at == held
    # One week after the interview, as told with the invitation; the team's deadline a working day before.
    assert application.promised_at == datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC)
    assert application.due_at == datetime(2026, 11, 30, 22, 59, 59, tzinfo=UTC)
    assert application.awaiting_feedback is True
    assert Flag.AWAITING_FEEDBACK in application.flags(now, get_policy())
    with pytest.raises(IllegalTransition, match="already marked as held"):
        services.record_interview_held(interview, actor=application.position.owner, now=now)


def test_record_interview_held_refusals(factory, now):
    application = factory.application(Stage.FIRST_INTERVIEW, at=now - timedelta(days=1))
    interview = application.current_interview()
    owner = application.position.owner
    with pytest.raises(InvalidInput) as info:
        services.record_interview_held(interview, held_at=now + timedelta(hours=1), actor=owner, now=now)
    assert set(info.value.fields) == {"held_at"}
    with pytest.raises(InvalidInput) as info:
        services.record_interview_held(interview, held_at=now - timedelta(days=30), actor=owner, now=now)
    assert set(info.value.fields) == {"held_at"}
    with pytest.raises(NotAllowed):
        services.record_interview_held(interview, actor=factory.user("interviewer"), now=now)
    services.cancel_interview(interview, actor=owner, now=now)
    with pytest.raises(IllegalTransition, match="was cancelled"):
        services.record_interview_held(interview, actor=owner, now=now)


def test_submit_feedback_completes_the_verdict(factory, now):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_DECISION, panel=panel)
    interview = application.current_interview()
    with one_change(application, "feedback_submitted"):
        services.submit_feedback(interview, interviewer=panel[0], recommendation="yes", notes="Good C skills",
                                 now=now + timedelta(hours=1))
    assert application.awaiting_feedback is True and application.verdict == "incomplete"
    with one_change(application, "feedback_submitted"):
        services.submit_feedback(interview, interviewer=panel[1], recommendation="strong_yes",
                                 now=now + timedelta(hours=2))
    assert application.awaiting_feedback is False and application.verdict == "clear_hire"
    assert Feedback.query.filter_by(interview_id=interview.id).count() == 2


def test_feedback_completing_a_clear_recommendation_asks_management(factory, now):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FINAL_DECISION, panel=panel, recommendations=["no"])
    assert application.flags(now, get_policy()) == [Flag.AWAITING_FEEDBACK]  # not yet a discussion
    with one_change(application, "feedback_submitted", ("approval_request",)):
        services.submit_feedback(application.current_interview(), interviewer=panel[1], recommendation="strong_no",
                                 now=now + timedelta(hours=1))
    assert application.verdict == "clear_no"
    assert Flag.NEEDS_DISCUSSION not in application.flags(now, get_policy())
    email = OutboxEmail.query.filter_by(template="approval_request").one()
    assert email.recipient == application.position.hiring_manager.email
    assert "clear recommendation not to hire" in email.body_text


def test_feedback_refusals(factory, now):
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_INTERVIEW, panel=panel)
    interview = application.current_interview()
    with pytest.raises(IllegalTransition, match="once the interview has taken place"):
        services.submit_feedback(interview, interviewer=panel[0], recommendation="yes", now=now)
    later = interview.scheduled_at + timedelta(hours=2)
    with pytest.raises(NotAllowed, match="Only the interview's panel"):
        services.submit_feedback(interview, interviewer=factory.user("interviewer"), recommendation="yes", now=later)
    with pytest.raises(InvalidInput) as info:
        services.submit_feedback(interview, interviewer=panel[0], recommendation="maybe", now=later)
    assert set(info.value.fields) == {"recommendation"}
    services.submit_feedback(interview, interviewer=panel[0], recommendation="yes", now=later)
    before = _snapshot(application)
    with pytest.raises(services.Conflict, match="already submitted"):
        services.submit_feedback(interview, interviewer=panel[0], recommendation="no", now=later)
    assert _snapshot(application) == before
    assert interview.feedback_by(panel[0].id).recommendation == "yes"


def test_decide_invites_to_the_second_interview(factory, now):
    application = factory.application(Stage.FIRST_DECISION, recommendations=["yes", "yes"])
    with one_change(application, "decision", ("second_interview_invitation",)):
        services.decide(application, outcome="advance", rationale="Strong", actor=application.position.owner,
                        now=now + timedelta(hours=1), expected_version=application.version)
    assert application.stage == Stage.SECOND_INTERVIEW
    assert application.promised_at == datetime(2026, 12, 8, 22, 59, 59, tzinfo=UTC)  # held within two weeks
    decision = Decision.query.filter_by(application_id=application.id).one()
    assert (decision.stage, decision.outcome, decision.rationale) == ("first_decision", "advance", "Strong")


def test_decide_reject_tells_the_candidate(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    with one_change(application, "decision", ("rejection",)):
        services.decide(application, outcome="reject", rationale="internal only",
                        candidate_feedback="Deeper RTOS experience was needed.", actor=application.position.owner,
                        now=now + timedelta(hours=1))
    assert application.stage == Stage.REJECTED
    assert application.due_at is None and application.closed_at == now + timedelta(hours=1)
    email = OutboxEmail.query.filter_by(template="rejection").one()
    assert "Deeper RTOS experience" in email.body_text and "internal only" not in email.body_text
    assert application.flags(now, get_policy()) == []


@pytest.mark.parametrize("stage", ["first_interview", "second_interview"])
def test_rejecting_cancels_the_upcoming_interview(factory, now, stage):
    application = factory.application(stage)
    if stage == "second_interview":
        services.schedule_interview(application, round=2, scheduled_at=now + timedelta(days=2),
                                    panel_user_ids=[factory.user("interviewer").id], location="Room 2",
                                    actor=application.position.owner, now=now)
    interview = application.current_interview()
    assert interview.held_at is None and interview.cancelled_at is None
    services.decide(application, outcome="reject", rationale="Not a fit.", actor=application.position.owner,
                    now=now + timedelta(hours=1))
    assert interview.cancelled_at == now + timedelta(hours=1)
    email = OutboxEmail.query.filter_by(template="rejection").one()
    assert "METHOD:CANCEL" in email.attachments[0]["data"]
    panel_emails = OutboxEmail.query.filter_by(template="panel_cancelled").order_by(OutboxEmail.id).all()
    assert [e.recipient_user_id for e in panel_emails] == interview.panel_user_ids
    assert all("METHOD:CANCEL" in e.attachments[0]["data"] for e in panel_emails)


@pytest.mark.parametrize("stage", ["applied", "first_decision", "final_decision"])
@pytest.mark.parametrize("rationale", ["", "   \n "])
def test_a_rejection_needs_its_rationale(factory, now, stage, rationale):
    application = factory.application(stage, recommendations=["no", "no"])
    before = _snapshot(application)
    decide = services.decide_offer if stage == "final_decision" else services.decide
    actor = application.position.hiring_manager if stage == "final_decision" else application.position.owner
    with pytest.raises(InvalidInput) as info:
        decide(application, outcome="reject", rationale=rationale, actor=actor, now=now + timedelta(hours=1))
    assert set(info.value.fields) == {"rationale"}
    assert _snapshot(application) == before  # nothing written, nobody told
    with one_change(application, "decision", ("rejection",)):
        decide(application, outcome="reject", rationale=" Not a fit. ", actor=actor, now=now + timedelta(hours=1))
    assert Decision.query.filter_by(application_id=application.id, outcome="reject").one().rationale == "Not a fit."


def test_decide_refusals(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    owner = application.position.owner
    with pytest.raises(InvalidInput) as info:
        services.decide(application, outcome="advance", actor=owner, decided_at=now + timedelta(days=1), now=now)
    assert set(info.value.fields) == {"decided_at"}
    with pytest.raises(InvalidInput) as info:
        services.decide(application, outcome="advance", actor=owner, decided_at=now - timedelta(days=1), now=now)
    assert info.value.fields == {"decided_at": "Not before the application reached this stage "
                                               "(24 Nov 2026, 09:00:00)."}  # company time
    with pytest.raises(InvalidInput) as info:
        services.decide(application, outcome="maybe", actor=owner, now=now)
    assert set(info.value.fields) == {"outcome"}
    with pytest.raises(NotAllowed):
        services.decide(application, outcome="advance", actor=factory.user("interviewer"), now=now)
    with pytest.raises(NotAllowed):
        services.decide(application, outcome="advance", actor=application.position.hiring_manager, now=now)
    assert application.stage == Stage.FIRST_DECISION


def test_offer_without_clear_recommendation_needs_a_rationale(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "no"])
    manager = application.position.hiring_manager
    with pytest.raises(InvalidInput) as info:
        services.decide_offer(application, outcome="advance", actor=manager, now=now)
    assert set(info.value.fields) == {"rationale"}
    with one_change(application, "decision", ("offer",)):
        services.decide_offer(application, outcome="advance", rationale="Discussed; the no was about seniority.",
                              actor=manager, now=now + timedelta(hours=1))
    assert application.stage == Stage.OFFER
    assert application.due_at == datetime(2026, 12, 1, 22, 59, 59, tzinfo=UTC)  # follow up after a week


def test_decide_offer(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    manager = application.position.hiring_manager
    with pytest.raises(IllegalTransition, match="decided after the second interview"):
        services.decide_offer(application, outcome="advance", actor=manager, now=now)
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "strong_yes"])
    with pytest.raises(NotAllowed):
        services.decide_offer(application, outcome="reject", actor=application.position.owner, now=now)
    with one_change(application, "decision", ("rejection",)):
        services.decide_offer(application, outcome="reject", rationale="Budget frozen",
                              actor=application.position.hiring_manager, now=now + timedelta(hours=1))
    assert application.stage == Stage.REJECTED


@pytest.mark.parametrize(("accepted", "stage"), [(True, "hired"), (False, "declined")])
def test_record_offer_response(factory, now, accepted, stage):
    application = factory.application(Stage.OFFER)
    with one_change(application, "offer_response"):
        services.record_offer_response(application, accepted=accepted, note="Phoned", actor=application.position.owner,
                                       now=now + timedelta(hours=1), expected_version=application.version)
    assert application.stage == stage
    assert application.due_at is None
    assert Decision.query.filter_by(application_id=application.id, stage="offer").one().outcome == (
        "accepted" if accepted else "declined")
    with pytest.raises(IllegalTransition):
        services.record_offer_response(application, accepted=True, actor=application.position.owner, now=now)


def test_extend_deadline(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    before = application.promised_at
    with one_change(application, "deadline_extended", ("deadline_extended",)):
        services.extend_deadline(application, until=date(2026, 12, 4), reason="Hiring manager travelling.",
                                 actor=application.position.hiring_manager, now=now,
                                 expected_version=application.version)
    assert application.promised_at == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC) > before
    assert application.due_at == datetime(2026, 12, 3, 22, 59, 59, tzinfo=UTC)
    assert application.promise_moves == 1
    assert application.extension_reason == "Hiring manager travelling."
    email = OutboxEmail.query.filter_by(template="deadline_extended").one()
    assert "Hiring manager travelling." in email.body_text
    with pytest.raises(InvalidInput) as info:
        services.extend_deadline(application, until=date(2026, 12, 3), reason="Again", actor=application.position.owner,
                                 now=now)
    assert "never shortens" in info.value.fields["until"]
    with pytest.raises(NotAllowed):
        services.extend_deadline(application, until=date(2026, 12, 10), reason="x", actor=factory.user("interviewer"),
                                 now=now)


def test_automatic_extension_sends_a_delay_notice(factory, now):
    application = factory.application(Stage.FIRST_DECISION, at=now - timedelta(days=10))
    with one_change(application, "deadline_extended", ("delay_notice",)):
        assert services.send_delay_notice(application, now=now) is True
    assert application.automatic_delays == 1
    assert services.send_delay_notice(application, now=now) is False  # the new date's morning is days away


def test_competing_offer_pulls_the_date_and_flags_expedite(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    with one_change(application, "competing_offer_set", ("competing_offer_confirmation",)):
        services.set_competing_offer(application, deadline=date(2026, 11, 27), actor=application.position.owner,
                                     now=now, expected_version=application.version)
    assert application.promised_at == datetime(2026, 11, 26, 22, 59, 59, tzinfo=UTC)
    assert Flag.EXPEDITE in application.flags(now, get_policy())
    with pytest.raises(InvalidInput) as info:
        services.extend_deadline(application, until=date(2026, 11, 28), reason="x", actor=application.position.owner,
                                 now=now)
    assert "competing offer" in info.value.fields["until"]
    with one_change(application, "competing_offer_cleared"):
        services.set_competing_offer(application, deadline=None, actor=application.position.owner, now=now)
    # The candidate was told the earlier date: it stands (a date told only moves later, and not silently).
    assert application.promised_at == datetime(2026, 11, 26, 22, 59, 59, tzinfo=UTC)
    assert Flag.EXPEDITE not in application.flags(now, get_policy())


def test_competing_offer_caps_an_existing_extension(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    owner = application.position.owner
    services.extend_deadline(application, until=date(2026, 12, 10), reason="Travel", actor=owner, now=now)
    services.set_competing_offer(application, deadline=date(2026, 12, 5), actor=owner, now=now)
    assert application.promised_at == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)
    assert application.extended_until == application.promised_at


def test_competing_offer_refusals(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    owner = application.position.owner
    with pytest.raises(InvalidInput) as info:
        services.set_competing_offer(application, deadline=date(2026, 11, 24), actor=owner, now=now)
    assert set(info.value.fields) == {"deadline"}
    closed = factory.application(Stage.HIRED)
    with pytest.raises(IllegalTransition, match="closed"):
        services.set_competing_offer(closed, deadline=date(2026, 12, 24), actor=owner, now=now)


def test_record_candidate_contact(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    with one_change(application, "candidate_contact"):
        contact = services.record_candidate_contact(application, kind="thank_you", channel="email",
                                                    summary="Thanked the panel", actor=application.position.owner,
                                                    occurred_at=now - timedelta(hours=2), now=now)
    assert contact.occurred_at == now - timedelta(hours=2)
    with pytest.raises(InvalidInput) as info:
        services.record_candidate_contact(application, kind="gift", channel="pigeon",
                                          occurred_at=now + timedelta(days=1), actor=application.position.owner,
                                          now=now)
    assert set(info.value.fields) == {"kind", "channel", "occurred_at"}


def test_references(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    owner = application.position.owner
    with one_change(application, "reference_added"):
        reference = services.add_reference(application, name="Dr. Berta Ref", contact="+49 30 555", actor=owner,
                                           now=now)
    assert reference.status == "requested"
    with one_change(application, "reference_updated"):
        services.update_reference(reference, status="positive", notes="Would hire again", actor=owner, now=now)
    assert db.session.get(Reference, reference.id).notes == "Would hire again"
    with pytest.raises(InvalidInput) as info:
        services.add_reference(application, name="", status="glowing", actor=owner, now=now)
    assert set(info.value.fields) == {"name", "status"}
    with pytest.raises(InvalidInput):
        services.update_reference(reference, status="glowing", actor=owner, now=now)


def test_withdraw_cancels_upcoming_interviews(factory, now):
    application = factory.application(Stage.FIRST_INTERVIEW)
    interview = application.current_interview()
    with one_change(application, "withdrawn", ("withdrawal_confirmation", "panel_cancelled", "panel_cancelled")):
        services.withdraw(application, reason="Took another job", actor=application.position.owner, now=now,
                          expected_version=application.version)
    assert application.stage == Stage.WITHDRAWN
    assert interview.cancelled_at == now
    with pytest.raises(IllegalTransition, match="already closed"):
        services.withdraw(application, actor=application.position.owner, now=now)


# --- documents ---------------------------------------------------------------------------

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
               b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
               b"trailer <</Root 1 0 R>>\n%%EOF\n")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            # ODF wants its mimetype entry first and uncompressed.
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


MINIMAL_DOCX = _zip({
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
                           b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
    "word/document.xml": b'<?xml version="1.0"?><w:document/>',
})
MINIMAL_ODT = _zip({
    "mimetype": b"application/vnd.oasis.opendocument.text",
    "META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest/>',
    "content.xml": b'<?xml version="1.0"?><office:document-content/>',
})


def _ole2(*streams: str) -> bytes:
    """A compound-file header and one directory sector naming ``streams``."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header = header.ljust(512, b"\x00")
    entries = b""
    for name in ("Root Entry", *streams):
        encoded = (name + "\x00").encode("utf-16-le")
        entries += (encoded.ljust(64, b"\x00") + len(encoded).to_bytes(2, "little")).ljust(128, b"\x00")
    return header + entries.ljust(512, b"\x00")


MINIMAL_DOC = _ole2("WordDocument", "1Table")


@pytest.mark.parametrize(
    ("filename", "data", "stored_as", "content_type"),
    [
        ("Lebenslauf Müller.PDF", MINIMAL_PDF, "Lebenslauf Müller.pdf", "application/pdf"),
        ("../../etc/cv.pdf", MINIMAL_PDF, "cv.pdf", "application/pdf"),
        ("cv.doc", MINIMAL_DOC, "cv.doc", "application/msword"),
        ("cv.docx", MINIMAL_DOCX, "cv.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("cv.odt", MINIMAL_ODT, "cv.odt", "application/vnd.oasis.opendocument.text"),
        ("cv.pdf", MINIMAL_DOCX, "cv.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),  # the content decides
    ],
)
def test_add_document_accepts_real_documents(factory, now, app, filename, data, stored_as, content_type):
    application = factory.application(Stage.FIRST_DECISION)
    with one_change(application, "document_uploaded"):
        document = services.add_document(application, filename=filename, data=data,
                                         actor=application.position.owner, now=now)
    assert (document.filename, document.content_type, document.size_bytes) == (stored_as, content_type, len(data))
    assert services.document_path(document).read_bytes() == data
    assert Path(app.config["UPLOAD_FOLDER"]) in services.document_path(document).parents


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("cv.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode",
         "Upload a PDF, DOC, DOCX or ODT document."),
        ("cv.docx", b"PK\x03\x04" + b"\x00garbage" * 50, "Upload a PDF, DOC, DOCX or ODT document."),
        ("cv.docx", _zip({"payload.exe": b"MZ\x90\x00"}), "Upload a PDF, DOC, DOCX or ODT document."),
        ("cv.docx", _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
         "Upload a PDF, DOC, DOCX or ODT document."),
        ("cv.doc", _ole2("Workbook"), "Upload a PDF, DOC, DOCX or ODT document."),  # an Excel file
        ("cv.odt", _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
         "Upload a PDF, DOC, DOCX or ODT document."),
        ("cv.pdf", b"", "Choose a file."),
        ("cv.pdf", MINIMAL_PDF + b"0" * (10 * 1024 * 1024), "At most 10 MB."),
    ],
)
def test_add_document_refuses_everything_else(factory, now, app, filename, data, message):
    application = factory.application(Stage.FIRST_DECISION)
    before = _snapshot(application)
    with pytest.raises(InvalidInput) as info:
        services.add_document(application, filename=filename, data=data, actor=application.position.owner, now=now)
    assert info.value.fields == {"document": message}
    assert _snapshot(application) == before
    assert Document.query.count() == 0
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert not folder.exists() or not any(folder.iterdir())


def test_document_exactly_10_mb_is_accepted(factory, now):
    application = factory.application(Stage.APPLIED)
    data = MINIMAL_PDF.ljust(services.MAX_DOCUMENT_BYTES, b"\n")
    document = services.add_document(application, filename="big.pdf", data=data, actor=application.position.owner,
                                     now=now)
    assert document.size_bytes == 10 * 1024 * 1024


# --- optimistic locking ------------------------------------------------------------------


def _stale_calls(factory, now):
    """(stage to build, call(application, expected_version)) for every versioned service."""
    later = now + timedelta(hours=1)

    def owner(a):
        return a.position.owner

    return {
        "decide": ("first_decision", lambda a, v: services.decide(a, outcome="advance", actor=owner(a), now=later,
                                                                  expected_version=v)),
        "decide_offer": ("final_decision", lambda a, v: services.decide_offer(
            a, outcome="reject", rationale="Budget frozen.", actor=a.position.hiring_manager, now=later,
            expected_version=v)),
        "record_offer_response": ("offer", lambda a, v: services.record_offer_response(
            a, accepted=True, actor=owner(a), now=later, expected_version=v)),
        "extend_deadline": ("first_decision", lambda a, v: services.extend_deadline(
            a, until=date(2026, 12, 5), reason="Travel", actor=owner(a), now=later, expected_version=v)),
        "set_competing_offer": ("first_decision", lambda a, v: services.set_competing_offer(
            a, deadline=date(2026, 11, 27), actor=owner(a), now=later, expected_version=v)),
        "withdraw": ("applied", lambda a, v: services.withdraw(a, actor=owner(a), now=later, expected_version=v)),
        "schedule_interview": ("applied", lambda a, v: services.schedule_interview(
            a, round=1, scheduled_at=now + timedelta(days=2), panel_user_ids=[owner(a).id], location="Room",
            actor=owner(a), now=later, expected_version=v)),
        "reschedule_interview": ("first_interview", lambda a, v: services.reschedule_interview(
            a.current_interview(), scheduled_at=now + timedelta(days=5), panel_user_ids=[owner(a).id],
            location="Room", actor=owner(a), now=later, expected_version=v)),
        "cancel_interview": ("first_interview", lambda a, v: services.cancel_interview(
            a.current_interview(), actor=owner(a), now=later, expected_version=v)),
        "record_interview_held": ("first_interview", lambda a, v: services.record_interview_held(
            a.current_interview(), held_at=later + timedelta(days=4), actor=owner(a), now=later + timedelta(days=5),
            expected_version=v)),
    }


STALE_SERVICES = ["decide", "decide_offer", "record_offer_response", "extend_deadline", "set_competing_offer",
                  "withdraw", "schedule_interview", "reschedule_interview", "cancel_interview",
                  "record_interview_held"]


@pytest.mark.parametrize("service", STALE_SERVICES)
def test_stale_expected_version_changes_nothing(factory, now, service):
    stage, call = _stale_calls(factory, now)[service]
    application = factory.application(stage, recommendations=["yes", "yes"])
    current = application.version
    before = _snapshot(application)
    with pytest.raises(StaleVersion, match="Someone else changed this application"):
        call(application, current - 1)
    assert _snapshot(application) == before
    call(application, str(current))  # the right version (as a form sends it) goes through
    assert application.version == current + 1


def test_garbage_expected_version_is_invalid_input(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    with pytest.raises(InvalidInput) as info:
        services.decide(application, outcome="advance", actor=application.position.owner, now=now,
                        expected_version="seven")
    assert set(info.value.fields) == {"expected_version"}


def test_concurrent_edit_second_writer_gets_stale_version(factory, now, app):
    """Two recruiters load the same application in their own requests (own sessions,
    own connections); the first commits, the second must not overwrite it."""
    application = factory.application(Stage.FIRST_DECISION, recommendations=["yes", "yes"])
    app_id = application.id
    db.session.remove()

    ours = db.session.get(Application, app_id)  # recruiter A loads the page
    ours_version = ours.version
    owner_a = ours.position.owner
    ours.candidate  # noqa: B018  (everything the service needs is loaded now)
    with app.app_context():  # recruiter B, in another request: another session and connection
        assert db.session.get(Application, app_id) is not ours
        theirs = db.session.get(Application, app_id)
        services.set_competing_offer(theirs, deadline=date(2026, 11, 27), actor=theirs.position.owner,
                                     now=now + timedelta(minutes=1))
        assert theirs.version == ours_version + 1
    # A still holds version n in memory and submits without expected_version: the
    # version column itself catches it.
    with pytest.raises(StaleVersion):
        services.decide(ours, outcome="advance", actor=owner_a, now=now + timedelta(minutes=2))
    db.session.expire_all()
    fresh = db.session.get(Application, app_id)
    assert fresh.stage == Stage.FIRST_DECISION
    assert fresh.competing_offer_deadline == date(2026, 11, 27)
    assert fresh.version == ours_version + 1
    assert Decision.query.filter_by(application_id=app_id, stage="first_decision").count() == 0
    assert AuditEvent.query.filter_by(application_id=app_id, kind="decision").count() == 0
    assert OutboxEmail.query.filter_by(application_id=app_id, template="second_interview_invitation").count() == 0
    # After reloading, A can decide.
    services.decide(fresh, outcome="advance", actor=fresh.position.owner, now=now + timedelta(minutes=3),
                    expected_version=fresh.version)
    assert fresh.stage == Stage.SECOND_INTERVIEW


def test_concurrent_feedback_and_reference_both_bump_the_version(factory, now, app):
    application = factory.application(Stage.FIRST_DECISION)
    app_id = application.id
    db.session.remove()
    ours = db.session.get(Application, app_id)
    owner = ours.position.owner
    with app.app_context():
        theirs = db.session.get(Application, app_id)
        services.add_reference(theirs, name="Ref One", actor=theirs.position.owner, now=now)
    with pytest.raises(StaleVersion):
        services.add_reference(ours, name="Ref Two", actor=owner, now=now)
    db.session.expire_all()
    assert [r.name for r in Reference.query.filter_by(application_id=app_id)] == ["Ref One"]


def test_no_change_is_left_half_done_when_an_email_fails(factory, now, monkeypatch):
    application = factory.application(Stage.FIRST_DECISION)
    before = _snapshot(application)

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(services.notify, "to_candidate", broken)
    with pytest.raises(RuntimeError):
        services.decide(application, outcome="reject", rationale="Not a fit.", actor=application.position.owner,
                        now=now)
    assert _snapshot(application) == before
    assert application.stage == Stage.FIRST_DECISION


def test_text_longer_than_its_column_is_a_field_error_on_every_database(factory, now):
    """The CLI and jobs reach the services without a form or schema in front: PostgreSQL
    refused such a row (a 500), SQLite kept it."""
    long = "x" * 201
    with pytest.raises(InvalidInput) as info:
        services.create_user("long@example.com", long, "recruiter", now=now)
    assert info.value.fields == {"name": "At most 200 characters."}
    recruiter = factory.user("recruiter")
    with pytest.raises(InvalidInput) as info:
        services.update_user(recruiter, name=long, now=now)
    assert set(info.value.fields) == {"name"}
    with pytest.raises(InvalidInput) as info:
        services.create_position(long, department=long, actor=recruiter, now=now)
    assert set(info.value.fields) == {"title", "department"}
    position = factory.position(owner=recruiter)
    with pytest.raises(InvalidInput) as info:
        services.update_position(position, title=long, actor=recruiter, now=now)
    assert set(info.value.fields) == {"title"}
    with pytest.raises(InvalidInput) as info:
        services.submit_application(position, name=long, email="anna@example.org", actor=recruiter, now=now)
    assert set(info.value.fields) == {"name"}
    application = factory.application(position=position)
    with pytest.raises(InvalidInput) as info:
        services.add_reference(application, name=long, contact="y" * 301, actor=recruiter, now=now)
    assert set(info.value.fields) == {"name", "contact"}
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 1
    assert db.session.scalar(select(func.count()).select_from(Reference)) == 0
    assert all(len(user.name) <= 200 for user in User.query)


# --- issue 10: held before it happened, the panel's word, who decides the offer ----------------


def test_an_interview_is_not_marked_held_before_its_scheduled_start(factory, now):
    application = factory.application(Stage.FIRST_INTERVIEW, at=now - timedelta(days=1))
    interview = application.current_interview()
    owner = application.position.owner
    start = interview.scheduled_at
    version = application.version
    for held_at, at in ((start - timedelta(minutes=30), start + timedelta(hours=1)),
                        (None, start - timedelta(minutes=5))):  # "now" before the start
        with pytest.raises(InvalidInput, match="before its scheduled start") as info:
            services.record_interview_held(interview, held_at=held_at, actor=owner, now=at)
        assert list(info.value.fields) == ["held_at"]
        assert "reschedule it to the real time first" in info.value.fields["held_at"]
    assert (application.stage, application.version, interview.held_at) == ("first_interview", version, None)
    assert not OutboxEmail.query.filter_by(application_id=application.id, template="interview_thanks").count()
    with one_change(application, "interview_held", ("interview_thanks",)):
        services.record_interview_held(interview, held_at=start, actor=owner, now=start + timedelta(hours=1))


@pytest.mark.parametrize(("recommendations", "outcome", "message"), [
    (["no", "strong_no"], "advance", "The whole panel recommended not to hire this candidate; write down why you "
                                     "advance."),
    (["yes", "strong_yes"], "reject", "The whole panel recommended this candidate; write down why you reject."),
    (None, "advance", "Nobody on the panel has given feedback yet; write down what the decision rests on."),
    (None, "reject", "Nobody on the panel has given feedback yet; write down what the decision rests on."),
])
def test_the_debrief_against_the_panel_or_without_it_needs_a_rationale(factory, now, recommendations, outcome,
                                                                        message):
    application = factory.application(Stage.FIRST_DECISION, recommendations=recommendations)
    owner = application.position.owner
    with pytest.raises(InvalidInput) as info:
        services.decide(application, outcome=outcome, rationale=" ", actor=owner, now=now + timedelta(hours=1))
    assert info.value.fields == {"rationale": message}
    assert application.stage == Stage.FIRST_DECISION
    services.decide(application, outcome=outcome, rationale="Discussed with the panel.", actor=owner,
                    now=now + timedelta(hours=1))
    assert application.stage == ("second_interview" if outcome == "advance" else "rejected")


def test_rejecting_a_clear_hire_at_the_offer_decision_says_why_a_rationale_is_needed(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    with pytest.raises(InvalidInput) as info:
        services.decide_offer(application, outcome="reject", actor=application.position.hiring_manager,
                              now=now + timedelta(hours=1))
    assert info.value.fields == {"rationale": "The whole panel recommended this candidate; write down why you "
                                              "reject."}


@pytest.mark.parametrize("outcome", ["advance", "reject"])
def test_only_the_hiring_manager_decides_the_offer(factory, now, outcome):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    later = now + timedelta(hours=1)
    for actor in (factory.user("manager"), application.position.owner, factory.user("interviewer")):
        with pytest.raises(NotAllowed):
            services.decide_offer(application, outcome=outcome, rationale="Decided.", actor=actor, now=later)
        with pytest.raises(NotAllowed):
            services.decide(application, outcome=outcome, rationale="Decided.", actor=actor, now=later)
    assert application.stage == Stage.FINAL_DECISION
    services.decide_offer(application, outcome=outcome, rationale="Decided.",
                          actor=application.position.hiring_manager, now=later)
    assert application.stage == ("offer" if outcome == "advance" else "rejected")


def test_an_admin_acts_for_the_hiring_manager_with_a_recorded_reason(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    admin = factory.user("admin")
    with pytest.raises(InvalidInput) as info:
        services.decide_offer(application, outcome="advance", actor=admin, now=now + timedelta(hours=1))
    assert list(info.value.fields) == ["acting_for"]
    with one_change(application, "decision", ("offer",)):
        services.decide_offer(application, outcome="advance", actor=admin, now=now + timedelta(hours=1),
                              acting_for="Mona is on parental leave; she agreed by phone.")
    event = AuditEvent.query.filter_by(application_id=application.id, kind="decision").order_by(
        AuditEvent.id.desc()).first()
    assert event.actor_id == admin.id
    assert event.data["acting_for"] == "Mona is on parental leave; she agreed by phone."


def test_without_a_hiring_manager_any_manager_decides_the_offer(factory, now):
    application = factory.application(Stage.FINAL_DECISION, recommendations=["yes", "yes"])
    position = application.position
    position.hiring_manager_id = None  # e.g. a position created before it had one
    db.session.commit()
    with pytest.raises(NotAllowed):
        services.decide_offer(application, outcome="reject", rationale="No.", actor=position.owner,
                              now=now + timedelta(hours=1))
    services.decide_offer(application, outcome="advance", actor=factory.user("manager"), now=now + timedelta(hours=1))
    assert application.stage == Stage.OFFER
