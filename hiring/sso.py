"""Single sign-on with OpenID Connect (optional), through Authlib's Flask client.

Configured by ``HIRING_OIDC_ISSUER`` (the discovery document is read from
``{issuer}/.well-known/openid-configuration`` unless ``HIRING_OIDC_DISCOVERY_URL`` says
otherwise), ``HIRING_OIDC_CLIENT_ID``, ``HIRING_OIDC_CLIENT_SECRET`` and
``HIRING_OIDC_NAME`` (the button reads "Sign in with {name}"). ``HIRING_OIDC_ONLY=true``
turns password sign-in off for everyone but ``HIRING_BREAK_GLASS_EMAIL`` (an admin).

Authlib does the protocol: the authorization code flow with PKCE (S256), ``state`` and
``nonce`` kept in the signed session, and the ID token's signature (the provider's JWKS),
issuer, audience, expiry and nonce checked. This module only decides who the verified
identity is in this app: an active user with that email, when the provider says the
email is verified; no one is ever created here.

Authlib's ``OAuth`` registry binds one app and caches its clients, so each app gets its
own (in ``app.extensions``) instead of an unbound object in hiring.extensions.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

CLIENT_NAME = "oidc"
DEFAULT_SCOPES = "openid email profile"
_EXTENSION = "hiring_oidc"


def init_app(app: Flask) -> None:
    from . import ConfigError

    issuer = (app.config.get("OIDC_ISSUER") or "").strip().rstrip("/")
    if app.config.get("OIDC_ONLY") and not issuer:
        raise ConfigError("HIRING_OIDC_ONLY=true needs single sign-on: set HIRING_OIDC_ISSUER, "
                          "HIRING_OIDC_CLIENT_ID and HIRING_OIDC_CLIENT_SECRET too.")
    if not issuer:
        return
    if not app.config.get("OIDC_CLIENT_ID"):
        raise ConfigError("HIRING_OIDC_ISSUER is set but HIRING_OIDC_CLIENT_ID is not: register this app with "
                          "the identity provider and set its client id and secret.")
    app.config["OIDC_ISSUER"] = issuer
    # HIRING_* values are parsed as JSON: an all-digit client id would arrive as a number.
    app.config["OIDC_CLIENT_ID"] = str(app.config["OIDC_CLIENT_ID"])
    if app.config.get("OIDC_CLIENT_SECRET") is not None:
        app.config["OIDC_CLIENT_SECRET"] = str(app.config["OIDC_CLIENT_SECRET"])
    oauth = OAuth(app)
    client = oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config.get("OIDC_CLIENT_SECRET"),
        server_metadata_url=app.config.get("OIDC_DISCOVERY_URL") or f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config.get("OIDC_SCOPES") or DEFAULT_SCOPES, "code_challenge_method": "S256",
                       "default_timeout": app.config.get("OIDC_TIMEOUT", 10)},
    )
    app.extensions[_EXTENSION] = client


def enabled() -> bool:
    return _EXTENSION in current_app.extensions


def client():
    return current_app.extensions[_EXTENSION]


def provider_name() -> str:
    return current_app.config.get("OIDC_NAME") or "single sign-on"


def redirect_uri() -> str:
    """The address to register with the identity provider (from BASE_URL, never from the
    request's Host header)."""
    return current_app.config["BASE_URL"].rstrip("/") + "/login/sso/callback"


def passwords_allowed_for(email: str) -> bool:
    """With HIRING_OIDC_ONLY only the break-glass admin signs in with a password."""
    if not current_app.config.get("OIDC_ONLY"):
        return True
    break_glass = (current_app.config.get("BREAK_GLASS_EMAIL") or "").strip().lower()
    return bool(break_glass) and email == break_glass


def claims_options() -> dict:
    """The ID token must come from the configured issuer (not only the one the discovery
    document names) and list this app's client id in its audience. Authlib alone accepts
    a token for another audience when its ``azp`` names this client; OpenID Connect Core
    3.1.3.7 says to refuse it."""
    return {"iss": {"essential": True, "values": [current_app.config["OIDC_ISSUER"]]},
            "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]}}


@dataclass(frozen=True)
class Identity:
    email: str
    email_verified: bool
    subject: str


def identity(userinfo: dict) -> Identity:
    """``email_verified`` must be the boolean true. Microsoft Entra ID never sends it for
    work accounts; its optional claim ``xms_edov`` ("email domain owner verified") counts
    instead, and only when the token carries no ``email_verified`` at all."""
    verified = userinfo.get("email_verified")
    if verified is None:
        verified = userinfo.get("xms_edov")
    return Identity(email=str(userinfo.get("email") or "").strip().lower(),
                    email_verified=verified is True,
                    subject=str(userinfo.get("sub") or ""))
