"""Command-line adapters: `flask --app app users …`, `demo`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import services
from .demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from .extensions import db
from .models import ReportRollup, User, audit_guard_lifted, utcnow
from .pipeline import DomainError, Role

users_cli = AppGroup("users", help="Manage the hiring team's accounts.")


def _fail(exc: DomainError) -> None:
    details = "".join(f"\n  {field}: {message}" for field, message in getattr(exc, "fields", {}).items())
    raise click.ClickException(f"{exc}{details}")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as shown in the UI and the audit log.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="Prompted for when not given.")
def create_user_command(email: str, name: str, role: str, password: str | None) -> None:
    """Create a user of the hiring team."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(email, name, role, password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


def _user_by_email(email: str) -> User:
    """The user the CLI was given, or a clear error."""
    try:
        user = db.session.scalar(select(User).where(User.email == services.normalise_email(email)))
    except DomainError as exc:
        _fail(exc)
    if user is None:
        raise click.ClickException(f"No user with the email {email}. `flask --app app users list` shows them.")
    return user


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", help="Prompted for when not given.")
def set_password_command(email: str, password: str | None) -> None:
    """Set a new password (e.g. for the only admin, who has nobody to ask)."""
    user = _user_by_email(email)
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        services.update_user(user, password=password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"New password set for {user.email}.")


@users_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Turn off someone's two-factor sign-in (lost phone and recovery codes; e.g. the only admin)."""
    user = _user_by_email(email)
    if not user.has_two_factor:
        click.echo(f"{user.email} has no two-factor sign-in; nothing to reset.")
        return
    services.reset_two_factor(user, actor=None)
    click.echo(f"Two-factor sign-in of {user.email} is reset; they sign in with their password and set it up again.")


@users_cli.command("list")
def list_users_command() -> None:
    """List users with their role and status."""
    for user in db.session.scalars(select(User).order_by(User.id)):
        click.echo(f"{user.id}\t{user.email}\t{user.name}\t{user.role}\t{'active' if user.active else 'inactive'}")


def init_app(app: Flask) -> None:
    from .privacy_cli import candidates_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(candidates_cli)

    @app.cli.command("demo")
    @click.option("--seed", default=7, show_default=True, help="Random seed, for repeatable data.")
    @click.option("--applications", type=click.IntRange(min=1), default=None,
                  help="Generate a large synthetic dataset with this many applications over two years "
                       "(bulk inserts) instead of the small demo.")
    @click.option("--lean", is_flag=True,
                  help="With --applications: leave out the history of closed applications (interviews, "
                       "feedback, events, emails), for benchmarks with millions of rows.")
    def demo_command(seed: int, applications: int | None, lean: bool) -> None:
        """Load demo data (users, positions, ~40 applications) into an empty database."""
        if not _database_is_empty():
            message = "The database is not empty; demo data is only loaded into an empty one."
            url = db.engine.url
            if url.get_backend_name() == "sqlite" and url.database:
                message += (f" To start over with the demo, stop the server and delete {url.database} "
                            "and its -wal and -shm files "
                            "(this deletes all its data), then run the demo again.")
            raise click.ClickException(message)
        if applications is not None:
            _generate_command(applications, seed, lean)
            return
        if lean:
            raise click.UsageError("--lean only applies with --applications.")
        try:
            counts = load_demo(utcnow(), seed=seed)
        except BaseException as exc:
            # Every service commits on its own; the database was empty, so emptying it again
            # undoes a half-loaded demo.
            db.session.rollback()
            _empty_all_tables()
            if isinstance(exc, DomainError):
                _fail(exc)
            raise
        click.echo(f"Loaded {counts['applications']} applications in {counts['positions']} positions.")
        click.echo(f"Log in as any of these with the password '{DEMO_PASSWORD}':")
        for email, name, role in DEMO_USERS:
            click.echo(f"  {email:<22} {role:<12} {name}")


def _generate_command(applications: int, seed: int, lean: bool) -> None:
    import time

    from . import generator, reports
    from .settings import get_policy

    started = time.perf_counter()
    with click.progressbar(length=applications, label="Generating applications",
                           show_pos=True, show_eta=True) as bar:
        try:
            counts = generator.generate(db.session, applications, now=utcnow(), policy=get_policy(), seed=seed,
                                        lean=lean, progress=bar.update)
        except generator.DatabaseNotEmpty as exc:
            raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    click.echo(f"Wrote {counts['application']:,} applications in {elapsed:.1f} s:")
    for table, count in sorted(counts.items()):
        click.echo(f"  {table:<18} {count:>10,}")
    started = time.perf_counter()
    reports.rollup.refresh(utcnow(), get_policy(), force=True)  # the Reports page reads it at once
    click.echo(f"Built the reports' rollup in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Log in as admin@example.com, rita@example.com, mona@example.com … "
               f"with the password '{generator.DEMO_PASSWORD}'.")


# The scheduler's own bookkeeping (and the reports' rollup it builds) may exist before any
# data (`make run` first); it is not "data" for the emptiness check. Undoing a demo load
# deletes the rollup's state row too: its rows count records that are gone, and a refresh
# only recomputes the days of what it sees recorded (hiring.reports.changes), so the next
# one rebuilds every row; until then the reports are computed live.
OPERATIONAL_TABLES = {"job_run", "report_rollup", "report_application_day", "report_promise_day",
                      "report_duration_day"}


def _data_tables() -> list:
    return [t for t in db.metadata.sorted_tables if t.name not in OPERATIONAL_TABLES]


def _database_is_empty() -> bool:
    return all(db.session.scalar(select(func.count()).select_from(table)) == 0 for table in _data_tables())


def _empty_all_tables() -> None:
    with db.engine.begin() as connection, audit_guard_lifted(connection):
        for table in reversed(_data_tables()):
            connection.execute(table.delete())
        connection.execute(ReportRollup.__table__.delete())
