"""The one list of scheduled jobs, the lock that lets exactly one process run each, and
the CLI: `flask --app app jobs list`, `jobs run NAME [--now ISO-8601]`, `scheduler`.

Where the scheduler runs: in development inside `flask run` (in the reloader's serving
child only); in production as its own process, `flask --app app scheduler`. Gunicorn
workers never start one. The timer only decides *when* to look: every job is a thin
wrapper over a state-driven service, so a run that comes twice or late does the work once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from filelock import FileLock, Timeout
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import text

from . import mailer, privacy, reminders, reports, services
from .extensions import db
from .models import JobRun, utcnow
from .pipeline import UTC, Policy
from .settings import get_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], dict[str, Any]]
    trigger: Callable[[], Any]
    schedule: Callable[[Policy], str]
    description: str


JOBS: tuple[Job, ...] = (
    Job("deadlines", reminders.check_deadlines, lambda: IntervalTrigger(minutes=15),
        lambda p: "every 15 minutes",
        "Announce due-soon, overdue, expedite, needs-discussion and unrecorded interviews once to the "
        "person responsible."),
    Job("feedback-reminders", reminders.send_feedback_reminders, lambda: IntervalTrigger(hours=1),
        lambda p: f"hourly (24 h after the interview, then daily, at most {p.feedback_reminder_max} times)",
        "Remind panel members who have not given feedback on a held interview."),
    Job("delay-notices", reminders.send_delay_notices, lambda: IntervalTrigger(minutes=15),
        lambda p: f"every 15 minutes (from {p.delay_notice_hour:02d}:00 {p.timezone} on the promised day)",
        "Tell candidates whose promised day has come with nothing decided that we need more time, "
        "with a new date (automatic extension; escalated beyond the policy's automatic delays)."),
    Job("outbox", lambda now: _relay_then_redact(now), lambda: IntervalTrigger(minutes=1),
        lambda p: "every minute",
        "Send queued emails over one SMTP connection; retry temporary failures."),
    # Checked hourly and sent by state, so a changed policy needs no restart and a digest
    # missed on its day (scheduler down) goes out at the next run, still once per ISO week.
    Job("digest", reminders.send_weekly_digest, lambda: CronTrigger(minute=5, timezone=UTC),
        lambda p: f"weekly, {_WEEKDAYS[p.digest_weekday]} {p.digest_hour:02d}:00 {p.timezone} (checked hourly)",
        "The weekly overdue digest to each team member responsible for an overdue decision."),
    # State-driven: recomputes the days touched by what was recorded or by a promise that
    # lapsed since the last build (every row when it cannot tell; hiring.reports.rollup),
    # so a rerun or a late run does it once.
    Job("report-rollup", lambda now: reports.rollup.refresh(now, get_policy()),
        lambda: IntervalTrigger(minutes=reports.rollup.REFRESH_MINUTES),
        lambda p: f"every {reports.rollup.REFRESH_MINUTES} minutes",
        "Refresh the reports' daily rollup (the Reports page and API summary read it) when anything was "
        "recorded or a promised date passed since the last build: the days touched, or every row."),
    Job("sign-in-records", services.prune_sign_in_records, lambda: CronTrigger(minute=35, timezone=UTC),
        lambda p: "hourly",
        "Delete sessions over for 30 days and login-throttle counts past their window."),
    # Daily, by state (an anonymised candidate is never chosen again), so a rerun does nothing.
    Job("retention", privacy.run_retention, lambda: CronTrigger(hour=2, minute=15, timezone=UTC),
        lambda p: f"daily at 02:15 UTC (anonymise {p.retention_months} months after the last application closed)",
        "Anonymise candidates without talent-pool consent whose applications all closed longer ago than the "
        "retention period; end expired consents; blank emails sent to erased candidates; remove orphan uploads."),
    Job("consent-renewals", privacy.send_consent_renewals, lambda: CronTrigger(hour=9, minute=0, timezone=UTC),
        lambda p: f"daily at 09:00 UTC ({privacy.RENEWAL_DAYS} days before a talent-pool consent expires)",
        "Ask talent-pool candidates to renew their consent before it expires (once per expiry date)."),
)
JOBS_BY_NAME = {job.name: job for job in JOBS}


def _relay_then_redact(now: datetime) -> dict[str, Any]:
    """Send, then blank what was just sent to a candidate erased meanwhile (their last
    emails are sent before their text goes: hiring.privacy)."""
    result = dict(mailer.relay_outbox(now))
    result["redacted"] = privacy.redact_sent_emails(now)
    return result
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


class UnknownJob(click.ClickException):
    pass


# --- one process per job -----------------------------------------------------------------------


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"hiring-job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Yields True when this process may run ``name`` now, False when another one is.

    PostgreSQL: an advisory transaction lock held on a connection of its own (the job's
    services commit many times; the lock lasts until this connection's transaction
    ends). SQLite: a file lock in instance/.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            transaction = connection.begin()
            try:
                acquired = connection.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _lock_key(name)}
                ).scalar()
                yield bool(acquired)
            finally:
                transaction.rollback()
        return
    lock = FileLock(str(Path(current_app.instance_path) / f"job-{name}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def run_job(name: str, now: datetime | None = None) -> dict[str, Any]:
    """Run one job now (or with the clock at ``now``) unless another process runs it."""
    job = JOBS_BY_NAME.get(name)
    if job is None:
        raise UnknownJob(f"Unknown job “{name}”. Jobs: {', '.join(JOBS_BY_NAME)}.")
    now = now or utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    with job_lock(name) as acquired:
        if not acquired:
            log.info("job %s: another process is running it; skipped", name)
            return {"skipped": "another process is running this job"}
        started = utcnow()
        try:
            result = job.run(now)
        finally:
            db.session.rollback()  # nothing half-done leaks into the bookkeeping below
        run = db.session.get(JobRun, name) or JobRun(name=name)
        run.last_started_at = started
        run.last_finished_at = utcnow()
        run.last_now = now
        run.last_result = result
        db.session.add(run)
        db.session.commit()
    log.info("job %s at %s: %s", name, now.isoformat(), result)
    return result


# --- the scheduler -----------------------------------------------------------------------------


def _run_in_app(app: Flask, name: str) -> None:
    with app.app_context():
        try:
            run_job(name)
        except Exception:  # one failing run must not stop the scheduler; the next run retries
            log.exception("job %s failed", name)
            db.session.rollback()


def add_jobs(scheduler: BackgroundScheduler | BlockingScheduler, app: Flask) -> None:
    for job in JOBS:
        # next_run_time=now: every job runs once at start, so work missed while the
        # scheduler was down (Monday's digest, overnight deadlines) is caught up at once.
        scheduler.add_job(_run_in_app, trigger=job.trigger(), args=(app, job.name), id=job.name, name=job.name,
                          next_run_time=datetime.now(UTC), replace_existing=True, **JOB_DEFAULTS)


def build_scheduler(app: Flask, *, blocking: bool = False) -> BackgroundScheduler | BlockingScheduler:
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
    add_jobs(scheduler, app)
    return scheduler


def _config_flag(app: Flask, key: str) -> bool:
    value = app.config.get(key)
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def should_run_in_process(app: Flask) -> bool:
    """Only `flask run` in development, only in the process that serves requests."""
    if not _config_flag(app, "SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return False
    if app.config.get("ENV") == "production":
        return False  # production runs `flask --app app scheduler` as its own process
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return False  # gunicorn workers, shell, other commands
    reload = ctx.params.get("reload")
    if reload is None:
        from flask.helpers import get_debug_flag

        reload = get_debug_flag()
    # With the reloader, the parent only watches files; the child (WERKZEUG_RUN_MAIN) serves.
    return not reload or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


# --- CLI ---------------------------------------------------------------------------------------

jobs_cli = AppGroup("jobs", help="List the scheduled jobs or run one by hand.")


@jobs_cli.command("list")
def list_jobs_command() -> None:
    """Every scheduled job, when it runs and when it last ran."""
    policy = get_policy()
    for job in JOBS:
        run = db.session.get(JobRun, job.name)
        last = (f"last run {run.last_finished_at.isoformat(timespec='seconds')} (clock {run.last_now.isoformat()}): "
                f"{json.dumps(run.last_result, sort_keys=True)}" if run and run.last_finished_at else "never run")
        click.echo(f"{job.name:<19} {job.schedule(policy)}")
        click.echo(f"{'':<19} {job.description}")
        click.echo(f"{'':<19} {last}")


def _parse_now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"“{value}” is not an ISO-8601 time, e.g. 2026-11-24T08:00:00+01:00.") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise click.BadParameter("Give the time zone, e.g. 2026-11-24T08:00:00Z or …+01:00.")
    return moment.astimezone(UTC)


@jobs_cli.command("run")
@click.argument("name", type=click.Choice([job.name for job in JOBS]))
@click.option("--now", callback=_parse_now, help="Run as if it were this time (ISO-8601 with zone).")
def run_job_command(name: str, now: datetime | None) -> None:
    """Run one job now, or with the clock set to --now."""
    result = run_job(name, now)
    click.echo(f"{name}: {json.dumps(result, sort_keys=True)}")


def _scheduler_command() -> None:
    """Run the scheduler in the foreground (production: its own process, one per site)."""
    app = current_app._get_current_object()
    if not logging.getLogger().handlers:  # operators see each run and its result in the process log
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = build_scheduler(app, blocking=True)
    click.echo("Scheduler started: " + ", ".join(job.name for job in JOBS) + ". Stop with Ctrl+C.")
    with suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
    app.cli.command("scheduler")(_scheduler_command)
    if should_run_in_process(app):
        scheduler = build_scheduler(app)
        scheduler.start()
        app.extensions["hiring_scheduler"] = scheduler
        log.info("in-process scheduler started (development)")
