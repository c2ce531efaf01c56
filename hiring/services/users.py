"""Users, their sessions and API tokens, two-factor sign-in, single sign-on refusals,
and the settings (process policy, sign-in rules)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from .. import pipeline, twofactor, validation
from ..extensions import db
from ..models import (
    ApiToken,
    LoginThrottle,
    RecoveryCode,
    Setting,
    User,
    UserSession,
)
from ..pipeline import (
    Action,
    InvalidInput,
    NotAllowed,
    Role,
)
from ..settings import (
    POLICY_KEY,
    SECURITY_KEY,
    SecuritySettings,
    forget_policy,
    forget_security,
    get_policy,
    get_security,
)
from .core import (
    Conflict,
    audit,
    check_lengths,
    check_text,
    clean,
    normalise_email,
    refuse_control_characters,
    require,
    resolve_now,
    transaction,
)

# --- users and tokens ----------------------------------------------------------------------


def create_user(email: str, name: str, role: str, password: str | None = None, *,
                actor: User | None = None, now: datetime | None = None) -> User:
    require(actor, Action.MANAGE_USERS)
    now = resolve_now(now)
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if not clean(name):
        errors["name"] = "Enter the person's name."
    check_lengths(errors, name=(name, 200))
    check_text(errors, lines={"name": name})
    if role not in {r.value for r in Role}:
        errors["role"] = "Choose admin, recruiter, interviewer or manager."
    if password is not None and (message := validation.password_error(password)):
        errors["password"] = message
    if errors:
        raise InvalidInput("The user could not be created.", errors)
    def duplicate() -> Conflict | None:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            return Conflict(f"A user with the email {email} already exists.")
        return None

    if (error := duplicate()) is not None:
        raise error
    with transaction(duplicate):
        user = User(email=email, name=clean(name), role=role, active=True, created_at=now)
        if password:
            user.set_password(password)
        db.session.add(user)
        db.session.flush()
        audit("user_created", now, actor, user_id=user.id, email=email, role=role)
    return user


def update_user(user: User, *, role: str | None = None, active: bool | None = None,
                name: str | None = None, password: str | None = None,
                actor: User | None = None, now: datetime | None = None) -> User:
    require(actor, Action.MANAGE_USERS)
    now = resolve_now(now)
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        if role not in {r.value for r in Role}:
            raise InvalidInput("Unknown role.", {"role": "Choose admin, recruiter, interviewer or manager."})
        if user.role == Role.ADMIN and _is_last_active_admin(user):
            raise Conflict("This is the last active admin; make someone else admin first.")
        changes["role"] = role
    if active is not None and active != user.active:
        if not active and user.role == Role.ADMIN and _is_last_active_admin(user):
            raise Conflict("This is the last active admin; it cannot be deactivated.")
        changes["active"] = active
    if errors := check_text(check_lengths({}, name=(name, 200)), lines={"name": name}):
        raise InvalidInput("The user could not be saved.", errors)
    if name is not None and clean(name) and clean(name) != user.name:
        changes["name"] = clean(name)
    if password and (message := validation.password_error(password)):
        raise InvalidInput("The password was refused.", {"password": message})
    if not changes and not password:
        return user
    with transaction():
        for key, value in changes.items():
            setattr(user, key, value)
        if password:
            user.set_password(password)
            changes["password"] = "changed"
        # A new password or a deactivation signs the person out everywhere: a copied cookie
        # (or a browser left open) must not outlive either.
        reason = "deactivated" if changes.get("active") is False else "password_changed" if password else None
        if reason:
            changes["sessions_ended"] = _end_sessions(user, reason, now)
        audit("user_updated", now, actor, user_id=user.id, **changes)
    return user


# --- sessions (the signed-in browsers of a user; hiring.security reads them) ---------------------

SESSION_METHODS = ("password", "totp", "oidc", "setup")


def start_session(user: User, *, method: str = "password", user_agent: str = "", ip_address: str = "",
                  now: datetime | None = None) -> tuple[UserSession, str]:
    """A new signed-in session for ``user``, after every factor has been checked. Returns
    the row and the secret for the cookie (stored hashed). Use hiring.security.start_session
    from a view: it also sets the cookie and resets the throttle."""
    now = resolve_now(now)
    if method not in SESSION_METHODS:
        raise ValueError(f"unknown login method {method!r}")
    if not user.active:
        raise NotAllowed("This account has been deactivated.")
    secret = secrets.token_urlsafe(32)
    with transaction():
        row = UserSession(user_id=user.id, token_hash=hash_token(secret), method=method, created_at=now,
                          last_seen_at=now, user_agent=(user_agent or "")[:300], ip_address=(ip_address or "")[:45])
        db.session.add(row)
        db.session.flush()
        audit("login", now, user, user_id=user.id, session_id=row.id, method=method, ip_address=row.ip_address)
    return row, secret


def end_sessions(user: User, *, reason: str = "logout", actor: User | None = None,
                 now: datetime | None = None) -> int:
    """Ends every session of ``user`` (logout ends them all, on every device: the issue
    asks for it literally, and it is what ends a session whose cookie was copied)."""
    now = resolve_now(now)
    with transaction():
        count = _end_sessions(user, reason, now)
        audit("logout" if reason == "logout" else "sessions_ended", now, actor, user_id=user.id, reason=reason,
              sessions_ended=count)
    return count


# Ended sessions are kept this long for the record (who was signed in from where), then deleted.
SESSION_RECORD_DAYS = 30


def prune_sign_in_records(now: datetime | None = None) -> dict[str, int]:
    """Deletes sessions over for more than SESSION_RECORD_DAYS and throttle counts past
    their window (the logins themselves stay in the audit log). A rerun deletes nothing."""
    now = resolve_now(now)
    config = current_app.config
    keep_from = now - timedelta(days=SESSION_RECORD_DAYS)
    over = or_(
        UserSession.ended_at < keep_from,
        UserSession.created_at < keep_from - timedelta(seconds=int(config["SESSION_LIFETIME"])),
        UserSession.last_seen_at < keep_from - timedelta(seconds=int(config["SESSION_IDLE_TIMEOUT"])),
    )
    forgotten = now - timedelta(seconds=int(config["LOGIN_THROTTLE_WINDOW"]))
    stale = and_(LoginThrottle.last_failure_at < forgotten,
                 or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now))
    with transaction():
        sessions = db.session.execute(delete(UserSession).where(over)
                                      .execution_options(synchronize_session=False)).rowcount or 0
        throttles = db.session.execute(delete(LoginThrottle).where(stale)
                                       .execution_options(synchronize_session=False)).rowcount or 0
        if sessions or throttles:
            audit("sign_in_records_pruned", now, None, sessions=sessions, throttle_counts=throttles)
    return {"sessions": sessions, "throttle_counts": throttles}


def _end_sessions(user: User, reason: str, now: datetime) -> int:
    result = db.session.execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _is_last_active_admin(user: User) -> bool:
    others = db.session.scalar(
        select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id).limit(1)
    )
    return others is None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(user: User, label: str = "", *, actor: User | None = None,
                     now: datetime | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the secret, which is shown once and stored hashed."""
    now = resolve_now(now)
    refuse_control_characters("The token could not be created.", lines={"label": label})
    secret = "hp_" + secrets.token_urlsafe(32)
    with transaction():
        token = ApiToken(user_id=user.id, label=clean(label), token_hash=hash_token(secret), created_at=now)
        db.session.add(token)
        db.session.flush()
        audit("api_token_created", now, actor, token_id=token.id, user_id=user.id, label=token.label)
    return token, secret


