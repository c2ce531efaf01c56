"""List endpoints cost a constant number of SQL statements per page, whatever the page holds
(no N+1): the benchmark's budget at 100k applications depends on it."""

from contextlib import contextmanager

from sqlalchemy import event

from hiring.extensions import db


@contextmanager
def counted():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _walk(factory, team, copies: int) -> None:
    for _ in range(copies):
        for stage in ("applied", "final_decision", "rejected"):
            factory.application(stage, position=team.position, panel=team.panel, recommendations=["yes", "no"])


def _statements_for(api, path: str) -> int:
    api.get(path)  # warm: the token's last-used time and the policy are written/cached once
    with counted() as statements:
        response = api.get(path)
    assert response.status_code == 200
    return len(statements)


def test_application_list_is_constant_in_the_page_size(team, factory):
    api = team.as_("recruiter")
    _walk(factory, team, 1)
    small = _statements_for(api, "/applications?per_page=100")
    _walk(factory, team, 8)
    large = _statements_for(api, "/applications?per_page=100")
    assert api.get("/applications?per_page=100").get_json()["total"] == 27
    assert large == small
    assert small <= 12


def test_filtered_and_interviewer_lists_are_constant_too(team, factory):
    _walk(factory, team, 1)
    small = (_statements_for(team.as_("interviewer"), "/applications"),
             _statements_for(team.as_("manager"), "/applications?flag=needs_discussion"))
    _walk(factory, team, 6)
    large = (_statements_for(team.as_("interviewer"), "/applications"),
             _statements_for(team.as_("manager"), "/applications?flag=needs_discussion"))
    assert large == small


def test_position_list_is_constant(team, factory):
    from hiring import services

    api = team.as_("interviewer")
    small = _statements_for(api, "/positions")
    for n in range(20):
        services.create_position(f"Role {n}", hiring_manager_id=team.manager.id, actor=team.recruiter)
    assert _statements_for(api, "/positions") == small


def test_api_reads_run_without_a_transaction_on_postgresql_and_the_audited_export_with_one(team, factory):
    """As the pages marked read_only (hiring.web): no BEGIN and COMMIT around a GET's reads
    on PostgreSQL, two round trips of a request. The export is a GET that writes (its audit
    event), so it keeps its transaction."""
    candidate_id = factory.application("applied", position=team.position).candidate_id
    api = team.as_("recruiter")
    autocommit: list[bool] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        autocommit.append(getattr(conn.connection.dbapi_connection, "autocommit", False) is True)

    api.get("/applications?flag=overdue")  # the token's last-used time is written once, apart
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert api.get("/applications?flag=overdue").status_code == 200
        reads = list(autocommit)
        autocommit.clear()
        assert api.get(f"/candidates/{candidate_id}/export").status_code == 200
        export = list(autocommit)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert reads and export
    assert all(reads) == (db.engine.dialect.name == "postgresql")
    assert not any(export)
