"""The performance benchmark: `make bench` (or `.venv/bin/python bench/run.py --help`).

In one run, on a temporary SQLite database and on a PostgreSQL database, it:

1. generates 100, 100k and 1M (lean) applications with `flask --app app demo --applications N`;
2. counts the SQL statements of each page at every size (in-process, test client, a
   `before_cursor_execute` listener) — they must be equal;
3. serves the app with gunicorn (2 sync workers, scheduler off) and loads each page with
   wrk (8 connections) in short slices alternating with /healthz (the floor), so both see
   the same machine load; reports req/s, p50, p95, p95 ÷ floor p95 and floor req/s ÷ page
   req/s at 100k and at 1M applications;
4. reads the largest gunicorn worker's peak RSS (VmHWM) at every size;
5. times the deadline job at 100k and 1M applications (first run, then the rerun with
   nothing due), the weekly digest, and the outbox relay against a local aiosmtpd server;

then writes bench/RESULTS.md (machine, date, tables) and prints it. A page or job that
does not exist in the code is reported as "not available", never estimated. wrk comes from
the OS packages: `make bench` installs it when missing (scripts/ensure-wrk.sh).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "RESULTS.md"
PASSWORD = "demo-password"
USER = "rita@example.com"  # a recruiter who owns positions in every generated dataset
SEARCH = "schmidt"  # a common last name: many hits, paginated

# Targets: pages from issue 15 (p95 and req/s within 6× the floor's, under load), jobs from issue 6.
PAGE_RATIO_TARGET = 6.0
DEADLINE_1M_TARGET_S = 1.0
DIGEST_TARGET_S = 5.0
DIGEST_RECIPIENTS = 200
OUTBOX_TARGET_PER_S = 100.0


@dataclass
class Page:
    name: str
    path: str  # with {position}, {application}, {q} placeholders
    auth: str  # "session" or "token"


PAGES = [
    Page("dashboard", "/", "session"),
    # What a recruiter or admin sees choosing all teams' items: it reads other rows than the
    # own dashboard (every team's deadlines, not one user's), and it grew with the data
    # unnoticed (300 ms at 1M applications on SQLite) while only the own one was measured.
    Page("everyone's dashboard", "/?scope=all", "session"),
    Page("board (all positions)", "/board", "session"),
    Page("position board", "/positions/{position}/board", "session"),
    Page("application page", "/applications/{application}", "session"),
    Page("candidate search", "/candidates/?q={q}", "session"),
    Page("emails page", "/emails/", "session"),
    Page("API overdue list", "/api/v1/applications?flag=overdue", "token"),
    # The API's default call: counting every application for its total cost 25 ms at 1M on
    # PostgreSQL while only the overdue list was measured (stage_total keeps it now).
    Page("API list (no filter)", "/api/v1/applications", "token"),
    Page("reports", "/reports", "session"),
    Page("talent pool", "/talent-pool", "session"),
]
FLOOR = "/healthz"


@dataclass
class DatabaseResult:
    name: str
    generation: dict[int, dict[str, float]] = field(default_factory=dict)  # size -> wall, cpu
    statements: dict[int, dict[str, int | None]] = field(default_factory=dict)  # size -> page -> count
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)  # size -> page -> stats (None: missing)
    floor: dict[str, dict[str, float]] = field(default_factory=dict)  # size -> the floor's merged stats
    memory_kb: dict[int, int] = field(default_factory=dict)  # size -> worker VmHWM
    jobs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- plumbing -----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def flask(args: list[str], env: dict[str, str], timeout: float = 3600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def pg_admin(url: str, statement: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                         user=parsed.username or "postgres", password=parsed.password, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(statement)


def recreate_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(url, f'CREATE DATABASE "{name}"')


class Environment:
    """A database URL plus its own instance folder, as the CLI and gunicorn see them."""

    def __init__(self, url: str, instance: Path):
        self.url = url
        self.instance = instance
        instance.mkdir(parents=True, exist_ok=True)
        self.env = {"DATABASE_URL": url, "HIRING_INSTANCE_PATH": str(instance), "HIRING_SCHEDULER_ENABLED": "false",
                    "HIRING_SECRET_KEY": "bench-secret-key-" + instance.name, "FLASK_DEBUG": "0"}

    def prepare(self, applications: int, *, lean: bool = False) -> dict[str, float]:
        recreate_database(self.url)
        flask(["db", "upgrade"], self.env)
        started, cpu = time.perf_counter(), children_cpu()
        args = ["demo", "--applications", str(applications)] + (["--lean"] if lean else [])
        output = flask(args, self.env).stdout
        timing = {"wall": time.perf_counter() - started, "cpu": children_cpu() - cpu}
        log(f"generated {applications:,} applications{' (lean)' if lean else ''} in {timing['wall']:.1f} s "
            f"(CPU {timing['cpu']:.1f} s) on {self.url.split(':')[0]}")
        log(output.strip().splitlines()[-1] if output.strip() else "")
        return timing

    def app(self, **config: Any):
        from hiring import create_app

        os.environ["HIRING_INSTANCE_PATH"] = str(self.instance)
        try:
            return create_app({"SQLALCHEMY_DATABASE_URI": self.url, "SECRET_KEY": self.env["HIRING_SECRET_KEY"],
                               "SCHEDULER_ENABLED": False, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                               **config})
        finally:
            os.environ.pop("HIRING_INSTANCE_PATH", None)


# --- what to measure ---------------------------------------------------------------------


def page_targets(app) -> dict[str, Any]:
    """The position with the most open applications, and the open application with the
    longest history: the heaviest board and application page of the dataset."""
    from sqlalchemy import func, select

    from hiring import queries
    from hiring.extensions import db
    from hiring.models import Application, AuditEvent

    with app.app_context():
        position = db.session.execute(
            select(Application.position_id, func.count()).where(queries.is_open())
            .group_by(Application.position_id).order_by(func.count().desc()).limit(1)).first()
        recent = select(Application.id).where(queries.is_open()).order_by(Application.id.desc()).limit(500)
        application = db.session.execute(
            select(AuditEvent.application_id, func.count()).where(AuditEvent.application_id.in_(recent))
            .group_by(AuditEvent.application_id).order_by(func.count().desc()).limit(1)).first()
        return {"position": position[0], "application": application[0], "q": SEARCH}


def available(app, path: str) -> bool:
    """Does the app route this path (and, for the API, can a token be made)?"""
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?")[0], method="GET")
    except (NotFound, MethodNotAllowed):
        return False
    return True


def api_token(environment: Environment) -> str | None:
    try:
        output = flask(["tokens", "create", USER, "--label", "benchmark"], environment.env).stdout
    except RuntimeError as exc:
        log(f"no API token: {str(exc).splitlines()[0]}")
        return None
    return output.strip().splitlines()[-1].strip()


@contextmanager
def counting(app):
    from sqlalchemy import event

    from hiring.extensions import db

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_statements(environment: Environment, token: str | None) -> dict[str, int | None]:
    app = environment.app()
    targets = page_targets(app)
    client = app.test_client()
    response = client.post("/login", data={"email": USER, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login failed in-process: {response.status_code}")
    counts: dict[str, int | None] = {}
    for page in PAGES:
        path = page.path.format(**targets)
        if not available(app, path) or (page.auth == "token" and not token):
            counts[page.name] = None
            continue
        headers = {"Authorization": f"Bearer {token}"} if page.auth == "token" else {}
        client.get(path, headers=headers)
        with counting(app) as statements:
            response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{page.name} {path}: HTTP {response.status_code}")
        counts[page.name] = len(statements)
    return counts


# --- serving and load -------------------------------------------------------------------


class Client:
    """A sequential HTTP/1.1 keep-alive client: one request at a time, so it never competes
    with the server for more than a sliver of CPU."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status, data, elapsed

    def login(self, email: str, password: str) -> None:
        status, body, _ = self.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        fields = {"email": email, "password": password}
        if match:
            fields["csrf_token"] = match.group(1).decode()
        from urllib.parse import urlencode

        status, body, _ = self.request("POST", "/login", urlencode(fields),
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login over HTTP failed: {status} {body[:200]!r}")
        # The page the login redirects to, as a browser follows it: the session cookie it sets
        # holds the form token (CSRF), which the login's cookie lacks. wrk never stores a cookie:
        # with the login's, every request made a new token and re-signed the session, work a
        # browser's requests do once (about 0.1 ms of each logged-in page, never of the floor).
        status, body, _ = self.request("GET", "/")
        if status != 200:
            raise RuntimeError(f"the page after the login over HTTP: {status} {body[:200]!r}")


@contextmanager
def gunicorn(environment: Environment, workers: int = 2):
    """The app served as in production: gunicorn, ``workers`` sync workers, scheduler off."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "sync", "--backlog", "256",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env={**os.environ, **environment.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = Client(port).request("GET", FLOOR)
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def worker_peak_rss_kb(master: subprocess.Popen) -> int:
    """VmHWM (peak resident set) of the gunicorn worker(s), in kB: the largest worker's."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks.append(int(match.group(1)))
    if not peaks:
        raise RuntimeError("no gunicorn worker found")
    return max(peaks)


# wrk reports each run through this Lua hook: totals, and the latency histogram (value in
# µs, count) so that the slices of one page can be merged into one distribution.
WRK_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "errors": %d, "bad_status": %d, "hist": [',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
  for i = 1, #latency do
    local v, c = latency(i)
    io.write(string.format('%s[%d,%d]', i > 1 and ',' or '', v, c))
  end
  io.write(']}\n')
end
"""


class Wrk:
    """Runs wrk (the C load generator) against the server: ``connections`` connections from
    two threads, for ``seconds``; returns the requests, the elapsed time and the latency
    histogram."""

    def __init__(self, port: int, connections: int, tmp: Path):
        self.port, self.connections = port, connections
        self.script = tmp / "wrk-report.lua"
        self.script.write_text(WRK_REPORT)

    def run(self, path: str, seconds: float, headers: dict[str, str]) -> dict[str, Any]:
        command = ["wrk", "-t", "2", "-c", str(self.connections), "-d", f"{max(1, round(seconds))}s",
                   "--timeout", "30s", "-s", str(self.script)]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        output = subprocess.run([*command, f"http://127.0.0.1:{self.port}{path}"], capture_output=True,
                                text=True, timeout=seconds + 60, check=True).stdout
        line = next((x for x in output.splitlines() if x.startswith("WRK ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no report for {path}: {output[-500:]}")
        return json.loads(line[4:])


def drain(client: Client) -> None:
    """Wait until the server has answered what wrk left behind. wrk stops on time, but the
    requests it sent are still queued for the sync workers; the next slice would otherwise
    begin by waiting for them (a floor slice after a slow page would measure the page)."""
    for _ in range(2):
        client.request("GET", FLOOR)  # queued behind the leftovers: answered once they are


def merge(slices: list[dict[str, Any]]) -> dict[str, float]:
    """One page's slices as one measurement: req/s over the time spent on it, p50 and p95
    of every response's latency."""
    counts: dict[int, int] = {}
    for piece in slices:
        for value, count in piece["hist"]:
            counts[value] = counts.get(value, 0) + count
    total = sum(counts.values())

    def percentile(p: float) -> float:
        rank, seen = p / 100 * total, 0
        for value in sorted(counts):
            seen += counts[value]
            if seen >= rank:
                return value / 1000
        return 0.0

    requests = sum(piece["requests"] for piece in slices)
    seconds = sum(piece["duration_us"] for piece in slices) / 1e6
    return {"rps": requests / seconds if seconds else 0.0, "p50": percentile(50), "p95": percentile(95),
            "n": requests, "errors": sum(piece["errors"] for piece in slices),
            "bad_status": sum(piece["bad_status"] for piece in slices)}


def measure_pages(environment: Environment, token: str | None, args, result: DatabaseResult | None,
                  size: int, tmp: Path) -> int:
    """Every page under load against the floor; returns the largest worker's peak RSS (kB).

    Each page and /healthz alternate in short slices (``--slice`` seconds each, ``--rounds``
    times: floor, page, floor, page, ...), each slice with the same ``--connections``
    connections. The two are never run at once: with sync workers a floor request queued
    behind a page request would wait for the page, and the floor would measure the page.
    Alternating quickly, both see the same machine load (the other tests, the database,
    wrk itself) on average, so their ratio is fair even when the absolute numbers are not.
    """
    app = environment.app()
    targets = page_targets(app)
    with gunicorn(environment, args.workers) as (port, process):
        client = Client(port)
        client.login(USER, PASSWORD)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        wrk = Wrk(port, args.connections, tmp)
        floor_slices: list[dict[str, Any]] = []
        for page in PAGES:
            path = page.path.format(**targets)
            if not available(app, path) or (page.auth == "token" and not token):
                if result is not None:
                    result.latency[page.name] = None
                continue
            headers = {"Authorization": f"Bearer {token}"} if page.auth == "token" else {"Cookie": cookie}
            status, _, _ = client.request("GET", path, headers=headers)
            if status != 200:
                raise RuntimeError(f"{page.name} {path}: HTTP {status} over HTTP")
            wrk.run(path, args.warmup, headers)  # each worker has run the page's code
            drain(client)
            _, _, alone = client.request("GET", path, headers=headers)
            # A slow page gets longer slices, so that each connection gets ~5 answers a slice
            # (a connection waits for the others' requests too: connections ÷ workers of them).
            seconds = max(args.slice, min(30, math.ceil(5 * alone * args.connections / args.workers)))
            page_slices, page_floor = [], []
            for _ in range(args.rounds):
                page_floor.append(wrk.run(FLOOR, args.slice, {}))
                drain(client)
                page_slices.append(wrk.run(path, seconds, headers))
                drain(client)
            floor_slices += page_floor
            stats, floor = merge(page_slices), merge(page_floor)
            if stats["bad_status"] or stats["errors"]:
                raise RuntimeError(f"{page.name}: {stats['bad_status']} non-2xx answers, {stats['errors']} errors")
            stats["floor_p50"], stats["floor_p95"], stats["floor_rps"] = floor["p50"], floor["p95"], floor["rps"]
            if not stats["n"] or not floor["n"]:
                raise RuntimeError(f"{page.name}: no answer in {args.rounds} slices of {seconds:g} s")
            stats["ratio"] = stats["p95"] / floor["p95"]
            stats["rps_ratio"] = floor["rps"] / stats["rps"]
            stats["slice_s"] = seconds
            if result is not None:
                result.latency.setdefault(str(size), {})[page.name] = stats
            log(f"{size:>9,} {page.name:<24} {stats['rps']:7.1f}/s  p50 {stats['p50']:6.1f} ms  p95 "
                f"{stats['p95']:6.1f} ms | floor {floor['rps']:7.1f}/s p95 {floor['p95']:5.1f} ms | p95 "
                f"×{stats['ratio']:.1f}  req/s ×{stats['rps_ratio']:.1f}")
        if result is not None and floor_slices:
            result.floor[str(size)] = merge(floor_slices)
        return worker_peak_rss_kb(process)


# --- jobs ---------------------------------------------------------------------------------


def job_available(app, name: str) -> bool:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "list"])
    return result.exit_code == 0 and name in result.output


