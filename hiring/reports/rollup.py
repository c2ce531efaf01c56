"""The daily rollup the Reports page and the API's summary read (hiring.models.reports).

**What it holds.** Per company-local day, position and owner: the applications received
(by source, stage and furthest funnel step), the dates told to candidates (by stage and
status), and histograms of whole company-local days for the stage times, time to hire
and time to offer. A report sums the rows of its period: a bounded number of rows per
day whatever the number of applications, and every figure equals the live computation
in ``figures`` (the reference; tests compare the two), medians and percentiles included
(the histograms keep each whole-day value).

**How fresh.** The figures are true as of the last refresh (``ReportRollup.as_of``),
which the page and the API show. The promises are the one figure that moves with the
clock alone: an open promise whose day passes in silence becomes broken. The rollup
stores each promise's status *as of* the refresh, so all figures describe the same
moment; a refresh rebuilds when a promise lapsed since the last one, even with nothing
recorded. "Overdue now" is not rolled up: it is read live (it is about now, and it reads
only open applications through their indexes).

**How it refreshes.** ``refresh`` (the ``report-rollup`` job, every 15 minutes, under the
job lock) reads the mark of what is recorded (``changes.mark``: the newest audit event,
application, promise, interview and decision). Nothing new and no promise lapsed: it only
moves ``as_of`` forward (the figures are as true now as then). Otherwise it recomputes the
*days* that changed (``changes.affected_days``: the applied days, promised days and ended
days of the applications touched since, and the days of the promises that lapsed since
``as_of``) — whole days, every position, owner and level, since a change can move an
application's rows between keys of a day: those days' rows are deleted and inserted again
from the same aggregate statements restricted to them (each through its index: ranges of
``applied_at`` and ``decided_at``, ``promised_for``). It rebuilds every row instead when
forced, without a rollup, in another time zone, when the changes cannot be told apart
(records deleted, a rollup from before the five-part mark) or when more than
``MAX_INCREMENTAL_DAYS`` days changed (measured: bench/RESULTS.md, issue 13). Either way
in one transaction (PostgreSQL: readers see the old rows until it commits); on SQLite, and
on PostgreSQL when incremental, the rows are computed into TEMP tables first (only
reading), and the write transaction swaps in every row (full) or only the rows that differ
(incremental): a few hundred rows, where a full swap writes a million and keeps SQLite's
writers waiting for seconds, and rewriting whole days leaves PostgreSQL's vacuum ~100k
dead rows a run.

Without a rollup (a fresh install, tests) or one built for another time zone, the
figures are computed live from the records, as of now — up to ``live_limit``
applications (config REPORTS_LIVE_LIMIT); past it ``NotReady``: the page shows only
"Overdue now", the API answers 503, until the job has built the rollup.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)

from ..extensions import db
from ..models import (
    Application,
    Interview,
    Level,
    Promise,
    PromiseStatus,
    ReportApplicationDay,
    ReportDurationDay,
    ReportPromiseDay,
    ReportRollup,
    User,
    utcnow,
)
from ..pipeline import Policy, Source, Stage
from . import changes, figures
from .changes import Days, day_ranges
from .days import days_from, local_day, on_sqlite
from .figures import (
    FUNNEL_ENDS,
    FUNNEL_STEPS,
    STAGE_TIME_LABELS,
    STAGE_TIMES,
    Distribution,
    Filters,
    FunnelStep,
    PromiseCounts,
    PromiseReport,
    Report,
    SourceRow,
    StageTime,
    StageTimeReport,
    TimeToHire,
)

STATUSES = [status.value for status in PromiseStatus]
ROLLUP_TABLES = (ReportApplicationDay, ReportPromiseDay, ReportDurationDay)
# SQLite's page cache for a rebuild (KiB): the swap inserts the rows into three indexes in
# random order, which with the default 2 MB cache reads and writes pages back and forth.
STAGING_CACHE_KIB = 256 * 1024
# Beyond this many changed days a refresh rebuilds every row (see bench/RESULTS.md, issue 13:
# the incremental refresh's time per day against the full rebuild's).
MAX_INCREMENTAL_DAYS = 150


# --- building ---------------------------------------------------------------------------------


def _on(day: Any, days: frozenset[date]) -> Any:
    """``day`` (a local day: text on SQLite) is one of ``days``."""
    return type_coerce(day, Date).in_(sorted(days))


def _applications_rows(policy: Policy, days: Days | None = None) -> Select:
    interviewed = exists().where(Interview.application_id == Application.id, Interview.round == 1)
    each = select(local_day(Application.applied_at, policy.timezone).label("day"), Application.position_id,
                  Application.owner_id, Application.source, Application.stage,
                  figures.reached_step().label("reached"),
                  case((interviewed, True), else_=False).label("interviewed"))
    if days is not None:  # through the index of applied_at: a range of instants per run of days
        each = each.where(or_(*(and_(Application.applied_at >= low, Application.applied_at < high)
                                for low, high in day_ranges(days.applied, policy))))
    each = each.subquery()
    columns = [each.c.day, each.c.position_id, each.c.owner_id, each.c.source, each.c.stage, each.c.reached,
               each.c.interviewed]
    rows = select(*columns, func.count()).group_by(*columns).order_by(each.c.day)
    return rows if days is None else rows.where(_on(each.c.day, days.applied))


def _promises_rows(now: datetime, days: Days | None = None) -> Select:
    status = figures.promise_status(now)
    columns = [Promise.promised_for, Application.position_id, Application.owner_id, Promise.stage, status]
    rows = (select(*columns, func.count()).select_from(Promise)
            .join(Application, Application.id == Promise.application_id)
            .group_by(*columns).order_by(Promise.promised_for))
    return rows if days is None else rows.where(Promise.promised_for.in_(sorted(days.promised)))


def _durations_rows(policy: Policy, days: Days | None = None) -> Select:
    everything = Filters(start=date(2000, 1, 1), end=date(2000, 1, 1))  # period=False: not applied
    period = False if days is None else day_ranges(days.ended, policy)
    stages = figures.stage_durations(everything, policy, period=period)
    hires = figures.hire_durations(everything, policy, period=period)
    both = select(stages.c.stage.label("measure"), stages.c.value, stages.c.ended_day, stages.c.position_id,
                  stages.c.owner_id).union_all(
        select(hires.c.kind, hires.c.value, hires.c.ended_day, hires.c.position_id, hires.c.owner_id)).subquery()
    columns = [both.c.ended_day, both.c.position_id, both.c.owner_id, both.c.measure, both.c.value]
    rows = select(*columns, func.count()).group_by(*columns).order_by(both.c.ended_day)
    return rows if days is None else rows.where(_on(both.c.ended_day, days.ended))


def _sum_up(execute: Any, table: Table, keys: list[str], count: str, level: Level,
            days: frozenset[date] | None) -> None:
    """The rows of ``level`` summed from the detail rows (per day, and per owner for OWNER)."""
    names = ["day"] + (["owner_id"] if level == Level.OWNER else []) + keys
    groups = [table.c[name] for name in names]
    detail = [table.c.level == Level.DETAIL.value] + ([] if days is None else [table.c.day.in_(sorted(days))])
    execute(insert(table).from_select(
        [*names, count, "level"], select(*groups, func.sum(table.c[count]), literal(level.value))
        .where(*detail).group_by(*groups).order_by(table.c.day)))


def _days_of(model: Any, days: Days | None) -> frozenset[date] | None:
    if days is None:
        return None
    return {ReportApplicationDay: days.applied, ReportPromiseDay: days.promised, ReportDurationDay: days.ended}[model]


def _fill(execute: Any, tables: dict[Any, Table], now: datetime, policy: Policy, days: Days | None = None) -> None:
    """The rows of the rollup as of ``now`` (of ``days`` only, when given) into ``tables``
    (each model's table or its stand-in)."""
    for model, keys, count, rows in (
            (ReportApplicationDay, ["source", "stage", "reached", "interviewed"], "applications",
             lambda: _applications_rows(policy, days)),
            (ReportPromiseDay, ["stage", "status"], "promises", lambda: _promises_rows(now, days)),
            (ReportDurationDay, ["measure", "days"], "passages", lambda: _durations_rows(policy, days))):
        table, only = tables[model], _days_of(model, days)
        if only is not None and not only:
            continue
        execute(insert(table).from_select(["day", "position_id", "owner_id", *keys, count, "level"],
                                          rows().add_columns(literal(Level.DETAIL.value))))
        _sum_up(execute, table, keys, count, Level.COMPANY, only)
        if model is ReportPromiseDay:
            _sum_up(execute, table, keys, count, Level.OWNER, only)


def _of_days(table: Any, model: Any, days: Days) -> Any:
    """The rows of ``table`` (``model``'s) on ``days``, at every level (through the level-day index)."""
    return and_(table.level.in_([level.value for level in Level]), table.day.in_(sorted(_days_of(model, days))))


def _state(now: datetime, policy: Policy, built_from: list[int], started: float) -> dict[str, Any]:
    return {"id": 1, "as_of": now, "zone": policy.timezone, "built_from": built_from, "built_at": utcnow(),
            "build_seconds": round(time.perf_counter() - started, 3)}


def _temporary(name: str, columns: list[Column]) -> Table:
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])


