"""Each page runs a fixed number of SQL statements, however many applications there are
(no N+1). Speed itself is measured by the benchmark, not here."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from hiring.extensions import db
from hiring.models import utcnow

PAGES = ["/", "/?scope=all", "/board", "/board?owner={owner}", "/positions/{position}/board", "/candidates/",
         "/candidates/?q=candidate", "/positions/", "/interviews/mine", "/admin/users"]


@contextmanager
def counting_statements():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _add_batch(factory, position, panel, n: int) -> None:
    """n applications in every open stage, some overdue, all with interviews and feedback awaited."""
    now = utcnow()
    for index in range(n):
        for stage, days in (("applied", 20), ("first_interview", 1), ("first_decision", 2),
                            ("second_interview", 9), ("final_decision", 1), ("offer", 3)):
            factory.application(stage, position=position, panel=panel, at=now - timedelta(days=days + index),
                                recommendations=["yes", ""] if stage == "first_decision" else ["yes", "yes"])


def _counts(client, fmt) -> dict[str, int]:
    counts = {}
    for page in PAGES:
        path = page.format(**fmt)
        with counting_statements() as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = len(statements)
    return counts


@pytest.mark.parametrize("role", ["admin", "interviewer"])
def test_statements_per_page_do_not_grow_with_the_data(client, login, factory, role):
    admin = factory.user("admin")
    interviewers = [factory.user("interviewer"), factory.user("interviewer")]
    position = factory.position(owner=admin)
    user = admin if role == "admin" else interviewers[0]
    login(user)
    fmt = {"owner": admin.id, "position": position.id}
    _add_batch(factory, position, interviewers, 1)
    small = _counts(client, fmt) if role == "admin" else _counts_mine(client)
    _add_batch(factory, position, interviewers, 3)
    large = _counts(client, fmt) if role == "admin" else _counts_mine(client)
    assert small == large
    assert max(large.values()) <= 12, large


def _counts_mine(client) -> dict[str, int]:
    counts = {}
    for path in ("/", "/interviews/mine"):
        with counting_statements() as statements:
            assert client.get(path).status_code == 200
        counts[path] = len(statements)
    return counts
