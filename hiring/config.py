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
    # create_app adds what each database needs: SQLite a lock timeout; PostgreSQL is
    # checked for closed connections without a round trip (hiring.postgresql); any other database
    # gets SQLAlchemy's pre-ping.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
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
    # Data protection (hiring.privacy): the privacy notice every candidate email links to
    # (default: the app's own /privacy page), and how long the signed "leave the talent
    # pool" link in those emails stays valid (seconds).
    PRIVACY_URL: str | None = None
    PRIVACY_LINK_MAX_AGE = 90 * 86400
    # Sessions (hiring.security): a session ends after this many seconds without a request,
    # and this many seconds after its login, whatever happens in between.
    SESSION_IDLE_TIMEOUT = 8 * 3600
    SESSION_LIFETIME = 7 * 86400
    # The login throttle (hiring.security), counted in the database per account and per
    # client address: free failures, then waits of 2, 4, 8 … seconds up to the maximum;
    # failures older than the window are forgotten.
    LOGIN_THROTTLE_ENABLED = True
    LOGIN_THROTTLE_ACCOUNT_FREE = 5
    LOGIN_THROTTLE_ADDRESS_FREE = 20
    LOGIN_THROTTLE_MAX_DELAY = 15 * 60
    LOGIN_THROTTLE_WINDOW = 24 * 3600
    # How many proxies (load balancer, nginx) stand in front of the app and append to
    # X-Forwarded-For. 0: the header is ignored and the client is the TCP peer.
    PROXY_COUNT = 0
    WTF_CSRF_TIME_LIMIT = None  # forms stay valid for the session; long debriefs are normal
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE: bool | None = None  # None: secure in production only
    REMEMBER_COOKIE_SECURE: bool | None = None
    SESSION_COOKIE_SAMESITE = "Lax"
    # Single sign-on with OpenID Connect (hiring.sso); off while OIDC_ISSUER is empty.
    OIDC_ISSUER: str | None = None  # e.g. https://accounts.google.com
    OIDC_DISCOVERY_URL: str | None = None  # default: {OIDC_ISSUER}/.well-known/openid-configuration
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_NAME = "single sign-on"  # the button reads "Sign in with {OIDC_NAME}"
    OIDC_SCOPES = "openid email profile"
    OIDC_TIMEOUT = 10  # seconds, for the discovery document, the keys and the token request
    OIDC_ONLY = False  # true: password sign-in only for BREAK_GLASS_EMAIL
    BREAK_GLASS_EMAIL: str | None = None
    HSTS_SECONDS = 365 * 24 * 3600  # Strict-Transport-Security in production (0 = none)
    # The Reports page aggregates the whole period (hundreds of milliseconds at 100k
    # applications): a worker reuses what it computed until any change is recorded (a new
    # audit event, application or promise) or this many seconds pass. 0: always compute.
    REPORTS_CACHE_SECONDS = 60
    # Without a rollup to read (none built yet, or one in another time zone) the figures are
    # computed live up to this many applications (~1 s at 100k); past it the page and the
    # API say they are being prepared (hiring.reports.rollup.NotReady). None: no limit.
    REPORTS_LIVE_LIMIT: int | None = 100_000
    # The process policy's initial values; afterwards an admin edits them in Settings.
    POLICY = asdict(Policy())
