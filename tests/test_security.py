"""Sessions that can be ended, and the login throttle every worker shares (issue 11, items 2
and 3; hiring.security). Cookies are copied as an attacker would copy them; the clock is
hiring.security.now, moved by the ``clock`` fixture."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from hiring import create_app, security, services
from hiring.extensions import db
from hiring.models import AuditEvent, LoginThrottle, UserSession

from .conftest import RequestsInTheirOwnContext, base_config

PASSWORD = "correct horse battery"
COOKIE = "session"


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(security, "now", clock)
    return clock


def log_in(client, user, password: str = PASSWORD, **kwargs):
    return client.post("/login", data={"email": user.email, "password": password}, **kwargs)


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def is_logged_in(client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def flashed(client) -> str:
    return client.get("/login").get_data(as_text=True)


# --- sessions -----------------------------------------------------------------------------------


def test_logout_ends_every_session_of_the_user_and_copied_cookies(app, client, factory):
    user = factory.user("recruiter")
    assert log_in(client, user).status_code == 302
    copied = copy_of(app, client)
    laptop = app.test_client()  # the same person, signed in on another device
    assert log_in(laptop, user).status_code == 302
    bystander = app.test_client()
    assert log_in(bystander, factory.user("recruiter")).status_code == 302
    assert is_logged_in(copied) and is_logged_in(laptop)

    response = client.post("/logout")
    assert response.status_code == 302
    assert "every other device" in flashed(client)
    assert not is_logged_in(client)
    assert not is_logged_in(copied)
    assert "You were logged out" in flashed(copied)
    assert not is_logged_in(laptop)
    assert is_logged_in(bystander)  # someone else's session is untouched
    with client.session_transaction() as session:
        assert "hiring_sid" not in session and "_user_id" not in session

    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 2 and {r.end_reason for r in rows} == {"logout"}
    logout = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "logout")).one()
    assert logout.actor_id == user.id and logout.data["sessions_ended"] == 2


def test_a_new_password_set_by_an_admin_ends_the_users_sessions(app, client, factory):
    admin, user = factory.user("admin"), factory.user("recruiter")
    log_in(client, user)
    copied = copy_of(app, client)
    admin_client = app.test_client()
    log_in(admin_client, admin)
    response = admin_client.post(f"/admin/users/{user.id}/password", data={f"p{user.id}-password": "a new secret!"})
    assert response.status_code == 302
    assert not is_logged_in(copied)
    assert "Your password was changed" in flashed(copied)
    assert not is_logged_in(client)
    assert is_logged_in(admin_client)
    assert log_in(app.test_client(), user, "a new secret!").status_code == 302
    event_ = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "user_updated")).one()
    assert event_.data == {"user_id": user.id, "password": "changed", "sessions_ended": 1}


def test_the_cli_set_password_ends_the_users_sessions(app, client, runner, factory):
    user = factory.user("recruiter")
    log_in(client, user)
    result = runner.invoke(args=["users", "set-password", user.email], input="a new secret!\na new secret!\n")
    assert result.exit_code == 0, result.output
    assert not is_logged_in(client)


def test_deactivation_ends_sessions_for_good_reactivation_brings_none_back(app, client, factory):
    admin, user = factory.user("admin"), factory.user("recruiter")
    log_in(client, user)
    copied = copy_of(app, client)
    services.update_user(user, active=False, actor=admin)
    services.update_user(user, active=True, actor=admin)
    assert not is_logged_in(copied)
    assert not is_logged_in(client)
    assert "deactivated" in flashed(client)
    assert log_in(client, user).status_code == 302  # a fresh login works again
    assert is_logged_in(client)


def test_a_role_change_keeps_the_session(app, client, factory):
    admin, user = factory.user("admin"), factory.user("recruiter")
    log_in(client, user)
    services.update_user(user, role="interviewer", actor=admin)
    assert is_logged_in(client)


def test_idle_timeout_and_absolute_lifetime(app, client, factory, clock):
    user = factory.user("recruiter")
    log_in(client, user)
    for _ in range(3):  # active every 7 hours: the idle timeout (8 h) never strikes
        clock.advance(hours=7, minutes=59)
        assert is_logged_in(client)
    clock.advance(hours=8)
    assert not is_logged_in(client)
    assert "after 8 hours without activity" in flashed(client)

    log_in(client, user)
    for _ in range(23):  # 161 hours of activity, never idle ...
        clock.advance(hours=7)
        assert is_logged_in(client)
    clock.advance(hours=7)  # ... and 7 days after the login it is over
    assert not is_logged_in(client)
    assert "at most 7 days" in flashed(client)


class TestConfiguredTimeouts:
    @pytest.fixture
    def app_config(self):
        return {"SESSION_IDLE_TIMEOUT": 600, "SESSION_LIFETIME": 3600}

    def test_the_timeouts_come_from_the_config(self, app, client, factory, clock):
        user = factory.user("recruiter")
        log_in(client, user)
        clock.advance(minutes=9)
        assert is_logged_in(client)
        clock.advance(minutes=10, seconds=1)
        assert not is_logged_in(client)
        assert "after 10 minutes without activity" in flashed(client)


def test_the_timeouts_can_be_set_in_the_environment(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("HIRING_SESSION_IDLE_TIMEOUT", "1800")
    monkeypatch.setenv("HIRING_INSTANCE_PATH", str(tmp_path))
    assert create_app(base_config(database_url, str(tmp_path))).config["SESSION_IDLE_TIMEOUT"] == 1800


def test_a_session_ended_while_on_a_page_comes_back_to_it_after_login(app, client, factory, clock):
    user = factory.user("recruiter")
    log_in(client, user)
    clock.advance(hours=9)
    response = client.get("/candidates/?q=ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/candidates/?q%3Dada"


def test_last_seen_is_written_at_most_once_a_minute(app, client, factory, clock):
    user = factory.user("recruiter")
    log_in(client, user)
    updates: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSION"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            clock.advance(seconds=10)
            assert is_logged_in(client)
        assert updates == []
        clock.advance(seconds=31)
        assert is_logged_in(client)
        assert len(updates) == 1
        assert is_logged_in(client)
        assert len(updates) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    row = db.session.scalars(select(UserSession)).one()
    assert row.last_seen_at == clock.now


def test_a_cookie_without_a_server_side_session_is_no_login(app, client, factory):
    """Cookies signed before this release carry only Flask-Login's user id; a forged or
    guessed session secret is nobody either."""
    user = factory.user("recruiter")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not is_logged_in(client)
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["hiring_sid"] = "guessed"
    assert not is_logged_in(client)


def test_a_session_secret_is_bound_to_its_user(app, client, factory):
    victim, attacker = factory.user("admin"), factory.user("interviewer")
    log_in(client, attacker)
    with client.session_transaction() as session:
        session["_user_id"] = str(victim.id)  # needs the secret key, but even then
    assert not is_logged_in(client)


def test_login_and_setup_start_a_recorded_session(app, client, factory):
    response = client.post("/setup", data={"name": "Ada Admin", "email": "ada@example.com",
                                           "password": "long enough passphrase",
                                           "confirm": "long enough passphrase"})
    assert response.status_code == 302
    row = db.session.scalars(select(UserSession)).one()
    assert row.method == "setup" and row.ended_at is None and row.ip_address == "127.0.0.1"
    login = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "login")).one()
    assert login.data["method"] == "setup" and login.data["session_id"] == row.id


def test_the_session_cookie_holds_no_session_id_before_login(app, client, factory):
    """A session started before the login (planted by an attacker) is replaced by a new one."""
    user = factory.user("recruiter")
    with client.session_transaction() as session:
        session["hiring_sid"] = "planted"
    log_in(client, user)
    with client.session_transaction() as session:
        assert session["hiring_sid"] != "planted"
        assert db.session.scalar(select(UserSession.id).where(
            UserSession.token_hash == services.hash_token(session["hiring_sid"]))) is not None


# --- the login throttle ---------------------------------------------------------------------------


def test_delay_after_grows_from_the_first_unfree_failure():
    assert [security.delay_after(n, 5, 900) for n in range(1, 16)] == [
        0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert security.delay_after(10**6, 5, 900) == 900


def test_failed_logins_for_an_account_grow_a_delay(app, client, factory, clock):
    user = factory.user("recruiter")
    for _ in range(4):
        response = log_in(client, user, "wrong guess")
        assert response.status_code == 200
        assert "Wrong email or password" in response.get_data(as_text=True)
    fifth = log_in(client, user, "wrong guess")
    assert fifth.status_code == 200 and "wait 2 seconds before the next try" in fifth.get_data(as_text=True)

    refused = log_in(client, user)  # the right password, during the wait: still refused
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    html = refused.get_data(as_text=True)
    assert "try again in 2 seconds" in html and 'value="' + user.email + '"' in html
    assert not is_logged_in(client)

    clock.advance(seconds=2)
    assert log_in(client, user, "wrong again").status_code == 200  # 6th failure: 4 seconds
    clock.advance(seconds=3)
    again = log_in(client, user)
    assert again.status_code == 429 and again.headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert log_in(client, user).status_code == 302  # waited: the right password works ...
    client.post("/logout")
    for _ in range(4):  # ... and the account's count starts again
        assert log_in(client, user, "wrong guess").status_code == 200


def test_the_wait_is_capped_and_old_failures_are_forgotten(app, client, factory, clock):
    user = factory.user("recruiter")
    failures = 0
    while failures < 15:  # a patient attacker: waits out each delay, then guesses again
        response = log_in(client, user, "wrong guess")
        if response.status_code == 429:
            clock.advance(seconds=int(response.headers["Retry-After"]))
        else:
            failures += 1
    refused = log_in(client, user)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(15 * 60)  # not 2**11
    clock.advance(hours=25)
    for _ in range(4):
        assert log_in(client, user, "wrong guess").status_code == 200  # a fresh start: free again
    assert log_in(client, user).status_code == 302


def test_an_unknown_email_is_counted_like_a_known_one(app, client, factory, clock):
    """Otherwise the throttle would tell which accounts exist."""
    factory.user("admin")
    for _ in range(5):
        assert client.post("/login", data={"email": "who@example.com", "password": "x"}).status_code == 200
    response = client.post("/login", data={"email": "Who@Example.com ", "password": "x"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_one_accounts_failures_do_not_delay_another_account(app, client, factory, clock):
    victim, colleague = factory.user("recruiter"), factory.user("recruiter")
    for _ in range(6):
        log_in(client, victim, "wrong guess")
    assert log_in(client, victim).status_code == 429
    assert log_in(app.test_client(), colleague).status_code == 302


def test_the_throttle_stores_no_email_or_address(app, client, factory, clock):
    user = factory.user("recruiter")
    log_in(client, user, "wrong guess")
    rows = db.session.scalars(select(LoginThrottle)).all()
    assert len(rows) == 2  # the account and the address
    assert all(user.email not in row.key and "127.0.0.1" not in row.key for row in rows)


@pytest.fixture
def second_worker(database_url, _migrated, tmp_path):
    """Another create_app on the same database: a second gunicorn worker (or host)."""
    os.environ["HIRING_INSTANCE_PATH"] = str(tmp_path)
    try:
        other = create_app(base_config(database_url, str(tmp_path)))
    finally:
        os.environ.pop("HIRING_INSTANCE_PATH", None)
    other.wsgi_app = RequestsInTheirOwnContext(other, other.wsgi_app)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_workers_share_the_count(app, second_worker, factory, clock):
    user = factory.user("recruiter")
    workers = [app.test_client(), second_worker.test_client()]
    for attempt in range(5):
        assert log_in(workers[attempt % 2], user, "wrong guess").status_code == 200
    for worker in workers:  # five failures in all, not per worker: both refuse
        assert log_in(worker, user).status_code == 429


def test_workers_share_the_end_of_a_session(app, second_worker, factory):
    user = factory.user("recruiter")
    one, two = app.test_client(), second_worker.test_client()
    log_in(one, user)
    two.set_cookie(COOKIE, one.get_cookie(COOKIE).value)  # the same browser, served by the other worker
    assert is_logged_in(two)
    one.post("/logout")
    assert not is_logged_in(two)


class TestAddresses:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_THROTTLE_ADDRESS_FREE": 3, "LOGIN_THROTTLE_ACCOUNT_FREE": 100}

    def test_many_accounts_from_one_address_are_delayed_other_addresses_are_not(self, app, client, factory,
                                                                                  clock):
        users = [factory.user("recruiter") for _ in range(4)]
        attacker = {"REMOTE_ADDR": "203.0.113.9"}
        for user in users[:3]:
            assert log_in(client, user, "guess", environ_base=attacker).status_code == 200
        assert log_in(client, users[3], environ_base=attacker).status_code == 429
        assert log_in(app.test_client(), users[3], environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302

    def test_without_proxies_x_forwarded_for_is_ignored(self, app, client, factory, clock):
        """PROXY_COUNT=0: a client cannot dodge the count by inventing addresses."""
        user = factory.user("recruiter")
        for n in range(3):
            response = log_in(client, factory.user("recruiter"), "guess",
                              headers={"X-Forwarded-For": f"10.0.0.{n}"})
            assert response.status_code == 200
        assert log_in(client, user, headers={"X-Forwarded-For": "10.0.0.99"}).status_code == 429

    def test_an_ipv6_network_counts_as_one_address(self, app, client, factory, clock):
        for n in range(3):
            log_in(client, factory.user("recruiter"), "guess", environ_base={"REMOTE_ADDR": f"2001:db8::{n + 1}"})
        assert log_in(client, factory.user("recruiter"),
                      environ_base={"REMOTE_ADDR": "2001:db8::ffff:1"}).status_code == 429
        assert log_in(client, factory.user("recruiter"),
                      environ_base={"REMOTE_ADDR": "2001:db8:0:1::1"}).status_code == 302


class TestBehindOneProxy:
    @pytest.fixture
    def app_config(self):
        return {"PROXY_COUNT": 1, "LOGIN_THROTTLE_ADDRESS_FREE": 3, "LOGIN_THROTTLE_ACCOUNT_FREE": 100}

    def test_clients_behind_the_proxy_are_counted_apart(self, app, client, factory, clock):
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        for _ in range(3):
            log_in(client, factory.user("recruiter"), "guess", environ_base=proxy,
                   headers={"X-Forwarded-For": "203.0.113.9"})
        refused = log_in(client, factory.user("recruiter"), environ_base=proxy,
                         headers={"X-Forwarded-For": "203.0.113.9"})
        assert refused.status_code == 429
        # Everybody else behind the same proxy is not locked out.
        assert log_in(app.test_client(), factory.user("recruiter"), environ_base=proxy,
                      headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 302
        row = db.session.scalars(select(UserSession)).one()
        assert row.ip_address == "198.51.100.7"

    def test_only_the_entry_our_proxy_appended_is_trusted(self, app, client, factory, clock):
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        for n in range(3):  # the attacker prepends a different address each time
            log_in(client, factory.user("recruiter"), "guess", environ_base=proxy,
                   headers={"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.9"})
        assert log_in(client, factory.user("recruiter"), environ_base=proxy,
                      headers={"X-Forwarded-For": "192.0.2.200, 203.0.113.9"}).status_code == 429


def test_proxy_count_must_be_a_number(database_url, tmp_path, monkeypatch):
    from hiring import ConfigError

    monkeypatch.setenv("HIRING_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="PROXY_COUNT"):
        create_app(base_config(database_url, str(tmp_path)) | {"PROXY_COUNT": "two"})


class TestSetup:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_THROTTLE_ADDRESS_FREE": 3}

    def test_setup_attempts_are_throttled(self, app, client, clock):
        for _ in range(3):
            response = client.post("/setup", data={"name": "Eve", "email": "not-an-email", "password": "x"})
            assert response.status_code == 200
        refused = client.post("/setup", data={"name": "Ada", "email": "ada@example.com",
                                              "password": "long enough passphrase",
                                           "confirm": "long enough passphrase"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        assert "try again in 2 seconds" in refused.get_data(as_text=True)
        clock.advance(seconds=2)
        assert client.post("/setup", data={"name": "Ada", "email": "ada@example.com",
                                           "password": "long enough passphrase",
                                           "confirm": "long enough passphrase"}).status_code == 302


class TestApiTokens:
    @pytest.fixture
    def app_config(self):
        return {"LOGIN_THROTTLE_ADDRESS_FREE": 3}

    def test_wrong_tokens_are_throttled_per_address_a_valid_token_is_not(self, app, client, factory, clock):
        user = factory.user("recruiter")
        _, secret = services.create_api_token(user, "script")
        for n in range(3):
            response = client.get("/api/v1/positions", headers={"Authorization": f"Bearer hp_guess{n}"})
            assert response.status_code == 401
        refused = client.get("/api/v1/positions", headers={"Authorization": "Bearer hp_guess"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        assert client.get("/api/v1/positions", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        # The address's count is the login's too.
        assert log_in(client, user).status_code == 429

    def test_a_missing_token_is_no_guess(self, app, client, factory, clock):
        factory.user("recruiter")
        for _ in range(5):
            assert client.get("/api/v1/positions").status_code == 401
        assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_old_sign_in_records_are_pruned_by_an_hourly_job(app, client, factory, clock):
    from hiring import jobs

    user = factory.user("recruiter")
    log_in(client, user)
    client.post("/logout")  # over now: kept 30 days for the record
    client.post("/login", data={"email": "who@example.com", "password": "x"})  # counted now: kept for its window
    assert jobs.run_job("sign-in-records", clock.now) == {"sessions": 0, "throttle_counts": 0}
    clock.advance(days=30, minutes=1)
    assert log_in(client, user).status_code == 302
    assert jobs.run_job("sign-in-records", clock.now) == {"sessions": 1, "throttle_counts": 2}
    assert jobs.run_job("sign-in-records", clock.now) == {"sessions": 0, "throttle_counts": 0}  # a rerun: nothing
    assert is_logged_in(client)
    pruned = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "sign_in_records_pruned")).one()
    assert pruned.data == {"sessions": 1, "throttle_counts": 2}


def test_your_sessions_lists_where_you_are_logged_in(app, client, factory, clock):
    user = factory.user("recruiter")
    phone = app.test_client()
    log_in(phone, user, headers={"User-Agent": "PhoneBrowser/1.0"})
    log_in(client, user, headers={"User-Agent": "DeskBrowser/2.0"})
    other = app.test_client()
    log_in(other, factory.user("recruiter"), headers={"User-Agent": "SomeoneElse/3.0"})
    html = client.get("/account/sessions").get_data(as_text=True)
    assert "PhoneBrowser/1.0" in html and "DeskBrowser/2.0" in html and "SomeoneElse" not in html
    assert html.count("(this browser)") == 1
    assert "after 8 hours without activity" in html and "Log out everywhere" in html
    assert 'href="/account/sessions"' in html  # linked from every page
    clock.advance(hours=7)
    assert is_logged_in(client)
    clock.advance(hours=1, minutes=1)  # the phone has been idle for 8 hours: no longer listed
    html = client.get("/account/sessions").get_data(as_text=True)
    assert "DeskBrowser/2.0" in html and "PhoneBrowser/1.0" not in html


@pytest.mark.parametrize("name", sorted(security.SETTINGS))
def test_a_setting_that_is_no_whole_number_is_a_startup_error(database_url, tmp_path, monkeypatch, name):
    from hiring import ConfigError

    monkeypatch.setenv("HIRING_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(f"HIRING_{name}", '"8h"')
    with pytest.raises(ConfigError, match=name):
        create_app(base_config(database_url, str(tmp_path)))
