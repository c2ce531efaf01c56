"""Single sign-on with OpenID Connect against a real provider served by the tests
(tests/oidc_provider.py, Authlib's server classes): the client side is the app's own
Authlib client, nothing mocked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from hiring import ConfigError, create_app
from hiring.extensions import db
from hiring.models import AuditEvent

from .oidc_provider import Provider

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def provider():
    provider = Provider()
    server, thread = provider.serve()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def oidc(provider):
    provider.identity = {}
    provider.id_token_claims = {}
    provider.requests.clear()
    provider.client.redirect_uris = ["http://hiring.test/login/sso/callback"]
    return provider


def oidc_config(provider: Provider) -> dict:
    return {"OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": provider.client.client_id,
            "OIDC_CLIENT_SECRET": provider.client.client_secret, "OIDC_NAME": "Test IdP"}


@pytest.fixture
def app_config(oidc):
    return oidc_config(oidc)


def sign_in(client, provider: Provider, email: str | None, verified: bool | None = True, *, next_: str = "",
            tamper=None):
    """The browser's round trip: our button → the provider → back to our callback."""
    claims = {"sub": f"sub-{email}", "name": "Someone"}
    if email is not None:
        claims["email"] = email
    if verified is not None:
        claims["email_verified"] = verified
    provider.identity = claims
    start = client.get("/login/sso" + (f"?next={next_}" if next_ else ""))
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:300]
    callback = urlsplit(back.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == "http://hiring.test/login/sso/callback"
    query = parse_qs(callback.query)
    if tamper:
        query = tamper(query)
    return client.get(callback.path + "?" + urlencode(query, doseq=True))


def refusals() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "sso_login_refused")
                                   .order_by(AuditEvent.id)))


def assert_not_signed_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_verified_email_of_an_active_user_signs_in(client, oidc, factory):
    user = factory.user("recruiter", email="rita@example.com")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Test IdP" in page and 'name="password"' in page

    start = client.get("/login/sso")
    authorize = parse_qs(urlsplit(start.headers["Location"]).query)
    # the authorization code flow with PKCE (S256), state and nonce
    assert authorize["response_type"] == ["code"] and authorize["code_challenge_method"] == ["S256"]
    assert authorize["state"] and authorize["nonce"] and authorize["code_challenge"]
    assert "openid" in authorize["scope"][0].split() and "email" in authorize["scope"][0].split()

    response = sign_in(client, oidc, "Rita@Example.com", next_="/board")
    assert response.status_code == 302 and response.headers["Location"].endswith("/board")
    assert client.get("/").status_code == 200
    assert user.name in client.get("/").get_data(as_text=True)
    assert oidc.requests.count("/token") == 1 and "/jwks" in oidc.requests
    assert refusals() == []


@pytest.mark.parametrize("verified", [False, None, "true"], ids=["false", "missing", "a string"])
def test_an_unverified_email_is_refused(client, oidc, factory, verified):
    factory.user("recruiter", email="rita@example.com")
    response = sign_in(client, oidc, "rita@example.com", verified=verified)
    assert response.status_code == 403
    assert "did not confirm your email address" in response.get_data(as_text=True)
    assert_not_signed_in(client)
    [event] = refusals()
    assert event.data == {"email": "rita@example.com", "reason": "email missing or not verified", "user_id": None}


def test_entras_email_domain_owner_verified_claim_counts_only_without_email_verified(app, client, oidc, factory):
    factory.user("recruiter", email="rita@example.com")
    oidc.id_token_claims = {"xms_edov": True}
    assert sign_in(client, oidc, "rita@example.com", verified=False).status_code == 403
    assert sign_in(client, oidc, "rita@example.com", verified=None).status_code == 302
    assert client.get("/").status_code == 200


def test_an_unknown_email_is_refused_clearly_and_audited(client, oidc, factory):
    factory.user("recruiter", email="rita@example.com")
    response = sign_in(client, oidc, "mallory@example.com")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "no user with the email mallory@example.com" in html and "You are not signed in" in html
    assert_not_signed_in(client)
    [event] = refusals()
    assert (event.data["email"], event.data["reason"]) == ("mallory@example.com", "no user with this email")
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.kind == "user_created")) == 1  # no self-registration


