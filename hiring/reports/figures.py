"""The report figures, each aggregated in SQL (see the package's docstring for what falls in
a period and how percentiles are computed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from ..extensions import db
from ..models import Application, Decision, Interview, Position, Promise, User
from ..pipeline import Flag, Policy, PromiseOutcome, Source, Stage
from ..queries import flag_condition
from .days import days_from, local_day, local_days_between, on_sqlite

DEFAULT_DAYS = 90
# Which passages a duration statement keeps (``ended_in``).
Period = bool | list[tuple[datetime, datetime]]

# The stages whose time is measured, as named in the API, with the policy's field that
# bounds it (the policy's own table: the same days that date the candidate's promise).
STAGE_TIMES: dict[str, str] = {
    stage.value: Policy.STAGE_DAYS_FIELDS[stage]
    for stage in (Stage.FIRST_DECISION, Stage.SECOND_INTERVIEW, Stage.FINAL_DECISION)
}
STAGE_TIME_LABELS: dict[str, str] = {
    Stage.FIRST_DECISION.value: "First interview → debrief decision",
    Stage.SECOND_INTERVIEW.value: "Invited → second interview held",
    Stage.FINAL_DECISION.value: "Second interview → offer decision",
}
# The funnel's steps in order; an application that reached one reached every earlier one.
FUNNEL_STEPS: tuple[Stage, ...] = (Stage.APPLIED, Stage.FIRST_INTERVIEW, Stage.FIRST_DECISION,
                                   Stage.SECOND_INTERVIEW, Stage.FINAL_DECISION, Stage.OFFER, Stage.HIRED)
FUNNEL_ENDS: tuple[Stage, ...] = (Stage.REJECTED, Stage.DECLINED, Stage.WITHDRAWN)


@dataclass(frozen=True)
class Filters:
    """The period (company-local days, both included), and optionally one position or owner."""

    start: date
    end: date
    position_id: int | None = None
    owner_id: int | None = None

    def start_at(self, policy: Policy) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=policy.tz).astimezone(UTC)

    def end_before(self, policy: Policy) -> datetime:
        """The first instant after the period (the next day's midnight)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=policy.tz).astimezone(UTC)

    @property
    def weeks(self) -> int:
        return (self.end - self.start).days // 7 + 1

    def week_start(self, index: int) -> date:
        return self.start + timedelta(days=7 * index)

    def week_end(self, index: int) -> date:
        return min(self.start + timedelta(days=7 * index + 6), self.end)


def default_filters(now: datetime, policy: Policy, **kwargs: Any) -> Filters:
    """The last 90 days, today included."""
    today = now.astimezone(policy.tz).date()
    return Filters(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today, **kwargs)


# --- portable SQL pieces ------------------------------------------------------------------


def _week_of_day(day: Any, start: date) -> ColumnElement[int]:
    if on_sqlite():
        return cast((func.julianday(day) - func.julianday(literal(start.isoformat()))) / 7, Integer)
    return (day - literal(start, type_=Promise.promised_for.type)) // 7


def _application_filters(filters: Filters) -> list[ColumnElement[bool]]:
    conditions = []
    if filters.position_id is not None:
        conditions.append(Application.position_id == filters.position_id)
    if filters.owner_id is not None:
        conditions.append(Application.owner_id == filters.owner_id)
    return conditions


@dataclass
class Distribution:
    count: int = 0
    median: float | None = None
    p90: float | None = None


def percentile(ranked: dict[int, float], n: int, numerator: int, denominator: int) -> float:
    """percentile_cont(numerator/denominator) from the values at ranks lo and lo+1 (1-based)."""
    position = numerator * (n - 1)
    lo = 1 + position // denominator
    fraction = (position % denominator) / denominator
    low = ranked[lo]
    if fraction == 0:
        return low
    return low + (ranked[lo + 1] - low) * fraction


def _distribution(values, group_columns: list[str]) -> dict[tuple, Distribution]:
    """Median and 90th percentile of ``values`` (a subquery with ``group_columns`` and
    ``value``) per group, in one statement that returns at most four rows per group."""
    groups = [values.c[name] for name in group_columns]
    ranked = select(*groups, values.c.value,
                    func.row_number().over(partition_by=groups, order_by=values.c.value).label("rn"),
                    func.count().over(partition_by=groups).label("n")).subquery()
    n = ranked.c.n
    # Integer division (``//``; SQLAlchemy's ``/`` is true division), as in percentile.
    wanted = (1 + (n - 1) // 2, 2 + (n - 1) // 2, 1 + (9 * (n - 1)) // 10, 2 + (9 * (n - 1)) // 10)
    rows = db.session.execute(
        select(*(ranked.c[name] for name in group_columns), ranked.c.value, ranked.c.rn, ranked.c.n)
        .where(or_(*(ranked.c.rn == rank for rank in wanted)))
    ).all()
    collected: dict[tuple, dict[int, float]] = defaultdict(dict)
    sizes: dict[tuple, int] = {}
    for row in rows:
        key = tuple(row[: len(group_columns)])
        collected[key][int(row.rn)] = float(row.value)
        sizes[key] = int(row.n)
    result = {}
    for key, ranks in collected.items():
        n_ = sizes[key]
        result[key] = Distribution(count=n_, median=round(percentile(ranks, n_, 1, 2), 2),
                                   p90=round(percentile(ranks, n_, 9, 10), 2))
    return result


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- 1. promises kept -----------------------------------------------------------------------


@dataclass
class PromiseCounts:
    told: int = 0
    kept: int = 0
    moved: int = 0
    broken: int = 0
    withdrawn: int = 0
    open: int = 0

    @property
    def decided(self) -> int:
        return self.kept + self.moved + self.broken

    @property
    def kept_rate(self) -> float | None:
        """Kept among the promises whose day has come: kept, moved or broken. Withdrawals
        and the dates still ahead are left out."""
        return rate(self.kept, self.decided)

    def as_api(self) -> dict[str, Any]:
        return {"told": self.told, "kept": self.kept, "moved": self.moved, "broken": self.broken,
                "kept_rate": self.kept_rate}


def promise_status(now: datetime) -> ColumnElement[str]:
    """How a promise stands at ``now``: its outcome, and an open one whose day has passed
    is broken (nobody answered, no delay notice went out) though not yet recorded so."""
    return case(
        (Promise.outcome.is_not(None) & (Promise.outcome != PromiseOutcome.BROKEN.value), Promise.outcome),
        (Promise.outcome == PromiseOutcome.BROKEN.value, literal(PromiseOutcome.BROKEN.value)),
        (Promise.lapses_at < now, literal(PromiseOutcome.BROKEN.value)),
        else_=literal("open"),
    )


def _promise_columns(now: datetime) -> list:
    status = promise_status(now)
    return [func.count().label("told")] + [
        func.coalesce(func.sum(case((status == name, 1), else_=0)), 0).label(name)
        for name in ("kept", "moved", "broken", "withdrawn", "open")
    ]


def _promise_counts(row: Any) -> PromiseCounts:
    return PromiseCounts(told=int(row.told), kept=int(row.kept), moved=int(row.moved), broken=int(row.broken),
                         withdrawn=int(row.withdrawn), open=int(row.open))


def _promises_in(filters: Filters):
    return and_(Promise.promised_for >= filters.start, Promise.promised_for <= filters.end,
                *_application_filters(filters))


def _promise_base(now: datetime):
    return (select(*_promise_columns(now)).select_from(Promise)
            .join(Application, Application.id == Promise.application_id))


def promise_weeks(filters: Filters, now: datetime) -> list[tuple[date, date, PromiseCounts]]:
    """The promise counts of each week of the period (weeks begin on its first day), one statement."""
    week = _week_of_day(Promise.promised_for, filters.start).label("week")
    by_week = {int(r.week): _promise_counts(r) for r in db.session.execute(
        _promise_base(now).add_columns(week).where(_promises_in(filters)).group_by(week))}
    return [(filters.week_start(i), filters.week_end(i), by_week.get(i, PromiseCounts()))
            for i in range(filters.weeks)]


def digest_line(now: datetime, policy: Policy, weeks: int = 4) -> str:
    """The weekly digest's line: last week's promise-kept rate (the team's: the dates that
    fell in the ISO week before ``now``'s) and the trend over the last ``weeks`` weeks."""
    local = now.astimezone(policy.tz).date()
    monday = local - timedelta(days=local.weekday())
    counts = [c for _, _, c in promise_weeks(Filters(start=monday - timedelta(weeks=weeks),
                                                     end=monday - timedelta(days=1)), now)]
    last = counts[-1]

    def percent(c: PromiseCounts) -> str:
        return "–" if c.kept_rate is None else f"{round(c.kept_rate * 100)}%"

    if last.decided:
        head = f"Promises kept last week: {percent(last)} ({last.kept} of {last.decided} due)"
    else:
        head = "Promises kept last week: no date was due"
    if last.broken:
        head += f", {last.broken} passed in silence"
    return f"{head}. {weeks}-week trend: " + " → ".join(percent(c) for c in counts) + "."


@dataclass
class PromiseReport:
    total: PromiseCounts
    weeks: list[tuple[date, date, PromiseCounts]]
    stages: list[tuple[str, PromiseCounts]]
    owners: list[tuple[int | None, str, PromiseCounts]]


def promises(filters: Filters, now: datetime) -> PromiseReport:
    where = _promises_in(filters)
    base = _promise_base(now)
    total = _promise_counts(db.session.execute(base.where(where)).one())
    weeks = promise_weeks(filters, now)
    by_stage = {r.stage: _promise_counts(r) for r in db.session.execute(
        base.add_columns(Promise.stage).where(where).group_by(Promise.stage))}
    stages = [(stage.value, by_stage[stage.value]) for stage in Stage if stage.value in by_stage]
    owners = [(r.owner_id, r.name or "No owner", _promise_counts(r)) for r in db.session.execute(
        base.add_columns(Application.owner_id, User.name).outerjoin(User, User.id == Application.owner_id)
        .where(where).group_by(Application.owner_id, User.name).order_by(User.name))]
    return PromiseReport(total=total, weeks=weeks, stages=stages, owners=owners)


# --- 2. time per stage against the policy ----------------------------------------------------


@dataclass
class StageTime:
    stage: str
    label: str
    policy_days: int
    count: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    within_policy: int = 0

    @property
    def within_policy_rate(self) -> float | None:
        return rate(self.within_policy, self.count)

    def as_api(self) -> dict[str, Any]:
        return {"median_days": self.median_days, "p90_days": self.p90_days,
                "within_policy_rate": self.within_policy_rate, "count": self.count}


def ended_in(ended: Any, period: Period, start_at: datetime, end_before: datetime) -> list[ColumnElement[bool]]:
    """``period``: True, in the filters' period; False, whenever; else in one of its ranges."""
    if period is True:
        return [ended >= start_at, ended < end_before]
    if period is False:
        return []
    return [or_(*(and_(ended >= low, ended < high) for low, high in period))]


def stage_durations(filters: Filters, policy: Policy, *, period: Period = True):
    """One row per measured stage passage (ended in the period when ``period``, see
    ``ended_in``): (stage,
    value in company-local days, ended_day, position_id, owner_id).

    first_decision: the first interview (its planned start; the one held) → the debrief
    decision. second_interview: the invitation (the debrief's advance) → the second
    interview held (its planned start). final_decision: the second interview → the offer
    decision. The policy's days are the same stage days that date the candidate's promise,
    counted as it counts them: between company-local dates.
    """
    start_at, end_before = filters.start_at(policy), filters.end_before(policy)
    conditions = _application_filters(filters)
    zone = policy.timezone
    round1 = Interview.__table__.alias("round1")
    round2 = Interview.__table__.alias("round2")
    invited = Decision.__table__.alias("invited")

    def passage(stage: Stage, began: Any, ended: Any):
        return select(literal(stage.value).label("stage"), local_days_between(began, ended, zone).label("value"),
                      local_day(ended, zone).label("ended_day"), Application.position_id, Application.owner_id)

    def in_period(ended: Any) -> list[ColumnElement[bool]]:
        return ended_in(ended, period, start_at, end_before)

    def decided_after(interview: Any, round_: int, stage: Stage):
        """The decision of ``stage``, measured from the held interview of ``round_`` before it."""
        return (
            passage(stage, interview.c.scheduled_at, Decision.decided_at)
            .join(Application, Application.id == Decision.application_id)
            .join(interview, and_(interview.c.application_id == Decision.application_id, interview.c.round == round_,
                                  interview.c.held_at.is_not(None)))
            .where(Decision.stage == stage.value, *in_period(Decision.decided_at), *conditions)
        )

    first = decided_after(round1, 1, Stage.FIRST_DECISION)
    second = (
        passage(Stage.SECOND_INTERVIEW, invited.c.decided_at, round2.c.scheduled_at)
        .select_from(round2)
        .join(Application, Application.id == round2.c.application_id)
        .join(invited, and_(invited.c.application_id == round2.c.application_id,
                            invited.c.stage == Stage.FIRST_DECISION.value, invited.c.outcome == "advance"))
        .where(round2.c.round == 2, round2.c.held_at.is_not(None), *in_period(round2.c.scheduled_at), *conditions)
    )
    final = decided_after(round2, 2, Stage.FINAL_DECISION)
    return union_all(first, second, final).subquery("durations")


def _policy_days_case(stage_column: Any, policy: Policy) -> ColumnElement[int]:
    return case(*((stage_column == stage, getattr(policy, name)) for stage, name in STAGE_TIMES.items()),
                else_=0)


@dataclass
class StageTimeReport:
    stages: dict[str, StageTime]
    weeks: list[tuple[date, date, dict[str, StageTime]]]


def stage_times(filters: Filters, policy: Policy) -> StageTimeReport:
    durations = stage_durations(filters, policy)
    week = days_from(durations.c.ended_day, filters.start) // 7
    rows = select(durations.c.stage, week.label("week"), durations.c.value).subquery("weekly")
    within = case((rows.c.value <= _policy_days_case(rows.c.stage, policy), 1), else_=0)
    counted = db.session.execute(
        select(rows.c.stage, rows.c.week, func.count().label("count"), func.sum(within).label("within"))
        .group_by(rows.c.stage, rows.c.week)).all()
    overall_dist = _distribution(select(durations.c.stage, durations.c.value).subquery(), ["stage"])
    weekly_dist = _distribution(rows, ["stage", "week"])

    def fresh(stage: str) -> StageTime:
        return StageTime(stage=stage, label=STAGE_TIME_LABELS[stage], policy_days=getattr(policy, STAGE_TIMES[stage]))

    overall = {stage: fresh(stage) for stage in STAGE_TIMES}
    weekly = [{stage: fresh(stage) for stage in STAGE_TIMES} for _ in range(filters.weeks)]
    last_week = filters.weeks - 1
    for row in counted:
        for target in (overall[row.stage], weekly[min(int(row.week), last_week)][row.stage]):
            target.count += int(row.count)
            target.within_policy += int(row.within or 0)
    for (stage,), dist in overall_dist.items():
        overall[stage].median_days, overall[stage].p90_days = dist.median, dist.p90
    for (stage, week_index), dist in weekly_dist.items():
        weekly[min(int(week_index), last_week)][stage].median_days = dist.median
        weekly[min(int(week_index), last_week)][stage].p90_days = dist.p90
    return StageTimeReport(stages=overall, weeks=[(filters.week_start(i), filters.week_end(i), weekly[i])
                                                  for i in range(filters.weeks)])


# --- 3. funnel ---------------------------------------------------------------------------------


def reached_step() -> ColumnElement[int]:
    """The furthest step of FUNNEL_STEPS an application reached (its index), from its stage
    and its history: a closed application keeps its interviews and decisions."""

    def has_interview(round_: int, held: bool) -> ColumnElement[bool]:
        conditions = [Interview.application_id == Application.id, Interview.round == round_]
        if held:
            conditions.append(Interview.held_at.is_not(None))
        return exists().where(*conditions)

    def has_decision(stage: Stage, outcome: str) -> ColumnElement[bool]:
        return exists().where(Decision.application_id == Application.id, Decision.stage == stage.value,
                              Decision.outcome == outcome)

    stage = Application.stage
    return case(
        (stage == Stage.HIRED.value, 6),
        (stage.in_([Stage.OFFER.value, Stage.DECLINED.value]) | has_decision(Stage.FINAL_DECISION, "advance"), 5),
        ((stage == Stage.FINAL_DECISION.value) | has_interview(2, True), 4),
        ((stage == Stage.SECOND_INTERVIEW.value) | has_decision(Stage.FIRST_DECISION, "advance")
         | has_interview(2, False), 3),
        ((stage == Stage.FIRST_DECISION.value) | has_interview(1, True), 2),
        ((stage == Stage.FIRST_INTERVIEW.value) | has_interview(1, False), 1),
        else_=0,
    )


def received_in(filters: Filters, policy: Policy) -> list[ColumnElement[bool]]:
    return [Application.applied_at >= filters.start_at(policy), Application.applied_at < filters.end_before(policy),
            *_application_filters(filters)]


@dataclass
class FunnelStep:
    stage: str
    label: str
    count: int
    conversion: float | None = None  # from the step before


def funnel(filters: Filters, policy: Policy) -> list[FunnelStep]:
    """Of the applications received in the period: how many reached each step, then how
    many ended rejected, declined (the offer) or withdrawn."""
    inner = select(reached_step().label("reached"), Application.stage.label("stage")).where(
        *received_in(filters, policy)).subquery()
    columns = [func.coalesce(func.sum(case((inner.c.reached >= index, 1), else_=0)), 0).label(f"s{index}")
               for index in range(len(FUNNEL_STEPS))]
    columns += [func.coalesce(func.sum(case((inner.c.stage == stage.value, 1), else_=0)), 0).label(stage.value)
                for stage in FUNNEL_ENDS]
    row = db.session.execute(select(*columns).select_from(inner)).one()
    steps, before = [], None
    for index, stage in enumerate(FUNNEL_STEPS):
        count = int(row[index])
        steps.append(FunnelStep(stage.value, stage.label, count, None if before is None else rate(count, before)))
        before = count
    for stage in FUNNEL_ENDS:
        steps.append(FunnelStep(stage.value, stage.label, int(row._mapping[stage.value])))
    return steps


# --- 4. time to hire and to offer ------------------------------------------------------------------


@dataclass
class TimeToHire:
    hire: Distribution
    offer: Distribution


def hire_durations(filters: Filters, policy: Policy, *, period: Period = True):
    """Application received → offer accepted ("hire"), and → offer decided ("offer"), in
    company-local days, with the day it ended (in the period when ``period``)."""
    start_at, end_before = filters.start_at(policy), filters.end_before(policy)
    zone = policy.timezone

    def kind(name: str, stage: Stage, outcome: str):
        return (select(literal(name).label("kind"),
                       local_days_between(Application.applied_at, Decision.decided_at, zone).label("value"),
                       local_day(Decision.decided_at, zone).label("ended_day"), Application.position_id,
                       Application.owner_id)
                .join(Application, Application.id == Decision.application_id)
                .where(Decision.stage == stage.value, Decision.outcome == outcome,
                       *ended_in(Decision.decided_at, period, start_at, end_before),
                       *_application_filters(filters)))

    return union_all(kind("hire", Stage.OFFER, "accepted"),
                     kind("offer", Stage.FINAL_DECISION, "advance")).subquery("to_hire")


def time_to_hire(filters: Filters, policy: Policy) -> TimeToHire:
    """Application received → offer accepted (hires in the period), and → offer decided
    (offers decided in the period), in company-local days."""
    durations = hire_durations(filters, policy)
    dist = _distribution(select(durations.c.kind, durations.c.value).subquery(), ["kind"])
    return TimeToHire(hire=dist.get(("hire",), Distribution()), offer=dist.get(("offer",), Distribution()))


# --- 5. sources -------------------------------------------------------------------------------------


@dataclass
class SourceRow:
    source: str
    label: str
    applications: int = 0
    interviews: int = 0
    hires: int = 0


def sources(filters: Filters, policy: Policy) -> list[SourceRow]:
    """Per source, of the applications received in the period: how many, how many had a
    first interview (scheduled), how many were hired."""
    interviewed = exists().where(Interview.application_id == Application.id, Interview.round == 1)
    rows = {r.source: r for r in db.session.execute(
        select(Application.source, func.count().label("applications"),
               func.sum(case((interviewed, 1), else_=0)).label("interviews"),
               func.sum(case((Application.stage == Stage.HIRED.value, 1), else_=0)).label("hires"))
        .where(*received_in(filters, policy)).group_by(Application.source))}
    result = []
    for source in Source:
        row = rows.get(source.value)
        result.append(SourceRow(source.value, source.label, int(row.applications) if row else 0,
                                int(row.interviews or 0) if row else 0, int(row.hires or 0) if row else 0))
    return result


# --- 6. overdue now ---------------------------------------------------------------------------------


@dataclass
class OverdueRow:
    id: int | None
    name: str
    count: int


@dataclass
class OverdueReport:
    owners: list[OverdueRow]
    positions: list[OverdueRow]
    total: int


def overdue_now(filters: Filters, now: datetime, policy: Policy) -> OverdueReport:
    """The applications overdue at ``now`` (the dashboard's flag, in SQL), per owner and per
    position; the period does not apply (this is now), the position and owner filters do.
    One statement, a row per (owner, position) pair, summed both ways here: the overdue set
    is found by reading every open application, which two statements did twice."""
    # Materialized first: grouping straight from the table, SQLite reads every application
    # in owner (position) order to save a sort, instead of only the open ones by stage.
    overdue = (select(Application.owner_id, Application.position_id)
               .where(flag_condition(Flag.OVERDUE, now, policy), *_application_filters(filters))
               .cte("overdue").prefix_with("MATERIALIZED"))
    owners: dict[int | None, OverdueRow] = {}
    positions: dict[int, OverdueRow] = {}
    for row in db.session.execute(
            select(overdue.c.owner_id, User.name, overdue.c.position_id, Position.title, func.count().label("count"))
            .outerjoin(User, User.id == overdue.c.owner_id).join(Position, Position.id == overdue.c.position_id)
            .group_by(overdue.c.owner_id, User.name, overdue.c.position_id, Position.title)):
        owners.setdefault(row.owner_id, OverdueRow(row.owner_id, row.name or "No owner", 0)).count += row.count
        positions.setdefault(row.position_id, OverdueRow(row.position_id, row.title, 0)).count += row.count

    def ranked(rows: Iterable[OverdueRow]) -> list[OverdueRow]:
        return sorted(rows, key=lambda r: (-r.count, r.name, r.id or 0))

    return OverdueReport(owners=ranked(owners.values()), positions=ranked(positions.values()),
                         total=sum(r.count for r in owners.values()))


# --- everything at once, and the API's summary ----------------------------------------------------


@dataclass
class Report:
    filters: Filters
    now: datetime
    promises: PromiseReport
    stage_times: StageTimeReport
    funnel: list[FunnelStep]
    time_to_hire: TimeToHire
    sources: list[SourceRow]
    overdue: OverdueReport
    policy: Policy = field(repr=False, default=None)  # type: ignore[assignment]
    as_of: datetime | None = None  # the moment the figures are true for (rollup.py: its last refresh)


def build(filters: Filters, now: datetime, policy: Policy) -> Report:
    return Report(filters=filters, now=now, promises=promises(filters, now), stage_times=stage_times(filters, policy),
                  funnel=funnel(filters, policy), time_to_hire=time_to_hire(filters, policy),
                  sources=sources(filters, policy), overdue=overdue_now(filters, now, policy), policy=policy,
                  as_of=now)


def summary(filters: Filters, now: datetime, policy: Policy) -> dict[str, Any]:
    """The API's ``GET /reports/summary``, computed live."""
    return summary_of(promises(filters, now), stage_times(filters, policy), funnel(filters, policy),
                      time_to_hire(filters, policy), sources(filters, policy))


def summary_of(promise_report: PromiseReport, times: StageTimeReport, steps: list[FunnelStep],
               to_hire: TimeToHire, source_rows: list[SourceRow]) -> dict[str, Any]:
    return {
        "promises": promise_report.total.as_api(),
        "stages": {stage: value.as_api() for stage, value in times.stages.items()},
        "funnel": [{"stage": step.stage, "count": step.count} for step in steps],
        "time_to_hire_days": {"median": to_hire.hire.median, "p90": to_hire.hire.p90},
        "sources": [{"source": row.source, "applications": row.applications, "hires": row.hires}
                    for row in source_rows],
    }
