"""Two-factor sign-in (TOTP): enrolment, the second step after the password, replays,
recovery codes, turning it off, the admin's reset and the admin setting that requires it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from hiring import services, twofactor
from hiring.extensions import db
from hiring.models import AuditEvent, RecoveryCode, User
from hiring.settings import get_security

PASSWORD = "correct horse battery"


class Clock:
    """The services' clock (TOTP time steps follow it); starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 30) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(services.core, "utcnow", clock)
    return clock


def audit_kinds(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def enrol(client, clock: Clock) -> tuple[str, list[str]]:
    """Through the page, as a person would: read the key, confirm with a code."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    key = re.search(r'<code class="totp-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    response = client.post("/account/two-factor", data={"action": "enable", "code": pyotp.TOTP(key).at(clock.now)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>",
                       response.get_data(as_text=True))
    return key, codes


def password_step(client, user, next_: str | None = None):
    url = f"/login?next={next_}" if next_ else "/login"
    return client.post(url, data={"email": user.email, "password": PASSWORD})


def test_enrolment_shows_a_qr_code_and_key_then_recovery_codes_once(client, login, factory, clock):
    user = factory.user("recruiter")
    login(user)
    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # A server-side QR code: no inline script for the CSP to block (static scripts are fine).
    assert "<svg" in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "Two-factor sign-in</a>" in html  # in the user menu
    key = re.search(r'<code class="totp-key">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    assert client.get("/account/two-factor").get_data(as_text=True).count(key[:4]) >= 1  # same key on reload

    wrong = client.post("/account/two-factor", data={"action": "enable", "code": "000000"})
    assert "not right" in wrong.get_data(as_text=True)
    assert not db.session.get(User, user.id).has_two_factor

    response = client.post("/account/two-factor", data={"action": "enable", "code": pyotp.TOTP(key).at(clock.now)})
    codes = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    user = db.session.get(User, user.id)
    assert user.has_two_factor
    assert key not in user.totp_secret and twofactor.decrypt_secret(user.totp_secret) == key  # encrypted at rest
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert hashes == {twofactor.hash_recovery_code(c) for c in codes}  # only hashes are stored
    [event] = audit_kinds("two_factor_enabled")
    assert event.actor_id == user.id
    # shown once: the page now offers new codes and turning off, not the old codes
    again = client.get("/account/two-factor").get_data(as_text=True)
    assert codes[0] not in again and "10 unused recovery codes left" in again


def test_password_then_code_and_the_half_login_grants_nothing(client, login, factory, clock, app):
    user = factory.user("admin")
    login(user)
    key, _ = enrol(client, clock)
    client.post("/logout")

    response = password_step(client, user, next_="/admin/users")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/two-factor")
    for path in ("/", "/admin/users", "/account/two-factor", "/board"):
        denied = client.get(path)
        assert denied.status_code == 302 and "/login" in denied.headers["Location"], path
    assert client.post("/admin/settings/security", data={
        "require_two_factor_for_admins_and_managers": "y"}).status_code == 302
    assert not get_security().require_two_factor_for_admins_and_managers
    assert "Enter your code" in client.get("/login/two-factor").get_data(as_text=True)

    clock.tick()
    response = client.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    assert client.get("/admin/users").status_code == 200


def test_a_code_works_once_even_within_its_window(client, login, factory, clock, app):
    user = factory.user("recruiter")
    login(user)
    key, _ = enrol(client, clock)
    client.post("/logout")
    clock.tick()
    code = pyotp.TOTP(key).at(clock.now)
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": code}).status_code == 302
    client.post("/logout")

    other = app.test_client()  # someone who watched the code being typed
    password_step(other, user)
    replay = other.post("/login/two-factor", data={"code": code})
    assert replay.status_code == 200 and "used already" in replay.get_data(as_text=True)
    assert other.get("/").status_code == 302
    # the enrolment code (an earlier step) is refused too
    assert other.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now - timedelta(seconds=30))}
                      ).status_code == 200
    clock.tick()
    assert other.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now)}).status_code == 302


def test_the_half_login_expires_and_allows_few_tries(client, login, factory, clock, monkeypatch):
    from hiring.views import auth

    user = factory.user("recruiter")
    login(user)
    key, _ = enrol(client, clock)
    client.post("/logout")

    password_step(client, user)
    for _ in range(auth.PENDING_TRIES - 1):
        assert client.post("/login/two-factor", data={"code": "123456"}).status_code == 200
    last = client.post("/login/two-factor", data={"code": "123456"})
    assert last.status_code == 302 and last.headers["Location"].endswith("/login")
    clock.tick()
    assert client.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now)}).status_code == 302
    assert client.get("/").status_code == 302  # back at the password, not logged in

    monkeypatch.setattr(auth, "PENDING_SECONDS", -1)
    password_step(client, user)
    expired = client.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now)})
    assert expired.status_code == 302 and expired.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302


def test_a_recovery_code_signs_in_once_and_is_audited(client, login, factory, clock):
    user = factory.user("manager")
    login(user)
    _, codes = enrol(client, clock)
    client.post("/logout")

    password_step(client, user)
    response = client.post("/login/two-factor", data={"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    [event] = audit_kinds("recovery_code_used")
    assert (event.actor_id, event.data["codes_left"]) == (user.id, 9)
    client.post("/logout")

    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": codes[3]}).status_code == 200
    assert len(audit_kinds("recovery_code_used")) == 1


def test_new_recovery_codes_replace_the_old_ones(client, login, factory, clock):
    user = factory.user("recruiter")
    login(user)
    key, old = enrol(client, clock)
    clock.tick()
    response = client.post("/account/two-factor", data={"action": "recovery_codes",
                                                         "code": pyotp.TOTP(key).at(clock.now)})
    new = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert len(audit_kinds("recovery_codes_regenerated")) == 1
    client.post("/logout")
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": old[0]}).status_code == 200
    assert client.post("/login/two-factor", data={"code": new[0]}).status_code == 302


def test_turning_it_off_needs_a_current_code(client, login, factory, clock):
    user = factory.user("recruiter")
    login(user)
    key, _ = enrol(client, clock)
    refused = client.post("/account/two-factor", data={"action": "disable", "code": "000000"})
    assert "not right" in refused.get_data(as_text=True)
    assert db.session.get(User, user.id).has_two_factor
    clock.tick()
    client.post("/account/two-factor", data={"action": "disable", "code": pyotp.TOTP(key).at(clock.now)})
    user = db.session.get(User, user.id)
    assert not user.has_two_factor and user.totp_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert len(audit_kinds("two_factor_disabled")) == 1
    client.post("/logout")
    assert password_step(client, user).headers["Location"].endswith("/")  # the password alone again


def test_an_admin_resets_someones_two_factor(app, client, login, factory, clock):
    admin = factory.user("admin")
    ivan = factory.user("interviewer")
    ivan_client = app.test_client()
    ivan_client.post("/login", data={"email": ivan.email, "password": PASSWORD})
    enrol(ivan_client, clock)

    login(admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{ivan.id}/two-factor/reset" in page and "Two-factor on" in page
    assert client.post(f"/admin/users/{ivan.id}/two-factor/reset").status_code == 302
    assert not db.session.get(User, ivan.id).has_two_factor
    [event] = audit_kinds("two_factor_reset")
    assert (event.actor_id, event.data["user_id"]) == (admin.id, ivan.id)

    # only admins may
    recruiter = factory.user("recruiter")
    other = app.test_client()
    other.post("/login", data={"email": recruiter.email, "password": PASSWORD})
    assert other.post(f"/admin/users/{admin.id}/two-factor/reset").status_code == 403


def test_the_cli_resets_two_factor_for_the_only_admin(app, client, login, factory, clock, runner):
    admin = factory.user("admin")
    login(admin)
    enrol(client, clock)
    result = runner.invoke(args=["users", "reset-2fa", admin.email])
    assert result.exit_code == 0, result.output
    assert not db.session.get(User, admin.id).has_two_factor
    [event] = audit_kinds("two_factor_reset")
    assert event.actor_id is None


def test_required_for_admins_and_managers_sends_them_to_enrolment_first(app, client, login, factory, clock):
    admin = factory.user("admin")
    manager = factory.user("manager")
    recruiter = factory.user("recruiter")
    login(admin)
    settings_page = client.get("/admin/settings").get_data(as_text=True)
    assert "Require two-factor sign-in for admins and managers" in settings_page
    client.post("/admin/settings/security", data={"require_two_factor_for_admins_and_managers": "y"})
    [event] = audit_kinds("security_settings_updated")
    assert event.data["changes"] == {"require_two_factor_for_admins_and_managers": True}
    # the admin's own session (password alone) is caught at its next request
    blocked = client.get("/admin/users")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/two-factor")

    mona = app.test_client()
    response = mona.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert response.status_code == 302
    for method, path in (("get", "/"), ("get", "/board"), ("post", "/admin/settings/security")):
        answer = getattr(mona, method)(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/two-factor"), path
    key, _ = enrol(mona, clock)
    assert mona.get("/").status_code == 200
    # required: it cannot be turned off by the user
    clock.tick()
    mona.post("/account/two-factor", data={"action": "disable", "code": pyotp.TOTP(key).at(clock.now)})
    assert db.session.get(User, manager.id).has_two_factor

    rita = app.test_client()
    rita.post("/login", data={"email": recruiter.email, "password": PASSWORD})
    assert rita.get("/").status_code == 200  # recruiters are not concerned
    assert rita.post("/admin/settings/security", data={}).status_code == 403


def test_a_changed_secret_key_makes_the_secret_unreadable_not_a_crash(app, client, login, factory, clock):
    user = factory.user("recruiter")
    login(user)
    key, codes = enrol(client, clock)
    client.post("/logout")
    app.config["SECRET_KEY"] = "another-secret"
    other = app.test_client()
    password_step(other, user)
    clock.tick()
    assert other.post("/login/two-factor", data={"code": pyotp.TOTP(key).at(clock.now)}).status_code == 200
    assert other.post("/login/two-factor", data={"code": codes[0]}).status_code == 302  # recovery codes still work


def test_the_requirement_does_not_touch_api_tokens(app, factory):
    admin = factory.user("admin")
    manager = factory.user("manager")
    services.update_security_settings({"require_two_factor_for_admins_and_managers": True}, actor=admin)
    _, secret = services.create_api_token(manager, "reports")
    response = app.test_client().get("/api/v1/applications", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
