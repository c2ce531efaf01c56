"""The data model: aware UTC timestamps on both databases, the append-only audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, StatementError

from hiring import services
from hiring.extensions import db
from hiring.models import Application, AuditEvent, User
from hiring.pipeline import Stage


def test_timestamps_round_trip_as_aware_utc(factory):
    berlin = datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Berlin"))  # just after spring forward
    user = factory.user("recruiter")
    user.created_at = berlin
    db.session.commit()
    user_id = user.id
    db.session.remove()  # a fresh session: the value comes from the database, not the identity map
    loaded = db.session.get(User, user_id).created_at
    assert loaded == berlin
    assert loaded.tzinfo is UTC or loaded.utcoffset() == timedelta(0)
    assert loaded.isoformat() == "2026-03-29T01:30:15.123456+00:00"


@pytest.mark.parametrize("stored", [
    "2026-11-30 08:00:00.000000", "2026-11-30 08:00:00", "2026-11-30 08:00:00.5", "2026-11-30T08:00:00.123",
    "2026-11-30 08:00:00.000000+01:00", "2026-11-30", None,
])
def test_sqlite_timestamps_are_read_as_the_decorator_says_in_one_step(stored):
    """UTCDateTime.result_processor (one function per value, for speed) gives what
    TypeDecorator's chain of SQLAlchemy's own parsing and process_result_value gave."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from hiring.models.types import UTCDateTime

    dialect = sqlite.dialect()
    column_type = UTCDateTime().dialect_impl(dialect)
    expected = TypeDecorator.result_processor(column_type, dialect, None)(stored)
    loaded = column_type.result_processor(dialect, None)(stored)
    assert loaded == expected and (loaded is None or loaded.tzinfo is UTC)
    assert loaded is None or loaded.isoformat() == expected.isoformat()


@pytest.mark.parametrize("given", [
    datetime(2026, 11, 30, 8, tzinfo=UTC), datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("Etc/UTC")), None,
])
def test_postgresql_timestamps_are_read_as_utc(given):
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.types import TypeDecorator

    from hiring.models.types import UTCDateTime

    dialect = postgresql.dialect()
    column_type = UTCDateTime().dialect_impl(dialect)
    expected = TypeDecorator.result_processor(column_type, dialect, None)(given)
    loaded = column_type.result_processor(dialect, None)(given)
    assert loaded == expected and (loaded is None or (loaded.tzinfo is UTC and loaded.hour == 8))


def test_other_offsets_are_stored_as_the_same_instant(factory):
    user = factory.user("recruiter")
    user.created_at = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    db.session.commit()
    user_id = user.id
    db.session.remove()
    assert db.session.get(User, user_id).created_at.isoformat() == "2027-01-01T04:30:00+00:00"


def test_database_stores_utc(factory):
    user = factory.user("recruiter")
    user.created_at = datetime(2026, 7, 1, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    db.session.commit()
    raw = db.session.execute(text('SELECT created_at FROM "user" WHERE id = :id'), {"id": user.id}).scalar_one()
    if db.engine.dialect.name == "sqlite":
        assert str(raw).startswith("2026-07-01 12:00:00")  # naive, but UTC
    else:
        assert raw == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # timestamptz


def test_comparisons_in_sql_use_utc(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    due = application.due_at
    in_berlin = due.astimezone(ZoneInfo("Europe/Berlin"))
    assert db.session.scalar(select(Application.id).where(Application.due_at == in_berlin)) == application.id
    assert db.session.scalar(select(Application.id).where(Application.due_at > in_berlin)) is None


def test_naive_datetime_is_refused(factory):
    user = factory.user("recruiter")
    user.created_at = datetime(2026, 11, 24, 9, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(User, user.id).created_at.tzinfo is not None


def test_naive_datetime_is_refused_in_queries_too(app):
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.execute(select(User).where(User.created_at < datetime(2026, 1, 1))).all()
    db.session.rollback()


def _one_event(factory, now) -> AuditEvent:
    position = factory.position()
    services.submit_application(position, name="Anna", email="anna@example.org", actor=position.owner, now=now)
    return AuditEvent.query.filter_by(kind="application_submitted").one()


def test_audit_events_cannot_be_changed(factory, now):
    event = _one_event(factory, now)
    event.data = {"forged": True}
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert "forged" not in db.session.get(AuditEvent, event.id).data


def test_audit_events_cannot_be_deleted(factory, now):
    event = _one_event(factory, now)
    db.session.delete(event)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id) is not None


def test_audit_events_cannot_be_changed_in_bulk(factory, now):
    event = _one_event(factory, now)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.update(AuditEvent).values(kind="forged"))
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.execute(db.delete(AuditEvent).where(AuditEvent.id == event.id))
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).kind == "application_submitted"


def test_the_database_itself_refuses_to_change_the_audit_log(factory, now):
    """Past the ORM (raw SQL, a script, a console), the triggers refuse every change."""
    event_id = _one_event(factory, now).id
    db.session.commit()  # the test's read ends: TRUNCATE would wait for it
    statements = ["UPDATE audit_event SET kind = 'forged'", f"DELETE FROM audit_event WHERE id = {event_id}"]
    if db.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event CASCADE")
    for statement in statements:
        with db.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement))
    db.session.expire_all()
    assert db.session.get(AuditEvent, event_id).kind == "application_submitted"