def test_an_inactive_user_is_refused(client, oidc, factory):
    admin = factory.user("admin")
    user = factory.user("recruiter", email="rita@example.com")
    from hiring import services

    services.update_user(user, active=False, actor=admin)
    response = sign_in(client, oidc, "rita@example.com")
    assert response.status_code == 403 and "deactivated" in response.get_data(as_text=True)
    assert_not_signed_in(client)
    [event] = refusals()
    assert (event.data["user_id"], event.data["reason"]) == (user.id, "user deactivated")


def _other_state(query):
    return {**query, "state": ["forged-" + query["state"][0]]}


def _no_state(query):
    return {k: v for k, v in query.items() if k != "state"}


@pytest.mark.parametrize("tamper", [_other_state, _no_state], ids=["forged state", "no state"])
def test_a_tampered_state_is_refused(client, oidc, factory, tamper):
    factory.user("recruiter", email="rita@example.com")
    response = sign_in(client, oidc, "rita@example.com", tamper=tamper)
    assert response.status_code == 403
    assert "could not be completed" in response.get_data(as_text=True)
    assert_not_signed_in(client)
    assert "/token" not in oidc.requests  # the code was never exchanged
    [event] = refusals()
    assert event.data["reason"].startswith("invalid answer from the identity provider: mismatching_state")


def test_a_callback_from_another_browser_is_refused(app, client, oidc, factory):
    """Login CSRF: a callback URL started in the attacker's browser means nothing in the victim's."""
    factory.user("recruiter", email="mallory@example.com")
    oidc.identity = {"sub": "m", "email": "mallory@example.com", "email_verified": True}
    start = client.get("/login/sso")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    victim = app.test_client()
    callback = urlsplit(back.headers["Location"])
    assert victim.get(callback.path + "?" + callback.query).status_code == 403
    assert_not_signed_in(victim)


def test_a_callback_is_used_once(client, oidc, factory):
    factory.user("recruiter", email="rita@example.com")
    oidc.identity = {"sub": "r", "email": "rita@example.com", "email_verified": True}
    start = client.get("/login/sso")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    assert client.get(back.path + "?" + back.query).status_code == 302
    client.post("/logout")
    assert client.get(back.path + "?" + back.query).status_code == 403
    assert_not_signed_in(client)


@pytest.mark.parametrize(("claims", "refused_claim"), [
    ({"nonce": "another-nonce"}, "nonce"),
    ({"aud": "another-client"}, "aud"),
    ({"aud": "another-client", "azp": "hiring-test-client"}, "aud"),  # Authlib alone would let this in
    ({"iss": "http://127.0.0.1:1/not-the-issuer"}, "iss"),
    ({"exp": 1_000_000_000}, "expired"),
], ids=["wrong nonce", "wrong audience", "wrong audience, our azp", "wrong issuer", "expired"])
def test_an_id_token_that_does_not_check_out_is_refused(client, oidc, factory, claims, refused_claim):
    factory.user("recruiter", email="rita@example.com")
    oidc.id_token_claims = claims
    response = sign_in(client, oidc, "rita@example.com")
    assert response.status_code == 403
    assert_not_signed_in(client)
    [event] = refusals()
    assert refused_claim in event.data["reason"], event.data["reason"]


def test_an_unreachable_provider_is_a_clear_page_not_a_500(app, client, factory):
    factory.user("recruiter")
    app.extensions["hiring_oidc"].server_metadata.clear()
    app.extensions["hiring_oidc"]._server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
    response = client.get("/login/sso")
    assert response.status_code == 502
    assert "cannot be reached" in response.get_data(as_text=True)


