"""The date told to the candidate: how it is computed, when it is moved, how it ended."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta

from .deadlines import add_days, end_of_day, local_date
from .policy import Policy, is_business_day
from .stages import Stage

# --- the promise ---------------------------------------------------------------------------
# Every open application carries the date told to the candidate: when they will hear from us
# (at the offer it is the candidate who answers, by the offer's date, so there is none). The
# team's deadline comes ``team_lead_days`` working days before it. If the date still stands
# on its morning, the candidate gets a delay notice naming a later one. A date told only
# moves later — never silently, never earlier, except when the candidate asks for an
# earlier answer because of a competing offer, and is told.


class PromiseOutcome(enum.StrEnum):
    KEPT = "kept"  # the answer it promised came by the date
    MOVED = "moved"  # a later date was told before this one passed (delay notice, extension)
    BROKEN = "broken"  # the date passed before the candidate heard from us
    WITHDRAWN = "withdrawn"  # the candidate withdrew before the date


def answer_date(stage: Stage | str, entered_at: datetime, policy: Policy, *,
                interview_at: datetime | None = None, extended_until: datetime | None = None) -> date | None:
    """The date the candidate is told at ``stage`` by the policy: a scheduled interview's
    day plus the decision's days (the date holds whether or not anyone marks it held), else
    the stage's days from when it began. An extension of the stage (the second interview's
    hold-by date) replaces the policy's."""
    stage = Stage(stage)
    if not stage.is_open or stage == Stage.OFFER:
        return None
    if stage in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW) and interview_at is not None:
        days = policy.first_decision_days if stage == Stage.FIRST_INTERVIEW else policy.final_decision_days
        return add_days(local_date(interview_at, policy), days, policy)
    if extended_until is not None:
        return local_date(extended_until, policy)
    days = policy.days_for(stage)
    if days is None:
        return None
    return add_days(local_date(entered_at, policy), days, policy)


def hold_by_date(entered_at: datetime, policy: Policy, *, extended_until: datetime | None = None) -> date:
    """The day by which the second interview takes place (the stage's date, or as extended)."""
    if extended_until is not None:
        return local_date(extended_until, policy)
    return add_days(local_date(entered_at, policy), policy.second_interview_days, policy)


def working_days_before(day: date, count: int, policy: Policy) -> date:
    """``count`` working days (weekdays that are not holidays) before ``day``."""
    while count > 0:
        day -= timedelta(days=1)
        if is_business_day(day, policy):
            count -= 1
    return day


def team_due_at(promised: date, now: datetime, policy: Policy) -> datetime:
    """The team's deadline for a date told to the candidate: the end of the working day
    ``team_lead_days`` before it — but not already past when the promise is made."""
    due = end_of_day(working_days_before(promised, policy.team_lead_days, policy), policy)
    return min(max(due, end_of_day(local_date(now, policy), policy)), end_of_day(promised, policy))


def delay_notice_at(promised_at: datetime, policy: Policy) -> datetime:
    """The morning of the promised day (``delay_notice_hour``, company time): if the date
    still stands then, the candidate hears that we need more time, hours before it passes."""
    day = local_date(promised_at, policy)
    return datetime.combine(day, time(policy.delay_notice_hour), tzinfo=policy.tz).astimezone(UTC)


def delay_notice_threshold(now: datetime, policy: Policy) -> datetime:
    """Promises ending at or before this moment have reached their delay-notice morning
    (the delay-notice job's indexed question; ``needs_delay_notice`` decides each)."""
    today = local_date(now, policy)
    morning = datetime.combine(today, time(policy.delay_notice_hour), tzinfo=policy.tz)
    return end_of_day(today if now >= morning else today - timedelta(days=1), policy)


def needs_delay_notice(stage: Stage | str, promised_at: datetime | None, now: datetime, policy: Policy) -> bool:
    stage = Stage(stage)
    return (stage.is_open and stage != Stage.OFFER and promised_at is not None
            and now >= delay_notice_at(promised_at, policy))


def competing_offer_cap(deadline: date | None, now: datetime, policy: Policy) -> date | None:
    """The latest date a competing offer allows us to promise: the day before its deadline,
    or the deadline day itself when that is tomorrow; none once it has passed (it no longer
    caps anything) — never a date that is today or already past."""
    if deadline is None:
        return None
    today = local_date(now, policy)
    if deadline - timedelta(days=1) > today:
        return deadline - timedelta(days=1)
    if deadline > today:
        return deadline
    return None


def promise_date(computed: date | None, now: datetime, policy: Policy, *, current: date | None = None,
                 answers: bool = False, competing_offer_deadline: date | None = None) -> date | None:
    """The date to tell the candidate now. ``computed`` is the policy's (``answer_date``);
    a live competing offer pulls it earlier; it is at least tomorrow. Unless this email
    ``answers`` what the current promise was about, the current date only moves later."""
    if computed is None:
        return None
    cap = competing_offer_cap(competing_offer_deadline, now, policy)
    if cap is not None:
        computed = min(computed, cap)
    computed = max(computed, local_date(now, policy) + timedelta(days=1))
    if current is not None and not answers:
        computed = max(computed, current)
    return computed


def delay_notice_date(promised: date, now: datetime, policy: Policy, *,
                      competing_offer_deadline: date | None = None) -> date:
    """The new date a delay notice names: ``delay_notice_extension_days`` after the promised
    day (or after today, if the job runs late), within a live competing offer's deadline
    when that still leaves a later date — never the old date, never one already past."""
    base = max(promised, local_date(now, policy))
    new = add_days(base, policy.delay_notice_extension_days, policy)
    while new <= base:  # a working-day calendar may pull the date back onto the base day
        new += timedelta(days=1)
    cap = competing_offer_cap(competing_offer_deadline, now, policy)
    if cap is not None and cap > promised:
        new = min(new, cap)
    return new


def competing_offer_promise(current: date, deadline: date, now: datetime, policy: Policy) -> date:
    """The date confirmed to a candidate who told us about a competing offer: ours if it
    is early enough, else the latest the offer allows (the candidate asked for it earlier)."""
    cap = competing_offer_cap(deadline, now, policy)
    return current if cap is None else min(current, cap)


def promise_outcome(lapses_at: datetime, resolved_at: datetime, *, moved: bool = False,
                    withdrawn: bool = False) -> PromiseOutcome:
    """How a promise ended: anything after its day had passed came too late."""
    if resolved_at > lapses_at:
        return PromiseOutcome.BROKEN
    if withdrawn:
        return PromiseOutcome.WITHDRAWN
    return PromiseOutcome.MOVED if moved else PromiseOutcome.KEPT


def responsible(stage: Stage | str, *, owner_id: int | None, position_owner_id: int | None,
                hiring_manager_id: int | None) -> int | None:
    """Who must act next: the position's hiring manager decides the offer (the owner when
    there is none), the application's owner (or the position's) everything else. The
    notifications, the dashboard (in SQL, checked against this) and the digest ask this."""
    if Stage(stage) == Stage.FINAL_DECISION:
        return hiring_manager_id or position_owner_id or owner_id
    return owner_id or position_owner_id