def test_the_guard_is_lifted_for_one_transaction_only(factory, now):
    from hiring.models import audit_guard_lifted

    event_id = _one_event(factory, now).id
    events = AuditEvent.query.count()
    db.session.commit()  # the test's read ends: ALTER TABLE would wait for it
    with (pytest.raises(RuntimeError, match="half way"), db.engine.begin() as connection,
          audit_guard_lifted(connection)):
        connection.execute(text("DELETE FROM audit_event"))
        raise RuntimeError("half way")  # rolled back: the event and the guard are both back
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar() == events > 0
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(f"DELETE FROM audit_event WHERE id = {event_id}"))
    with db.engine.begin() as connection, audit_guard_lifted(connection):
        connection.execute(text("DELETE FROM audit_event"))
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar() == 0
        factory.user("recruiter")  # a new event
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text("UPDATE audit_event SET kind = 'forged'"))


def test_every_change_appends_its_own_event(factory, now):
    application = factory.application(Stage.FIRST_DECISION)
    events = AuditEvent.query.filter_by(application_id=application.id).order_by(AuditEvent.id).all()
    assert [e.kind for e in events] == ["application_submitted", "interview_scheduled", "interview_held"]
    assert all(e.occurred_at.tzinfo is not None for e in events)
    assert events[0].actor_id == application.position.owner_id


def test_user_helpers(factory):
    user = factory.user("interviewer")
    assert user.is_active
    assert user.can("submit_feedback") and not user.can("decide")
    assert repr(user) == f"<User {user.email} interviewer>"
    user.password_hash = None
    assert user.check_password("anything") is False


def test_time_ordered_relationships_break_ties_by_id(factory, now):
    """Rows of the same instant come in the order they were made (by id), whatever order
    the database stores them in: here the higher ids are written first."""
    from hiring.models import Decision, Feedback

    panel = [factory.user("interviewer"), factory.user("interviewer")]
    application = factory.application(Stage.FIRST_DECISION, panel=panel)
    interview = application.current_interview()
    app_id, interview_id = application.id, interview.id
    for decision_id in (1002, 1001):
        db.session.add(Decision(id=decision_id, application_id=app_id, stage="first_decision", outcome="reject",
                                decided_at=now, rationale=""))
        db.session.flush()
    for feedback_id, member in ((1002, panel[0]), (1001, panel[1])):
        db.session.add(Feedback(id=feedback_id, interview_id=interview_id, interviewer_id=member.id,
                                recommendation="yes", notes="", submitted_at=now))
        db.session.flush()
    db.session.commit()
    db.session.remove()
    application = db.session.get(Application, app_id)
    assert [d.id for d in application.decisions] == [1001, 1002]
    assert [f.id for f in application.current_interview().feedback] == [1001, 1002]


def test_each_vocabulary_column_is_checked_against_its_enum(app):
    """The CHECK constraints come from the enums: each lists exactly the enum's values."""
    from hiring import pipeline
    from hiring.extensions import db

    expected = {
        ("user", "role"): pipeline.Role, ("position", "status"): pipeline.PositionStatus,
        ("candidate", "language"): pipeline.Language, ("application", "stage"): pipeline.Stage,
        ("feedback", "recommendation"): pipeline.Recommendation, ("promise", "outcome"): pipeline.PromiseOutcome,
        ("candidate_contact", "kind"): pipeline.ContactKind, ("candidate_contact", "channel"): pipeline.ContactChannel,
        ("reference", "status"): pipeline.ReferenceStatus, ("outbox_email", "status"): pipeline.OutboxStatus,
        ("application", "source"): pipeline.Source, ("application", "verdict"): pipeline.Verdict,
    }
    found = {}
    for table in db.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "CheckConstraint" and " IN (" in str(constraint.sqltext):
                column, values = str(constraint.sqltext).split(" IN (")
                found[(table.name, column)] = [v.strip(" '") for v in values.rstrip(")").split(",")]
    for key, vocabulary in expected.items():
        assert found.get(key) == [member.value for member in vocabulary], key


@pytest.mark.parametrize("table, column, value", [
    ("candidate_contact", "kind", "letter"), ("candidate_contact", "channel", "pigeon"),
    ("reference", "status", "maybe"),
])
def test_the_database_refuses_a_value_outside_the_vocabulary(factory, now, table, column, value):
    """Checked by the migrated schema itself, not only by the service."""
    application = factory.application(Stage.APPLIED)
    services.record_candidate_contact(application, kind="enquiry", channel="email", summary="", occurred_at=now,
                                      actor=application.owner or application.position.owner)
    services.add_reference(application, name="Ref", contact="", status="requested", notes="",
                           actor=application.position.owner)
    db.session.commit()
    with pytest.raises(DBAPIError, match="(?i)check"):
        db.session.execute(text(f"UPDATE {table} SET {column} = :value"), {"value": value})
    db.session.rollback()
