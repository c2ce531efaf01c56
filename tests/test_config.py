"""Configuration layers: defaults → instance/config.py → HIRING_* env (+ DATABASE_URL) → test config."""

from __future__ import annotations

import os
import stat

import pytest

import hiring
from hiring import ConfigError, create_app, engine_options
from hiring.config import Defaults


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A fresh instance folder and an environment without any HIRING_* or DATABASE_URL."""
    for key in list(os.environ):
        if key.startswith("HIRING_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    folder = tmp_path / "instance"
    monkeypatch.setenv("HIRING_INSTANCE_PATH", str(folder))
    return folder


def test_development_secret_key_is_generated_once_and_kept(instance):
    first = create_app()
    key_file = instance / "secret_key"
    assert key_file.exists()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # only the app's user may read it
    second = create_app()
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert [p.name for p in instance.iterdir() if p.name.startswith(".secret_key")] == []


def test_empty_secret_key_file_is_a_clear_error(instance):
    instance.mkdir()
    (instance / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="secret_key is empty. Delete it"):
        create_app()


def test_production_without_secret_key_refuses_to_start(instance, monkeypatch):
    monkeypatch.setenv("HIRING_ENV", "production")
    with pytest.raises(ConfigError) as info:
        create_app()
    assert "HIRING_SECRET_KEY is not set" in str(info.value)
    assert "HIRING_ENV=production" in str(info.value)
    assert not (instance / "secret_key").exists()  # no silent fallback to a generated key


def test_production_with_secret_key_uses_secure_cookies(instance, monkeypatch):
    monkeypatch.setenv("HIRING_ENV", "production")
    monkeypatch.setenv("HIRING_SECRET_KEY", "s3cret-from-the-environment-0123456789")
    app = create_app()
    assert app.config["SECRET_KEY"] == "s3cret-from-the-environment-0123456789"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    monkeypatch.setenv("HIRING_SESSION_COOKIE_SECURE", "false")  # an explicit choice is respected
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


def test_development_cookies_work_over_plain_http(instance):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


def test_layers_defaults_file_environment_test_config(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text(
        "COMPANY_NAME = 'From the file'\n"
        "BASE_URL = 'https://hiring.from-file.example'\n"
        "MAIL_PORT = 2525\n"
        "SQLALCHEMY_DATABASE_URI = 'sqlite:////tmp/from-file.sqlite'\n"
    )
    app = create_app()
    assert app.config["COMPANY_NAME"] == "From the file"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["MAIL_DEFAULT_SENDER"] == Defaults.MAIL_DEFAULT_SENDER  # untouched default
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-file.sqlite"

    monkeypatch.setenv("HIRING_COMPANY_NAME", "From the environment")
    monkeypatch.setenv("HIRING_MAIL_PORT", "587")  # JSON-decoded by from_prefixed_env
    monkeypatch.setenv("HIRING_SCHEDULER_ENABLED", "false")
    app = create_app()
    assert app.config["COMPANY_NAME"] == "From the environment"
    assert app.config["MAIL_PORT"] == 587
    assert app.config["SCHEDULER_ENABLED"] is False
    assert app.config["BASE_URL"] == "https://hiring.from-file.example"  # the file still counts

    app = create_app({"COMPANY_NAME": "From the test"})
    assert app.config["COMPANY_NAME"] == "From the test"
    assert app.config["MAIL_PORT"] == 587


def test_default_database_and_uploads_live_in_instance(instance):
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(instance / "hiring.sqlite")
    assert app.config["UPLOAD_FOLDER"] == str(instance / "uploads")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 30}
    assert "connect_args" not in Defaults.SQLALCHEMY_ENGINE_OPTIONS  # the shared default is not mutated
    assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")  # a file: nothing to ping


def test_only_a_database_without_a_checkout_check_pings(instance):
    """PostgreSQL's pooled connections are checked at checkout without a round trip
    (tests/test_postgresql.py); a database we have no such check for pings."""
    postgresql = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://hr@db.example/hiring"})
    assert not postgresql.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
    assert engine_options("mysql+pymysql://hr@db.example/hiring", None) == {"pool_pre_ping": True}
    # PostgreSQL sessions run in UTC, keeping the options the URL gives.
    given = engine_options("postgresql+psycopg://hr@db/hiring?options=-csearch_path%3Dhr", None)
    assert given["connect_args"]["options"] == "-csearch_path=hr -c TimeZone=UTC"
    assert engine_options("mysql+pymysql://db/h", {"pool_pre_ping": False}) == {"pool_pre_ping": False}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://hr:pw@db.example:5432/hiring", "postgresql+psycopg://hr:pw@db.example:5432/hiring"),
        ("postgresql://hr@db.example/hiring", "postgresql+psycopg://hr@db.example/hiring"),
        ("postgresql+psycopg://hr@db.example/hiring", "postgresql+psycopg://hr@db.example/hiring"),
        ("sqlite:////var/lib/hiring.sqlite", "sqlite:////var/lib/hiring.sqlite"),
    ],
)
def test_database_url_is_normalised_to_psycopg(instance, monkeypatch, url, expected):
    monkeypatch.setenv("DATABASE_URL", url)
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == expected


def test_database_url_beats_file_and_prefixed_env_but_not_test_config(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text("SQLALCHEMY_DATABASE_URI = 'sqlite:////tmp/from-file.sqlite'\n")
    monkeypatch.setenv("HIRING_SQLALCHEMY_DATABASE_URI", "sqlite:////tmp/from-prefixed.sqlite")
    monkeypatch.setenv("DATABASE_URL", "postgres://hr@db.example/hiring")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://hr@db.example/hiring"
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgres://test@localhost/test"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://test@localhost/test"


def test_policy_from_environment_does_not_leak_into_other_apps(instance, monkeypatch):
    monkeypatch.setenv("HIRING_POLICY__applied_days", "10")
    assert create_app().config["POLICY"]["applied_days"] == 10
    assert Defaults.POLICY["applied_days"] == 14
    monkeypatch.delenv("HIRING_POLICY__applied_days")
    assert create_app().config["POLICY"]["applied_days"] == 14


def test_invalid_policy_in_config_is_a_startup_error(instance, monkeypatch):
    monkeypatch.setenv("HIRING_POLICY__timezone", '"Mars/Olympus"')
    with pytest.raises(ConfigError, match="POLICY setting is invalid.*timezone: Unknown time zone"):
        create_app()


def test_config_error_is_exported():
    assert hiring.ConfigError is ConfigError
    assert issubclass(ConfigError, RuntimeError)


# --- issue 11, item 9 -------------------------------------------------------------------------

PRODUCTION_KEY = "k" * 32


@pytest.mark.parametrize("value, expected", [("Production", "production"), (" PRODUCTION ", "production"),
                                             ("Development", "development")])
def test_hiring_env_is_case_insensitive(instance, monkeypatch, value, expected):
    monkeypatch.setenv("HIRING_ENV", value)
    monkeypatch.setenv("HIRING_SECRET_KEY", PRODUCTION_KEY)
    app = create_app()
    assert app.config["ENV"] == expected
    assert app.config["SESSION_COOKIE_SECURE"] is (expected == "production")


@pytest.mark.parametrize("value", ["prod", "staging", "productoin"])
def test_an_unknown_hiring_env_refuses_to_start(instance, monkeypatch, value):
    monkeypatch.setenv("HIRING_ENV", value)
    with pytest.raises(ConfigError, match=f"HIRING_ENV='{value}' is unknown: use development or production"):
        create_app()


def test_production_needs_a_secret_key_of_32_characters(instance, monkeypatch):
    monkeypatch.setenv("HIRING_ENV", "production")
    monkeypatch.setenv("HIRING_SECRET_KEY", "k" * 31)
    with pytest.raises(ConfigError, match="too short \\(31 characters\\).*at least 32"):
        create_app()
    monkeypatch.setenv("HIRING_SECRET_KEY", PRODUCTION_KEY)
    assert create_app().config["SECRET_KEY"] == PRODUCTION_KEY


def test_hsts_in_production_only(instance, monkeypatch):
    assert "Strict-Transport-Security" not in create_app().test_client().get("/healthz").headers
    monkeypatch.setenv("HIRING_ENV", "production")
    monkeypatch.setenv("HIRING_SECRET_KEY", PRODUCTION_KEY)
    client = create_app().test_client()
    for path in ("/healthz", "/login", "/api/v1/openapi.json"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000", path


def test_instance_folder_database_and_uploads_are_private(instance):
    from flask_migrate import upgrade

    from hiring import services
    from hiring.extensions import db
    from hiring.models import Application, utcnow

    from .factories import Factory

    previous = os.umask(0o022)  # the usual umask: without care everything is world-readable
    try:
        app = create_app({"SCHEDULER_ENABLED": False, "TESTING": True})
        database = instance / "hiring.sqlite"
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        with app.app_context():
            upgrade()
            assert stat.S_IMODE(database.stat().st_mode) == 0o600
            for sidecar in instance.glob("hiring.sqlite-*"):
                assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar
            application: Application = Factory(utcnow()).application()
            document = services.add_document(application, filename="cv.pdf", data=b"%PDF-1.4 a CV", actor=None)
            uploads = instance / "uploads"
            assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
            assert stat.S_IMODE(services.document_path(document).stat().st_mode) == 0o600
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(previous)


@pytest.mark.parametrize("package, name", [("hiring.views", "emails"), ("hiring", "api"), ("hiring", "jobs")])
def test_a_missing_module_stops_the_app_instead_of_being_skipped(instance, monkeypatch, package, name):
    """Blueprints and modules are wired by name: one that cannot be imported is an error at
    startup, not a page or an API that silently is not there."""
    import importlib
    import sys

    monkeypatch.delattr(importlib.import_module(package), name, raising=False)
    monkeypatch.setitem(sys.modules, f"{package}.{name}", None)  # as if the file were gone
    with pytest.raises(ImportError, match=f"{package}.{name}"):
        create_app()


def test_every_page_blueprint_and_the_api_are_registered(instance):
    app = create_app()
    assert set(app.blueprints) == {"auth", "dashboard", "candidates", "positions", "interviews", "admin",
                                   "applications", "emails", "reports", "privacy", "api"}


def test_an_app_on_sqlite_does_not_load_psycopg(tmp_path):
    """psycopg costs every worker about 9 MB: only a PostgreSQL URL loads it (hiring.postgresql)."""
    import subprocess
    import sys

    script = ("import sys; from hiring import create_app; "
              f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/h.sqlite'}}); "
              "app.test_client().get('/healthz'); print('psycopg' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={**os.environ, "HIRING_INSTANCE_PATH": str(tmp_path)})
    assert result.stdout.strip().splitlines()[-1] == "False"