def test_single_sign_on_does_not_ask_for_the_apps_second_factor(client, oidc, factory):
    """The identity provider's own MFA counts (README, Security): no TOTP step after SSO,
    and the admins-and-managers requirement does not send an SSO session to enrolment."""
    from hiring import services, twofactor

    admin = factory.user("admin", email="ada@example.com")
    manager = factory.user("manager", email="mona@example.com")
    services.update_security_settings({"require_two_factor_for_admins_and_managers": True}, actor=admin)
    secret = twofactor.new_secret()
    services.enable_two_factor(admin, secret, twofactor.code_at(secret, services.utcnow()))

    assert sign_in(client, oidc, "ada@example.com").headers["Location"].endswith("/")
    assert client.get("/admin/users").status_code == 200
    client.post("/logout")
    sign_in(client, oidc, "mona@example.com")
    assert client.get("/").status_code == 200
    assert manager.has_two_factor is False


def test_no_button_and_no_routes_without_configuration(factory, database_url, _migrated, tmp_path):
    from .conftest import base_config

    factory.user("admin")  # past the first-run setup
    db.session.commit()
    plain_app = create_app(base_config(database_url, str(tmp_path)))
    plain = plain_app.test_client()
    try:
        assert "Sign in with" not in plain.get("/login").get_data(as_text=True)
        assert plain.get("/login/sso").status_code == 404
        assert plain.get("/login/sso/callback?code=x&state=y").status_code == 404
    finally:
        with plain_app.app_context():
            db.engine.dispose()  # its own pool: closed now, not by the garbage collector in a later test


def test_configuration_errors_say_what_to_set(database_url, _migrated, tmp_path):
    from .conftest import base_config

    with pytest.raises(ConfigError, match="HIRING_OIDC_ISSUER"):
        create_app({**base_config(database_url, str(tmp_path)), "OIDC_ONLY": True})
    with pytest.raises(ConfigError, match="HIRING_OIDC_CLIENT_ID"):
        create_app({**base_config(database_url, str(tmp_path)), "OIDC_ISSUER": "https://idp.example.com"})


class TestOidcOnly:
    @pytest.fixture
    def app_config(self, oidc):
        return {**oidc_config(oidc), "OIDC_ONLY": True, "BREAK_GLASS_EMAIL": "Root@Example.com"}

    def test_passwords_are_refused_except_for_the_break_glass_admin(self, app, client, oidc, factory):
        root = factory.user("admin", email="root@example.com")
        rita = factory.user("recruiter", email="rita@example.com")
        page = client.get("/login").get_data(as_text=True)
        assert "Sign in with Test IdP" in page and "Emergency admin sign-in" in page

        for password in (PASSWORD, "wrong password"):
            refused = client.post("/login", data={"email": rita.email, "password": password})
            assert refused.status_code == 200
            assert "Password sign-in is turned off" in refused.get_data(as_text=True)
            assert_not_signed_in(client)

        ok = client.post("/login", data={"email": root.email, "password": PASSWORD})
        assert ok.status_code == 302
        assert client.get("/admin/users").status_code == 200
        client.post("/logout")

        other = app.test_client()
        sign_in(other, oidc, "rita@example.com")
        assert other.get("/").status_code == 200


    def test_the_break_glass_admin_still_gives_their_second_factor(self, client, oidc, factory):
        from hiring import services, twofactor

        root = factory.user("admin", email="root@example.com")
        secret = twofactor.new_secret()
        services.enable_two_factor(root, secret, twofactor.code_at(secret, services.utcnow()))
        response = client.post("/login", data={"email": root.email, "password": PASSWORD})
        assert response.headers["Location"].endswith("/login/two-factor")
        assert_not_signed_in(client)


class TestRefusalsAreRateLimited:
    @pytest.fixture
    def app_config(self, oidc):
        return {**oidc_config(oidc), "LOGIN_THROTTLE_ENABLED": True, "LOGIN_THROTTLE_ADDRESS_FREE": 3}

    def test_refused_callbacks_count_like_failed_logins(self, client, oidc, factory):
        factory.user("admin")
        for _ in range(3):
            assert client.get("/login/sso/callback?code=x&state=forged").status_code == 403
        assert client.get("/login/sso/callback?code=x&state=forged").status_code == 429
        assert len(refusals()) == 3
