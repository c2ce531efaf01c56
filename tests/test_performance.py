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
from sqlalchemy import event, func, select, text

from hiring import generator, jobs, queries, reminders, services
from hiring.extensions import db
from hiring.models import Application, Candidate, Position, User, utcnow
from hiring.pipeline import OPEN_STAGES, Flag, PositionStatus, Recommendation, Stage
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
    db.session.remove()  # its open transaction would block PostgreSQL's TRUNCATE
    empty_database()
    generator.generate(db.session, applications, now=now, policy=get_policy(), seed=11)
    rita, mona = _user("rita@example.com"), _user("mona@example.com")
    ivan, ines = _user("ivan@example.com"), _user("ines@example.com")
    position = db.session.scalar(select(Position).where(Position.owner_id == rita.id,
                                                        Position.status == PositionStatus.OPEN).order_by(Position.id))
    if position is None:
        position = services.create_position("Embedded Software Engineer", owner_id=rita.id,
                                            hiring_manager_id=mona.id, actor=rita, now=now - timedelta(days=30))
    services.update_position(position, hiring_manager_id=mona.id, actor=rita, now=now - timedelta(days=30))
    factory = Factory(now)
    applied = factory.application(Stage.APPLIED, position=position, at=now - timedelta(days=16))  # overdue
    # Overdue with interviews, panel and feedback: the API's overdue list loads all of those.
    awaiting = factory.application(Stage.FIRST_DECISION, position=position, at=now - timedelta(days=9),
                                   panel=[ivan, ines], recommendations=[None, Recommendation.YES])
    final = factory.application(Stage.FINAL_DECISION, position=position, at=now - timedelta(days=2),
                                panel=[ivan, ines], recommendations=[Recommendation.YES, Recommendation.STRONG_YES])
    second = factory.application(Stage.SECOND_INTERVIEW, position=position, at=now - timedelta(days=3),
                                 panel=[ivan, ines])
    ids = {"position": position.id, "application": final.id, "awaiting": awaiting.id, "applied": applied.id,
           "second": second.id}
    db.session.remove()
    return ids


@pytest.fixture(autouse=True)
def _sessions_clock_stands_still(monkeypatch):
    """A session writes its last_seen_at at most once a minute (hiring.security): with the
    sessions' clock stopped no page pays that write, however slowly this test runs, so the
    counts compare the pages alone."""
    from hiring import security

    moment = utcnow()
    monkeypatch.setattr(security, "now", lambda: moment)