def _diff(connection: Any, model: Any, staged: Table, days: Days) -> tuple[Table, Table]:
    """Of the rows of ``days``: the ids of those the staged rows no longer hold, and the
    staged rows not there yet (TEMP tables). Most rows of a recomputed day come out the
    same; only the others need the write lock."""
    table, name = model.__table__, model.__tablename__
    columns = [column.name for column in table.columns if column.name != "id"]
    gone = _temporary(f"gone_{name}", [Column("id", Integer)])
    fresh = _temporary(f"fresh_{name}", [Column(c, table.c[c].type) for c in columns])
    gone.create(connection)
    fresh.create(connection)
    held = select(*(table.c[c] for c in columns)).where(_of_days(table.c, model, days))
    computed = select(*(staged.c[c] for c in columns))
    old = held.except_(computed).subquery()
    connection.execute(insert(gone).from_select(["id"], select(table.c.id).join(
        old, and_(*(table.c[c].is_not_distinct_from(old.c[c]) for c in columns)))))
    connection.execute(insert(fresh).from_select(columns, computed.except_(held)))
    return gone, fresh


def _build_staged(now: datetime, policy: Policy, built_from: list[int], days: Days | None,
                  started: float) -> float:
    """SQLite's build, and PostgreSQL's incremental one, on one connection of its own (TEMP
    tables live on a connection): the rows are computed into TEMP tables (only reading the
    main database); a write transaction swaps them in: every row, or (``days``) only the
    rows that differ — on SQLite to keep other writers waiting as briefly as possible, on
    PostgreSQL so that a refresh every 15 minutes does not leave a few days' rows (~100k at
    a million applications) dead for the vacuum each time. Returns how long the write
    transaction took (seconds)."""
    staged = {model: _temporary(f"staged_{model.__tablename__}",
                                [Column(column.name, column.type) for column in model.__table__.columns])
              for model in ROLLUP_TABLES}
    temporary = list(staged.values())
    sqlite = on_sqlite()
    with db.engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size = -{STAGING_CACHE_KIB}")
        try:
            for table in staged.values():
                table.create(connection)
            _fill(connection.execute, staged, now, policy, days)
            changed = {}
            if days is not None:
                for model, table in staged.items():
                    if _days_of(model, days):
                        changed[model] = _diff(connection, model, table, days)
                        temporary += changed[model]
            connection.commit()  # ends the read: the swap below is a write transaction of its own
            writing = time.perf_counter()
            if sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, from the first statement on
            for model, table in staged.items():
                columns = [column.name for column in model.__table__.columns if column.name != "id"]
                if days is None:
                    connection.execute(delete(model))
                elif model in changed:
                    table = changed[model][1]
                    connection.execute(delete(model).where(model.id.in_(select(changed[model][0].c.id))))
                else:
                    continue
                connection.execute(insert(model).from_select(columns, select(*(table.c[c] for c in columns))))
            connection.execute(delete(ReportRollup))
            connection.execute(insert(ReportRollup).values(**_state(now, policy, built_from, started)))
            connection.commit()
            return time.perf_counter() - writing
        finally:
            connection.rollback()
            for table in temporary:
                table.drop(connection, checkfirst=True)
            connection.commit()
            if sqlite:
                connection.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default, for the pool


