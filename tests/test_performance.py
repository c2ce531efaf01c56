"""The performance budget, kept honest without timing anything.

A page whose number of SQL statements grows with the data (an N+1 query, a lazy load
per row) is what makes it slow at 100k applications, so each page is counted with 10
and with 1,000 generated applications and must issue exactly as many statements.
The timing itself lives in bench/run.py (`make bench`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from hiring import generator, services
from hiring.extensions import db
from hiring.models import Application, Position, User, utcnow
from hiring.settings import get_policy

from .conftest import empty_database
from .factories import Factory


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def build_dataset(applications: int, now: datetime) -> dict[str, int]:
    """``applications`` generated over two years, plus the same handful of applications
    in every state a page lists (so no list is empty in the small dataset either)."""
    empty_database()
    db.session.remove()
    generator.generate(db.session, applications, now=now, policy=get_policy(), seed=11)
    rita, mona = _user("rita@example.com"), _user("mona@example.com")
    ivan, ines = _user("ivan@example.com"), _user("ines@example.com")
    position = db.session.scalar(select(Position).where(Position.owner_id == rita.id, Position.status == "open")
                                 .order_by(Position.id))
    if position is None:
        position = services.create_position("Embedded Software Engineer", owner_id=rita.id,
                                            hiring_manager_id=mona.id, actor=rita, now=now - timedelta(days=30))
    services.update_position(position, hiring_manager_id=mona.id, actor=rita, now=now - timedelta(days=30))
    factory = Factory(now)
    factory.application("applied", position=position, at=now - timedelta(days=16))  # overdue
    awaiting = factory.application("first_decision", position=position, at=now - timedelta(days=1),
                                   panel=[ivan, ines], recommendations=[None, "yes"])
    final = factory.application("final_decision", position=position, at=now - timedelta(days=2),
                                panel=[ivan, ines], recommendations=["yes", "strong_yes"])
    factory.application("second_interview", position=position, at=now - timedelta(days=3), panel=[ivan, ines])
    ids = {"position": position.id, "application": final.id, "awaiting": awaiting.id}
    db.session.remove()
    return ids


def login(client, email: str) -> None:
    client.get("/logout")
    response = client.post("/login", data={"email": email, "password": generator.DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def page_statements(client, ids: dict[str, int]) -> dict[str, int]:
    """Statements per page, for each role whose view of the page differs."""
    pages = {
        ("rita@example.com", "dashboard"): "/",
        ("rita@example.com", "dashboard, everyone"): "/?scope=all",
        ("ivan@example.com", "dashboard"): "/",
        ("mona@example.com", "dashboard"): "/",
        ("rita@example.com", "board"): "/board",
        ("rita@example.com", "position board"): f"/positions/{ids['position']}/board",
        ("rita@example.com", "candidate search"): "/candidates/?q=example",
    }
    counts: dict[str, int] = {}
    current = None
    for (email, name), url in pages.items():
        if email != current:
            login(client, email)
            current = email
        client.get(url)  # warm: the policy and the session's user are loaded per request anyway
        with counting_statements() as statements:
            response = client.get(url)
        assert response.status_code == 200, (email, url, response.status_code)
        counts[f"{name} ({email.split('@')[0]})"] = len(statements)
    return counts


def test_statements_per_page_do_not_grow_with_the_data(app, client):
    now = utcnow()
    small_ids = build_dataset(10, now)
    small = page_statements(client, small_ids)
    large_ids = build_dataset(1000, now)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1000 + 4
    large = page_statements(client, large_ids)
    assert small == large
    assert all(count > 0 for count in small.values())


def test_the_counting_sees_a_lazy_load_per_row(app, client):
    """The yardstick itself: a loop that lazily loads per row is caught by the count."""
    now = utcnow()
    build_dataset(10, now)
    with counting_statements() as few:
        for application in db.session.scalars(select(Application).limit(5)):
            assert application.candidate.name
    db.session.remove()
    build_dataset(100, now)
    with counting_statements() as many:
        for application in db.session.scalars(select(Application).limit(50)):
            assert application.candidate.name
    assert len(many) > len(few)


def test_generator_fills_every_stage_and_refuses_a_non_empty_database(app, runner):
    now = utcnow()
    counts = generator.generate(db.session, 1500, now=now, policy=get_policy(), seed=3)
    assert counts["application"] == 1500
    stages = dict(db.session.execute(select(Application.stage, func.count()).group_by(Application.stage)).all())
    assert set(stages) == {"applied", "first_interview", "first_decision", "second_interview", "final_decision",
                           "offer", "hired", "rejected", "declined", "withdrawn"} or len(stages) >= 8
    open_share = sum(stages.get(s, 0) for s in ("applied", "first_interview", "first_decision",
                                                "second_interview", "final_decision", "offer")) / 1500
    assert 0.01 < open_share < 0.2
    oldest = db.session.scalar(select(func.min(Application.applied_at)))
    assert now - oldest > timedelta(days=600)
    # Every open application's due date is the one the process rules give.
    policy = get_policy()
    for application in db.session.scalars(select(Application).where(Application.due_at.is_not(None))):
        expected = generator._base_due(application.stage,
                                       application.stage_entered_at.astimezone(policy.tz).date(), policy)
        if application.extended_until is not None:
            expected = application.extended_until
        if application.competing_offer_deadline is not None:
            from hiring import pipeline

            expected = min(expected, pipeline.competing_offer_due(application.competing_offer_deadline,
                                                                  application.stage_entered_at, policy))
        assert application.due_at == expected
    result = runner.invoke(args=["demo", "--applications", "10"])
    assert result.exit_code != 0
    assert "not empty" in result.output


def test_demo_command_generates_with_a_progress_bar(app, runner):
    result = runner.invoke(args=["demo", "--applications", "50", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Wrote 50 applications", result.output)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 50
    # The sequences continue after the generated ids: the services can add more.
    position = db.session.scalar(select(Position).where(Position.status == "open").limit(1))
    if position is not None:
        Factory(utcnow()).application("applied", position=position)


@pytest.mark.parametrize("lean", [True])
def test_lean_generation_keeps_open_histories_only(app, lean):
    generator.generate(db.session, 300, now=utcnow(), policy=get_policy(), seed=5, lean=lean)
    closed_with_events = db.session.scalar(
        select(func.count()).select_from(Application)
        .where(Application.closed_at.is_not(None),
               Application.id.in_(select(generator.AuditEvent.application_id))))
    assert closed_with_events == 0
    assert db.session.scalar(select(func.count()).select_from(Application)) == 300