def run_job(app, name: str, now: datetime) -> tuple[float, str]:
    runner = app.test_cli_runner()
    started = time.perf_counter()
    result = runner.invoke(args=["jobs", "run", name, "--now", now.isoformat()])
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(f"jobs run {name}: {result.output[-1500:]} {result.exception!r}")
    return elapsed, result.output.strip()


def outbox_counts(app) -> dict[str, int]:
    from sqlalchemy import func, select

    from hiring.extensions import db
    from hiring.models import OutboxEmail

    with app.app_context():
        return dict(db.session.execute(select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)).all())


def measure_deadlines(environment: Environment, size: int, result: DatabaseResult, key: str) -> None:
    app = environment.app()
    if not job_available(app, "deadlines"):
        result.jobs[key] = None
        return
    now = datetime.now(UTC)
    first, first_out = run_job(app, "deadlines", now)
    before = outbox_counts(app)
    rerun, rerun_out = run_job(app, "deadlines", now + timedelta(minutes=1))
    after = outbox_counts(app)
    queued = sum(after.values()) - sum(before.values())
    result.jobs[key] = {"first": first, "first_output": first_out[-300:], "rerun": rerun,
                        "rerun_output": rerun_out[-300:], "rerun_new_emails": queued, "size": size}
    log(f"deadlines over {size:,}: first run {first:.3f} s ({first_out[-120:]!r}); rerun with nothing due "
        f"{rerun:.3f} s, {queued} new emails")