def build_rows(now: datetime, policy: Policy, built_from: list[int], days: Days | None = None) -> dict[str, Any]:
    """Replace the rows of the rollup with the figures as of ``now``: every row, or only
    those of ``days`` (``changes.affected_days``), and record ``built_from`` (the mark read
    before: whatever is recorded meanwhile is looked at again by the next refresh).

    PostgreSQL's full rebuild: in one transaction (readers and writers go on; readers see
    the old rows until it commits). SQLite has one writer at a time, and aggregating a
    large database takes long enough to make every recorded change wait (or time out):
    there the figures are first built into TEMP tables, which only read the main database,
    and the write transaction only swaps them in. An incremental build does the same on
    both (``_build_staged``): only the rows that differ are written."""
    started = time.perf_counter()
    if on_sqlite() or days is not None:
        db.session.commit()  # the session's own read ends; the build reads the newest data
        locked = _build_staged(now, policy, built_from, days, started)
        state = db.session.execute(select(ReportRollup).where(ReportRollup.id == 1)
                                   .execution_options(populate_existing=True)).scalar_one()
        return {"seconds": state.build_seconds, "write_lock_seconds": round(locked, 3)}
    for model in ROLLUP_TABLES:  # PostgreSQL's full rebuild
        db.session.execute(delete(model))
    _fill(db.session.execute, {model: model.__table__ for model in ROLLUP_TABLES}, now, policy)
    state = db.session.get(ReportRollup, 1) or ReportRollup(id=1)
    for name, value in _state(now, policy, built_from, started).items():
        setattr(state, name, value)
    db.session.add(state)
    db.session.commit()
    return {"seconds": state.build_seconds}


