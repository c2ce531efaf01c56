"""First-run setup, login, logout, the login wall, CSRF and security headers (sessions and the
login throttle: test_security.py)."""

from __future__ import annotations

import re

import pytest

from hiring.extensions import db
from hiring.models import User

from .test_performance import counting_statements


def test_first_run_every_page_leads_to_setup(client):
    for path in ("/", "/board", "/login", "/candidates/", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/setup")
    assert "create the first admin" in client.get("/setup").get_data(as_text=True)


def test_setup_creates_the_admin_then_is_gone_for_good(client):
    response = client.post("/setup", data={"name": "Ada Admin", "email": "Ada@Example.com",
                                           "password": "long enough passphrase", "confirm": "long enough passphrase"})
    assert response.status_code == 302
    admin = db.session.scalars(db.select(User)).one()
    assert (admin.email, admin.role, admin.name) == ("ada@example.com", "admin", "Ada Admin")
    assert admin.password_hash.startswith("scrypt:")
    # logged in straight away
    assert client.get("/").status_code == 200
    assert client.get("/setup").status_code == 404
    again = client.post("/setup", data={"name": "Eve", "email": "eve@example.com",
                                        "password": "long enough passphrase", "confirm": "long enough passphrase"})
    assert again.status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_setup_errors_are_next_to_the_fields_and_keep_the_input(client):
    response = client.post("/setup", data={"name": "Ada", "email": "not-an-email",
                                           "password": "short", "confirm": "other"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="email-error"' in html and "valid email" in html
    assert 'id="password-error"' in html and "at least 12" in html
    assert 'id="confirm-error"' in html
    assert 'value="Ada"' in html and 'value="not-an-email"' in html
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_anonymous_is_sent_to_login_with_next(client, factory):
    factory.user("admin")
    response = client.get("/board?position=3")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_a_login_does_not_leak_into_another_browsers_request(app, client, factory):
    """Each request has its own app context: Flask-Login's user cached in one request's
    ``g`` must not make a request without the session cookie look logged in."""
    user = factory.user("recruiter")
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302
    assert client.get("/").status_code == 200
    stranger = app.test_client()  # another browser: no session cookie
    response = stranger.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_test_body_sees_each_requests_changes(client, factory):
    """The test's own session reads the database afresh after a request."""
    admin = factory.user("admin", name="Ada Admin")
    other = factory.user("recruiter", name="Rolf Recruiter")
    assert other.active
    client.post("/login", data={"email": admin.email, "password": "correct horse battery"})
    response = client.post(f"/admin/users/{other.id}/active", data={"active": "0", "confirmed": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert not other.active


def test_login_clears_the_session_and_follows_a_local_next(client, factory):
    user = factory.user("recruiter")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = client.post("/login?next=/candidates/?q=ada",
                           data={"email": user.email.upper(), "password": "correct horse battery"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/candidates/?q=ada"
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(user.id)


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "http:/x",
    "/\r\nSet-Cookie:x", "\\\\evil.example", "",
])
def test_next_must_be_a_local_path(client, factory, target):
    user = factory.user("recruiter")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/"


def test_wrong_password_and_unknown_email_get_the_same_message(client, factory):
    user = factory.user("recruiter")
    wrong = client.post("/login", data={"email": user.email, "password": "nope nope"}).get_data(as_text=True)
    unknown = client.post("/login", data={"email": "who@example.com", "password": "nope nope"}).get_data(
        as_text=True)
    assert "Wrong email or password" in wrong and "Wrong email or password" in unknown
    assert 'value="who@example.com"' in unknown  # the input is kept
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_log_in_and_is_logged_out(client, factory):
    from hiring import services

    admin = factory.user("admin")
    user = factory.user("recruiter")
    client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert client.get("/").status_code == 200
    services.update_user(user, active=False, actor=admin)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    again = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert again.status_code == 200 and "deactivated" in again.get_data(as_text=True)


def test_logout_is_a_post(client, factory, login):
    user = factory.user("recruiter")
    login(user)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_state_changes_need_the_token(self, client, factory):
        user = factory.user("admin")
        refused = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
        assert refused.status_code == 400
        assert "form expired" in refused.get_data(as_text=True)
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/login", data={"email": user.email, "password": "correct horse battery",
                                         "csrf_token": token})
        assert ok.status_code == 302
        # A logged-in state change without a token is refused too, and changes nothing.
        refused = client.post("/admin/users", data={"name": "Mallory", "email": "m@example.com",
                                                    "role": "admin", "password": "long enough passphrase"})
        assert refused.status_code == 400
        assert db.session.scalar(db.select(User).where(User.email == "m@example.com")) is None
        assert client.post("/logout").status_code == 400


def test_security_headers(client, factory, login):
    login(factory.user("recruiter"))
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html  # nothing the CSP would block
    assert "vendor/pico/pico.min.css" in html
    anonymous = client.get("/login")
    assert "frame-ancestors 'none'" in anonymous.headers["Content-Security-Policy"]


def test_static_files_and_the_health_check_of_a_logged_in_browser_read_nothing_from_the_database(
        client, factory, login):
    """Looking at current_user loads the session's user (a database read): the headers hook
    asked it for every stylesheet, script and icon a logged-in browser fetched."""
    login(factory.user("recruiter"))
    with counting_statements() as statements:
        for path in ("/static/app.css", "/static/favicon.svg", "/static/confirm.js", "/healthz"):
            with client.get(path) as response:
                assert response.status_code == 200, path
                assert "Cache-Control" not in response.headers or "no-store" not in response.headers["Cache-Control"]
        assert statements == []
        page = client.get("/")  # a page still checks the session, and is not cached
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert any("user_session" in statement for statement in statements)


def test_static_assets_and_licence_are_served(client, factory):
    factory.user("admin")
    for path in ("/static/vendor/pico/pico.min.css", "/static/app.css", "/static/vendor/pico/LICENSE.md"):
        with client.get(path) as response:  # closes the file the static view opened
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
    assert "MIT" in body


def test_pages_link_static_files_by_fingerprint_and_browsers_keep_those_for_a_year(client, factory, login):
    """Every page view revalidated its stylesheets and scripts (four requests more); now a
    page links each file with its content's fingerprint, which changes with the file."""
    import hashlib
    import re
    from pathlib import Path

    login(factory.user("recruiter"))
    html = client.get("/").get_data(as_text=True)
    links = dict(re.findall(r'/static/([\w./-]+)\?v=([0-9a-f]{12})"', html))
    assert {"app.css", "vendor/pico/pico.min.css", "favicon.svg", "confirm.js"} <= set(links)
    static = Path(client.application.static_folder)
    for filename, fingerprint in links.items():
        assert fingerprint == hashlib.sha256((static / filename).read_bytes()).hexdigest()[:12], filename
        with client.get(f"/static/{filename}?v={fingerprint}") as response:
            assert response.status_code == 200
            assert response.cache_control.max_age == 365 * 86400 and response.cache_control.immutable
            etag = response.headers["ETag"]
        with client.get(f"/static/{filename}?v={fingerprint}", headers={"If-None-Match": etag}) as response:
            assert response.status_code == 304 and response.cache_control.max_age == 365 * 86400
    # Without the fingerprint, or with another file's (an old page), the browser asks again.
    for query in ("", "?v=000000000000"):
        with client.get(f"/static/app.css{query}") as response:
            assert response.status_code == 200 and response.cache_control.no_cache
            assert response.cache_control.max_age is None


def test_unknown_page_is_the_friendly_404(client, factory, login):
    login(factory.user("recruiter"))
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


class TestServerError:
    @pytest.fixture
    def app_config(self):
        return {"PROPAGATE_EXCEPTIONS": False}

    def test_an_unexpected_error_is_the_friendly_500(self, app, client, factory, login):
        @app.get("/__boom")
        def boom():
            raise RuntimeError("boom")

        login(factory.user("recruiter"))
        response = client.get("/__boom")
        assert response.status_code == 500
        html = response.get_data(as_text=True)
        assert "Something went wrong" in html and "boom" not in html
