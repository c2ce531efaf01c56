"""The reports at scale (issue 13): `.venv/bin/python bench/reports.py --url URL --instance DIR`.

On a database already filled (e.g. `flask --app app demo --applications 1000000 --lean`),
it times the report-rollup job (a forced rebuild, then the rerun with nothing changed),
one report computed live from the records and from the rollup (in-process), then serves
the app with gunicorn (2 sync workers, REPORTS_CACHE_SECONDS=0: every request computes
its figures afresh) and loads, with wrk, the Reports page (default 90 days; one position;
one owner) and GET /api/v1/reports/summary, alternating with /healthz (the floor) as
bench/run.py does. Prints one Markdown table per run (for bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: the server, wrk and the login)


def in_process(environment: run.Environment, rebuild: bool) -> dict[str, float]:
    from sqlalchemy import func, select

    from hiring import queries, reports
    from hiring.extensions import db
    from hiring.models import Application, User, utcnow
    from hiring.settings import get_policy

    app = environment.app()
    times: dict[str, float] = {}
    with app.app_context():
        policy, now = get_policy(), utcnow()
        if rebuild:
            started = time.perf_counter()
            reports.rollup.refresh(now, policy, force=True)
            times["rollup rebuild (forced)"] = time.perf_counter() - started
        started = time.perf_counter()
        rebuilt = reports.rollup.refresh(utcnow(), policy)["rebuilt"]  # the job's run: rebuilds if anything changed
        times[f"rollup refresh ({'rebuilt' if rebuilt else 'nothing changed'})"] = time.perf_counter() - started
        started = time.perf_counter()
        assert reports.rollup.refresh(utcnow(), policy)["rebuilt"] is False
        times["rollup rerun, nothing changed"] = time.perf_counter() - started
        filters = reports.default_filters(now, policy)
        for label, build in (("report from the rollup (in-process)", reports.rollup.build),
                             ("report computed live (in-process)", reports.build)):
            started = time.perf_counter()
            build(filters, now, policy)
            times[label] = time.perf_counter() - started
        position = db.session.execute(
            select(Application.position_id, func.count()).where(queries.is_open())
            .group_by(Application.position_id).order_by(func.count().desc()).limit(1)).scalar()
        owner = db.session.scalar(select(User.id).where(User.email == run.USER))
        owner_email = run.USER
    return times | {"position": position, "owner": owner, "owner_email": owner_email}  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the filled database (SQLAlchemy URL)")
    parser.add_argument("--instance", required=True, type=Path, help="its instance folder")
    parser.add_argument("--connections", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--slice", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-rebuild", action="store_true", help="time the rerun only (the rollup is built)")
    args = parser.parse_args()
    environment = run.Environment(args.url, args.instance)
    environment.env["HIRING_REPORTS_CACHE_SECONDS"] = "0"
    info = in_process(environment, not args.no_rebuild)
    print(f"\n{args.url.split(':')[0]}:")
    for label, value in info.items():
        if isinstance(value, float):
            print(f"- {label}: {value:.2f} s")
    token = run.api_token(environment)
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    period = f"from={(today - timedelta(days=89)).isoformat()}&to={today.isoformat()}"
    pages = [("/reports (90 days)", "/reports", "session"),
             ("/reports, one position", f"/reports?position={info['position']}", "session"),
             ("/reports, one owner", f"/reports?owner={info['owner']}", "session"),
             ("API summary (90 days)", f"/api/v1/reports/summary?{period}", "token"),
             ("API summary, one owner", f"/api/v1/reports/summary?{period}&owner_email={info['owner_email']}",
              "token")]
    with tempfile.TemporaryDirectory() as tmp, run.gunicorn(environment, 2) as (port, _process):
        client = run.Client(port)
        client.login(run.USER, run.PASSWORD)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        print("\n| page | connections | req/s | p50 ms | p95 ms | floor p95 ms | requests |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for connections in args.connections:
            wrk = run.Wrk(port, connections, Path(tmp))
            for label, path, auth in pages:
                headers = {"Authorization": f"Bearer {token}"} if auth == "token" else {"Cookie": cookie}
                status, body, _ = client.request("GET", path, headers=headers)
                if status != 200 or (auth == "session" and b"Figures as of" not in body):
                    raise RuntimeError(f"{path}: HTTP {status}")
                wrk.run(path, 2, headers)
                run.drain(client)
                slices, floor = [], []
                for _ in range(args.rounds):
                    floor.append(wrk.run(run.FLOOR, args.slice, {}))
                    run.drain(client)
                    slices.append(wrk.run(path, args.slice, headers))
                    run.drain(client)
                stats, base = run.merge(slices), run.merge(floor)
                if stats["errors"] or stats["bad_status"]:
                    raise RuntimeError(f"{path}: {stats['errors']} errors, {stats['bad_status']} non-2xx")
                print(f"| {label} | {connections} | {stats['rps']:.1f} | {stats['p50']:.0f} | {stats['p95']:.0f} "
                      f"| {base['p95']:.1f} | {stats['n']} |", flush=True)


if __name__ == "__main__":
    main()
