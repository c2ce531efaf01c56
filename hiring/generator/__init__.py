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
filled in as if the jobs had been running all along (``pipeline.walk.notices_sent``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..demo import DEMO_PASSWORD
from ..models import Application, AuditEvent, User
from ..pipeline import Policy
from .bulk import Rows, bulk_insert, bulk_load, reset_sequences
from .history import base_due
from .simulation import Simulation

# Used from outside: the benchmark writes its rows with bulk_insert; the tests log in with
# DEMO_PASSWORD and compare the generated due dates with base_due.
__all__ = ["DEMO_PASSWORD", "AuditEvent", "DatabaseNotEmpty", "base_due", "bulk_insert", "generate", "is_empty"]


class DatabaseNotEmpty(RuntimeError):
    pass


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
    sim = Simulation(applications, now=now, policy=policy, seed=seed, lean=lean)
    totals: dict[str, int] = {}

    def add(counts: dict[str, int]) -> None:
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value

    with bulk_load(session):
        add(sim.write_team(session))
        add(_write_batches(session, sim, progress))
    reset_sequences(session)
    session.commit()
    # Fresh statistics: the planner must know the tables are large (PostgreSQL's autovacuum
    # would catch up only later, or never where it is off; SQLite has none until ANALYZE
    # runs). PostgreSQL is also vacuumed: until its visibility map is set, an index-only
    # scan reads every row it finds anyway, which a server in use (autovacuum) does not.
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")  # not inside a transaction
    else:
        session.execute(text("ANALYZE"))
        session.commit()
    return totals


def _write_batches(session: Session, sim: Simulation, progress: Callable[[int], None] | None) -> dict[str, int]:
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
