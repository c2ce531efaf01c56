"""Configuration defaults. Layers: these → instance/config.py → HIRING_* env → test config."""

from __future__ import annotations

from dataclasses import asdict

from .pipeline import Policy


class Defaults:
    # HIRING_ENV: development or production, in any case (anything else refuses to start).
    # Production needs HIRING_SECRET_KEY (32+ characters); development generates one into instance/.
    ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite in instance/
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024 + 64 * 1024  # a 10 MB document plus form fields
    API_MAX_BODY_BYTES = 1024 * 1024
    BASE_URL = "http://127.0.0.1:5000"
    COMPANY_NAME = "embeddeers"
    # Flask-Mail. No MAIL_SERVER: the outbox keeps emails as "not delivered".
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "Hiring team <hiring@localhost>"
    MAIL_TIMEOUT = 10
    SCHEDULER_ENABLED = True  # in `flask run` (development); production runs `flask scheduler`
    UPLOAD_FOLDER: str | None = None  # default: instance/uploads
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "10 per minute"
    WTF_CSRF_TIME_LIMIT = None  # forms stay valid for the session; long debriefs are normal
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure in production only
    REMEMBER_COOKIE_SECURE: bool | None = None
    SESSION_COOKIE_SAMESITE = "Lax"
    HSTS_SECONDS = 365 * 24 * 3600  # Strict-Transport-Security in production (0 = none)
    # The process policy's initial values; afterwards an admin edits them in Settings.
    POLICY = asdict(Policy())
