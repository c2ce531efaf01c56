"""The incremental refresh's cost per recomputed day (issue 13; picks MAX_INCREMENTAL_DAYS):
`.venv/bin/python bench/rollup_days.py --url URL --instance DIR [--days 30 150 400]`.

On a COPY with a built rollup, it recomputes the N most recent days of all three tables
(``rollup.build_rows`` with those days, as a refresh would after changes on them) and
times it, then times a full rebuild. SQLite: with how long each held the write lock.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--days", type=int, nargs="+", default=[30, 150, 400])
    args = parser.parse_args()
    app = run.Environment(args.url, args.instance).app()
    from hiring import reports
    from hiring.models import utcnow
    from hiring.reports.changes import Days, mark
    from hiring.settings import get_policy

    with app.app_context():
        policy = get_policy()
        print(f"\n{args.url.split(':')[0]}, load average {Path('/proc/loadavg').read_text()[:14]}")
        print("| days recomputed | seconds | write lock s |")
        print("|---:|---:|---:|")
        for n in [*args.days, None]:
            now = utcnow()
            today = now.astimezone(policy.tz).date()
            days = None if n is None else Days(*(frozenset(today - timedelta(days=i) for i in range(n)),) * 3)
            started = time.perf_counter()
            built = reports.rollup.build_rows(now, policy, mark(), days)
            print(f"| {'all (full rebuild)' if n is None else n} | {time.perf_counter() - started:.2f} "
                  f"| {built.get('write_lock_seconds', '–')} |", flush=True)
        print(f"load average at the end {Path('/proc/loadavg').read_text()[:14]}")


if __name__ == "__main__":
    main()
