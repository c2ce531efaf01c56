"""hiring.postgresql: the database connections the pool hands out on PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hiring.extensions import db

pytestmark = pytest.mark.postgres_only("psycopg's connections, cursors and session time zone")


def _pooled_backend_pids(count: int) -> list[int]:
    """Check out ``count`` connections at once, note their server processes, give them back."""
    connections = [db.engine.connect() for _ in range(count)]
    try:
        return [c.scalar(text("SELECT pg_backend_pid()")) for c in connections]
    finally:
        for connection in connections:
            connection.close()


def _terminate(pids: list[int]) -> None:
    """What a server restart or an admin's pg_terminate_backend does to pooled connections."""
    url = make_url(db.engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 5
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                            (pids,)).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.02)


def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(app, factory, login):
    """No pre-ping round trip (the checkout looks at the socket instead), and still no
    request fails on a connection the server ended while it sat in the pool."""
    assert not db.engine.pool._pre_ping
    client = login(factory.user(role="recruiter"))
    assert client.get("/").status_code == 200
    db.session.remove()
    pids = _pooled_backend_pids(3)
    _terminate(pids)

    for _ in range(3):  # every connection the pool held was closed by the server
        assert client.get("/").status_code == 200
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT pg_backend_pid()")) not in pids


def test_the_cursor_describes_a_result_as_psycopg_does_when_it_is_read(app):
    """The description is built at the first read (SQLAlchemy reads it once per compiled
    statement) and is then psycopg's own, even when read after the cursor ran another
    statement."""
    from hiring.postgresql import Cursor

    statement = "SELECT 1 AS one, 'x'::varchar(5) AS two, now() AS three"
    with db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        cursor = raw.cursor()
        assert isinstance(cursor, Cursor)
        cursor.execute(statement)
        lazy = cursor.description
        assert lazy._columns is None  # nothing built until read
        plain = psycopg.Cursor(raw)
        plain.execute(statement)
        expected = plain.description
        cursor.execute("SELECT 2 AS other")  # the cursor moves on; the description does not
        assert len(lazy) == 3
        assert [tuple(c) for c in lazy] == [tuple(c) for c in expected]
        assert [c.name for c in lazy] == ["one", "two", "three"]
        assert lazy[1].display_size == 5 and lazy[1].type_display == "varchar(5)"
        assert [c.name for c in cursor.description] == ["other"]
        cursor.execute("CREATE TEMPORARY TABLE t_empty ()")
        assert cursor.description is None  # no rows: as psycopg says
        cursor.execute("SELECT")
        assert cursor.description == []
        # Through SQLAlchemy, on a statement it runs for the second time (cached metadata).
        for _ in range(2):
            row = connection.execute(text("SELECT 3 AS three, 'y' AS why")).one()
        assert row.three == 3 and row._mapping["why"] == "y"


def test_postgresql_sessions_run_in_utc(app, factory):
    """Timestamps then come from psycopg in datetime's own UTC, with nothing to convert."""
    from hiring.models import User

    user_id = factory.user("recruiter").id
    db.session.commit()
    assert db.session.scalar(text("SHOW TimeZone")) == "UTC"
    db.session.remove()
    assert db.session.get(User, user_id).created_at.tzinfo is UTC
