"""A large, realistic synthetic dataset, written with bulk inserts.

`flask --app app demo --applications N` uses this to fill an empty database with a
hiring team, positions, candidates and N applications spread over two years and over
every stage: each application's history is simulated forward in time (interviews with
their panels, feedback, decisions, automatic delay notices, audit events, emails) and
stops wherever ``now`` falls, so most applications are closed and a realistic share is
open — some on time, some due soon, some overdue, as a real team leaves them.

The services would take minutes per thousand applications (one transaction each), so
the rows are computed here and written in batches: SQLAlchemy Core ``insert`` with
executemany on SQLite, ``COPY`` on PostgreSQL (by a writer thread while the next batch is
simulated), into tables whose secondary indexes are built once at the end. Deadlines come
from hiring.pipeline, so the data obeys the same rules as data the services write, and
the scheduler's memory (due-soon / overdue notices already sent, automatic extensions) is
filled in as if the jobs had been running all along.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Date, func, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from . import pipeline
from .models import (
    Application,
    AuditEvent,
    Candidate,
    CandidateContact,
    Decision,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    Promise,
    User,
    UTCDateTime,
)
from .pipeline import OPEN_STAGES, Policy

DEMO_PASSWORD = "demo-password"
# The first users are the small demo's, so the same logins work on a large dataset.
NAMED_USERS = [
    ("admin@example.com", "Ada Admin", "admin"),
    ("rita@example.com", "Rita Recruiter", "recruiter"),
    ("robin@example.com", "Robin Recruiter", "recruiter"),
    ("ivan@example.com", "Ivan Interviewer", "interviewer"),
    ("ines@example.com", "Ines Interviewer", "interviewer"),
    ("igor@example.com", "Igor Interviewer", "interviewer"),
    ("mona@example.com", "Mona Manager", "manager"),
]
FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hamid", "Ida", "Jonas", "Katrin",
               "Leon", "Mia", "Noah", "Olga", "Paul", "Quentin", "Rosa", "Samir", "Tara", "Uwe", "Vera",
               "Wen", "Xaver", "Yara", "Zoe", "Amir", "Birgit", "Chen", "Dilara", "Emil", "Fatima", "Georg",
               "Hanna", "Ilias", "Jana", "Kofi", "Lena", "Malte", "Nora", "Oskar", "Priya", "Rafael", "Sofia"]
LAST_NAMES = ["Schmidt", "Meyer", "Nguyen", "Kowalski", "Rossi", "Yilmaz", "Fischer", "Okafor", "Weber",
              "Hansen", "Novak", "Berger", "Lang", "Popescu", "Haas", "Santos", "Wagner", "Becker", "Hoffmann",
              "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
              "Kruger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Kaiser", "Fuchs", "Peters"]
POSITION_TITLES = ["Embedded Software Engineer", "FPGA Developer", "Hardware Test Engineer",
                   "Technical Project Manager", "Firmware Engineer", "Electronics Designer", "DevOps Engineer",
                   "Functional Safety Engineer", "Systems Architect", "Embedded Linux Developer",
                   "Verification Engineer", "Product Owner", "Quality Engineer", "Technical Writer"]
DEPARTMENTS = ["Engineering", "Quality", "Projects", "Operations", "Product"]
FEEDBACK_NOTES = [
    "Solid on C and RTOS basics; good questions about the team.",
    "Strong debugging story; less depth in hardware bring-up.",
    "Clear communicator, thought aloud well through the design exercise.",
    "Struggled with concurrency questions; friendly and motivated.",
    "Great fit for the team; wants to grow into architecture.",
]
REJECTION_RATIONALES = ["Another candidate fits the team better.", "Experience too far from the role.",
                        "Panel not convinced on the technical depth.", "Salary expectations far apart."]

POSITION_OPEN_DAYS = 120
# Lean mode: an application this old is closed in every simulated history (the longest path,
# with late answers and delay notices, takes about four months).
LEAN_CLOSED_BEFORE = timedelta(days=180)  # how long a position takes applications
HISTORY_DAYS = 730  # two years of history
BATCH_APPLICATIONS = 2000  # applications simulated and written per batch
OPEN_STAGE_VALUES = frozenset(s.value for s in OPEN_STAGES)


class _S:
    """The stage names as plain strings (enum lookups are measurable in the hot loop)."""

    APPLIED, FIRST_INTERVIEW, FIRST_DECISION, SECOND_INTERVIEW, FINAL_DECISION, OFFER = (
        s.value for s in OPEN_STAGES)
    HIRED, REJECTED, DECLINED, WITHDRAWN = (s.value for s in pipeline.CLOSED_STAGES)


JOB_INTERVAL = timedelta(minutes=15)  # how often the deadline job runs, for the notices' timestamps
RELAY_DELAY = timedelta(seconds=45)  # the outbox relay runs every minute
# Where applications come from, in percent (the sources report).
SOURCE_SHARES = (("careers_site", 35), ("job_board", 25), ("referral", 12), ("direct", 10), ("agency", 8),
                 ("talent_pool", 5), ("other", 5))
_SOURCE_BY_PERCENT = [name for name, share in SOURCE_SHARES for _ in range(share)]


def source_of(application_id: int) -> str:
    """An application's source, spread by SOURCE_SHARES and fixed by its id (a hash, so the
    seeded random sequence of the rest of the simulation stays as it was)."""
    return _SOURCE_BY_PERCENT[(application_id * 2654435761) % 2**32 % 100]


class DatabaseNotEmpty(RuntimeError):
    pass


@dataclass
class Team:
    admin: int
    recruiters: list[int]
    interviewers: list[int]
    managers: list[int]
    emails: dict[int, str] = field(default_factory=dict)


@dataclass
class PositionRow:
    id: int
    title: str
    owner_id: int
    hiring_manager_id: int
    start: datetime


class Rows:
    """The rows of one batch, per table, in foreign-key order."""

    ORDER = (Candidate, Application, Promise, Interview, PanelMember, Feedback, Decision, CandidateContact,
             AuditEvent, OutboxEmail)

    def __init__(self) -> None:
        self.by_model: dict[type, list[dict[str, Any]]] = {model: [] for model in self.ORDER}

    def add(self, model: type, row: dict[str, Any]) -> None:
        self.by_model[model].append(row)

    def write(self, connection: Connection) -> dict[str, int]:
        counts = {}
        for model in self.ORDER:
            rows = self.by_model[model]
            if rows:
                bulk_insert(connection, model, rows)
            counts[model.__tablename__] = len(rows)
        return counts


def bulk_insert(session: Session | Connection, model: type, rows: list[dict[str, Any]]) -> None:
    """One executemany INSERT of ``rows`` (dicts of Python values) into ``model``'s table.

    The statement is SQLAlchemy Core's ``insert``, compiled once per table and dialect;
    the values are converted to what the driver takes here, once, and handed to the
    driver's executemany — SQLAlchemy's per-row parameter processing would otherwise
    cost more than the database's own work.
    """
    if not rows:
        return
    connection = session if isinstance(session, Connection) else session.connection()
    dialect = connection.dialect
    table = model.__table__
    converters = _converters(table, dialect.name)
    if converters:
        for row in rows:
            for name, convert in converters:
                value = row.get(name)  # a nullable column the rows leave out stays out (NULL)
                if value is not None:
                    row[name] = convert(value)
    if dialect.name == "postgresql":
        # COPY: one stream per table instead of an INSERT per row for the server to parse and plan.
        keys = tuple(rows[0])
        columns = ", ".join(f'"{key}"' for key in keys)
        with connection.connection.cursor() as cursor, \
                cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[key] for key in keys])
        return
    connection.exec_driver_sql(_compiled_insert(table, tuple(rows[0]), dialect), rows)


@lru_cache(maxsize=128)
def _compiled_insert(table: Any, keys: tuple[str, ...], dialect: Any) -> str:
    """The INSERT with named parameters, so the driver binds straight from the dicts."""
    if dialect.name == "sqlite":
        dialect = sqlite.dialect(paramstyle="named")
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    if compiled.positional:
        raise RuntimeError(f"{dialect.name}: expected a named parameter style")
    return str(compiled)


@lru_cache(maxsize=64)
def _converters(table: Any, dialect: str) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    result = []
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            result.append((column.name, _sqlite_datetime if dialect == "sqlite" else _aware_utc))
        elif isinstance(column.type, Date) and dialect == "sqlite":
            result.append((column.name, date.isoformat))
        elif isinstance(column.type, JSON):
            result.append((column.name, json.dumps if dialect == "sqlite" else Json))
    return tuple(result)


def _sqlite_datetime(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DATETIME writes and reads; naive UTC, as UTCDateTime stores it.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}")
    return value


def team_size(applications: int) -> dict[str, int]:
    """A team that grows with the volume: ~500 applications a recruiter over two years."""
    return {
        "recruiters": max(2, applications // 500),
        "managers": max(1, applications // 1000),
        "interviewers": max(3, applications // 100),
        "positions": max(4, applications // 50),
    }


def is_empty(session: Session) -> bool:
    return not (session.scalar(select(func.count()).select_from(User))
                or session.scalar(select(func.count()).select_from(Application)))


def generate(session: Session, applications: int, *, now: datetime, policy: Policy, seed: int = 7,
             lean: bool = False, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the dataset; returns the number of rows per table.

    With ``lean`` the history of closed applications (interviews, feedback, decisions,
    events, emails) is left out — for the million-application benchmark, where only the
    size of the applications table matters; open applications keep their full history.
    """
    if applications < 1:
        raise ValueError("applications must be at least 1")
    if not is_empty(session):
        raise DatabaseNotEmpty("The database is not empty; generated data is only written into an empty one.")
    sim = _Simulation(applications, now=now, policy=policy, seed=seed, lean=lean)
    totals: dict[str, int] = {}

    def add(counts: dict[str, int]) -> None:
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value

    with _bulk_load(session):
        add(sim.write_team(session))
        add(_write_batches(session, sim, progress))
    _reset_sequences(session)
    session.commit()
    # Fresh statistics: the planner must know the tables are large (PostgreSQL's autovacuum
    # would catch up only later; SQLite has none until ANALYZE runs).
    session.execute(text("ANALYZE"))
    session.commit()
    return totals


