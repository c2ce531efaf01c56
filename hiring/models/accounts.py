"""The team's accounts: users, their sessions, tokens, recovery codes, the login throttle,
and the settings they change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .. import pipeline
from ..extensions import db
from ..pipeline import Role
from .types import UTCDateTime, one_of, utcnow

# Who owns applications (hiring.views.filters.OWNER_ROLES), as the owners' index says it.
OWNER_ROLES_SQL = "role IN ('recruiter', 'admin')"


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        one_of("role", Role),
        # The owners in name order (the Reports page's owner filter; migration f3b7d2c9a1e5).
        Index("ix_user_owner_name", "name", "id", sqlite_where=text(OWNER_ROLES_SQL),
              postgresql_where=text(OWNER_ROLES_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor sign-in (hiring.twofactor): the TOTP secret encrypted with a key derived
    # from SECRET_KEY, when it was enabled, and the last time step used (no replays).
    totp_secret: Mapped[str | None] = mapped_column(String(500))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return self.active

    def can(self, action: pipeline.Action | str) -> bool:
        return pipeline.can(self.role, action)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app; stored hashed (sha256)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the secret
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """One signed-in browser. The session cookie holds a random secret; this row holds its
    hash, so a session ends for every worker the moment ``ended_at`` is set, and a copied
    cookie is worth nothing afterwards. Written by services.start_session / end_sessions."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's secret
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    method: Mapped[str] = mapped_column(String(20), default="password")  # how the login was completed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))  # logout, password_changed, deactivated, ...
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed sign-in attempts per account and per client address, shared by every worker
    and host. ``key`` is a hash of ("account", email) or ("address", ip), so emails typed
    at the login form (sometimes a password by mistake) are not stored."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """Admin-editable settings (the process policy), seeded from config."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
