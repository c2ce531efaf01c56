"""The job list, the one-process lock, the scheduler and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from hiring import jobs
from hiring.extensions import db
from hiring.models import AuditEvent, JobRun, OutboxEmail
from hiring.pipeline import OutboxStatus, Stage

ROOT = Path(__file__).resolve().parent.parent


def test_the_job_list():
    assert [job.name for job in jobs.JOBS] == ["deadlines", "feedback-reminders", "delay-notices", "outbox", "digest",
                                           "report-rollup", "sign-in-records", "retention", "consent-renewals"]


def test_scheduler_jobs_use_the_state_friendly_defaults(app):
    scheduler = jobs.build_scheduler(app)
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    assert set(scheduled) == set(jobs.JOBS_BY_NAME)
    for job in scheduled.values():
        assert job.misfire_grace_time is None
        assert job.coalesce is True
        assert job.max_instances == 1
    assert isinstance(scheduled["deadlines"].trigger, IntervalTrigger)
    assert scheduled["deadlines"].trigger.interval == timedelta(minutes=15)
    assert scheduled["delay-notices"].trigger.interval == timedelta(minutes=15)
    assert scheduled["feedback-reminders"].trigger.interval == timedelta(hours=1)
    assert scheduled["outbox"].trigger.interval == timedelta(minutes=1)
    assert isinstance(scheduled["digest"].trigger, CronTrigger)


def test_a_running_scheduler_catches_up_every_job_at_start(app, factory, now):
    factory.application(Stage.FIRST_DECISION, at=now - timedelta(days=30))  # long overdue in real time too
    scheduler = jobs.build_scheduler(app)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(select(func.count()).select_from(JobRun)) == len(jobs.JOBS):
                break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    db.session.expire_all()
    assert {run.name for run in db.session.scalars(select(JobRun))} == set(jobs.JOBS_BY_NAME)
    # The candidate heard at once; the team's overdue notice too, unless the delay notice changed
    # the application while the deadline job was announcing it (jobs run side by side): then
    # the deadline job's next run does it, once.
    assert db.session.scalar(select(func.count()).where(AuditEvent.kind == "deadline_extended")) == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.kind == "overdue_notice")) <= 1
    jobs.run_job("deadlines")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(AuditEvent.kind == "overdue_notice")) == 1


def test_a_second_process_does_nothing_while_the_first_holds_the_lock(app, factory, now):
    factory.application(Stage.FIRST_DECISION, at=now - timedelta(days=10))
    with jobs.job_lock("deadlines") as acquired:
        assert acquired
        assert jobs.run_job("deadlines", now) == {"skipped": "another process is running this job"}
        assert db.session.scalar(select(func.count()).where(AuditEvent.kind == "overdue_notice")) == 0
    assert jobs.run_job("deadlines", now)["overdue"] == 1
    assert jobs.run_job("deadlines", now) == {"applications": 0}


def _in_run_command(reload: bool | None):
    ctx = click.Context(click.Command("run"), info_name="run")
    ctx.params = {"reload": reload}
    return ctx


def test_the_scheduler_starts_only_inside_flask_run_in_development(app, monkeypatch):
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", True)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert not jobs.should_run_in_process(app)  # no `flask run`: shell, gunicorn worker, other command
    with _in_run_command(reload=False):
        assert jobs.should_run_in_process(app)
    with _in_run_command(reload=True):
        assert not jobs.should_run_in_process(app)  # the reloader's watching parent
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
        assert jobs.should_run_in_process(app)  # the serving child
        monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", "false")
        assert not jobs.should_run_in_process(app)
        monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", True)
        monkeypatch.setitem(app.config, "ENV", "production")
        assert not jobs.should_run_in_process(app)


def test_cli_jobs_list_and_run_with_a_chosen_clock(runner, factory, now):
    application = factory.application(Stage.FIRST_DECISION, at=now - timedelta(days=6))
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0, listing.output
    for name in jobs.JOBS_BY_NAME:
        assert name in listing.output
    assert "weekly, Monday 08:00 Europe/Berlin" in listing.output
    assert "never run" in listing.output

    result = runner.invoke(args=["jobs", "run", "deadlines", "--now", "2026-11-26T10:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == 'deadlines: {"applications": 1, "overdue": 1}'
    run = db.session.get(JobRun, "deadlines")
    assert run.last_now == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert run.last_result == {"applications": 1, "overdue": 1}
    assert db.session.scalar(select(OutboxEmail.template).where(OutboxEmail.template == "overdue_notice"))
    again = runner.invoke(args=["jobs", "run", "deadlines", "--now", "2026-11-26T10:00:00+01:00"])
    assert again.output.strip() == 'deadlines: {"applications": 0}'
    assert "last run" in runner.invoke(args=["jobs", "list"]).output
    assert application.id


@pytest.mark.parametrize("args, message", [
    (["jobs", "run", "deadlines", "--now", "yesterday"], "not an ISO-8601 time"),
    (["jobs", "run", "deadlines", "--now", "2026-11-26T10:00:00"], "Give the time zone"),
    (["jobs", "run", "nightly"], "'nightly' is not one of 'deadlines'"),
])
def test_cli_refuses_bad_input_clearly(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert message in result.output


def test_cli_has_the_scheduler_command(runner):
    result = runner.invoke(args=["scheduler", "--help"])
    assert result.exit_code == 0
    assert "its own process" in result.output


@pytest.mark.postgres_only("advisory locks between processes")
def test_two_scheduler_processes_against_one_database_do_each_job_once(app, factory, now, database_url, tmp_path):
    from .smtp import SMTPServer, free_port

    position = factory.position()
    panel = [factory.user("interviewer"), factory.user("interviewer")]
    for _ in range(12):
        factory.application(Stage.FIRST_DECISION, position=position, panel=panel, at=now - timedelta(days=10))
    before = {e.id for e in db.session.scalars(select(OutboxEmail))}
    server = SMTPServer(free_port()).start()
    env = {**os.environ, "DATABASE_URL": database_url, "HIRING_INSTANCE_PATH": str(tmp_path),
           "HIRING_SCHEDULER_ENABLED": "false", "HIRING_BASE_URL": "http://hiring.test",
           "HIRING_MAIL_SERVER": "127.0.0.1", "HIRING_MAIL_PORT": str(server.port)}
    # Each process is a scheduler firing every job once at the same clock, as two hosts would.
    script = (
        "from datetime import datetime\n"
        "from app import app\n"
        "from hiring.jobs import JOBS, run_job\n"
        "with app.app_context():\n"
        "    for job in JOBS:\n"
        f"        print(job.name, run_job(job.name, datetime.fromisoformat({now.isoformat()!r})))\n"
    )
    try:
        processes = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        db.session.expire_all()
        overdue = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "overdue_notice")).all()
        assert len(overdue) == 12 == len({e.application_id for e in overdue})
        delays = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "deadline_extended")).all()
        assert len(delays) == 12 == len({e.application_id for e in delays})
        # The weekly digest may be queued after both relays ran (the job list ends with it).
        emails = [e for e in db.session.scalars(select(OutboxEmail)) if e.template != "digest"]
        assert all(e.status == OutboxStatus.SENT for e in emails), [(e.id, e.status, e.last_error) for e in emails]
        received = [m["Message-ID"] for m in server.sink.messages if "digest" not in m["Subject"].lower()]
        assert len(received) == len(emails) == len(set(received))
        reminders = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "feedback_reminder")).all()
        assert len(reminders) == 12 * 2  # both panel members, once each
        # Overdue notice, delay notice, two reminders each; and one weekly digest to the owner, once
        # although both processes ran it: a delay notice moves the candidates' dates, not the
        # team's lateness (issue 10, item 7).
        assert len(emails) - len(before) == 12 * 4
        digests = db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "digest")).all()
        assert [d.recipient for d in digests] == [position.owner.email]
    finally:
        server.stop()