def _write_batches(session: Session, sim: _Simulation, progress: Callable[[int], None] | None) -> dict[str, int]:
    """Write each batch on a connection of its own. On PostgreSQL a second thread writes
    batch n while this one simulates batch n+1: psycopg releases the GIL while the server
    works, so on two cores the two overlap (measured: 40k applications in 32-42 s instead
    of 48-56 s). The progress bar moves, in this thread, as each batch is committed.
    """
    totals: dict[str, int] = {}
    synchronous = None
    with session.get_bind().connect() as connection:
        if connection.dialect.name == "sqlite":
            synchronous = int(connection.exec_driver_sql("PRAGMA synchronous").scalar())
            # A bigger page cache for this connection, and no fsync per batch: a crash mid-load
            # leaves a half-filled database to throw away either way.
            connection.exec_driver_sql("PRAGMA cache_size = -262144")
            connection.exec_driver_sql("PRAGMA synchronous = OFF")
            connection.commit()

        def write(rows: Rows) -> dict[str, int]:
            with connection.begin():  # explicit: COPY through the driver's cursor does not autobegin
                return rows.write(connection)

        def done(future: Future, size: int) -> None:
            for key, value in future.result().items():
                totals[key] = totals.get(key, 0) + value
            if progress is not None:
                progress(size)

        pending: tuple[Future, int] | None = None
        try:
            if connection.dialect.name != "postgresql":
                # SQLite does its work in this process: a writer thread would mostly wait for the
                # GIL (binding the rows holds it), and measured no faster.
                for size, rows in sim.batches():
                    future: Future = Future()
                    future.set_result(write(rows))
                    done(future, size)
                return totals
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator-writer") as writer:
                for size, rows in sim.batches():
                    if pending is not None:
                        done(*pending)
                        pending = None
                    pending = (writer.submit(write, rows), size)
                if pending is not None:
                    done(*pending)
        finally:
            if synchronous is not None:
                connection.exec_driver_sql(f"PRAGMA synchronous = {synchronous}")
    return totals