def refresh(now: datetime, policy: Policy, *, force: bool = False) -> dict[str, Any]:
    """The ``report-rollup`` job (see the module's docstring): recompute the days that
    changed since the last build, or every row when that cannot be done or would not be
    cheaper; only say the figures still hold at ``now`` when nothing moved them. A rerun
    or a late run does the same as one run on time."""
    state = db.session.get(ReportRollup, 1)
    newest = changes.high_water_mark()
    if newest is None:  # PostgreSQL: writers kept the mark waiting; the next run does it
        return {"rebuilt": False, "deferred": "writers kept the mark waiting",
                "as_of": state.as_of.isoformat() if state else None}
    reason, days = None, None
    if force:
        reason = "forced"
    elif state is None:
        reason = "no rollup yet"
    elif state.zone != policy.timezone:
        reason = "the time zone changed"
    elif state.built_from == newest and not changes.lapsed_between(state.as_of, now, policy):
        state.as_of = now
        db.session.commit()
        return {"rebuilt": False, "as_of": now.isoformat()}
    else:
        days = changes.affected_days(state.built_from, newest, state.as_of, now, policy)
        if days is None:
            reason = "changes that cannot be told apart (records deleted, or an older rollup)"
        elif days.count > MAX_INCREMENTAL_DAYS:
            reason, days = f"{days.count} days changed (more than {MAX_INCREMENTAL_DAYS})", None
    built = build_rows(now, policy, newest, days)
    if days is None:
        return {"rebuilt": True, "full": True, "reason": reason, "as_of": now.isoformat(), **built}
    return {"rebuilt": True, "full": False, "days": days.count, "as_of": now.isoformat(), **built}


def current(policy: Policy) -> ReportRollup | None:
    """The rollup, when there is one the reports can read (built, in the company's zone)."""
    state = db.session.get(ReportRollup, 1)
    if state is None or state.zone != policy.timezone:
        return None
    return state


# --- reading ----------------------------------------------------------------------------------


def _in(table: Any, filters: Filters, *, per_owner: bool = False) -> list[Any]:
    """The rows of the period at the level the filters need (``per_owner``: grouped by owner)."""
    if filters.position_id is None and filters.owner_id is None:
        level = Level.OWNER if per_owner else Level.COMPANY
    else:
        level = Level.DETAIL
    conditions = [table.level == level.value, table.day >= filters.start, table.day <= filters.end]
    if filters.position_id is not None:
        conditions.append(table.position_id == filters.position_id)
    if filters.owner_id is not None:
        conditions.append(table.owner_id == filters.owner_id)
    return conditions


