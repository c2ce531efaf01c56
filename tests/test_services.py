from datetime import timedelta

import pytest

from hiring import services
from hiring.models import AuditEvent, OutboxEmail
from hiring.pipeline import IllegalTransition, NotAllowed, StaleVersion


def test_whole_process_to_hired(factory, now):
    application = factory.application("hired", recommendations=["yes", "strong_yes"])
    assert application.stage == "hired"
    assert application.due_at is None
    emails = OutboxEmail.query.filter_by(application_id=application.id).order_by(OutboxEmail.id).all()
    assert [e.template for e in emails if not e.to_candidate] == ["approval_request"]
    assert [e.template for e in emails if e.to_candidate] == [
        "application_received", "interview_invitation", "interview_thanks", "second_interview_invitation",
        "interview_invitation", "interview_thanks", "offer",
    ]


def test_held_first_interview_is_due_in_one_week(factory, now):
    application = factory.application("first_decision")
    assert application.stage == "first_decision"
    # Tue 24 Nov 09:00 Berlin → due Tue 1 Dec 23:59:59 Berlin = 22:59:59 UTC
    assert application.due_at.isoformat() == "2026-12-01T22:59:59+00:00"


def test_stale_version_is_refused(factory, now):
    application = factory.application("first_decision")
    version = application.version
    services.add_reference(application, name="Dr. Ref", actor=application.position.owner, now=now)
    assert application.version == version + 1
    with pytest.raises(StaleVersion):
        services.decide(application, outcome="advance", actor=application.position.owner, now=now,
                        expected_version=version)
    assert application.stage == "first_decision"


def test_only_management_makes_the_offer(factory, now):
    application = factory.application("final_decision", recommendations=["yes", "yes"])
    with pytest.raises(NotAllowed):
        services.decide(application, outcome="advance", actor=application.position.owner, now=now)
    services.decide(application, outcome="advance", actor=application.position.hiring_manager,
                    now=now + timedelta(hours=1))
    assert application.stage == "offer"


def test_illegal_transition_has_a_clear_message(factory, now):
    application = factory.application("applied")
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
    policy = get_policy()
    apps = Application.query.all()
    for flag in Flag:
        expected = {a.id for a in apps if flag in a.flags(now, policy)}
        got = set(db.session.scalars(db.select(Application.id).where(queries.flag_condition(flag, now, policy))))
        assert got == expected, flag
    assert any(Flag.OVERDUE in a.flags(now, policy) for a in apps)