@contextmanager
def _bulk_load(session: Session) -> Iterator[None]:
    """Fill the tables without their secondary indexes, then build each index once.

    Keeping a dozen indexes (and SQLite's trigram search index) up to date row by row, in
    random key order, costs more than the inserts themselves; building them afterwards
    sorts each once. The indexes are dropped and recreated from their own definitions in
    the database catalogue (what the migrations created, partial and expression indexes
    included), and recreated also when the load fails.
    """
    tables = [model.__tablename__ for model in Rows.ORDER]
    if session.get_bind().dialect.name == "sqlite":
        deferred = session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN ({}) AND ("
            "type = 'index' OR (type = 'trigger' AND name = 'candidate_search_insert'))".format(
                ", ".join(f"'{t}'" for t in tables))
        )).all()
        for name, sql in deferred:
            kind = "TRIGGER" if sql.upper().startswith("CREATE TRIGGER") else "INDEX"
            session.execute(text(f'DROP {kind} "{name}"'))
    else:
        deferred = session.execute(text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(:tables) AND t.relnamespace = current_schema()::regnamespace "
            "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
        ), {"tables": tables}).all()
        for name, _sql in deferred:
            session.execute(text(f'DROP INDEX "{name}"'))
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        for _name, sql in deferred:
            session.execute(text(sql))
        if any(name == "candidate_search_insert" for name, _sql in deferred):
            session.execute(text("INSERT INTO candidate_search(candidate_search) VALUES ('rebuild')"))
        session.commit()


