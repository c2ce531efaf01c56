"""The hiring pipeline application: create_app() builds it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from .config import Defaults

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The app cannot start with this configuration; the message says how to fix it."""


ENVIRONMENTS = ("development", "production")
SECRET_KEY_MIN_LENGTH = 32


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("HIRING_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    _load_config(app, test_config)

    from . import models  # noqa: F401  (register the tables with the metadata)
    from .extensions import csrf, db, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import api, cli, jobs, security, sso, views, web

    sso.init_app(app)
    web.init_app(app)  # request hooks, template filters, error pages
    cli.init_app(app)
    views.init_app(app)  # the page blueprints, each by name
    api.init_app(app)
    jobs.init_app(app)
    security.init_app(app)  # checks its settings; ProxyFix when HIRING_PROXY_COUNT is set
    return app


def _load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(Defaults)
    # A copy: HIRING_POLICY__applied_days=10 edits this dict in place, and the class
    # attribute it came from is shared by every app in the process.
    app.config["POLICY"] = dict(Defaults.POLICY)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("HIRING")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(os.environ["DATABASE_URL"])
    if test_config:
        app.config.update(test_config)

    # Owner only (0700): it holds the secret key, the SQLite database and the uploads.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "hiring.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")

    production = _check_environment(app) == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError(
                "HIRING_SECRET_KEY is not set. In production (HIRING_ENV=production) set it to a "
                "long random value, e.g.: export HIRING_SECRET_KEY=$(python -c "
                "'import secrets; print(secrets.token_hex(32))')"
            )
        app.config["SECRET_KEY"] = _development_secret_key(Path(app.instance_path))
    elif production and len(str(app.config["SECRET_KEY"])) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"HIRING_SECRET_KEY is too short ({len(str(app.config['SECRET_KEY']))} characters). In production "
            f"it must have at least {SECRET_KEY_MIN_LENGTH} random characters, e.g.: export HIRING_SECRET_KEY=$("
            "python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    # Secure cookies in production unless explicitly configured (None = not configured;
    # Flask's own default of False would otherwise win silently).
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(key) is None:
            app.config[key] = production
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    _check_policy(app)
    _create_sqlite_file_private(app.config["SQLALCHEMY_DATABASE_URI"])


def engine_options(url: str, configured: dict[str, Any] | None) -> dict[str, Any]:
    """The configured engine options, plus what the database needs (configured ones win)."""
    options = dict(configured or {})
    if url.startswith("sqlite"):
        # SQLite waits for a writer instead of failing at once (scheduler beside the web).
        # A file has no connection to lose: nothing to ping.
        options.setdefault("connect_args", {"timeout": 30})
    elif url.startswith("postgresql"):
        # psycopg's cursor with a description built only when read (postgresql.Cursor).
        # No pre-ping: closed connections are found at checkout without a round trip
        # (postgresql.replace_closed_connection).
        # Sessions in UTC: psycopg then hands out timestamps in datetime's own UTC, which the
        # models keep as they are; in the server's zone (Debian: Etc/UTC, a ZoneInfo) each
        # one was converted again. No SQL here depends on the session's zone.
        from sqlalchemy.engine import make_url

        from .postgresql import Cursor

        given = make_url(url).query.get("options") or ""
        options["connect_args"] = {"cursor_factory": Cursor, "options": f"{given} -c TimeZone=UTC".strip(),
                                   **options.get("connect_args", {})}
    else:
        options.setdefault("pool_pre_ping", True)  # another database: SELECT 1 at checkout
    return options


def _check_environment(app: Flask) -> str:
    """HIRING_ENV, in any case; a value we do not know (a typo of production) refuses to start
    rather than run as development (generated key, no secure cookies, no HSTS)."""
    value = str(app.config.get("ENV") or "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise ConfigError(f"HIRING_ENV={app.config.get('ENV')!r} is unknown: use "
                          + " or ".join(ENVIRONMENTS) + ".")
    app.config["ENV"] = value
    return value


def _create_sqlite_file_private(url: str) -> None:
    """A new SQLite database file is created readable by the owner only (0600); SQLite gives
    its -wal and -shm files the same mode. An existing file is left as it is."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return
    path = Path(parsed.database)
    if path.exists() or not path.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # another process (the scheduler beside the web) was first
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _check_policy(app: Flask) -> None:
    """A bad policy in the config is a startup error, not a failure on every page."""
    from .pipeline import InvalidInput, Policy

    try:
        Policy.from_mapping(app.config.get("POLICY") or {})
    except InvalidInput as exc:
        details = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
        raise ConfigError(f"The POLICY setting is invalid ({details}).") from None


def _development_secret_key(instance: Path) -> str:
    """Generated once and kept in instance/, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        # Written aside and linked into place: the web server and the scheduler may start
        # together, and neither may ever read a half-written (or a second, different) key.
        tmp = instance / f".secret_key.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first; everyone uses its key
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty. Delete it and start again to generate a new key.")
    return key


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// should use psycopg 3, the driver we install.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url