def login(app, email: str):
    """A fresh client logged in as ``email``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": generator.DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def page_statements(app, ids: dict[str, int]) -> dict[str, int]:
    """Statements per page, for each role whose view of the page differs."""
    pages = {
        ("rita@example.com", "dashboard"): "/",
        ("rita@example.com", "dashboard, everyone"): "/?scope=all",
        # Everyone's for the roles whose condition differs (stalled; a manager's decisions).
        ("admin@example.com", "dashboard, everyone"): "/?scope=all",
        ("mona@example.com", "dashboard, everyone"): "/?scope=all",
        ("ivan@example.com", "dashboard"): "/",
        ("mona@example.com", "dashboard"): "/",
        ("rita@example.com", "board"): "/board",
        ("rita@example.com", "board, one column"): "/board?stage=applied&page=2",
        ("rita@example.com", "board, filters typed"): "/board?position_q=no+such+title&owner_q=rita@example.com",
        ("rita@example.com", "position board"): f"/positions/{ids['position']}/board",
        ("rita@example.com", "candidate search"): "/candidates/?q=example",
        ("rita@example.com", "candidates"): "/candidates/",
        # The pool's filters each go through an index; the position typed is resolved once.
        ("rita@example.com", "talent pool"): "/talent-pool",
        ("rita@example.com", "talent pool, filtered"): f"/talent-pool?q=example&tag=rust&position={ids['position']}",
        ("rita@example.com", "talent pool, position typed"): "/talent-pool?position_q=engineer",
        ("rita@example.com", "reports"): "/reports",
        ("mona@example.com", "reports, one position"): f"/reports?position={ids['position']}",
    }
    pages[("rita@example.com", "application page")] = f"/applications/{ids['application']}"
    pages[("ivan@example.com", "application page")] = f"/applications/{ids['application']}"
    # With the panel picker (its suggestions come from the position's interview history).
    pages[("rita@example.com", "application page, scheduling")] = f"/applications/{ids['applied']}"
    pages[("rita@example.com", "application page, rescheduling")] = f"/applications/{ids['second']}"
    counts: dict[str, int] = {}
    clients = {}
    for (email, name), url in sorted(pages.items()):
        if email not in clients:
            clients[email] = login(app, email)
        client = clients[email]
        client.get(url)  # warm (imports, template compilation)
        with counting_statements() as statements:
            response = client.get(url)
        assert response.status_code == 200, (email, url, response.status_code)
        counts[f"{name} ({email.split('@')[0]})"] = len(statements)
    return counts


def _routes(app, path: str) -> bool:
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    try:
        app.url_map.bind("localhost").match(path, method="GET")
    except (NotFound, MethodNotAllowed):
        return False
    return True


def api_statements(client) -> dict[str, int]:
    """The API's lists, with a recruiter's and an interviewer's token."""
    counts = {}
    for email in ("rita@example.com", "ivan@example.com"):
        _, secret = services.create_api_token(_user(email), "performance test")
        headers = {"Authorization": f"Bearer {secret}"}
        for url in ("/api/v1/applications?flag=overdue", "/api/v1/applications?flag=awaiting_feedback",
                    "/api/v1/applications?per_page=100"):
            client.get(url, headers=headers)
            with counting_statements() as statements:
                response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
            if email.startswith("rita") or "overdue" not in url:
                assert response.get_json()["items"], url  # a non-empty list, so per-row loads would show
            counts[f"{url} ({email.split('@')[0]})"] = len(statements)
    db.session.remove()
    return counts


def test_statements_per_page_do_not_grow_with_the_data(app, client):
    now = utcnow()
    small_ids = build_dataset(10, now)
    small = page_statements(app, small_ids) | api_statements(client)
    large_ids = build_dataset(1000, now)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1000 + 4
    large = page_statements(app, large_ids) | api_statements(client)
    assert small == large
    assert all(count > 0 for count in small.values())


def report_statements(app, client, applications: int, now: datetime) -> dict[str, int]:
    """The Reports page and the API summary read from the rollup (built by its job)."""
    from hiring import jobs

    ids = build_dataset(applications, now)
    assert jobs.run_job("report-rollup", now)["rebuilt"] is True
    _, secret = services.create_api_token(_user("rita@example.com"), "performance test")
    db.session.commit()
    counts = {}
    rita = login(app, "rita@example.com")
    for name, url, get in (
            ("reports", "/reports", rita.get),
            ("reports, one position", f"/reports?position={ids['position']}", rita.get),
            ("reports, one owner", f"/reports?owner={_user('rita@example.com').id}", rita.get),
            ("API summary", "/api/v1/reports/summary",
             lambda url: client.get(url, headers={"Authorization": f"Bearer {secret}"}))):
        get(url)
        with counting_statements() as statements:
            response = get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        assert b"Figures as of" in response.data or b'"as_of"' in response.data
        counts[name] = len(statements)
    db.session.remove()
    return counts


def test_report_statements_from_the_rollup_do_not_grow_with_the_data(app, client):
    now = utcnow()
    small = report_statements(app, client, 10, now)
    large = report_statements(app, client, 1000, now)
    assert small == large
    assert all(count > 0 for count in small.values())


def deadline_job_statements(applications: int, now: datetime) -> tuple[int, int]:
    """Statements of a deadline run that has work (first) and of the rerun with none."""
    from hiring import jobs

    build_dataset(applications, now)
    later = now + timedelta(days=3)  # the handful built by build_dataset is now due or overdue
    with counting_statements() as first:
        result = jobs.run_job("deadlines", later)
    assert result["applications"] >= 1
    db.session.remove()
    with counting_statements() as rerun:
        result = jobs.run_job("deadlines", later)
    assert result["applications"] == 0
    db.session.remove()
    return len(first), len(rerun)


