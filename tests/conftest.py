"""Shared fixtures. One database per test session (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), built by the migrations, emptied after every test."""

from __future__ import annotations

import contextvars
import os
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from hiring import create_app
from hiring.extensions import db

from .factories import Factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}"


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.postgres_only("what it needs")``: a test of what only PostgreSQL has
    (row and advisory locks between connections, SKIP LOCKED, psycopg) runs in the
    PostgreSQL run and is skipped on SQLite, with that reason."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        return
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is not None:
            needs = marker.args[0] if marker.args else "PostgreSQL only"
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {needs}"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def base_config(database_url: str, instance: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "UPLOAD_FOLDER": os.path.join(instance, "uploads"),
        "BASE_URL": "http://hiring.test",
        "MAIL_SERVER": None,
    }


@pytest.fixture(scope="session")
def _migrated(database_url, tmp_path_factory) -> str:
    """Build the schema once per session with the migrations (not create_all)."""
    from flask_migrate import upgrade

    instance = str(tmp_path_factory.mktemp("instance"))
    app = create_app(base_config(database_url, instance))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.engine.dispose()
    return instance


def empty_database() -> None:
    from hiring.models import audit_guard_lifted

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in tables)
        with db.engine.begin() as conn, audit_guard_lifted(conn):
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        # The counts kept by triggers go last: deleting the rows they count afterwards would
        # leave them below zero.
        kept = {"outbox_status_count", "stage_count", "board_stage_count", "stage_total", "tag_count"}
        with db.engine.begin() as conn, audit_guard_lifted(conn):
            for name in [t for t in tables if t not in kept] + [t for t in tables if t in kept]:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the configuration of `app`."""
    return {}


class RequestsInTheirOwnContext:
    """WSGI middleware for tests: every request runs in a fresh ``contextvars.Context``.

    The test body has an app context of its own (see ``app``). Flask reuses an app context
    that is already pushed for the same app, so without this every request of the test
    client (or schemathesis, or ``run_wsgi_app``) shared the test body's context: its
    ``flask.g`` (Flask-Login's current user, the cached policy, the failed-login mark) and
    its SQLAlchemy session and identity map carried over from request to request and into
    the test, which hid bugs a real server would show. Now each request pushes its own app
    context, as in production.

    Before a request the test body's session is committed, so what the test set up is in
    the database for the request, as it would be for another process; committing also
    expires the test's objects, so what the test reads afterwards comes from the database
    and shows the request's effects.
    """

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        from flask import current_app, has_app_context

        from hiring.settings import forget_policy, forget_security

        if has_app_context() and current_app._get_current_object() is self.app:
            db.session.commit()
            forget_policy()
            forget_security()
        return contextvars.Context().run(self.wsgi_app, environ, start_response)


@pytest.fixture
def app(database_url, _migrated, tmp_path, app_config):
    """The app, with an app context for the test body (factories and direct database use
    act like a script: their own session). Requests never share it: each one runs in its
    own context (RequestsInTheirOwnContext)."""
    config = base_config(database_url, str(tmp_path))
    config.update(app_config)
    os.environ["HIRING_INSTANCE_PATH"] = str(tmp_path)
    try:
        application = create_app(config)
    finally:
        os.environ.pop("HIRING_INSTANCE_PATH", None)
    application.wsgi_app = RequestsInTheirOwnContext(application, application.wsgi_app)
    with application.app_context():
        yield application
        db.session.remove()
        empty_database()
        db.engine.dispose()


@pytest.fixture
def race(app):
    """``race(rival)``: run ``rival()`` as a concurrent request would — in its own app
    context, session and connection — just before the next flush of any session, once.
    That is after a service's own checks and before its INSERT, the window in which two
    requests both see "not there yet"."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    armed: list = []

    def before_flush(session, flush_context, instances):
        if armed:
            rival = armed.pop()
            with app.app_context():
                rival()

    event.listen(Session, "before_flush", before_flush)

    def arm(rival):
        armed[:] = [rival]

    yield arm
    event.remove(Session, "before_flush", before_flush)
    assert not armed, "the rival never ran: nothing was flushed"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    """A fixed Tuesday morning in Berlin (08:00 UTC = 09:00 CET)."""
    return datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def factory(app, now) -> Factory:
    return Factory(now)


@pytest.fixture
def login(client):
    """Log ``user`` in on the test client through the real login form; returns the client."""

    def _login(user, password: str = "correct horse battery"):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """scrypt at werkzeug's production cost takes ~0.3 s per hash; tests create many users.
    Same algorithm and code path, lower work factor (the cost is stored in each hash)."""
    from werkzeug import security

    import hiring.models

    def cheap(password: str, method: str = "scrypt:1024:8:1", salt_length: int = 16) -> str:
        return security.generate_password_hash(password, method="scrypt:1024:8:1", salt_length=salt_length)

    monkeypatch.setattr(hiring.models.accounts, "generate_password_hash", cheap)


# --- browser tests (Playwright + Debian's Chromium; never `playwright install`) ----------

CHROMIUM = os.environ.get("HIRING_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium is required under CI=true but {CHROMIUM} is missing")
    pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")


class _DrainingGate:
    """WSGI middleware for the live server. It runs the app and reads its whole response,
    closing it, before handing the bytes to Werkzeug: Werkzeug closes a response only after
    draining the socket, and a browser that resets a kept-alive connection skips that close,
    leaving e.g. ``favicon.svg`` open until the garbage collector warns in some later test.
    It also counts requests in the app and, once closed, answers 503 without touching the
    app: request threads are daemons that outlive ``shutdown()``, and one still running while
    the test empties the database would fail half-way. Teardown closes the gate and waits."""

    def __init__(self, app):
        self.app = app
        self.idle = threading.Condition()
        self.in_flight: dict[int, str] = {}
        self.closed = False

    def __call__(self, environ, start_response):
        key = id(environ)
        with self.idle:
            if self.closed:
                start_response("503 Service Unavailable", [("Content-Length", "0"), ("Connection", "close")])
                return [b""]
            self.in_flight[key] = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}"
        try:
            response = self.app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                if hasattr(response, "close"):
                    response.close()
        finally:
            with self.idle:
                del self.in_flight[key]
                self.idle.notify_all()

    def close_and_drain(self, timeout: float) -> list[str]:
        """Refuses new requests, waits for those in the app; returns any still running."""
        with self.idle:
            self.closed = True
            self.idle.wait_for(lambda: not self.in_flight, timeout=timeout)
            return sorted(self.in_flight.values())


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1 (random port) from a thread, sharing the test database."""
    gate = _DrainingGate(app)
    server = make_server("127.0.0.1", 0, gate, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        still_running = gate.close_and_drain(timeout=30)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        assert not still_running, f"live-server requests still running 30 s after the test: {still_running}"


@pytest.fixture
def browser():
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
