"""The flags an application carries at a moment (overdue, due soon, stalled …)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .deadlines import competing_offer_active
from .errors import require_aware
from .policy import Policy
from .stages import Flag, Stage, Verdict

# --- flags -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationState:
    """The facts about one application that the flags depend on."""

    stage: Stage
    due_at: datetime | None = None  # the team's deadline
    competing_offer_deadline: date | None = None
    verdict: Verdict | None = None  # of the latest held interview, if any
    awaiting_feedback: bool = False
    promised_at: datetime | None = None  # the end of the day last told to the candidate
    overdue_since: datetime | None = None  # the team deadline missed before an automatic delay
    automatic_delays: int = 0  # automatic delay notices of the current promise
    interview_ends_at: datetime | None = None  # the end of an interview not yet marked held


def flags(state: ApplicationState, now: datetime, policy: Policy) -> list[Flag]:
    """The flags an application carries at ``now``, most urgent first."""
    require_aware(now)
    stage = Stage(state.stage)
    if not stage.is_open:
        return []
    result: list[Flag] = []
    if is_overdue(state, now):
        result.append(Flag.OVERDUE)
    elif state.due_at is not None and state.due_at - now <= timedelta(days=policy.due_soon_days):
        result.append(Flag.DUE_SOON)
    if competing_offer_active(state.competing_offer_deadline, now, policy):
        result.append(Flag.EXPEDITE)
    # Discussion is needed once the whole panel has spoken and disagrees; while feedback
    # is missing the application is awaiting feedback, not yet in need of a discussion.
    if stage == Stage.FINAL_DECISION and state.verdict == Verdict.MIXED:
        result.append(Flag.NEEDS_DISCUSSION)
    if state.awaiting_feedback:
        result.append(Flag.AWAITING_FEEDBACK)
    if state.interview_ends_at is not None and now > unrecorded_after(state.interview_ends_at, policy):
        result.append(Flag.UNRECORDED)
    if is_stalled(state.automatic_delays, policy):
        result.append(Flag.STALLED)
    return result


def is_overdue(state: ApplicationState, now: datetime) -> bool:
    """The team is late: past its deadline, or the candidate's date already had to be moved
    automatically because nothing happened (a delay notice does not make the team on time)."""
    if not Stage(state.stage).is_open:
        return False
    if state.overdue_since is not None:
        return True
    return state.due_at is not None and now > state.due_at


def late_since(state: ApplicationState) -> datetime | None:
    """The deadline the team is late against: the first one missed, before any automatic delay."""
    return state.overdue_since or state.due_at


def unrecorded_after(interview_ends_at: datetime, policy: Policy) -> datetime:
    return interview_ends_at + timedelta(hours=policy.record_interview_hours)


def is_stalled(automatic_delays: int, policy: Policy) -> bool:
    return automatic_delays > policy.max_automatic_delays


def urgency_key(state: ApplicationState, now: datetime) -> tuple:
    """Sort key: overdue first (most overdue first), then by due date, undated last."""
    if state.due_at is None:
        return (1, datetime.max.replace(tzinfo=UTC))
    return (0, state.due_at)