def test_deadline_job_statements_do_not_grow_with_applications_that_need_nothing(app):
    now = utcnow()
    small_first, small_rerun = deadline_job_statements(10, now)
    large_first, large_rerun = deadline_job_statements(1000, now)
    # Nothing to announce costs the same at any size ...
    assert small_rerun == large_rerun
    assert small_rerun < small_first
    # ... and the announcing run only pays for the generated applications it announces.
    assert large_first >= small_first


# SQLite's statistics (sqlite_stat1) of the application table in the 1M benchmark dataset.
# They assume rows spread evenly over the stages (100,000 per stage), which is why the
# deadline job's former OR of four conditions was planned as a scan of the whole table.
MILLION_APPLICATION_STATS = {
    "sqlite_autoindex_application_1": "1000000 1 1",
    "ix_application_stage_due_at": "1000000 100000 12049 1",
    "ix_application_owner_stage": "1000000 500 66",
    "ix_application_position_stage": "1000000 50 13",
    "ix_application_stage_competing_offer": "263 263 11",
    "ix_application_due_soon_unannounced": "27936 5588 411",
    "ix_application_overdue_unannounced": "28258 5652 524",
    "ix_application_late_unannounced": "120 2",
    "ix_application_late_announced": "2155 539",
    "ix_application_unrecorded_unannounced": "900 2",
    "ix_application_promised_at": "60000 2",
    "ix_application_delayed": "1991 498 166",
    "ix_application_awaiting_feedback": "2164 1082 1",
}


def _plan_as_at_a_million(sql: str) -> list[str]:
    """SQLite's plan of ``sql`` as the planner sees the million-row table (its statistics)."""
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'application'"))
    for index, stat in MILLION_APPLICATION_STATS.items():
        db.session.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('application', :idx, :stat)"),
                           {"idx": index, "stat": stat})
    db.session.execute(text("ANALYZE sqlite_schema"))  # reload the statistics
    plan = [row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    db.session.commit()
    return plan


def test_deadline_job_asks_each_flag_through_an_index(app):
    """What keeps the rerun cheap at 1M applications (bench/RESULTS.md, 3a): no flag's
    question reads the application table whole, and the due dates come from the partial
    indexes of the dates not yet announced, so announced applications are not even read."""
    now = utcnow()
    build_dataset(300, now)
    statement = reminders._unannounced().params(**queries.flag_bind_values(now, get_policy()))
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "sqlite":
        # The planner as it sees the million-row table, not the 300 rows of this test.
        plan = _plan_as_at_a_million(sql)
        assert not [line for line in plan if line.startswith("SCAN application")], "\n".join(plan)
        for index in ("ix_application_due_soon_unannounced", "ix_application_overdue_unannounced",
                      "ix_application_stage_competing_offer", "ix_application_late_unannounced",
                      "ix_application_unrecorded_unannounced"):
            assert any(index in line for line in plan), (index, "\n".join(plan))
    else:
        # Small tables make a sequential scan the cheapest plan; forbidden, the planner
        # still falls back to one when no index can answer a question.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = [row[0] for row in db.session.execute(text("EXPLAIN " + sql))]
        db.session.rollback()
        assert not [line for line in plan if "Seq Scan on application" in line], "\n".join(plan)


@pytest.mark.parametrize("flag", [Flag.AWAITING_FEEDBACK, Flag.OVERDUE, Flag.STALLED, Flag.EXPEDITE])
def test_the_api_lists_a_flag_through_its_index(app, flag):
    """The API's list of one flag (its count and its page) reads that flag's applications
    through an index, never the whole table: awaiting feedback tested every open
    application's row (158 ms at 1M on SQLite) before its index. (Unrecorded still does:
    bench/RESULTS.md says why it has no index.)"""
    from hiring.api import endpoints

    # Reading every open application by stage is no scan, and no better: this flag must
    # come from its own index.
    own_index = {Flag.AWAITING_FEEDBACK: "ix_application_awaiting_feedback"}.get(flag)
    now = utcnow()
    build_dataset(300, now)
    params = {"limit": 25, "offset": 0, **queries.flag_bind_values(now, get_policy())}
    for statement in endpoints._list_statements(flag, False, False, True):
        sql = str(statement.params(**params).compile(db.engine, compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            plan = _plan_as_at_a_million(sql)
            assert not [line for line in plan if line.startswith("SCAN application")], (flag, "\n".join(plan))
        else:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = [row[0] for row in db.session.execute(text("EXPLAIN " + sql))]
            db.session.rollback()
            assert not [line for line in plan if "Seq Scan on application" in line], (flag, "\n".join(plan))
        if own_index:
            assert any(own_index in line for line in plan), (flag, "\n".join(plan))
    db.session.remove()


def test_the_counting_sees_a_lazy_load_per_row(app, client):
    """The yardstick itself: a loop that lazily loads per row is caught by the count."""
    now = utcnow()
    build_dataset(10, now)
    with counting_statements() as few:
        for application in db.session.scalars(select(Application).limit(5)):
            assert application.candidate.name
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
    assert set(stages) == {stage.value for stage in Stage} or len(stages) >= 8
    open_share = sum(stages.get(stage.value, 0) for stage in OPEN_STAGES) / 1500
    assert 0.01 < open_share < 0.2
    oldest = db.session.scalar(select(func.min(Application.applied_at)))
    assert now - oldest > timedelta(days=600)
    # Every open application's dates are the ones the process rules give: the candidate's date,
    # and the team's deadline the policy's working days before it (later only when that had
    # already passed when the date was told); at the offer, the candidate's own date to answer.
    from hiring import pipeline

    policy = get_policy()
    for application in db.session.scalars(select(Application).where(Application.due_at.is_not(None))):
        if application.stage == Stage.OFFER:
            assert application.promised_at is None
            assert application.due_at == (application.extended_until or generator.base_due(
                Stage.OFFER, application.stage_entered_at.astimezone(policy.tz).date(), policy))
            continue
        promised = pipeline.local_date(application.promised_at, policy)
        earliest = pipeline.end_of_day(pipeline.working_days_before(promised, policy.team_lead_days, policy), policy)
        assert earliest <= application.due_at <= application.promised_at
    result = runner.invoke(args=["demo", "--applications", "10"])
    assert result.exit_code != 0
    assert "not empty" in result.output


def _schema_objects() -> set[tuple[str, str]]:
    """Every index and trigger definition, as the database itself describes it."""
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                                       "AND sql IS NOT NULL")).all()
    else:
        rows = db.session.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                       "WHERE schemaname = current_schema()")).all()
    return {(name, sql) for name, sql in rows}