def revoke_api_token(token: ApiToken, *, actor: User | None = None, now: datetime | None = None) -> ApiToken:
    now = resolve_now(now)
    if token.revoked_at is not None:
        return token
    with transaction():
        token.revoked_at = now
        audit("api_token_revoked", now, actor, token_id=token.id, user_id=token.user_id)
    return token


# --- settings --------------------------------------------------------------------------------


def update_policy(values: dict[str, Any], *, actor: User | None, now: datetime | None = None) -> pipeline.Policy:
    """Validate and store the process policy; open applications keep their dates."""
    require(actor, Action.MANAGE_SETTINGS)
    now = resolve_now(now)
    current = get_policy()
    merged = {**current.to_dict(), **values}
    policy = pipeline.Policy.from_mapping(merged)  # raises InvalidInput with per-field messages
    changed = {k: v for k, v in policy.to_dict().items() if current.to_dict().get(k) != v}
    with transaction():
        _store_setting(POLICY_KEY, policy.to_dict(), now)
        audit("policy_updated", now, actor, changes=changed)
    forget_policy()
    return policy


def update_security_settings(values: dict[str, Any], *, actor: User | None,
                             now: datetime | None = None) -> SecuritySettings:
    """The sign-in rules (e.g. two-factor sign-in required for admins and managers)."""
    require(actor, Action.MANAGE_SETTINGS)
    now = resolve_now(now)
    current = get_security()
    security = SecuritySettings.from_mapping({**current.to_dict(), **values})
    changed = {k: v for k, v in security.to_dict().items() if current.to_dict().get(k) != v}
    if not changed:
        return current
    with transaction():
        _store_setting(SECURITY_KEY, security.to_dict(), now)
        audit("security_settings_updated", now, actor, changes=changed)
    forget_security()
    return security