def measure_digest_and_outbox(environment: Environment, result: DatabaseResult) -> None:
    app = environment.app()
    if job_available(app, "digest"):
        before = outbox_counts(app)
        # A week on: every open application due this week is overdue, so most of the team
        # (more than 200 people at 100k applications) is responsible for one.
        when = datetime.now(UTC) + timedelta(days=7)
        elapsed, output = run_job(app, "digest", when)
        from sqlalchemy import func, select

        from hiring.extensions import db
        from hiring.models import OutboxEmail

        with app.app_context():
            recipients = db.session.scalar(select(func.count(func.distinct(OutboxEmail.recipient)))
                                           .where(OutboxEmail.template.like("%digest%")))
        result.jobs["digest"] = {"seconds": elapsed, "recipients": recipients, "output": output[-300:],
                                 "new_emails": sum(outbox_counts(app).values()) - sum(before.values())}
        log(f"digest: {recipients} recipients in {elapsed:.2f} s")
    else:
        result.jobs["digest"] = None
    if job_available(app, "outbox"):
        result.jobs["outbox"] = measure_outbox(environment)
    else:
        result.jobs["outbox"] = None


def measure_outbox(environment: Environment, emails: int = 1000) -> dict[str, Any]:
    """Queue ``emails`` candidate emails and relay them all to a local aiosmtpd server.

    The SMTP server runs in its own process: in the relay's process it would share the
    GIL and every SMTP round trip would wait for a thread switch.
    """
    from sqlalchemy import update

    from hiring.extensions import db
    from hiring.generator import bulk_insert
    from hiring.models import OutboxEmail

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                               "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("aiosmtpd did not start") from None
                time.sleep(0.2)
        app = environment.app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USE_SSL=False)
        now = datetime.now(UTC)
        with app.app_context():
            # Whatever the earlier jobs queued is relayed too, and counted.
            db.session.execute(update(OutboxEmail).where(OutboxEmail.status == "queued")
                               .values(next_attempt_at=now - timedelta(minutes=1)))
            bulk_insert(db.session, OutboxEmail, [{
                "application_id": None, "template": "benchmark", "recipient": f"candidate{i}@example.org",
                "recipient_user_id": None, "to_candidate": True, "subject": f"Benchmark email {i}",
                "body_text": "Dear candidate,\n\nthis is a benchmark email.\n\nKind regards\n" * 5,
                "body_html": "<p>Dear candidate,</p><p>this is a benchmark email.</p>" * 5, "attachments": [],
                "idempotency_key": f"benchmark:{now.timestamp()}:{i}", "status": "queued", "attempts": 0,
                "next_attempt_at": now - timedelta(minutes=1), "last_error": None, "created_at": now,
                "sent_at": None} for i in range(emails)])
            db.session.commit()
        before = outbox_counts(app)
        queued = before.get("queued", 0)
        started = time.perf_counter()
        runs = 0
        while outbox_counts(app).get("queued", 0) and runs < 200:
            run_job(app, "outbox", datetime.now(UTC))
            runs += 1
        elapsed = time.perf_counter() - started
        counts = outbox_counts(app)
    finally:
        server.terminate()
        server.wait(timeout=10)
    received = counts.get("sent", 0) - before.get("sent", 0)
    result = {"queued": queued, "received": received, "seconds": elapsed, "runs": runs,
              "per_second": received / elapsed if elapsed else 0.0, "left_queued": counts.get("queued", 0),
              "failed": counts.get("failed", 0)}
    log(f"outbox: {received} of {queued} emails sent in {elapsed:.2f} s ({result['per_second']:.0f}/s)")
    return result