def test_generator_builds_the_indexes_it_deferred_and_the_search_finds_the_new_candidates(app):
    before = _schema_objects()
    assert any(name == "ix_audit_event_application_occurred" for name, _ in before)
    generator.generate(db.session, 300, now=utcnow(), policy=get_policy(), seed=5)
    assert _schema_objects() == before
    candidate = db.session.scalar(select(Candidate).order_by(Candidate.id.desc()))
    found = queries_search(candidate.email)
    assert candidate.id in found
    if db.engine.dialect.name == "sqlite":  # the name-order index too, rebuilt after the load
        in_name_order = db.session.scalars(text(
            "SELECT o.candidate_id FROM candidate_search_by_name AS s "
            "JOIN candidate_search_order AS o ON o.sort_key = s.rowid WHERE candidate_search_by_name MATCH :q"),
            {"q": f'"{candidate.email}"'}).all()
        assert in_name_order == [candidate.id]


def queries_search(term: str) -> list[int]:
    """The candidate search index (FTS5 on SQLite, pg_trgm on PostgreSQL) answers for ``term``."""
    if db.engine.dialect.name == "sqlite":
        return list(db.session.scalars(text("SELECT rowid FROM candidate_search WHERE candidate_search MATCH :q"),
                                       {"q": f'"{term}"'}))
    return list(db.session.scalars(select(Candidate.id).where(Candidate.email.ilike(f"%{term}%"))))


