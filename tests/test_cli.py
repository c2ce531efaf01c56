"""The command-line adapters, through Flask's CLI runner."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from hiring import cli, demo, pipeline, services
from hiring.extensions import db
from hiring.models import Application, AuditEvent, Candidate, Interview, OutboxEmail, Position, User, utcnow
from hiring.pipeline import Flag, Stage
from hiring.settings import get_policy


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_users_create_with_password(runner):
    result = runner.invoke(args=["users", "create", "Rita@Example.com", "--name", "Rita Recruiter", "--role",
                                 "recruiter", "--password", "long enough password"])
    assert result.exit_code == 0, result.output
    assert "Created recruiter rita@example.com" in result.output
    user = User.query.filter_by(email="rita@example.com").one()
    assert user.name == "Rita Recruiter" and user.role == "recruiter" and user.active
    assert user.check_password("long enough password")
    assert not user.check_password("wrong password")
    assert AuditEvent.query.filter_by(kind="user_created").count() == 1


def test_users_create_prompts_for_the_password(runner):
    result = runner.invoke(args=["users", "create", "ada@example.com", "--name", "Ada", "--role", "admin"],
                           input="prompted password\nprompted password\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "prompted password" not in result.output  # hidden input
    assert User.query.filter_by(email="ada@example.com").one().check_password("prompted password")


def test_users_create_prompt_asks_again_when_the_confirmation_differs(runner):
    result = runner.invoke(args=["users", "create", "ada@example.com", "--name", "Ada", "--role", "admin"],
                           input="first password\nother password\nsecond password\nsecond password\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert User.query.filter_by(email="ada@example.com").one().check_password("second password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--name", "X", "--role", "recruiter", "--password", "long enough passphrase"],
         "That email address is not valid.\n  email: An email address must have an @-sign."),
        (["a@example.com", "--name", "X", "--role", "boss", "--password", "long enough passphrase"],
         "Invalid value for '--role'"),
        (["a@example.com", "--name", " ", "--role", "manager", "--password", "long enough passphrase"],
         "name: Enter the person's name."),
        (["a@example.com", "--name", "X", "--role", "manager", "--password", "short"],
         "password: Use at least 12 characters."),
        (["a@example.com", "--role", "manager", "--password", "long enough passphrase"], "Missing option '--name'"),
    ],
)
def test_users_create_refuses_bad_input_clearly(runner, args, message):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert _count(User) == 0


def test_users_create_refuses_a_duplicate(runner):
    args = ["users", "create", "a@example.com", "--name", "A", "--role", "manager",
            "--password", "long enough passphrase"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=[*args[:2], "A@EXAMPLE.COM", *args[3:]])
    assert result.exit_code == 1
    assert "A user with the email a@example.com already exists." in result.output
    assert _count(User) == 1


def test_users_set_password_for_someone_who_forgot_it(runner, factory):
    admin = factory.user("admin", email="only.admin@example.com")
    result = runner.invoke(args=["users", "set-password", "Only.Admin@example.com"],
                           input="fresh password\nfresh password\n")
    assert result.exit_code == 0, result.output
    assert "New password set for only.admin@example.com." in result.output
    db.session.refresh(admin)
    assert admin.check_password("fresh password")


@pytest.mark.parametrize(("args", "message"), [
    (["nobody@example.com", "--password", "long enough passphrase"], "No user with the email nobody@example.com"),
    (["only.admin@example.com", "--password", "short"], "password: Use at least 12 characters."),
])
def test_users_set_password_refuses_clearly(runner, factory, args, message):
    factory.user("admin", email="only.admin@example.com")
    result = runner.invoke(args=["users", "set-password", *args])
    assert result.exit_code == 1 and message in result.output, result.output


def test_users_list(runner, factory):
    factory.user("manager", email="mona@example.com", name="Mona")
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert "mona@example.com\tMona\tmanager\tactive" in result.output


def test_demo_loads_every_stage_with_overdue_due_soon_and_a_competing_offer(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert f"Loaded {len(demo.DEMO_PLAN)} applications in 4 positions." in result.output
    assert "admin@example.com" in result.output
    db.session.expire_all()
    applications = Application.query.all()
    assert 35 <= len(applications) <= 50
    assert _count(Position) == 4 and _count(User) == len(demo.DEMO_USERS)
    assert _count(Candidate) == len(applications)
    stages = Counter(a.stage for a in applications)
    assert set(stages) == {s.value for s in Stage}, stages
    now, policy = utcnow(), get_policy()
    flags = Counter(flag for a in applications for flag in a.flags(now, policy))
    assert flags[Flag.OVERDUE] >= 3
    assert flags[Flag.DUE_SOON] >= 2
    assert flags[Flag.EXPEDITE] == 1
    assert flags[Flag.AWAITING_FEEDBACK] >= 1 or flags[Flag.NEEDS_DISCUSSION] >= 1
    expedited = next(a for a in applications if a.competing_offer_deadline is not None)
    assert pipeline.local_date(expedited.due_at, policy) < expedited.competing_offer_deadline
    # Every application has its history and its emails, as if made through the UI.
    for application in applications:
        assert AuditEvent.query.filter_by(application_id=application.id, kind="application_submitted").count() == 1
        assert application.stage_entered_at <= now
        # Every open application has a date, a scheduled interview too (its day + the decision's days).
        assert (application.due_at is None) == (application.stage in ("hired", "rejected", "declined", "withdrawn"))
    assert _count(OutboxEmail) > len(applications)
    # No interview was marked held before it was due to start (the UI showed "held Thu 19 Nov"
    # under "first interview Fri 20 Nov").
    interviews = Interview.query.filter(Interview.held_at.is_not(None)).all()
    assert interviews and all(i.held_at >= i.scheduled_at for i in interviews)
    # Everyone can log in with the printed password.
    assert User.query.filter_by(email="mona@example.com").one().check_password(demo.DEMO_PASSWORD)


def test_demo_refuses_a_non_empty_database(runner, factory):
    factory.user("admin")
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "The database is not empty" in result.output
    if db.engine.url.get_backend_name() == "sqlite" and db.engine.url.database:
        assert f"stop the server and delete {db.engine.url.database}" in result.output
    assert _count(User) == 1 and _count(Application) == 0


def test_demo_refuses_when_only_a_candidate_exists(runner, factory):
    position = factory.position()
    services.submit_application(position, name="Anna", email="anna@example.org", actor=position.owner)
    db.session.execute(db.delete(User).where(User.id.not_in([position.owner_id, position.hiring_manager_id])))
    db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 1


def test_a_failing_demo_leaves_the_database_empty(runner, monkeypatch):
    calls = {"n": 0}
    real = services.submit_application

    def fail_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "submit_application", fail_third)
    result = runner.invoke(args=["demo"])
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert calls["n"] == 3
    for model in (User, Position, Application, Candidate, AuditEvent, OutboxEmail):
        assert _count(model) == 0, model
    assert cli._database_is_empty()  # so it can simply be run again


def test_a_demo_refused_by_the_rules_reports_it_and_leaves_nothing(runner, monkeypatch):
    def refuse(*args, **kwargs):
        raise services.Conflict("Already there.")

    monkeypatch.setattr(services, "create_position", refuse)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "Error: Already there." in result.output
    assert _count(User) == 0
