"""The deadline job's first run over a freshly generated dataset, on its own.

    .venv/bin/python bench/first_run.py --applications 100000 [--lean] [--url DATABASE_URL]

Generates into an empty database (SQLite file in a temporary folder by default), then runs
the deadline job at the generation's ``now`` plus ``--later`` minutes and once more a minute
on, and prints what each run announced and how long it took.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--lean", action="store_true")
    parser.add_argument("--url", default=None, help="an empty database (default: a new SQLite file)")
    parser.add_argument("--later", type=float, default=0.0, help="minutes between generation and the first run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="first-run-"))
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"

    from flask_migrate import upgrade

    from hiring import create_app, generator, jobs
    from hiring.extensions import db
    from hiring.models import utcnow
    from hiring.settings import get_policy

    os.environ["HIRING_INSTANCE_PATH"] = str(tmp)  # the job lock's files go there
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "first-run", "SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade()
        now = utcnow()
        started = time.perf_counter()
        generator.generate(db.session, args.applications, now=now, policy=get_policy(), lean=args.lean)
        print(f"generated {args.applications:,}{' (lean)' if args.lean else ''} in "
              f"{time.perf_counter() - started:.1f} s on {db.engine.dialect.name}")
        db.session.remove()
        for label, at in (("first run", now + timedelta(minutes=args.later)),
                          ("rerun", now + timedelta(minutes=args.later + 1))):
            started = time.perf_counter()
            result = jobs.run_job("deadlines", at)
            print(f"{label}: {time.perf_counter() - started:.3f} s {result}")
            db.session.remove()


if __name__ == "__main__":
    main()