def _reset_sequences(session: Session) -> None:
    """Ids were given explicitly; PostgreSQL's sequences must continue after them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Position, Candidate, Application, Promise, Interview, Feedback, Decision, CandidateContact,
                  AuditEvent, OutboxEmail):
        table = model.__tablename__
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)"
        ))


class _Simulation:
    def __init__(self, applications: int, *, now: datetime, policy: Policy, seed: int, lean: bool):
        self.n = applications
        self.now = now
        self.policy = policy
        self.rng = random.Random(seed)
        self.lean = lean
        self.tz = policy.tz
        self.event_ids: Iterator[int] = itertools.count(1)
        self.email_ids: Iterator[int] = itertools.count(1)
        self.ids: dict[str, Iterator[int]] = {}
        self.pairs: set[tuple[int, int]] = set()
        self.candidates: list[tuple[int, str, str, str]] = []  # id, name, email, language
        self.positions: list[PositionRow] = []
        self.position_starts: list[datetime] = []
        self.team: Team | None = None

    def next_id(self, table: str) -> int:
        try:
            return next(self.ids[table])
        except KeyError:
            self.ids[table] = itertools.count(1)
            return next(self.ids[table])

    def _event(self, application_id: int | None, actor: int | None, kind: str, at: datetime,
               **data: Any) -> dict[str, Any]:
        """An audit event row; team-level events get their id here, an application's from _History."""
        row = {"application_id": application_id, "actor_id": actor, "kind": kind, "data": data, "occurred_at": at}
        if application_id is None:
            row["id"] = next(self.event_ids)
        return row

    # --- the team and the positions ---------------------------------------------------------

    def write_team(self, session: Session) -> dict[str, int]:
        size = team_size(self.n)
        password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash: every account has the demo password
        created = self.now - timedelta(days=HISTORY_DAYS + 30)
        users: list[dict[str, Any]] = []
        team = Team(admin=0, recruiters=[], interviewers=[], managers=[])

        def add_user(email: str, name: str, role: str) -> None:
            user_id = self.next_id("user")
            users.append({"id": user_id, "email": email, "name": name, "role": role, "password_hash": password_hash,
                          "active": True, "created_at": created})
            team.emails[user_id] = email
            if role == "admin":
                team.admin = user_id
            else:
                getattr(team, {"recruiter": "recruiters", "interviewer": "interviewers",
                               "manager": "managers"}[role]).append(user_id)

        for email, name, role in NAMED_USERS:
            add_user(email, name, role)
        for role, key in (("recruiter", "recruiters"), ("manager", "managers"), ("interviewer", "interviewers")):
            for i in range(len(getattr(team, key)), size[key]):
                first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
                add_user(f"{role}-{i + 1}@example.com", f"{first} {last}", role)
        self.team = team

        positions: list[dict[str, Any]] = []
        starts = sorted(self.now - timedelta(days=self.rng.uniform(10, HISTORY_DAYS + POSITION_OPEN_DAYS / 2))
                        for _ in range(size["positions"]))
        for start in starts:
            position_id = self.next_id("position")
            title = self.rng.choice(POSITION_TITLES)
            row = PositionRow(position_id, title, self.rng.choice(team.recruiters), self.rng.choice(team.managers),
                              start)
            self.positions.append(row)
            self.position_starts.append(start)
            # Still open while taking applications and a while after, to finish its interviews.
            status = "open" if start + timedelta(days=POSITION_OPEN_DAYS + 45) > self.now else "closed"
            positions.append({"id": position_id, "title": title, "department": self.rng.choice(DEPARTMENTS),
                              "status": status, "owner_id": row.owner_id, "hiring_manager_id": row.hiring_manager_id,
                              "created_at": start})
        events = [self._event(None, team.admin, "user_created", created, user_id=u["id"], email=u["email"],
                              role=u["role"]) for u in users]
        events += [self._event(None, team.admin, "position_created", p["created_at"], position_id=p["id"],
                               title=p["title"]) for p in positions]
        bulk_insert(session, User, users)
        bulk_insert(session, Position, positions)
        bulk_insert(session, AuditEvent, events)
        session.commit()
        return {"user": len(users), "position": len(positions), "audit_event": len(events)}

    def _pick_position(self, at: datetime, candidate_id: int) -> PositionRow:
        """A position that took applications at ``at`` and that this candidate has not applied to."""
        hi = bisect.bisect_right(self.position_starts, at)
        lo = bisect.bisect_left(self.position_starts, at - timedelta(days=POSITION_OPEN_DAYS))
        if hi <= lo:
            lo, hi = max(0, hi - 5), max(hi, min(len(self.positions), 5))
        for _ in range(20):
            position = self.positions[self.rng.randrange(lo, hi)]
            if (candidate_id, position.id) not in self.pairs:
                return position
        return next(p for p in self.positions if (candidate_id, p.id) not in self.pairs)

    # --- applications -----------------------------------------------------------------------

    def batches(self) -> Iterator[tuple[int, Rows]]:
        # Arrival times over two years, growing a little towards today (a growing company).
        span = HISTORY_DAYS * 86400
        offsets = sorted(span * (1 - self.rng.random() ** 1.15) for _ in range(self.n))
        start = self.now - timedelta(seconds=span)
        for first in range(0, self.n, BATCH_APPLICATIONS):
            rows = Rows()
            chunk = offsets[first:first + BATCH_APPLICATIONS]
            for offset in chunk:
                applied_at = start + timedelta(seconds=offset)
                self._application(rows, min(applied_at, self.now - timedelta(minutes=5)))
            yield len(chunk), rows

    def _candidate(self, rows: Rows, at: datetime) -> tuple[int, str, str, str]:
        # About one candidate in twelve applies again, to another position.
        if self.candidates and self.rng.random() < 0.08:
            return self.candidates[self.rng.randrange(max(0, len(self.candidates) - 20000), len(self.candidates))]
        candidate_id = self.next_id("candidate")
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        email = f"{first}.{last}.{candidate_id}@example.org".lower()
        language = "de" if self.rng.random() < 0.35 else "en"
        rows.add(Candidate, {"id": candidate_id, "name": name, "email": email,
                             "phone": f"+49 89 {self.rng.randint(1000000, 9999999)}", "language": language,
                             "talent_pool_consent": self.rng.random() < 0.3, "created_at": at})
        candidate = (candidate_id, name, email, language)
        self.candidates.append(candidate)
        return candidate

    def _application(self, rows: Rows, applied_at: datetime) -> None:
        candidate = self._candidate(rows, applied_at)
        position = self._pick_position(applied_at, candidate[0])
        self.pairs.add((candidate[0], position.id))
        if self.lean and applied_at < self.now - LEAN_CLOSED_BEFORE:
            self._closed_application(rows, candidate[0], position, applied_at)
            return
        history = _History(self, rows, candidate, position, applied_at)
        history.run()
        history.finish()

    def _closed_application(self, rows: Rows, candidate_id: int, position: PositionRow, applied_at: datetime) -> None:
        """Lean mode, long-closed application: only its row, with the outcome's shares of the
        full simulation (its history would not be written anyway)."""
        roll = self.rng.random()
        stage = (_S.REJECTED if roll < 0.8 else _S.WITHDRAWN if roll < 0.87 else _S.HIRED if roll < 0.97
                 else _S.DECLINED)
        closed_at = applied_at + timedelta(days=3 + 60 * self.rng.random())
        application_id = self.next_id("application")
        rows.add(Application, {
            "id": application_id, "candidate_id": candidate_id, "position_id": position.id,
            "owner_id": position.owner_id, "stage": stage, "applied_at": applied_at, "stage_entered_at": closed_at,
            "source": source_of(application_id),
            "due_at": None, "promised_at": None, "last_candidate_email_at": closed_at,
            "competing_offer_deadline": None, "extended_until": None, "extension_reason": None, "verdict": None,
            "awaiting_feedback": False, "due_soon_notified_at": None, "overdue_notified_at": None,
            "expedite_notified_for": None, "needs_discussion_notified_at": None, "promise_made_at": applied_at,
            "closed_at": closed_at, "version": 3, "created_at": applied_at, "updated_at": closed_at,
            "promise_moves": 0, "automatic_delays": 0, "overdue_since": None, "interview_ends_at": None,
            "unrecorded_notified_at": None,
        })


