"""The rollup's incremental refresh against the full rebuild (issue 13):
`.venv/bin/python bench/rollup_incremental.py --url URL --instance DIR [--verbs 100] [--rounds 2]`.

On a filled database (a COPY: it records verbs), it times a forced full rebuild, then per
round: ``--verbs`` verbs through the services on random open applications and positions
(as a quarter of an hour of an active team might: new applications, interviews scheduled
and held, decisions, offers, withdrawals), the ``report-rollup`` job's refresh (which now
recomputes the changed days), and a forced full rebuild at the same moment; the two must
agree (per table, level and day: rows and their counts). On SQLite a second connection
takes the write lock (``BEGIN IMMEDIATE``) every 50 ms during each refresh, on PostgreSQL
one inserts an audit event: its longest wait is how long the refresh kept a recorded
change waiting.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: the environment)


class WriterProbe(threading.Thread):
    """Writes every 50 ms, as a verb would, and remembers the longest wait. SQLite: takes
    the write lock. PostgreSQL: inserts an audit event (rolled back), which the refresh's
    mark (a SHARE lock of audit_event) holds up while it reads."""

    def __init__(self, path: str | None, url: str | None = None) -> None:
        super().__init__(daemon=True)
        self.path, self.url, self.stop, self.waits = path, url, threading.Event(), []

    def run(self) -> None:
        if self.path:
            connection = sqlite3.connect(self.path, timeout=120, isolation_level=None)
            statements = ["BEGIN IMMEDIATE"]
        else:
            import psycopg

            connection = psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            statements = ["BEGIN", "INSERT INTO audit_event (kind, data, occurred_at) VALUES ('probe', '{}', now())"]
        while not self.stop.is_set():
            started = time.perf_counter()
            for statement in statements:
                connection.execute(statement)
            self.waits.append(time.perf_counter() - started)
            connection.execute("ROLLBACK")
            time.sleep(0.05)
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--verbs", type=int, nargs="+", default=[100])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-days", type=int, default=None,
                        help="the refresh's MAX_INCREMENTAL_DAYS, for measuring larger sets of days")
    args = parser.parse_args()
    environment = run.Environment(args.url, args.instance)
    app = environment.app()

    from sqlalchemy import func, select

    from hiring import reports, services
    from hiring.extensions import db
    from hiring.models import Application, Position, User, utcnow
    from hiring.pipeline import DomainError, Role, Stage
    from hiring.settings import get_policy

    rng = random.Random(args.seed)
    if args.max_days is not None:
        reports.rollup.MAX_INCREMENTAL_DAYS = args.max_days
    sqlite_path = db_path = None

    def timed_refresh(**kwargs) -> tuple[dict, float, float | None]:
        probe = WriterProbe(sqlite_path, None if sqlite_path else args.url)
        probe.start()
        started = time.perf_counter()
        result = reports.rollup.refresh(utcnow(), get_policy(), **kwargs)
        seconds = time.perf_counter() - started
        probe.stop.set()
        probe.join()
        return result, seconds, max(probe.waits, default=0.0)

    def fingerprint() -> dict:
        out = {}
        for model in reports.rollup.ROLLUP_TABLES:
            n = {"report_application_day": model.__table__.c.get("applications"),
                 "report_promise_day": model.__table__.c.get("promises"),
                 "report_duration_day": model.__table__.c.get("passages")}[model.__tablename__]
            for row in db.session.execute(select(model.level, model.day, func.count(), func.sum(n))
                                          .group_by(model.level, model.day)):
                out[(model.__tablename__, *row[:2])] = tuple(row[2:])
        return out

    def one_verb(now, positions, panel) -> str:
        if rng.random() < 0.25:
            position = db.session.get(Position, rng.choice(positions))
            name = f"Bench {rng.randrange(10**9)}"
            services.submit_application(position, name=name, email=f"b{rng.randrange(10**12)}@example.org",
                                        actor=None, now=now)
            return "submit"
        application = db.session.scalars(
            select(Application).where(Application.stage.in_([s.value for s in Stage if s.is_open]))
            .where(Application.id >= rng.randrange(1, max_id)).order_by(Application.id).limit(1)).first()
        if application is None:
            return "none"
        stage = Stage(application.stage)
        if rng.random() < 0.1:
            services.withdraw(application, reason="Bench.", actor=None, now=now)
            return "withdraw"
        if stage == Stage.APPLIED:
            services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=3),
                                        panel_user_ids=panel, actor=None, now=now)
            return "schedule"
        if stage in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW):
            interview = application.current_interview()
            if interview is None or interview.scheduled_at > now - timedelta(hours=1):
                services.withdraw(application, reason="Bench.", actor=None, now=now)
                return "withdraw"
            services.record_interview_held(interview, held_at=interview.scheduled_at + timedelta(minutes=50),
                                           actor=None, now=now)
            return "held"
        if stage in (Stage.FIRST_DECISION, Stage.FINAL_DECISION):
            services.decide(application, outcome=rng.choice(["advance", "reject"]), rationale="Bench.",
                            actor=None, now=now)
            return "decide"
        if stage == Stage.OFFER:
            services.record_offer_response(application, accepted=rng.random() < 0.7, actor=None, now=now)
            return "offer_response"
        return "none"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite_path = db_path = db.engine.url.database
        load = Path("/proc/loadavg").read_text()[:14]
        print(f"\n{args.url.split(':')[0]} ({db_path or args.url}), load average {load}")
        result, seconds, worst = timed_refresh(force=True)
        print(f"- full rebuild (forced): {seconds:.2f} s; write lock held {result.get('write_lock_seconds')} s; "
              f"longest writer wait {worst}")
        positions = list(db.session.scalars(select(Position.id).where(Position.status == "open")))
        panel = list(db.session.scalars(select(User.id).where(User.role == Role.INTERVIEWER).limit(2)))
        max_id = db.session.scalar(select(func.max(Application.id)))
        print("| verbs | what | incremental s | days | write lock s | longest writer wait s "
              "| full rebuild s | full write lock s | full longest wait s | equal |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for _ in range(args.rounds):
            for verbs in args.verbs:
                done: dict[str, int] = {}
                started = time.perf_counter()
                for _ in range(verbs):
                    try:
                        kind = one_verb(utcnow(), positions, panel)
                    except DomainError as error:
                        db.session.rollback()
                        kind = f"refused ({type(error).__name__})"
                    done[kind] = done.get(kind, 0) + 1
                verbs_seconds = time.perf_counter() - started
                result, seconds, worst = timed_refresh()
                assert result["rebuilt"] is True, result
                incremental = fingerprint()
                db.session.commit()
                full, full_seconds, full_worst = timed_refresh(force=True)
                equal = fingerprint() == incremental
                db.session.commit()
                what = ", ".join(f"{k} {v}" for k, v in sorted(done.items()))
                print(f"| {verbs} ({verbs_seconds:.0f} s) | {what} | {seconds:.2f}"
                      f"{'' if not result['full'] else ' (FULL: ' + result['reason'] + ')'} | {result.get('days')} "
                      f"| {result.get('write_lock_seconds', '–')} | {'–' if worst is None else f'{worst:.3f}'} "
                      f"| {full_seconds:.2f} | {full.get('write_lock_seconds', '–')} "
                      f"| {'–' if full_worst is None else f'{full_worst:.3f}'} | {equal} |", flush=True)
        print(f"load average at the end {Path('/proc/loadavg').read_text()[:14]}")


if __name__ == "__main__":
    main()
