"""Sign-in security for the web UI: server-side sessions and the login throttle.

Sessions. The signed session cookie carries a random secret; the ``user_session`` row
with its hash says whether that session still counts. Every request looks the row up
together with its user (one statement, the one that loaded the user before), so ending a
session — logout, a new password, a deactivation — takes effect at once in every worker
and on every host, and a copied cookie is worth nothing afterwards. A session also ends
after ``SESSION_IDLE_TIMEOUT`` seconds without a request (default 8 hours) and
``SESSION_LIFETIME`` seconds after the login (default 7 days). ``last_seen_at`` is
written at most once a minute per session, in its own short transaction (bookkeeping,
like an API token's ``last_used_at``), so pages stay reads.

Completing a login. Every way of signing in — the password form, a second factor, single
sign-on, the first-run setup — ends with ``start_session(user, method=...)``, called once
every factor has been checked. It records the session (with an audit event), gives the
browser a fresh cookie (no session fixation) and resets the account's failure count.

Throttle. Failed attempts are counted in the database (``login_throttle``), per account
(the email typed, whether or not it exists) and per client address, so every worker and
host sees the same counts. Up to ``LOGIN_THROTTLE_ACCOUNT_FREE`` failures for an account
(``LOGIN_THROTTLE_ADDRESS_FREE`` from an address) cost nothing; from then on each failure
makes the next attempt wait twice as long (2, 4, 8 … seconds, at most
``LOGIN_THROTTLE_MAX_DELAY``). An attempt during the wait is refused without looking at
the password — a correct one too — with 429 and ``Retry-After``. A successful login
resets the account's count; failures older than ``LOGIN_THROTTLE_WINDOW`` are forgotten.
The client address is ``request.remote_addr``: behind proxies set ``PROXY_COUNT`` so
that Werkzeug's ProxyFix takes it from that many ``X-Forwarded-For`` entries.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, g, has_request_context, request, session
from flask_login import login_user, logout_user
from sqlalchemy import Connection, Select, String, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import services, settings
from .extensions import db
from .models import LoginThrottle, User, UserSession, utcnow

SESSION_KEY = "hiring_sid"  # the cookie's session secret (Flask-Login keeps its own "_user_id")
# last_seen_at is written at most this often per session, so reads stay reads.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


# Settings that must be whole numbers: a typo in the environment is a startup error, not a
# 500 on every page.
SETTINGS = {
    "SESSION_IDLE_TIMEOUT": 1, "SESSION_LIFETIME": 1, "LOGIN_THROTTLE_ACCOUNT_FREE": 1,
    "LOGIN_THROTTLE_ADDRESS_FREE": 1, "LOGIN_THROTTLE_MAX_DELAY": 1, "LOGIN_THROTTLE_WINDOW": 1, "PROXY_COUNT": 0,
}


def init_app(app: Flask) -> None:
    """Checks the settings above and, behind ``PROXY_COUNT`` proxies, takes the client's
    address and scheme from that many X-Forwarded-For / -Proto entries (the rightmost:
    the ones our proxies appended). With 0, the default, the headers are ignored, since
    any client can send them."""
    from . import ConfigError

    for name, minimum in SETTINGS.items():
        value = app.config.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{name} must be a whole number, at least {minimum} (HIRING_{name}=…), "
                              f"not {value!r}.")
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def now() -> datetime:
    """The clock of sessions and the throttle (tests move it)."""
    return utcnow()


def client_address() -> str:
    """The client's address as the app sees it (after ProxyFix, when PROXY_COUNT is set)."""
    return (request.remote_addr or "") if has_request_context() else ""


# --- sessions -----------------------------------------------------------------------------------


def start_session(user: User, *, method: str = "password") -> UserSession:
    """Completes a login: the one call for the password form, a second factor, single
    sign-on and the first-run setup, once every factor has been checked."""
    row, secret = services.start_session(user, method=method, user_agent=request.user_agent.string,
                                         ip_address=client_address(), now=now())
    session.clear()  # no session fixation: nothing from before the login survives
    login_user(user)
    session[SESSION_KEY] = secret
    reset_account(user.email)
    return row


def end_all_sessions(user: User) -> int:
    """Logout: ends every session of ``user`` (this browser's and any other's), then this
    browser's cookie."""
    count = services.end_sessions(user, reason="logout", actor=user, now=now())
    logout_user()
    session.clear()
    return count


METHOD_LABELS = {"password": "Password", "setup": "First-run setup", "totp": "Password and code",
                 "oidc": "Single sign-on"}


def live_sessions(user: User, limit: int = 50) -> list[UserSession]:
    """The sessions of ``user`` that still count, most recently active first."""
    moment = now()
    config = current_app.config
    return list(db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None),
            UserSession.created_at > moment - timedelta(seconds=config["SESSION_LIFETIME"]),
            UserSession.last_seen_at > moment - timedelta(seconds=config["SESSION_IDLE_TIMEOUT"]),
        ).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()).limit(limit)))


def current_session() -> UserSession | None:
    """This request's session row (after the user was loaded)."""
    return g.get("hiring_session")