# --- the run ------------------------------------------------------------------------------


PARTIAL: dict[str, Any] = {"path": None, "results": []}


def save_partial() -> None:
    """The raw results so far, after every phase: a run cut short still leaves its numbers."""
    if PARTIAL["path"]:
        Path(PARTIAL["path"]).write_text(json.dumps(
            {"meta": PARTIAL.get("meta", {}), "results": [r.__dict__ for r in PARTIAL["results"]]},
            indent=1, default=str))


def attempt(result: DatabaseResult, label: str, function, *args, **kwargs):
    """Run one measurement; a failure is reported in the notes instead of ending the run."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the report names what failed and why)
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        result.notes.append(f"{result.name}: {label} failed: {first[:300]}")
        log(f"FAILED {result.name} {label}: {exc}")
        return None
    finally:
        save_partial()


def bench_database(name: str, url_small: str, url_large: str, tmp: Path, args) -> DatabaseResult:
    """Statements, memory and pages at ``--small``, then at ``--large`` (plus the jobs), then
    at ``--million`` (lean data) in the large database's place."""
    result = DatabaseResult(name)
    PARTIAL["results"].append(result)
    small = args.small
    env_small = Environment(url_small, tmp / f"{name}-small")
    result.generation[small] = env_small.prepare(small)
    token = api_token(env_small)
    result.statements[small] = attempt(result, f"statement count at {small}", count_statements, env_small,
                                       token) or {}
    quick = argparse.Namespace(**{**vars(args), "rounds": 1, "slice": 1, "warmup": 1})
    result.memory_kb[small] = attempt(result, f"pages at {small}", measure_pages, env_small, token, quick, None,
                                      small, tmp)
    if url_small.startswith("postgresql"):
        pg_admin(url_small, f'DROP DATABASE IF EXISTS "{make_url(url_small).database}" WITH (FORCE)')

    env_large = Environment(url_large, tmp / f"{name}-large")
    for size, lean in ((args.large, False), (args.million, True)):
        if not size:
            continue
        result.generation[size] = env_large.prepare(size, lean=lean)
        token = api_token(env_large)
        result.statements[size] = attempt(result, f"statement count at {size}", count_statements, env_large,
                                          token) or {}
        result.memory_kb[size] = attempt(result, f"pages at {size}", measure_pages, env_large, token, args, result,
                                         size, tmp)
        key = "deadlines_million" if lean else "deadlines_large"
        attempt(result, f"deadline job at {size}", measure_deadlines, env_large, size, result, key)
        if not lean and args.jobs:
            attempt(result, "digest and outbox", measure_digest_and_outbox, env_large, result)
    return result


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return {"cpu": f"{cpu} × {os.cpu_count()}", "memory": memory, "os": platform.platform(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def fmt(value: float | None, digits: int = 1) -> str:
    return "not available" if value is None else f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def render(results: list[DatabaseResult], args, started: datetime, loads: tuple, pg_version: str,
           finished: datetime | None = None) -> str:
    info = machine()
    names = [r.name for r in results]
    lines = [
        "# Benchmark results",
        "",
        f"Run by `make bench` (`bench/run.py`) on {started:%Y-%m-%d %H:%M} UTC, took "
        f"{((finished or datetime.now(UTC)) - started).total_seconds() / 60:.0f} min.",
        "",
        f"- Machine: {info['cpu']}, {info['memory']} RAM, {info['os']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, {pg_version}",
        f"- Load average (1 min) at start {loads[0]:.2f}, at end {loads[1]:.2f} — the machine is shared, so "
        "absolute numbers vary; each page and the floor are measured in alternating slices, so their ratios "
        "are measured under the same load.",
        f"- Server: gunicorn, {args.workers} sync workers, scheduler off. Load: wrk, {args.connections} "
        f"connections (2 threads); per page {args.warmup:g} s warm-up, then {args.rounds} × ({args.slice:g} s "
        f"`{FLOOR}`, {args.slice:g} s page); logged in as {USER} (session cookie), the API with a bearer token.",
        f"- Target: each page's p95 at most {PAGE_RATIO_TARGET:g}× the floor's p95, and the floor's req/s at most "
        f"{PAGE_RATIO_TARGET:g}× the page's.",
    ]
    sizes = sorted({int(size) for r in results for size in r.latency}, key=int)
    for size in sizes:
        lines += ["", f"## Pages at {size:,} applications (wrk, gunicorn {args.workers} sync workers)", "",
                  "| page | " + " | ".join(f"{n} req/s | {n} p50 ms | {n} p95 ms | {n} p95 ÷ floor | "
                                           f"{n} floor req/s ÷ page" for n in names) + " | ≤ "
                  f"{PAGE_RATIO_TARGET:g}× |", "|---|" + "---:|---:|---:|---:|---:|" * len(names) + "---|"]
        for page in PAGES:
            cells, oks = [], []
            for r in results:
                stats = r.latency.get(str(size), {}).get(page.name)
                if stats is None:
                    cells.append("not available | | | |")
                    oks.append(None)
                    continue
                ok = stats["ratio"] <= PAGE_RATIO_TARGET and stats["rps_ratio"] <= PAGE_RATIO_TARGET
                cells.append(f"{stats['rps']:,.0f} | {stats['p50']:.1f} | {stats['p95']:.1f} | "
                             f"{stats['ratio']:.1f}× | {stats['rps_ratio']:.1f}×")
                oks.append(ok)
            ok = None if all(o is None for o in oks) else all(o for o in oks if o is not None)
            lines.append(f"| {page.name} | " + " | ".join(cells) + f" | {verdict(ok)} |")
        floor_cells = []
        for r in results:
            floor = r.floor.get(str(size), {})
            floor_cells.append(f"{floor.get('rps', 0):,.0f} | {floor.get('p50', 0):.1f} | {floor.get('p95', 0):.1f} "
                               "| 1.0× | 1.0×")
        lines.append(f"| floor `{FLOOR}` (all its slices) | " + " | ".join(floor_cells) + " | |")

    counted = sorted({int(size) for r in results for size in r.statements})
    lines += ["", "## SQL statements per page (must not grow with the data)", "",
              "| page | " + " | ".join(f"{r.name} {size:,}" for r in results for size in counted) + " | equal |",
              "|---|" + "---:|" * (len(results) * len(counted)) + "---|"]
    for page in PAGES:
        cells, equal = [], []
        for r in results:
            values = [r.statements.get(size, {}).get(page.name) for size in counted]
            cells += [fmt(v, 0) for v in values]
            known = [v for v in values if v is not None]
            if len(known) > 1:
                equal.append(len(set(known)) == 1)
        lines.append(f"| {page.name} | " + " | ".join(cells)
                     + f" | {'n/a' if not equal else ('yes' if all(equal) else '**no**')} |")

    lines += ["", "## Jobs", "", "| job | " + " | ".join(names) + " | target |", "|---|" + "---:|" * len(names)
              + "---|"]

    def job_row(label: str, getter, target: str, check) -> None:
        cells, oks = [], []
        for r in results:
            try:
                value = getter(r)
            except (KeyError, TypeError):
                value = None
            cells.append("not available" if value is None else value[0])
            oks.append(None if value is None or check is None else check(value[1]))
        ok = None if all(o is None for o in oks) else all(o for o in oks if o is not None)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} {verdict(ok) if check else ''} |")

    def deadline(key: str, which: str):
        def get(r):
            job = r.jobs[key]
            return (f"{job[which]:.3f} s" + (f" ({job['rerun_new_emails']} new emails)" if which == "rerun" else ""),
                    job[which])
        return get

    job_row(f"deadlines over {args.large:,}: first run", deadline("deadlines_large", "first"), "", None)
    job_row(f"deadlines over {args.large:,}: rerun, nothing due", deadline("deadlines_large", "rerun"), "", None)
    if args.million:
        job_row(f"deadlines over {args.million:,}: first run", deadline("deadlines_million", "first"), "", None)
        job_row(f"deadlines over {args.million:,}: rerun, nothing due", deadline("deadlines_million", "rerun"),
                f"≤ {DEADLINE_1M_TARGET_S:.0f} s", lambda v: v <= DEADLINE_1M_TARGET_S)

    def digest(r):
        job = r.jobs["digest"]
        return (f"{job['seconds']:.2f} s for {job['recipients']} recipients",
                (job["seconds"], job["recipients"]))

    job_row("weekly digest", digest, f"≤ {DIGEST_TARGET_S:.0f} s for {DIGEST_RECIPIENTS}",
            lambda v: v[0] <= DIGEST_TARGET_S * max(1.0, v[1] / DIGEST_RECIPIENTS) and v[1] >= 1)

    def outbox(r):
        job = r.jobs["outbox"]
        return (f"{job['per_second']:.0f} emails/s ({job['received']} of {job['queued']} in {job['seconds']:.1f} s)",
                job["per_second"])

    job_row("outbox relay to aiosmtpd", outbox, f"≥ {OUTBOX_TARGET_PER_S:.0f}/s", lambda v: v >= OUTBOX_TARGET_PER_S)

    measured = sorted({int(size) for r in results for size, kb in r.memory_kb.items() if kb})
    lines += ["", "## Worker memory (peak RSS of the largest gunicorn worker after serving every page)", "",
              "| database | " + " | ".join(f"{size:,} applications" for size in measured) + " | growth |",
              "|---|" + "---:|" * len(measured) + "---:|"]
    for r in results:
        values = [r.memory_kb.get(size) for size in measured]
        known = [v for v in values if v]
        growth = f"{(known[-1] - known[0]) / known[0] * 100:+.0f}%" if len(known) > 1 else "n/a"
        lines.append(f"| {r.name} | " + " | ".join(f"{fmt(v / 1024 if v else None)} MB" for v in values)
                     + f" | {growth} |")

    lines += ["", "## Data generation (`flask --app app demo --applications N`)", "",
              "| applications | " + " | ".join(f"{n} wall | {n} CPU" for n in names) + " |",
              "|---:|" + "---:|---:|" * len(names)]
    for size in sorted({s for r in results for s in r.generation}):
        cells = []
        for r in results:
            g = r.generation.get(size)
            cells.append(f"{g['wall']:.1f} s | {g['cpu']:.1f} s" if g else "– | –")
        label = f"{size:,}" + (" (lean: no history for closed applications)" if size == args.million else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = [n for r in results for n in r.notes]
    if notes or args.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes] + [f"- {n}" for n in args.notes]
    return "\n".join(lines) + "\n"


def postgres_version(url: str) -> str:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                             user=parsed.username or "postgres", dbname="postgres") as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # noqa: BLE001 (the report says why PostgreSQL is missing)
        return f"PostgreSQL unavailable ({exc.__class__.__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--million", type=int, default=1_000_000,
                        help="pages and the deadline job at this many (lean) applications; 0 skips it")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--slice", type=int, default=2, help="seconds of one wrk slice (longer for a slow page)")
    parser.add_argument("--rounds", type=int, default=4, help="floor/page slice pairs per page")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk on a page before measuring")
    parser.add_argument("--no-jobs", dest="jobs", action="store_false", help="skip the digest and outbox jobs")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hiring_bench_perf"))
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--note", dest="notes", action="append", default=[], help="a line for the Notes section")
    parser.add_argument("--combine", nargs="+", metavar="JSON",
                        help="render one report from the raw results of runs made in parallel (e.g. one per "
                             "database) instead of measuring")
    args = parser.parse_args()
    if args.combine:
        combine(args)
        return
    started = datetime.now(UTC)
    load_start = os.getloadavg()[0]
    PARTIAL["path"] = str(Path(args.output).with_suffix(".partial.json"))
    PARTIAL["meta"] = {"started": started.isoformat(), "loads": [load_start, load_start],
                       "finished": started.isoformat()}
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="hiring-bench-"))
    try:
        for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if name == "sqlite":
                results.append(bench_database("SQLite", f"sqlite:///{tmp}/small.sqlite",
                                              f"sqlite:///{tmp}/large.sqlite", tmp, args))
            elif name == "postgresql":
                results.append(bench_database("PostgreSQL", args.postgres_url + "_small", args.postgres_url, tmp,
                                              args))
            else:
                parser.error(f"unknown database {name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for r in results:
            if r.name == "PostgreSQL":
                for url in (args.postgres_url + "_small", args.postgres_url):
                    from sqlalchemy.engine import make_url

                    pg_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    raw = Path(args.output).with_suffix(".json")
    raw.write_text(json.dumps({"results": [r.__dict__ for r in results]}, indent=1, default=str))  # before rendering
    report = render(results, args, started, (load_start, os.getloadavg()[0]), postgres_version(args.postgres_url))
    Path(args.output).write_text(report)
    meta = {"started": started.isoformat(), "loads": [load_start, os.getloadavg()[0]],
            "finished": datetime.now(UTC).isoformat()}
    raw.write_text(json.dumps({"meta": meta, "results": [r.__dict__ for r in results]}, indent=1, default=str))
    print(report)


def combine(args) -> None:
    results, starts, ends, loads = [], [], [], []
    for path in args.combine:
        data = json.loads(Path(path).read_text())
        starts.append(datetime.fromisoformat(data["meta"]["started"]))
        ends.append(datetime.fromisoformat(data["meta"]["finished"]))
        loads.append(data["meta"]["loads"])
        for raw in data["results"]:
            result = DatabaseResult(raw["name"])
            result.generation = {int(k): v for k, v in raw["generation"].items()}
            result.statements = {int(k): v for k, v in raw["statements"].items()}
            result.memory_kb = {int(k): v for k, v in raw["memory_kb"].items()}
            result.latency, result.floor = raw["latency"], raw["floor"]
            result.jobs, result.notes = raw["jobs"], raw["notes"]
            results.append(result)
    results.sort(key=lambda r: r.name != "SQLite")
    args.notes.append(f"{len(args.combine)} runs in parallel, one per database (they shared the machine), "
                      f"from {min(starts):%H:%M} to {max(ends):%H:%M} UTC.")
    report = render(results, args, min(starts), (max(x[0] for x in loads), max(x[1] for x in loads)),
                    postgres_version(args.postgres_url), finished=max(ends))
    Path(args.output).write_text(report)
    Path(args.output).with_suffix(".json").write_text(json.dumps(
        {"meta": {"started": min(starts).isoformat(), "finished": max(ends).isoformat()},
         "results": [r.__dict__ for r in results]}, indent=1, default=str))
    print(report)


if __name__ == "__main__":
    main()
