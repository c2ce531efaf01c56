"""Each page runs a fixed number of SQL statements, however many applications there are
(no N+1). Speed itself is measured by the benchmark, not here."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hiring import queries
from hiring.extensions import db
from hiring.models import Application, utcnow
from hiring.pipeline import Flag, Stage
from hiring.settings import get_policy
from hiring.views import dashboard

from .test_performance import counting_statements

PAGES = ["/", "/?scope=all", "/board", "/board?owner={owner}", "/positions/{position}/board", "/candidates/",
         "/candidates/?q=candidate", "/positions/", "/interviews/mine", "/admin/users"]


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


@pytest.mark.parametrize("role", ["recruiter", "admin", "manager"])
@pytest.mark.parametrize("days", [-30, 0, 2, 5, 12, 40])
def test_everyones_dashboard_lists_the_first_applications_needing_action(factory, now, monkeypatch, role, days):
    """Everyone's dashboard reads the applications due soon per stage and asks the whole
    condition only when fewer than a page are due: the page holds the first applications
    by due date (undated last, then id) among every open one that needs action, at moments
    when none, some and all of them are due (a page of 3 here)."""
    user = factory.user(role)
    positions = [factory.position(owner=user if role != "manager" else None,
                                  hiring_manager=user if role == "manager" else None), factory.position()]
    stages = ["applied", "first_interview", "first_decision", "second_interview", "final_decision", "offer"]
    created = [factory.application(stage, position=positions[index % 2], at=now - timedelta(days=3 * index))
               for index, stage in enumerate(stages * 2)]
    # Dates moved automatically: past the policy's limit (stalled), and within it.
    for application, delays in zip(created[-4:], (get_policy().max_automatic_delays + 1, 1, 5, 0), strict=True):
        application.automatic_delays = delays
    db.session.commit()
    moment = now + timedelta(days=days)
    policy = get_policy()

    def needs_action(application: Application) -> bool:
        flags = application.flags(moment, policy)
        if {Flag.OVERDUE, Flag.DUE_SOON, Flag.EXPEDITE, Flag.UNRECORDED} & set(flags):
            return True
        manages = application.position.hiring_manager_id == user.id
        if role == "manager":
            return application.stage == Stage.FINAL_DECISION.value and manages or (Flag.STALLED in flags and manages)
        mine = application.owner_id == user.id and application.stage in ("applied", "first_decision")
        return mine or (role == "admin" and Flag.STALLED in flags)

    monkeypatch.setattr(dashboard, "ATTENTION_LIMIT", 3)
    dashboard._attention_statement.cache_clear()
    try:
        shown = {item.application.id for item in dashboard.attention_items(user, moment, everyone=True)}
    finally:
        dashboard._attention_statement.cache_clear()
    applications = db.session.scalars(select(Application).where(queries.is_open())).all()
    expected = sorted((a for a in applications if needs_action(a)),
                      key=lambda a: (a.due_at is None, a.due_at or datetime.max, a.id))[:3]
    assert shown == {a.id for a in expected}


def test_constants_are_written_into_the_sql_and_only_words_and_whole_numbers_are_taken():
    """queries.constant: a fixed value in the SQL text, not a parameter (PostgreSQL plans a
    statement of constants once); so it takes nothing that would need quoting."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = select(Application.id).where(queries.is_open(), Application.stage != queries.constant("offer")).limit(
        queries.constant(10))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = stmt.compile(dialect=dialect)
        assert "'applied', 'first_interview'" in str(compiled) and "'offer'" in str(compiled)
        assert "LIMIT 10" in str(compiled)
        assert not compiled.params or set(compiled.params) <= {"param_1"}  # SQLite's OFFSET only
    for bad in ("it's", "DROP TABLE", "", "Offer"):
        with pytest.raises(ValueError):
            queries.constant(bad)
    for bad in (True, 1.5, None):
        with pytest.raises(TypeError):
            queries.constant(bad)