def test_demo_command_generates_with_a_progress_bar(app, runner):
    result = runner.invoke(args=["demo", "--applications", "50", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Wrote 50 applications", result.output)
    assert db.session.scalar(select(func.count()).select_from(Application)) == 50
    # The sequences continue after the generated ids: the services can add more.
    position = db.session.scalar(select(Position).where(Position.status == PositionStatus.OPEN).limit(1))
    if position is not None:
        Factory(utcnow()).application(Stage.APPLIED, position=position)


@pytest.mark.parametrize("lean", [True])
def test_lean_generation_keeps_open_histories_only(app, lean):
    generator.generate(db.session, 300, now=utcnow(), policy=get_policy(), seed=5, lean=lean)
    closed_with_events = db.session.scalar(
        select(func.count()).select_from(Application)
        .where(Application.closed_at.is_not(None),
               Application.id.in_(select(generator.AuditEvent.application_id))))
    assert closed_with_events == 0
    assert db.session.scalar(select(func.count()).select_from(Application)) == 300


def test_generated_data_carries_the_deadline_jobs_memory(app):
    """The generator writes the marks the deadline job would have written by ``now``
    (pipeline.walk.notices_sent): the job's first run over a fresh dataset finds nothing to
    announce, though the data is full of flags — due soon, overdue, late since a delay notice."""
    now = utcnow()
    generator.generate(db.session, 3000, now=now, policy=get_policy(), seed=13)
    policy = get_policy()

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count()).select_from(Application).where(*conditions))

    assert count(queries.flag_condition(Flag.OVERDUE, now, policy)) > 0
    assert count(queries.flag_condition(Flag.OVERDUE, now, policy), Application.overdue_since.is_not(None)) > 0
    assert count(queries.flag_condition(Flag.DUE_SOON, now, policy)) > 0
    db.session.remove()
    assert jobs.run_job("deadlines", now) == {"applications": 0}


def test_dashboard_feedback_statement_has_no_parameters_so_postgresql_keeps_its_plan(app):
    """PostgreSQL re-planned the awaiting-feedback join (six tables) on every dashboard while
    the user's id was a parameter: a statement without parameters keeps its prepared plan.
    The id is written into the text, and it is each user's own."""
    build_dataset(10, utcnow())
    seen = {}
    for email in ("ivan@example.com", "ines@example.com"):
        client = login(app, email)
        executed: list[tuple[str, object]] = []

        def record(conn, cursor, statement, parameters, context, executemany, executed=executed):
            executed.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = client.get("/")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert response.status_code == 200
        [(statement, parameters)] = [(s, p) for s, p in executed if "panel_member" in s]
        if db.engine.dialect.name == "postgresql":  # (SQLite's dialect binds an OFFSET 0; it plans per run)
            assert not parameters, parameters
        user_id = _user(email).id
        assert re.search(rf"panel_member\.user_id = {user_id}\b", statement), statement
        seen[email] = statement
    assert len(set(seen.values())) == 2
    db.session.remove()


@pytest.mark.parametrize("everyone", [False, True], ids=["own", "everyone's"])
@pytest.mark.parametrize("role", ["recruiter", "manager", "admin", "interviewer"])
def test_dashboard_statement_takes_only_the_user_and_the_moment_as_parameters(app, role, everyone):
    """Fixed values (stages, the stalled condition's 0) are written into the statement: as
    parameters PostgreSQL planned a manager's and an admin's needs-attention statement, and
    everyone's at 1M applications, anew at every visit (a manager's dashboard 16 -> 9 ms at
    1M once written in). What is left to bind is what changes between visits: the user and
    the moment's limits (and the LIMITs, which SQLAlchemy binds itself)."""
    from hiring.views import dashboard

    statement = dashboard._attention_statement(role, everyone, db.engine.dialect.name == "postgresql")
    if role == "interviewer":  # nothing on either list but their interviews' feedback
        assert statement is None
        return
    parameters = statement.compile(dialect=db.engine.dialect).params
    moment = {bind.key for bind in vars(queries.FLAG_BINDS).values()}
    others = {name: value for name, value in parameters.items() if name not in moment}
    if everyone and db.engine.dialect.name == "sqlite":  # it plans every run: the heads' stages stay bound
        others = {name: value for name, value in others.items() if not name.startswith("stage_")}
    limits = {name: others.pop(name) for name in list(others) if name.startswith("param_")}
    # The LIMITs (and the OFFSET 0 SQLite's dialect adds to each) are the page's size.
    assert set(limits.values()) <= {dashboard.ATTENTION_LIMIT, 0} and dashboard.ATTENTION_LIMIT in limits.values()
    assert set(others) <= {"attention_user_id"}, others