def duration(seconds: float) -> str:
    """'8 hours', '7 days', '1 minute', '45 seconds': for messages."""
    seconds = max(1, math.ceil(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = math.ceil(seconds / size) if unit == "minute" else seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _end_message(reason: str) -> str | None:
    config = current_app.config
    return {
        "logout": "You were logged out (here or on another device). Log in again.",
        "password_changed": "Your password was changed, which logged you out everywhere. Log in with the new one.",
        "deactivated": "Your account has been deactivated. Ask an admin if this is a mistake.",
        "idle": f"You were logged out after {duration(config['SESSION_IDLE_TIMEOUT'])} without activity. "
                "Log in again.",
        "lifetime": f"Sessions last at most {duration(config['SESSION_LIFETIME'])}; yours has ended. Log in again.",
    }.get(reason)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a session that still counts, or None (the
    session ends: the cookie is cleared and the login page says why)."""
    secret = session.get(SESSION_KEY)
    if not isinstance(secret, str) or not secret:
        return _forget(None)  # a session from before server-side sessions, or a forged one
    # The settings rows come along (scalar subqueries): every page needs them, and one
    # statement costs less than three.
    row = db.session.execute(_session_statement(), {"token_hash": services.hash_token(secret)}).first()
    if row is None or str(row.User.id) != str(user_id):
        return _forget(None)
    record, user = row.UserSession, row.User
    settings.remember_stored(row[2:])
    moment = now()
    config = current_app.config
    if record.ended_at is not None:
        return _forget(record.end_reason)
    if not user.active:
        return _forget("deactivated")
    if moment - record.created_at >= timedelta(seconds=config["SESSION_LIFETIME"]):
        return _forget("lifetime")
    if moment - record.last_seen_at >= timedelta(seconds=config["SESSION_IDLE_TIMEOUT"]):
        return _forget("idle")
    if moment - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        # On its own short transaction: the request's session is not committed (nor expired) by it.
        with db.engine.begin() as connection:
            connection.execute(update(UserSession).where(UserSession.id == record.id, UserSession.ended_at.is_(None))
                               .values(last_seen_at=moment))
        db.session.expire(record, ["last_seen_at"])
    g.hiring_session = record
    return user


@functools.cache
def _session_statement() -> Select:
    """load_user's statement, built once: building it (and its cache key) cost as much as
    running it, on every page."""
    return (select(UserSession, User, *settings.stored_values()).join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == bindparam("token_hash", type_=String)))


def _forget(reason: str | None) -> None:
    session.clear()
    message = _end_message(reason) if reason else None
    if message:
        flash(message, "info")
        g.hiring_session_ended = reason
    return None


def session_ended() -> str | None:
    """Why this request's session just ended (the login wall skips its generic message)."""
    return g.get("hiring_session_ended")


# --- the login throttle ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """An attempt refused by the throttle: retry after ``retry_after`` seconds."""

    retry_after: int

    @property
    def message(self) -> str:
        return (f"Too many failed attempts. For your safety, try again in {duration(self.retry_after)}. "
                "Forgot your password? Ask an admin to set a new one.")


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


def _address_value(address: str) -> str:
    """IPv6 clients are counted by their /64 (one customer's network), IPv4 by address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(email: str | None, address: str | None) -> dict[str, int]:
    """The throttle keys of an attempt, each with its number of free failures."""
    config = current_app.config
    keys: dict[str, int] = {}
    if email:
        keys[_key("account", email.strip().lower())] = int(config["LOGIN_THROTTLE_ACCOUNT_FREE"])
    if address:
        keys[_key("address", _address_value(address))] = int(config["LOGIN_THROTTLE_ADDRESS_FREE"])
    return keys


def _enabled() -> bool:
    return bool(current_app.config.get("LOGIN_THROTTLE_ENABLED", True))


def delay_after(failures: int, free: int, max_delay: int) -> int:
    """Seconds the next attempt waits after ``failures`` failures, the first ``free`` of
    them free: 0, …, 0, 2, 4, 8, … capped at ``max_delay``."""
    if failures < free:
        return 0
    exponent = min(failures - free + 1, 40)  # 2**40 s is far past any cap
    return min(2 ** exponent, max_delay)


def check_throttle(*, email: str | None = None, address: str | None = None) -> Refusal | None:
    """A refusal if the account or the address must still wait; None to go ahead."""
    keys = _keys(email, address)
    if not keys or not _enabled():
        return None
    moment = now()
    until = db.session.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > moment)
        .order_by(LoginThrottle.blocked_until.desc()).limit(1))
    if until is None:
        return None
    return Refusal(max(1, math.ceil((until - moment).total_seconds())))


def count_failure(*, email: str | None = None, address: str | None = None) -> Refusal | None:
    """Counts a failed attempt for the account and the address (committed at once, on its
    own connection, whatever becomes of the request); returns the wait it causes, if any."""
    keys = _keys(email, address)
    if not keys or not _enabled():
        return None
    config = current_app.config
    moment = now()
    forget_before = moment - timedelta(seconds=int(config["LOGIN_THROTTLE_WINDOW"]))
    max_delay = int(config["LOGIN_THROTTLE_MAX_DELAY"])
    longest = 0
    with db.engine.begin() as connection:
        for key, free in sorted(keys.items()):  # one order for everyone: no deadlock between two workers
            failures = _count(connection, key, moment, forget_before)
            delay = delay_after(failures, free, max_delay)
            if delay:
                connection.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                   .values(blocked_until=moment + timedelta(seconds=delay)))
                longest = max(longest, delay)
    return Refusal(longest) if longest else None


def _count(connection: Connection, key: str, moment: datetime, forget_before: datetime) -> int:
    """One more failure for ``key``, atomically (INSERT … ON CONFLICT DO UPDATE … RETURNING
    on both databases); a count whose last failure is older than the window starts again."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    statement = insert(table).values(key=key, failures=1, last_failure_at=moment, blocked_until=None)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((table.c.last_failure_at < forget_before, 1), else_=table.c.failures + 1),
            "last_failure_at": moment,
        },
    ).returning(table.c.failures)
    return int(connection.execute(statement).scalar_one())


def reset_account(email: str) -> None:
    """A successful login forgets the account's failures (not the address's)."""
    if not _enabled():
        return
    key = _key("account", email.strip().lower())
    with db.engine.begin() as connection:
        connection.execute(LoginThrottle.__table__.delete().where(LoginThrottle.key == key))
