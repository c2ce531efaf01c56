"""What changed since the rollup was built (hiring.reports.rollup), and which days of it
that touches: what lets a refresh recompute a few days instead of every row.

**The mark.** A build records the newest audit event, application, promise, interview and
decision (``mark``). Every verb that changes an application — its stage, its interviews,
its decisions, its promises — writes an audit event naming it in the same transaction
(hiring.services); the newer ids name the rows the generator and anything else inserted.
So the applications *touched* since a build are those named by a newer audit event or
owning a newer application, promise, interview or decision row. What else moves a figure:
a promise whose day ended in between (its status moves with the clock), the company's
time zone (every day moves: a full rebuild), and deleted records (only undoing a demo
load deletes them, and it drops the rollup; an id lower than the mark also means it).

On PostgreSQL an id is taken when a row is inserted, not when it commits: a verb still
running when the mark is read may hold an older id than the newest visible one, and would
be passed over for good. ``high_water_mark`` reads the mark under a SHARE lock of
``audit_event``, which waits for the transactions writing to it to end (and makes new
ones wait the moment it takes): every audit id up to the mark is then committed or never
will be. SQLite has one writer at a time, so its newest ids are always committed ones.

**The days.** A touched application's rows lie on its applied day (application rows), on
the days of its promises (promise rows) and on the days its measured stages and its offer
ended (duration rows). None of those moments changes once recorded (an interview can be
moved only until it is held, a decision is never changed), so the days an application's
rows lie on only ever grow: its rows never leave a day the recomputation would not visit.
Rows are keyed by day, position and owner, so the refresh recomputes *whole* days, at
every level (hiring.reports.rollup).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, select, union, union_all
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import Application, AuditEvent, Decision, Interview, Promise
from ..pipeline import Policy
from .days import local_day, on_sqlite
from .figures import Filters

# How long the mark may wait for the verbs writing audit events (PostgreSQL); they wait
# behind it meanwhile. A run that cannot have it leaves the rollup to the next run.
MARK_LOCK_TIMEOUT = "5s"


def mark(execute: Any = None) -> list[int]:
    """The newest audit event, application, promise, interview and decision (ids; 0: none)."""
    newest = [select(func.max(model.id)).scalar_subquery()
              for model in (AuditEvent, Application, Promise, Interview, Decision)]
    return [int(value or 0) for value in (execute or db.session.execute)(select(*newest)).one()]


def high_water_mark() -> list[int] | None:
    """The mark, read when no transaction writing audit events is under way (module
    docstring); None when they kept it waiting longer than MARK_LOCK_TIMEOUT."""
    if on_sqlite():
        return mark()
    with db.engine.connect() as connection:
        try:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{MARK_LOCK_TIMEOUT}'")
            connection.exec_driver_sql("LOCK TABLE audit_event IN SHARE MODE")
            newest = mark(connection.execute)
        except OperationalError:
            connection.rollback()
            return None
        connection.commit()  # the lock goes: writers go on
    return newest


@dataclass(frozen=True)
class Days:
    """The company-local days to recompute, per rollup table."""

    applied: frozenset[date]
    promised: frozenset[date]
    ended: frozenset[date]

    @property
    def count(self) -> int:
        return len(self.applied | self.promised | self.ended)


def day_ranges(days: frozenset[date], policy: Policy) -> list[tuple[datetime, datetime]]:
    """The instants of ``days`` as ranges [first midnight, the midnight after), one per run
    of consecutive days: what an index of instants (applied_at, decided_at) is searched by."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return [(Filters(start=a, end=b).start_at(policy), Filters(start=a, end=b).end_before(policy))
            for a, b in ranges]


def _lapsing(earlier: datetime, later: datetime, policy: Policy) -> list[Any]:
    """The open promises whose day ended between the two moments (either order). The
    promised day bounds them first: ``lapses_at`` is the end of it, and only it is indexed."""
    low, high = min(earlier, later), max(earlier, later)
    return [Promise.promised_for >= low.astimezone(policy.tz).date() - timedelta(days=1),
            Promise.promised_for <= high.astimezone(policy.tz).date() + timedelta(days=1),
            Promise.outcome.is_(None), Promise.lapses_at >= low, Promise.lapses_at < high]


def lapsed_between(earlier: datetime, later: datetime, policy: Policy) -> bool:
    """Did an open promise's day end between the two moments (its status moved with the clock)?"""
    return db.session.scalar(select(exists().where(*_lapsing(earlier, later, policy)))) or False


def _dates(statement: Select) -> frozenset[date]:
    """The days a statement returns (SQLite gives local days as 'YYYY-MM-DD' text)."""
    return frozenset(value if isinstance(value, date) else date.fromisoformat(value)
                     for value in db.session.scalars(statement) if value is not None)


def affected_days(built_from: list[int], newest: list[int], as_of: datetime, now: datetime,
                  policy: Policy) -> Days | None:
    """The days whose rows changed since the build marked ``built_from`` (at ``as_of``),
    for figures as of ``now``; None when the changes cannot be told apart (a rollup built
    before the mark had five parts, or records deleted since)."""
    if len(built_from) != len(newest) or any(new < old for new, old in zip(newest, built_from, strict=True)):
        return None
    audit, application, promise, interview, decision = built_from
    touched = union(
        select(AuditEvent.application_id).where(AuditEvent.id > audit, AuditEvent.application_id.is_not(None)),
        select(Application.id).where(Application.id > application),
        select(Promise.application_id).where(Promise.id > promise),
        select(Interview.application_id).where(Interview.id > interview),
        select(Decision.application_id).where(Decision.id > decision),
    ).subquery("touched")
    ids = select(touched.c[0])
    zone = policy.timezone
    applied = _dates(select(local_day(Application.applied_at, zone)).where(Application.id.in_(ids)).distinct())
    promised = _dates(union(select(Promise.promised_for).where(Promise.application_id.in_(ids)),
                            select(Promise.promised_for).where(*_lapsing(as_of, now, policy))))
    ended = union_all(
        select(local_day(Decision.decided_at, zone).label("day")).where(Decision.application_id.in_(ids)),
        select(local_day(Interview.scheduled_at, zone).label("day"))
        .where(Interview.application_id.in_(ids), Interview.round == 2, Interview.held_at.is_not(None)),
    ).subquery()
    return Days(applied=applied, promised=promised, ended=_dates(select(ended.c.day).distinct()))