def _status_columns() -> list[Any]:
    n = ReportPromiseDay.promises
    return [func.coalesce(func.sum(n), 0).label("told")] + [
        func.coalesce(func.sum(case((ReportPromiseDay.status == status, n), else_=0)), 0).label(status)
        for status in STATUSES]


def _add(total: PromiseCounts, row: Any) -> None:
    for name in ("told", *STATUSES):
        setattr(total, name, getattr(total, name) + int(getattr(row, name)))


def promises(filters: Filters) -> PromiseReport:
    where = _in(ReportPromiseDay, filters)
    week = (days_from(ReportPromiseDay.day, filters.start) // 7).label("week")
    total, weeks, by_stage = PromiseCounts(), defaultdict(PromiseCounts), defaultdict(PromiseCounts)
    for row in db.session.execute(select(*_status_columns(), week, ReportPromiseDay.stage).where(*where)
                                  .group_by(week, ReportPromiseDay.stage)):
        for target in (total, weeks[int(row.week)], by_stage[row.stage]):
            _add(target, row)
    owners = []
    # Summed per owner first, then named: a big company's period has a row per owner and
    # day, tens of thousands, and joining each to its owner cost more than the sums.
    per_owner = (select(*_status_columns(), ReportPromiseDay.owner_id)
                 .where(*_in(ReportPromiseDay, filters, per_owner=True))
                 .group_by(ReportPromiseDay.owner_id).subquery())
    for row in db.session.execute(
            select(per_owner, User.name).outerjoin(User, User.id == per_owner.c.owner_id).order_by(User.name)):
        counts = PromiseCounts()
        _add(counts, row)
        owners.append((row.owner_id, row.name or "No owner", counts))
    return PromiseReport(
        total=total,
        weeks=[(filters.week_start(i), filters.week_end(i), weeks.get(i, PromiseCounts()))
               for i in range(filters.weeks)],
        stages=[(stage.value, by_stage[stage.value]) for stage in Stage if stage.value in by_stage],
        owners=owners)


def distribution(histogram: dict[int, int]) -> Distribution:
    """Median and 90th percentile of whole-day values given as {days: how many}, exactly
    as ``figures._distribution`` computes them from the values one by one."""
    n = sum(histogram.values())
    if not n:
        return Distribution()
    wanted = {1 + (n - 1) // 2, 2 + (n - 1) // 2, 1 + (9 * (n - 1)) // 10, 2 + (9 * (n - 1)) // 10}
    ranked: dict[int, float] = {}
    seen = 0
    for days in sorted(histogram):
        first, seen = seen + 1, seen + histogram[days]
        ranked.update({rank: float(days) for rank in wanted if first <= rank <= seen})
    return Distribution(count=n, median=round(figures.percentile(ranked, n, 1, 2), 2),
                        p90=round(figures.percentile(ranked, n, 9, 10), 2))


def durations(filters: Filters, policy: Policy) -> tuple[StageTimeReport, TimeToHire]:
    """The stage times (overall and per week) and time to hire and to offer, from one
    statement returning a row per measure, week and whole-day value."""
    week = (days_from(ReportDurationDay.day, filters.start) // 7).label("week")
    histograms: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in db.session.execute(
            select(ReportDurationDay.measure, week, ReportDurationDay.days,
                   func.sum(ReportDurationDay.passages).label("passages"))
            .where(*_in(ReportDurationDay, filters))
            .group_by(ReportDurationDay.measure, week, ReportDurationDay.days)):
        histograms[(row.measure, int(row.week))][int(row.days)] += int(row.passages)

    def merged(measure: str) -> dict[int, int]:
        total: dict[int, int] = defaultdict(int)
        for (name, _), histogram in histograms.items():
            if name == measure:
                for days, count in histogram.items():
                    total[days] += count
        return total

    def stage_time(stage: str, histogram: dict[int, int]) -> StageTime:
        policy_days = getattr(policy, STAGE_TIMES[stage])
        dist = distribution(histogram)
        return StageTime(stage=stage, label=STAGE_TIME_LABELS[stage], policy_days=policy_days, count=dist.count,
                         median_days=dist.median, p90_days=dist.p90,
                         within_policy=sum(c for days, c in histogram.items() if days <= policy_days))

    stages = StageTimeReport(
        stages={stage: stage_time(stage, merged(stage)) for stage in STAGE_TIMES},
        weeks=[(filters.week_start(i), filters.week_end(i),
                {stage: stage_time(stage, histograms.get((stage, i), {})) for stage in STAGE_TIMES})
               for i in range(filters.weeks)])
    return stages, TimeToHire(hire=distribution(merged("hire")), offer=distribution(merged("offer")))


def applications(filters: Filters) -> tuple[list[FunnelStep], list[SourceRow]]:
    """The funnel and the sources, from one statement returning a row per group."""
    n = ReportApplicationDay.applications
    groups = [ReportApplicationDay.source, ReportApplicationDay.stage, ReportApplicationDay.reached,
              ReportApplicationDay.interviewed]
    reached = [0] * len(FUNNEL_STEPS)
    ends: dict[str, int] = defaultdict(int)
    per_source: dict[str, SourceRow] = {source.value: SourceRow(source.value, source.label) for source in Source}
    for row in db.session.execute(select(*groups, func.sum(n).label("n")).where(*_in(ReportApplicationDay, filters))
                                  .group_by(*groups)):
        count = int(row.n)
        for index in range(int(row.reached) + 1):
            reached[index] += count
        ends[row.stage] += count
        source = per_source[row.source]
        source.applications += count
        source.interviews += count if row.interviewed else 0
        source.hires += count if row.stage == Stage.HIRED.value else 0
    steps, before = [], None
    for index, stage in enumerate(FUNNEL_STEPS):
        steps.append(FunnelStep(stage.value, stage.label, reached[index],
                                None if before is None else figures.rate(reached[index], before)))
        before = reached[index]
    steps += [FunnelStep(stage.value, stage.label, ends.get(stage.value, 0)) for stage in FUNNEL_ENDS]
    return steps, list(per_source.values())


def from_rollup(filters: Filters, now: datetime, policy: Policy, state: ReportRollup) -> Report:
    stage_times, to_hire = durations(filters, policy)
    funnel, sources = applications(filters)
    return Report(filters=filters, now=now, promises=promises(filters), stage_times=stage_times, funnel=funnel,
                  time_to_hire=to_hire, sources=sources, overdue=figures.overdue_now(filters, now, policy),
                  policy=policy, as_of=state.as_of)


class NotReady(Exception):
    """No rollup the reports can read (none yet, or one built in another time zone), and too
    many applications to compute the figures within a request: computed live they take
    seconds to tens of seconds at a million (bench/RESULTS.md), on every visit, in every
    worker. The ``report-rollup`` job builds them: at the scheduler's start, then every
    ``REFRESH_MINUTES``."""

    def __init__(self) -> None:
        super().__init__("The figures are being prepared: the report-rollup job builds them within "
                         f"{REFRESH_MINUTES} minutes (at once when the scheduler starts).")


REFRESH_MINUTES = 15  # the report-rollup job's interval (hiring.jobs)
RETRY_SECONDS = 300  # Retry-After while NotReady: a build takes up to a minute or two at 1M


def _readable(policy: Policy, live_limit: int | None) -> ReportRollup | None:
    """The rollup to read, or None to compute live; NotReady past ``live_limit`` applications
    (None: no limit). The newest application's id stands for their number (an index look-up)."""
    state = current(policy)
    if state is None and live_limit is not None and (db.session.scalar(select(func.max(Application.id))) or 0) \
            > live_limit:
        raise NotReady()
    return state


def build(filters: Filters, now: datetime, policy: Policy, *, live_limit: int | None = None) -> Report:
    """The report: from the rollup when there is one (as of its last refresh), else live (as
    of now), up to ``live_limit`` applications (see NotReady)."""
    state = _readable(policy, live_limit)
    if state is None:
        return figures.build(filters, now, policy)
    return from_rollup(filters, now, policy, state)


def summary(filters: Filters, now: datetime, policy: Policy, *, live_limit: int | None = None) -> dict[str, Any]:
    """The API's ``GET /reports/summary``, with ``as_of``: the moment its figures are true for."""
    state = _readable(policy, live_limit)
    if state is None:
        return {**figures.summary(filters, now, policy), "as_of": now}
    stage_times, to_hire = durations(filters, policy)
    funnel, sources = applications(filters)
    return {**figures.summary_of(promises(filters), stage_times, funnel, to_hire, sources), "as_of": state.as_of}
