"""One walk through the process, for whatever builds applications in a chosen state: the
demo, the test factories and the synthetic-dataset generator.

Pure, like the rest of the package: the steps an application takes to reach a stage (each
the transition's event and the stage it enters, from TRANSITIONS), when each happens, and
the notice memory the deadline job would have written along the way. The adapters carry
the steps out: the demo and the factories through the services, the generator with
direct inserts of the values these functions give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import IllegalTransition
from .flags import ApplicationState, is_overdue, late_since, unrecorded_after
from .policy import Policy
from .stages import OPEN_STAGES, TRANSITIONS, Event, Stage, Verdict, path_to


@dataclass(frozen=True)
class Step:
    """One transition: ``event`` moves the application into ``stage`` at ``at``."""

    event: Event
    stage: Stage
    at: datetime | None = None


def event_between(from_stage: Stage | str, to_stage: Stage | str) -> Event:
    """The event that moves an application from one stage to the next."""
    from_stage, to_stage = Stage(from_stage), Stage(to_stage)
    for (source, event), target in TRANSITIONS.items():
        if source == from_stage and target == to_stage:
            return event
    raise IllegalTransition(f"“{to_stage.label}” cannot follow “{from_stage.label}”.")


def steps_to(target: Stage | str, *, closed_from: Stage | str | None = None) -> list[Step]:
    """The steps from APPLIED to ``target`` along the process's path (``pipeline.path_to``);
    a closed ``target`` is reached from ``closed_from``."""
    steps: list[Step] = []
    current = Stage.APPLIED
    for stage in path_to(target, closed_from=closed_from):
        steps.append(Step(event_between(current, stage), stage))
        current = stage
    return steps


def timed(steps: Sequence[Step], arrive_at: datetime, gaps: Sequence[timedelta]) -> tuple[datetime, list[Step]]:
    """When the application is submitted and when each step happens, so that the last step
    happens at ``arrive_at``: ``gaps[i]`` is the time from the step before (the submission
    for the first) to step ``i``."""
    if len(gaps) != len(steps):
        raise ValueError("one gap per step")
    submitted = arrive_at - sum(gaps, timedelta())
    at, result = submitted, []
    for step, gap in zip(steps, gaps, strict=True):
        at = at + gap
        result.append(Step(step.event, step.stage, at))
    return submitted, result


@dataclass(frozen=True)
class NoticeMemory:
    """The deadline job's marks on an application (the columns announce_flags writes)."""

    due_soon_notified_at: datetime | None = None
    overdue_notified_at: datetime | None = None
    expedite_notified_for: date | None = None
    needs_discussion_notified_at: datetime | None = None
    unrecorded_notified_at: datetime | None = None


def notices_sent(state: ApplicationState, stage_entered_at: datetime, now: datetime, policy: Policy, *,
                 every: timedelta) -> NoticeMemory:
    """What the deadline job, running every ``every``, has announced about an application by
    ``now`` — each flag at the job's first run after the flag came up, marked as
    hiring.services.notices.announce_flags marks it. Data written without the job running
    (the generator) carries these marks, so the job's first run over it finds only what is
    really new."""
    if Stage(state.stage) not in OPEN_STAGES:
        return NoticeMemory()

    def first_run_after(moment: datetime) -> datetime | None:
        at = max(moment, stage_entered_at) + every
        return at if at <= now else None

    due_soon = overdue = discussion = unrecorded = None
    expedite = state.competing_offer_deadline  # announced the day it was set
    late = late_since(state)
    if late is not None and is_overdue(state, now):
        overdue = first_run_after(late)
    if state.overdue_since is None and state.due_at is not None:
        # (A delay notice moved the date on and cleared this mark; late, it is not due soon again.)
        due_soon = first_run_after(state.due_at - timedelta(days=policy.due_soon_days))
    if state.stage == Stage.FINAL_DECISION and state.verdict == Verdict.MIXED:
        discussion = first_run_after(stage_entered_at)
    if state.interview_ends_at is not None:
        unrecorded = first_run_after(unrecorded_after(state.interview_ends_at, policy))
    return NoticeMemory(due_soon, overdue, expedite, discussion, unrecorded)