def _store_setting(key: str, value: dict[str, Any], now: datetime) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now


# --- sign-in: two-factor (TOTP) and single sign-on -------------------------------------------


def _new_recovery_codes(user: User, now: datetime) -> list[str]:
    """Replaces the user's recovery codes (inside the caller's transaction)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = twofactor.new_recovery_codes()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=twofactor.hash_recovery_code(code), created_at=now)
                       for code in codes)
    return codes


def _current_totp_step(user: User, code: str, now: datetime) -> int:
    secret = twofactor.decrypt_secret(user.totp_secret) if user.has_two_factor else None
    step = twofactor.matching_step(secret, code, now) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise InvalidInput("Wrong code.", {"code": "That code is not right (or was used already). "
                                                   "Enter the current code from your app."})
    return step


def enable_two_factor(user: User, secret: str, code: str, *, now: datetime | None = None) -> list[str]:
    """Turns on two-factor sign-in for ``user`` (who enrols themselves) once ``code`` shows
    their app has ``secret``. Returns the new recovery codes, to be shown once."""
    now = resolve_now(now)
    step = twofactor.matching_step(secret, code, now)
    if step is None:
        raise InvalidInput("Wrong code.", {"code": "That code is not right. Check the time on your phone and "
                                                   "enter the code your app shows now."})
    with transaction():
        user.totp_secret = twofactor.encrypt_secret(secret)
        user.totp_enabled_at = now
        user.totp_last_step = step
        codes = _new_recovery_codes(user, now)
        audit("two_factor_enabled", now, user, user_id=user.id)
    return codes


def disable_two_factor(user: User, code: str, *, now: datetime | None = None) -> None:
    """The user turns two-factor sign-in off, confirming with a current code."""
    now = resolve_now(now)
    if not user.has_two_factor:
        return
    if get_security().requires_two_factor(user.role):
        raise Conflict(f"Two-factor sign-in is required for {user.role}s; it cannot be turned off.")
    _current_totp_step(user, code, now)
    with transaction():
        _clear_two_factor(user)
        audit("two_factor_disabled", now, user, user_id=user.id)


def reset_two_factor(user: User, *, actor: User | None, now: datetime | None = None) -> None:
    """An admin (or the CLI) turns off someone's two-factor sign-in, e.g. after a lost phone.
    They sign in with their password alone, and enrol again when their role requires it."""
    require(actor, Action.MANAGE_USERS)
    now = resolve_now(now)
    if not user.has_two_factor:
        return
    with transaction():
        _clear_two_factor(user)
        audit("two_factor_reset", now, actor, user_id=user.id, email=user.email)


def _clear_two_factor(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def regenerate_recovery_codes(user: User, code: str, *, now: datetime | None = None) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current code."""
    now = resolve_now(now)
    step = _current_totp_step(user, code, now)
    with transaction():
        user.totp_last_step = step
        codes = _new_recovery_codes(user, now)
        audit("recovery_codes_regenerated", now, user, user_id=user.id)
    return codes


def verify_second_factor(user: User, code: str, *, now: datetime | None = None) -> str | None:
    """The second step of a password sign-in: ``code`` is the app's current code or one of
    the user's recovery codes. Returns "totp" or "recovery_code", or None when it is neither.

    Each code works once: the time step of a TOTP code is remembered, and a recovery code
    is marked used; both with a conditional UPDATE, so two requests racing with the same
    code cannot both succeed. A used recovery code is audited; a TOTP sign-in is ordinary
    sign-in bookkeeping (like the API token's last use) and is not."""
    now = resolve_now(now)
    if not user.has_two_factor or not user.active:
        return None
    if twofactor.looks_like_recovery_code(code):
        with transaction():
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                       RecoveryCode.code_hash == twofactor.hash_recovery_code(code))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not used:
                return None
            left = db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))
            audit("recovery_code_used", now, user, user_id=user.id, codes_left=left)
        return "recovery_code"
    secret = twofactor.decrypt_secret(user.totp_secret)
    step = twofactor.matching_step(secret, code, now) if secret else None
    if step is None:
        return None
    with transaction():
        taken = db.session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.expire(user, ["totp_last_step"])
    return "totp" if taken else None


def record_sso_refusal(email: str | None, reason: str, *, user: User | None = None,
                       now: datetime | None = None) -> None:
    """A single sign-on that did not log anyone in (unknown, unverified or inactive email,
    a refused or tampered answer from the identity provider): kept in the audit log."""
    now = resolve_now(now)
    with transaction():
        audit("sso_login_refused", now, None, user_id=user.id if user is not None else None,
              email=(email or "")[:254], reason=reason[:200])
