"""When things happened and when answers are due: the reported times' bounds, the
stage's due date, extensions and competing offers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from .errors import IllegalTransition, InvalidInput, require_aware
from .policy import Policy, is_business_day
from .stages import Stage

# --- when things happened ---------------------------------------------------------------


def check_held_time(held_at: datetime, scheduled_at: datetime, policy: Policy) -> None:
    """An interview is held at or after its scheduled start, never before: marking it held
    early would thank the candidate early and start the answer's clock early. One that
    really took place earlier is rescheduled to the real time first."""
    require_aware(held_at)
    if held_at < scheduled_at.replace(microsecond=0):
        local = scheduled_at.astimezone(policy.tz)
        bound = f"{local.day} {local:%b %Y}, {local:%H:%M}"
        raise InvalidInput(
            "An interview cannot be marked held before its scheduled start.",
            {"held_at": f"Not before the scheduled start ({bound}). If it really took place earlier, "
                        "reschedule it to the real time first."},
        )


def check_reported_time(moment: datetime, now: datetime, *, stage_began: datetime, field: str, what: str,
                        since: str, policy: Policy) -> None:
    """A time a person reports for a step that ends the current stage (the interview was
    held, the decision was taken): not in the future, and not before the stage began,
    because the next stage's answer date counts from it. Refused with the bound named,
    never adjusted — the same for every adapter. People report times to the second at
    most, so the stage's first second counts as its beginning."""
    require_aware(moment)
    if moment > now:
        raise InvalidInput(f"{what} cannot be in the future.", {field: "Not in the future."})
    if moment < stage_began.replace(microsecond=0):
        local = stage_began.astimezone(policy.tz)
        bound = f"{local.day} {local:%b %Y}, {local:%H:%M:%S}"
        raise InvalidInput(f"{what} cannot be before {since}.", {field: f"Not before {since} ({bound})."})


# --- deadlines ---------------------------------------------------------------------------


def local_date(moment: datetime, policy: Policy) -> date:
    require_aware(moment)
    return moment.astimezone(policy.tz).date()


def end_of_day(day: date, policy: Policy) -> datetime:
    """The last second of ``day`` in the company's time zone, as UTC."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=policy.tz)
    return local.astimezone(UTC)


def add_days(start: date, days: int, policy: Policy) -> date:
    """``days`` calendar days after ``start`` — the stage days are calendar days, so "within
    a week" is a week in both modes. In working-day mode a date that falls on a weekend or
    a public holiday moves to the working day *before* it, so the promise still holds and
    nobody is due on a day off. It never moves onto or before ``start``: when no working
    day lies between the two (a one-day stage begun on a Friday), the calendar date stays."""
    target = start + timedelta(days=days)
    if not policy.business_days:
        return target
    day = target
    while day > start:
        if is_business_day(day, policy):
            return day
        day -= timedelta(days=1)
    return target


def base_due_at(stage: Stage | str, entered_at: datetime, policy: Policy) -> datetime | None:
    """When the answer for ``stage`` is due, counted from when the stage was entered."""
    return base_due_on(stage, local_date(entered_at, policy), policy)


def base_due_on(stage: Stage | str, entered_day: date, policy: Policy) -> datetime | None:
    """``base_due_at`` for a stage entered on the company-local ``entered_day``."""
    days = policy.days_for(stage)
    if days is None:
        return None
    return end_of_day(add_days(entered_day, days, policy), policy)


# A date further out than this is a typo (9999-12-31), not a plan: a candidate would be
# promised it, and a competing offer a year away is no reason to hurry.
HORIZON = timedelta(days=365)


def check_extension(
    current: datetime | None,
    new_until: date,
    now: datetime,
    policy: Policy,
    *,
    stage: Stage | str,
    reason: str,
    competing_offer_deadline: date | None = None,
    field: str = "until",
) -> datetime:
    """Validate an extension and return the new date's end (end of ``new_until``).

    ``current`` is the date the candidate holds (at the offer: the candidate's own answer
    date). An extension must name a reason, lie in the future and be later than the
    current date — it never shortens a promise — and cannot pass a live competing offer.
    """
    from ..timefmt import long_date, short_date  # pure too; imported here because it imports this module

    require_aware(now)
    stage = Stage(stage)
    if not stage.is_open:
        raise IllegalTransition(f"There is no answer date to extend at “{stage.label}”.")
    errors: dict[str, str] = {}
    if not reason or not reason.strip():
        errors["reason"] = "Give a reason; the candidate is told why they wait longer."
    new_due = end_of_day(new_until, policy)
    if new_due <= now:
        errors[field] = "The new date must be in the future."
    elif current is not None and new_due <= current:
        errors[field] = (
            f"The new date must be later than the current one ({short_date(current, policy)}); "
            "an extension never shortens the promise."
        )
    elif new_until > local_date(now, policy) + HORIZON:
        errors[field] = (
            f"The new date must be within a year (by {long_date(local_date(now, policy) + HORIZON, policy)}); "
            "the candidate is told this date."
        )
    elif (competing_offer_active(competing_offer_deadline, now, policy)
          and new_until >= competing_offer_deadline):
        errors[field] = (
            f"The candidate has a competing offer until {short_date(competing_offer_deadline, policy)}; "
            "the answer must come before then."
        )
    if errors:
        raise InvalidInput("The deadline could not be extended.", errors)
    return new_due


def check_competing_offer(deadline: date, now: datetime, policy: Policy) -> None:
    if deadline <= local_date(now, policy):
        raise InvalidInput(
            "The competing-offer deadline could not be set.",
            {"deadline": "The competing offer's deadline must be after today."},
        )
    if deadline > local_date(now, policy) + HORIZON:
        raise InvalidInput(
            "The competing-offer deadline could not be set.",
            {"deadline": "The competing offer's deadline must be within a year."},
        )


def competing_offer_active(deadline: date | None, now: datetime, policy: Policy) -> bool:
    """A competing offer counts until its deadline day has passed (then the candidate has
    decided on it one way or the other, and it no longer caps our dates)."""
    return deadline is not None and deadline >= local_date(now, policy)


def due_soon_threshold(now: datetime, policy: Policy) -> datetime:
    """Applications due at or before this moment are due soon (or overdue)."""
    return now + timedelta(days=policy.due_soon_days)


def days_overdue(due_at: datetime, now: datetime, policy: Policy) -> int:
    """Whole calendar days past the due date, in the company's time zone (0 = due today)."""
    return (local_date(now, policy) - local_date(due_at, policy)).days
