"""Command-line adapters: `flask --app app users …`, `demo`."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import pipeline, services
from .extensions import db
from .models import Application, User, audit_guard_lifted, utcnow
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


# --- demo data ------------------------------------------------------------------------------

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("admin@example.com", "Ada Admin", "admin"),
    ("rita@example.com", "Rita Recruiter", "recruiter"),
    ("robin@example.com", "Robin Recruiter", "recruiter"),
    ("ivan@example.com", "Ivan Interviewer", "interviewer"),
    ("ines@example.com", "Ines Interviewer", "interviewer"),
    ("igor@example.com", "Igor Interviewer", "interviewer"),
    ("mona@example.com", "Mona Manager", "manager"),
]
DEMO_POSITIONS = [
    ("Embedded Software Engineer", "Engineering"),
    ("FPGA Developer", "Engineering"),
    ("Hardware Test Engineer", "Quality"),
    ("Technical Project Manager", "Projects"),
]
FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hamid", "Ida", "Jonas", "Katrin",
               "Leon", "Mia", "Noah", "Olga", "Paul", "Quentin", "Rosa", "Samir", "Tara", "Uwe", "Vera",
               "Wen", "Xaver", "Yara", "Zoe"]
LAST_NAMES = ["Schmidt", "Meyer", "Nguyen", "Kowalski", "Rossi", "Yilmaz", "Fischer", "Okafor", "Weber",
              "Hansen", "Novak", "Berger", "Lang", "Popescu", "Haas", "Santos"]
# How far each demo application gets: a stage and how many days ago it entered it.
DEMO_PLAN = (
    [("applied", d) for d in (1, 3, 6, 10, 13, 15, 17)]
    + [("first_interview", d) for d in (2, 4, 5)]
    + [("first_decision", d) for d in (1, 3, 6, 7, 9, 12)]
    + [("second_interview", d) for d in (2, 5, 11, 13, 16)]
    + [("final_decision", d) for d in (1, 4, 6, 8, 10)]
    + [("offer", d) for d in (2, 6, 9)]
    + [("hired", 20), ("hired", 40), ("rejected", 5), ("rejected", 12), ("rejected", 30),
       ("declined", 15), ("withdrawn", 8), ("withdrawn", 25)]
)


def load_demo(now: datetime, seed: int = 7) -> dict[str, int]:
    """Build realistic histories through the services, with the clock moved back."""
    rng = random.Random(seed)
    users = {}
    for email, name, role in DEMO_USERS:
        users[email] = services.create_user(email, name, role, DEMO_PASSWORD, now=now - timedelta(days=120))
    admin = users["admin@example.com"]
    recruiters = [users["rita@example.com"], users["robin@example.com"]]
    interviewers = [users["ivan@example.com"], users["ines@example.com"], users["igor@example.com"]]
    manager = users["mona@example.com"]
    positions = [
        services.create_position(title, department=dept, owner_id=recruiters[i % 2].id,
                                 hiring_manager_id=manager.id, actor=admin, now=now - timedelta(days=100))
        for i, (title, dept) in enumerate(DEMO_POSITIONS)
    ]
    names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(names)
    competing_done = False
    for index, (target, days_ago) in enumerate(DEMO_PLAN):
        first, last = names[index]
        position = positions[index % len(positions)]
        recruiter = position.owner
        entered = now - timedelta(days=days_ago, hours=rng.randint(1, 8))
        panel = rng.sample(interviewers, 2)
        application = _demo_walk(target, entered, position, recruiter, manager, panel, rng,
                                 name=f"{first} {last}",
                                 email=f"{first}.{last}.{index}@example.org".lower(),
                                 language="de" if index % 3 == 0 else "en")
        _catch_up_delay_notices(application, now)
        if not competing_done and application.stage == "first_decision" and days_ago <= 3:
            services.set_competing_offer(application, deadline=(now + timedelta(days=4)).date(),
                                         actor=recruiter, now=now - timedelta(hours=2))
            competing_done = True
    return {"users": len(users), "positions": len(positions), "applications": len(DEMO_PLAN)}


def _catch_up_delay_notices(application: Application, now: datetime) -> None:
    """What the scheduler would have done meanwhile: each promise that reached its morning
    with nobody acting got its delay notice then (the demo's histories are written one
    application at a time, with the clock moved back)."""
    from .settings import get_policy

    policy = get_policy()
    while application.is_open and pipeline.needs_delay_notice(application.stage, application.promised_at, now,
                                                              policy):
        moment = max(pipeline.delay_notice_at(application.promised_at, policy), application.updated_at)
        services.send_delay_notice(application, now=moment)


def _demo_walk(target: str, entered: datetime, position, recruiter: User, manager: User, panel: list[User],
               rng: random.Random, *, name: str, email: str, language: str) -> Application:
    """Walk one application to ``target``, arriving there at ``entered``."""
    order = ["applied", "first_interview", "first_decision", "second_interview", "final_decision", "offer"]
    closed = {"hired": "offer", "declined": "offer", "rejected": rng.choice(order[:5]),
              "withdrawn": rng.choice(order[:4])}
    last_open = closed.get(target, target)
    steps = order.index(last_open)
    # Each earlier step takes a few days; work backwards from when the target was reached.
    spans = [rng.randint(3, 6) for _ in range(steps + (1 if target in closed else 0))]
    t = entered - timedelta(days=sum(spans))
    app = services.submit_application(position, name=name, email=email, language=language,
                                      talent_pool_consent=rng.random() < 0.3, actor=recruiter,
                                      applied_at=t, now=t)
    spans_iter = iter(spans)

    def advance() -> datetime:
        nonlocal t
        t = t + timedelta(days=next(spans_iter))
        return t

    stage_path = order[1:steps + 1] + ([target] if target in closed else [])
    interview = None
    for stage in stage_path:
        at = advance() if stage != "first_interview" or target != "first_interview" else entered
        if stage == "first_interview":
            # Held at the next step, at least 3 days on: the interview is scheduled before that
            # (an interview marked held before its date would be nonsense in the demo).
            ahead = rng.randint(2, 6) if target == "first_interview" else rng.randint(1, 2)
            interview = services.schedule_interview(
                app, round=1, scheduled_at=at + timedelta(days=ahead, hours=2),
                panel_user_ids=[u.id for u in panel], duration_minutes=60, location="Room Ada, Munich office",
                actor=recruiter, now=at)
        elif stage == "first_decision":
            services.record_interview_held(interview, held_at=at, actor=recruiter, now=at)
            _demo_feedback(interview, panel, at, rng, positive=True)
        elif stage == "second_interview":
            services.decide(app, outcome="advance", rationale="Strong fundamentals; invite.", actor=recruiter,
                            now=at)
            if rng.random() < 0.7 or target != "second_interview":
                ahead = timedelta(days=rng.randint(1, 2), hours=1) if target != "second_interview" else \
                    timedelta(days=rng.randint(0, 12), hours=1)
                interview = services.schedule_interview(
                    app, round=2, scheduled_at=at + ahead,
                    panel_user_ids=[u.id for u in panel] + [manager.id], duration_minutes=90,
                    video_link="https://meet.example.com/interview-" + str(app.id), actor=recruiter,
                    now=at)
        elif stage == "final_decision":
            held = max(at, interview.scheduled_at + timedelta(minutes=interview.duration_minutes))
            services.record_interview_held(interview, held_at=held, actor=recruiter,
                                           now=held + timedelta(hours=2))
            _demo_feedback(interview, [*panel, manager], held + timedelta(hours=2), rng,
                           positive=rng.random() < 0.7)
        elif stage == "offer":
            services.decide(app, outcome="advance", rationale="Clear recommendation; offer agreed.",
                            actor=manager, now=at)
        elif stage == "hired":
            services.record_offer_response(app, accepted=True, actor=recruiter, now=at)
        elif stage == "declined":
            services.record_offer_response(app, accepted=False, note="Chose another offer.", actor=recruiter,
                                           now=at)
        elif stage == "rejected":
            services.decide(app, outcome="reject", rationale="Another candidate fits the team better.",
                            actor=manager if app.stage == "final_decision" else recruiter, now=at)
        elif stage == "withdrawn":
            services.withdraw(app, reason="Candidate accepted a position elsewhere.", actor=recruiter, now=at)
    return app


def _demo_feedback(interview, panel: list[User], at: datetime, rng: random.Random, *, positive: bool) -> None:
    # Leave some feedback missing so the dashboard shows "awaiting feedback".
    for member in panel:
        if rng.random() < 0.15:
            continue
        recommendation = rng.choice(["yes", "strong_yes"]) if positive else rng.choice(["no", "yes", "strong_no"])
        services.submit_feedback(interview, interviewer=member, recommendation=recommendation,
                                 notes="Solid on C and RTOS basics; good questions about the team.",
                                 now=at + timedelta(minutes=30))


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

    from . import generator
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
    click.echo(f"Log in as admin@example.com, rita@example.com, mona@example.com … "
               f"with the password '{generator.DEMO_PASSWORD}'.")


# The scheduler's own bookkeeping may exist before any data (`make run` first); it is
# neither "data" for the emptiness check nor removed when a demo load is undone.
OPERATIONAL_TABLES = {"job_run"}


def _data_tables() -> list:
    return [t for t in db.metadata.sorted_tables if t.name not in OPERATIONAL_TABLES]


def _database_is_empty() -> bool:
    return all(db.session.scalar(select(func.count()).select_from(table)) == 0 for table in _data_tables())


def _empty_all_tables() -> None:
    with db.engine.begin() as connection, audit_guard_lifted(connection):
        for table in reversed(_data_tables()):
            connection.execute(table.delete())