@lru_cache(maxsize=4096)
def _day_text(day: date) -> str:
    return f"{day:%d %b %Y}"


@lru_cache(maxsize=65536)
def _base_due(stage: str, entered_day: date, policy: Policy) -> datetime | None:
    days = policy.days_for(stage)
    if days is None:
        return None
    return pipeline.end_of_day(pipeline.add_days(entered_day, days, policy), policy)


class _History:
    """One application's life, simulated step by step until it closes or reaches ``now``."""

    def __init__(self, sim: _Simulation, rows: Rows, candidate: tuple[int, str, str, str], position: PositionRow,
                 applied_at: datetime):
        self.sim, self.rng, self.now, self.policy = sim, sim.rng, sim.now, sim.policy
        self.tz = sim.tz
        self.rows = rows
        self.candidate_id, self.name, self.email, self.language = candidate
        self.position = position
        self.id = sim.next_id("application")
        self.applied_at = applied_at
        self.stage = _S.APPLIED
        self.entered = applied_at
        self.due: datetime | None = None
        self.extended_until: datetime | None = None
        self.extension_reason: str | None = None
        self.promised: datetime | None = None
        self.overdue_since: datetime | None = None
        self.automatic_delays = 0
        self.promise_moves = 0
        self.promise_made: datetime | None = None
        self.promise_row: dict[str, Any] | None = None  # the open one in the promise record
        self.last_email: datetime | None = None
        self.verdict: str | None = None
        self.awaiting_feedback = False
        self.competing_offer: date | None = None
        self.closed_at: datetime | None = None
        self.updated = applied_at
        self.version = 1
        self.open_interview: dict[str, Any] | None = None
        self.last_event = 0
        self.buffer: list[tuple[type, dict[str, Any]]] = []  # related rows, kept unless lean and closed
        self.recruiter = position.owner_id
        self.manager = position.hiring_manager_id

    # --- helpers ------------------------------------------------------------------------------

    def _days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def _answer_delay(self, stage: str) -> timedelta:
        """How long the team takes to answer: mostly within the policy's days, sometimes late."""
        days = self.sim.policy.days_for(stage) or 7
        if self.rng.random() < 0.12:
            return self._days(days, days * 1.8)
        return self._days(0.3, days * 0.95)

    def _enter(self, stage: str, at: datetime, *, interview_at: datetime | None = None) -> None:
        self.stage = stage
        self.entered = at
        self.overdue_since = None
        self.automatic_delays = self.promise_moves = 0
        self.extended_until = None
        self.extension_reason = None
        if stage != _S.SECOND_INTERVIEW:
            self.competing_offer = None  # settled one way or the other by the next step
        self.verdict = None if stage in (_S.APPLIED, _S.FIRST_INTERVIEW) else self.verdict
        if stage not in OPEN_STAGE_VALUES:
            self.closed_at = at
            self.awaiting_feedback = False
        self._set_due(at, answers=True, interview_at=interview_at)
        self._touch(at)

    def _set_due(self, at: datetime, *, answers: bool = False, interview_at: datetime | None = None) -> None:
        """The candidate's date and the team's deadline, by the same rules as services.keep_promise."""
        if self.stage == _S.OFFER:
            self._promise(at, answers=True, day=None)
            self.promised = None
            self.due = _base_due(self.stage, self.entered.astimezone(self.tz).date(), self.policy)
            return
        if self.stage not in OPEN_STAGE_VALUES:
            self._promise(at, answers=True, day=None, withdrawn=self.stage == _S.WITHDRAWN)
            self.promised = self.due = None
            return
        computed = pipeline.answer_date(self.stage, self.entered, self.policy, interview_at=interview_at,
                                        extended_until=self.extended_until)
        current = pipeline.local_date(self.promised, self.policy) if self.promised else None
        day = pipeline.promise_date(computed, at, self.policy, current=current, answers=answers,
                                    competing_offer_deadline=self.competing_offer)
        if day is None:
            return
        if day != current or answers:
            self._promise(at, answers=answers, day=day)
            self.promised = pipeline.end_of_day(day, self.policy)
            self.due = pipeline.team_due_at(day, at, self.policy)

    def _promise(self, at: datetime, *, answers: bool, day: date | None, automatic: bool = False,
                 withdrawn: bool = False) -> None:
        """The promise record, by the rules of services.keep_promise: the open promise ends
        (kept, moved, broken or withdrawn) and the new date, if any, gets its row. The rows
        go with the history (a lean dataset leaves them out for long-closed applications)."""
        if self.promise_row is not None:
            outcome = pipeline.promise_outcome(self.promise_row["lapses_at"], at,
                                               moved=day is not None and not answers, withdrawn=withdrawn)
            self.promise_row.update(outcome=outcome.value, resolved_at=at,
                                    resolved_by="delay_notice" if automatic else "generated")
            self.promise_row = None
        if day is not None:
            self.promise_row = {
                "id": self.sim.next_id("promise"), "application_id": self.id, "stage": self.stage,
                "promised_for": day, "lapses_at": pipeline.end_of_day(day, self.policy), "told_at": at,
                "told_in": "delay_notice" if automatic else "generated", "automatic": automatic,
                "resolved_at": None, "outcome": None, "resolved_by": None,
            }
            self._keep(Promise, self.promise_row)

    def _touch(self, at: datetime) -> None:
        self.updated = max(self.updated, at)
        self.version += 1

    def _keep(self, model: type, row: dict[str, Any]) -> None:
        self.buffer.append((model, row))

    def _event(self, kind: str, at: datetime, actor: int | None, **data: Any) -> int:
        event_id = next(self.sim.event_ids)
        self.buffer.append((AuditEvent, {"id": event_id, "application_id": self.id, "actor_id": actor,
                                         "kind": kind, "data": data, "occurred_at": at}))
        return event_id

    def _email(self, template: str, key: str, at: datetime, subject: str, body: str, *,
               to_user: int | None = None, promise: bool = False) -> None:
        if promise:
            self.promise_made = at
        to_candidate = to_user is None
        recipient = self.email if to_candidate else self.sim.team.emails[to_user]
        sent_at = at + RELAY_DELAY
        sent = sent_at <= self.now
        self.buffer.append((OutboxEmail, {
            "id": next(self.sim.email_ids), "application_id": self.id, "template": template,
            "recipient": recipient, "recipient_user_id": to_user, "to_candidate": to_candidate, "subject": subject,
            "body_text": body, "body_html": "", "attachments": [],
            "idempotency_key": key if not to_candidate else f"application:{self.id}:{key}",
            "status": "sent" if sent else "queued", "attempts": 1 if sent else 0, "next_attempt_at": at,
            "last_error": None, "created_at": at, "sent_at": sent_at if sent else None,
        }))
        if to_candidate:
            self.last_email = at

    def _candidate_email(self, template: str, key: str, at: datetime, subject: str, *, promise: bool = False) -> None:
        if promise:
            self.promise_made = at
        when = f" You will hear from us by {_day_text(self.promised.astimezone(self.tz).date())}." if (
            promise and self.promised) else ""
        body = f"Dear {self.name},\n\n{subject} — {self.position.title}.{when}\n\nKind regards\nThe hiring team\n"
        self._email(template, key, at, subject, body, promise=promise)

    def _wait(self, delay: timedelta) -> datetime | None:
        """The moment of the next step, or None when that lies after ``now`` (the
        application stays where it is). Late answers trigger the delay-notice job first."""
        at = self.entered + delay
        # The delay-notice job leaves the offer stage alone: there the candidate answers.
        while self.promised is not None and self.stage != _S.OFFER:
            notice_at = pipeline.delay_notice_at(self.promised, self.policy) + timedelta(minutes=15)
            if notice_at >= min(at, self.now):
                break
            self._delay_notice(notice_at)
        return at if at <= self.now else None

    def _delay_notice(self, at: datetime) -> None:
        new_day = pipeline.delay_notice_date(pipeline.local_date(self.promised, self.policy), at, self.policy,
                                             competing_offer_deadline=self.competing_offer)
        before = self.due
        self.overdue_since = self.overdue_since or self.due
        self.automatic_delays += 1
        self.promise_moves += 1
        self._promise(at, answers=False, day=new_day, automatic=True)
        self.extended_until = pipeline.end_of_day(new_day, self.policy)
        self.extension_reason = "We need a little more time to decide carefully."
        self.promised = self.extended_until
        self.due = pipeline.team_due_at(new_day, at, self.policy)
        self._touch(at)
        event = self._event("deadline_extended", at, None, before=before.isoformat(), due_at=self.due.isoformat(),
                            reason=self.extension_reason, automatic=True)
        self._candidate_email("delay_notice", f"extended:{event}", at, "We need a little more time", promise=True)

    # --- the process --------------------------------------------------------------------------

    def run(self) -> None:
        self._enter(_S.APPLIED, self.applied_at)
        self.version = 1
        event = self._event("application_submitted", self.applied_at, self.recruiter,
                            position_id=self.position.id, candidate_id=self.candidate_id,
                            due_at=self.due.isoformat())
        self._candidate_email("application_received", f"received:{event}", self.applied_at,
                              "Thank you for your application", promise=True)
        at = self._wait(self._answer_delay(_S.APPLIED))
        if at is None:
            return
        roll = self.rng.random()
        if roll < 0.03:
            return self._withdraw(at)
        if roll < 0.55:
            return self._reject(at, self.recruiter)
        panel = self.rng.sample(self.sim.team.interviewers, 2)
        interview = self._schedule(1, at, at + self._days(2, 9), panel, location="Munich office, room Ada")
        self._enter(_S.FIRST_INTERVIEW, at, interview_at=interview["scheduled_at"])
        if interview["scheduled_at"] > self.now:
            return
        if self.rng.random() < 0.03:
            return self._withdraw(interview["scheduled_at"] - self._days(0.1, 1))
        held = interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        if held > self.now:
            return
        self._held(interview, held, panel, _S.FIRST_DECISION, positive_rate=0.6)
        at = self._wait(self._answer_delay(_S.FIRST_DECISION))
        if at is None:
            return
        if self.rng.random() < 0.04:
            return self._withdraw(at)
        if self.rng.random() < 0.5:
            return self._reject(at, self.recruiter)
        self._decide(at, self.recruiter, "advance", "Strong fundamentals; invite to the second interview.")
        self._enter(_S.SECOND_INTERVIEW, at)
        self.verdict = None
        self.awaiting_feedback = False
        self._candidate_email("second_interview_invitation", f"decision:{self.last_event}", at,
                              "Invitation to a second interview", promise=True)
        if self.rng.random() < 0.08:  # a competing offer makes us hurry
            deadline = pipeline.local_date(at, self.policy) + timedelta(days=self.rng.randint(4, 10))
            self.competing_offer = deadline
            self._set_due(at)
            self._event("competing_offer_set", at + timedelta(hours=2), self.recruiter, deadline=deadline.isoformat(),
                        due_at=self.due.isoformat())
        scheduled_for = at + self._answer_delay(_S.SECOND_INTERVIEW)
        second_panel = [*self.rng.sample(self.sim.team.interviewers, 2), self.manager]
        booked = at + self._days(0.2, 2)
        if booked > self.now:
            return
        interview = self._schedule(2, booked, max(scheduled_for, booked + timedelta(hours=20)), second_panel,
                                   video="https://meet.example.com/interview-" + str(self.id))
        self._set_due(booked, answers=True, interview_at=interview["scheduled_at"])
        held = interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        if self._wait(held - self.entered) is None:
            return
        if self.rng.random() < 0.03:
            return self._withdraw(held - self._days(0.1, 1))
        self._held(interview, held, second_panel, _S.FINAL_DECISION, positive_rate=0.55)
        at = self._wait(self._answer_delay(_S.FINAL_DECISION))
        if at is None:
            return
        if self.verdict == "clear_hire" or (self.verdict == "mixed" and self.rng.random() < 0.4):
            self._decide(at, self.manager, "advance", "Clear recommendation; offer agreed." if
                         self.verdict == "clear_hire" else "Discussed the mixed feedback; we make the offer.")
            self._enter(_S.OFFER, at)
            self._candidate_email("offer", f"decision:{self.last_event}", at, "Our offer", promise=True)
            at = self._wait(self._days(1, 9))
            if at is None:
                return
            accepted = self.rng.random() < 0.8
            self._decision_row(at, self.recruiter, "accepted" if accepted else "declined",
                               "" if accepted else "Chose another offer.", _S.OFFER)
            self._enter(_S.HIRED if accepted else _S.DECLINED, at)
            self._event("offer_response", at, self.recruiter, accepted=accepted, note="")
            return
        return self._reject(at, self.manager)

    def _schedule(self, round_: int, at: datetime, scheduled_at: datetime, panel: list[int], *,
                  location: str = "", video: str = "") -> dict[str, Any]:
        interview = {
            "id": self.sim.next_id("interview"), "application_id": self.id, "round": round_,
            "scheduled_at": scheduled_at, "duration_minutes": 60 if round_ == 1 else 90, "location": location,
            "video_link": video, "held_at": None, "cancelled_at": None,
            "ical_uid": f"{uuid.UUID(int=self.rng.getrandbits(128))}@hiring", "ical_sequence": 0, "created_at": at,
        }
        self._keep(Interview, interview)
        for user_id in panel:
            self._keep(PanelMember, {"interview_id": interview["id"], "user_id": user_id, "reminders_sent": 0,
                                     "last_reminded_at": None})
        self._touch(at)
        self.open_interview = interview
        event = self._event("interview_scheduled", at, self.recruiter, interview_id=interview["id"], round=round_,
                            scheduled_at=scheduled_at.isoformat(),
                            panel=[self.sim.team.emails[u] for u in panel])
        self._candidate_email("interview_invitation", f"interview:{event}", at, "Invitation to an interview")
        return interview

    def _held(self, interview: dict[str, Any], held: datetime, panel: list[int], stage: str, *,
              positive_rate: float) -> None:
        interview["held_at"] = held
        self._enter(stage, held)
        event = self._event("interview_held", held, self.recruiter, interview_id=interview["id"],
                            round=interview["round"], held_at=held.isoformat(), due_at=self.due.isoformat())
        self._candidate_email("interview_thanks", f"thanks:{event}", held, "Thank you for the interview",
                              promise=True)
        positive = self.rng.random() < positive_rate
        submitted: dict[int, str] = {}
        for user_id in panel:
            at = held + timedelta(hours=self.rng.uniform(0.5, 60))
            if at > self.now or self.rng.random() < 0.03:
                continue  # still to come, or forgotten: the dashboard shows it as awaiting feedback
            if self.rng.random() < 0.85:
                recommendation = self.rng.choice(["yes", "strong_yes"] if positive else ["no", "strong_no"])
            else:
                recommendation = self.rng.choice(["strong_no", "no", "yes", "strong_yes"])
            submitted[user_id] = recommendation
            self._keep(Feedback, {"id": self.sim.next_id("feedback"), "interview_id": interview["id"],
                                  "interviewer_id": user_id, "recommendation": recommendation,
                                  "notes": self.rng.choice(FEEDBACK_NOTES), "submitted_at": at})
            self._event("feedback_submitted", at, user_id, interview_id=interview["id"],
                        recommendation=recommendation)
            self._touch(at)
        verdict = pipeline.panel_verdict(panel, submitted)
        self.verdict = verdict.value
        self.awaiting_feedback = verdict == pipeline.Verdict.INCOMPLETE
        clear = verdict in (pipeline.Verdict.CLEAR_HIRE, pipeline.Verdict.CLEAR_NO)
        asked_at = held + timedelta(hours=60)  # once the last feedback is in
        if stage == _S.FINAL_DECISION and clear and asked_at <= self.now:
            self._email("approval_request", f"approval:{self.id}:{event}", asked_at, f"Approval needed: {self.name}",
                        f"A clear recommendation for {self.name} awaits your decision.\n", to_user=self.manager)

    def _decision_row(self, at: datetime, actor: int, outcome: str, rationale: str, stage: str) -> None:
        self._keep(Decision, {"id": self.sim.next_id("decision"), "application_id": self.id, "stage": stage,
                              "outcome": outcome, "decided_by_id": actor, "decided_at": at, "rationale": rationale})

    def _decide(self, at: datetime, actor: int, outcome: str, rationale: str) -> None:
        stage = self.stage
        self._decision_row(at, actor, outcome, rationale, stage)
        to_stage = {"first_decision": "second_interview", "final_decision": "offer"}.get(stage, "rejected")
        self.last_event = self._event("decision", at, actor, stage=stage, outcome=outcome,
                                      to_stage=to_stage if outcome == "advance" else "rejected", rationale=rationale)

    def _reject(self, at: datetime, actor: int) -> None:
        self._decide(at, actor, "reject", self.rng.choice(REJECTION_RATIONALES))
        self._enter(_S.REJECTED, at)
        self._candidate_email("rejection", f"decision:{self.last_event}", at, "Your application")

    def _withdraw(self, at: datetime) -> None:
        stage = self.stage
        self._enter(_S.WITHDRAWN, at)
        interview = self.open_interview
        if interview is not None and interview["held_at"] is None and interview["cancelled_at"] is None:
            interview["cancelled_at"] = at
            interview["ical_sequence"] += 1
        event = self._event("withdrawn", at, self.recruiter, stage=stage, reason="Accepted a position elsewhere.")
        self._candidate_email("withdrawal_confirmation", f"withdrawn:{event}", at, "Your withdrawal")

    def _interview_ends(self) -> datetime | None:
        interview = self.open_interview
        if (self.stage in (_S.FIRST_INTERVIEW, _S.SECOND_INTERVIEW) and interview is not None
                and interview["held_at"] is None and interview["cancelled_at"] is None):
            return interview["scheduled_at"] + timedelta(minutes=interview["duration_minutes"])
        return None

    def finish(self) -> None:
        """Add the application row (and its history) to the batch."""
        is_open = self.stage in OPEN_STAGE_VALUES
        due_soon_notified = overdue_notified = expedite_notified = discussion_notified = None
        if is_open and self.competing_offer is not None:
            expedite_notified = self.competing_offer
        if is_open and self.stage == _S.FINAL_DECISION and self.verdict == "mixed" \
                and self.entered + JOB_INTERVAL <= self.now:
            discussion_notified = self.entered + JOB_INTERVAL
        if is_open and self.due is not None:
            # The deadline job has been running every quarter of an hour: its notices are out.
            soon_from = max(self.entered, self.due - timedelta(days=self.policy.due_soon_days)) + JOB_INTERVAL
            if soon_from <= self.now and self.due > self.now:
                due_soon_notified = soon_from
            if self.due + JOB_INTERVAL <= self.now:
                overdue_notified = self.due + JOB_INTERVAL
        self.rows.add(Application, {
            "id": self.id, "candidate_id": self.candidate_id, "position_id": self.position.id,
            "owner_id": self.position.owner_id, "stage": self.stage, "applied_at": self.applied_at,
            "source": source_of(self.id), "stage_entered_at": self.entered, "due_at": self.due,
            "promised_at": self.promised if is_open else None,
            "last_candidate_email_at": self.last_email, "competing_offer_deadline": self.competing_offer,
            "extended_until": self.extended_until, "extension_reason": self.extension_reason,
            "verdict": self.verdict, "awaiting_feedback": self.awaiting_feedback,
            "due_soon_notified_at": due_soon_notified, "overdue_notified_at": overdue_notified,
            "expedite_notified_for": expedite_notified, "needs_discussion_notified_at": discussion_notified,
            "promise_made_at": self.promise_made, "closed_at": self.closed_at, "version": self.version,
            "promise_moves": self.promise_moves, "automatic_delays": self.automatic_delays,
            "overdue_since": self.overdue_since if is_open else None,
            "interview_ends_at": self._interview_ends() if is_open else None, "unrecorded_notified_at": None,
            "created_at": self.applied_at, "updated_at": self.updated,
        })
        if self.sim.lean and not is_open:
            # Keep the ids dense per application anyway: the buffer is simply not written.
            return
        for model, row in self.buffer:
            self.rows.add(model, row)
        if self.rng.random() < 0.1 and self.buffer:
            at = self.applied_at + timedelta(days=self.rng.uniform(1, 5))
            if at <= self.now:
                self.rows.add(CandidateContact, {
                    "id": self.sim.next_id("candidate_contact"), "application_id": self.id,
                    "kind": self.rng.choice(["thank_you", "enquiry"]), "channel": "email", "occurred_at": at,
                    "summary": "Asked when to expect an answer.", "recorded_by_id": self.recruiter, "created_at": at})
