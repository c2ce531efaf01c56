"""The vocabulary of the process: stages and their transitions, roles, recommendations,
verdicts, flags — and how far an application got."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from .errors import IllegalTransition


class Stage(enum.StrEnum):
    APPLIED = "applied"
    FIRST_INTERVIEW = "first_interview"
    FIRST_DECISION = "first_decision"
    SECOND_INTERVIEW = "second_interview"
    FINAL_DECISION = "final_decision"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STAGES

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


OPEN_STAGES: tuple[Stage, ...] = (
    Stage.APPLIED,
    Stage.FIRST_INTERVIEW,
    Stage.FIRST_DECISION,
    Stage.SECOND_INTERVIEW,
    Stage.FINAL_DECISION,
    Stage.OFFER,
)
CLOSED_STAGES: tuple[Stage, ...] = (Stage.HIRED, Stage.REJECTED, Stage.DECLINED, Stage.WITHDRAWN)

STAGE_LABELS: dict[Stage, str] = {
    Stage.APPLIED: "Applied",
    Stage.FIRST_INTERVIEW: "First interview",
    Stage.FIRST_DECISION: "Debrief decision",
    Stage.SECOND_INTERVIEW: "Second interview",
    Stage.FINAL_DECISION: "Offer decision",
    Stage.OFFER: "Offer made",
    Stage.HIRED: "Hired",
    Stage.REJECTED: "Rejected",
    Stage.DECLINED: "Declined",
    Stage.WITHDRAWN: "Withdrawn",
}


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    INTERVIEWER = "interviewer"
    MANAGER = "manager"


class Recommendation(enum.StrEnum):
    STRONG_NO = "strong_no"
    NO = "no"
    YES = "yes"
    STRONG_YES = "strong_yes"

    @property
    def is_positive(self) -> bool:
        return self in (Recommendation.YES, Recommendation.STRONG_YES)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Verdict(enum.StrEnum):
    """What a panel's feedback adds up to."""

    INCOMPLETE = "incomplete"  # someone on the panel has not submitted feedback
    CLEAR_HIRE = "clear_hire"  # everyone said yes / strong yes
    CLEAR_NO = "clear_no"  # everyone said no / strong no
    MIXED = "mixed"  # everyone submitted, but they disagree

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self]


VERDICT_LABELS: dict[Verdict, str] = {
    Verdict.INCOMPLETE: "Not everyone has submitted yet",
    Verdict.CLEAR_HIRE: "Clear recommendation to hire",
    Verdict.CLEAR_NO: "Clear recommendation not to hire",
    Verdict.MIXED: "The panel disagrees — discuss",
}


class Flag(enum.StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    EXPEDITE = "expedite"
    NEEDS_DISCUSSION = "needs_discussion"
    AWAITING_FEEDBACK = "awaiting_feedback"
    UNRECORDED = "unrecorded"  # an interview ended a while ago and nobody marked it held or cancelled
    STALLED = "stalled"  # the candidate's date was moved automatically more often than the policy allows


class Event(enum.StrEnum):
    """The things that move an application between stages."""

    SCHEDULE_FIRST_INTERVIEW = "schedule_first_interview"
    CANCEL_FIRST_INTERVIEW = "cancel_first_interview"
    FIRST_INTERVIEW_HELD = "first_interview_held"
    INVITE_SECOND_INTERVIEW = "invite_second_interview"
    SECOND_INTERVIEW_HELD = "second_interview_held"
    MAKE_OFFER = "make_offer"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    REJECT = "reject"
    WITHDRAW = "withdraw"


# (from, event) -> to. Reject and withdraw are allowed from every open stage.
TRANSITIONS: dict[tuple[Stage, Event], Stage] = {
    (Stage.APPLIED, Event.SCHEDULE_FIRST_INTERVIEW): Stage.FIRST_INTERVIEW,
    (Stage.FIRST_INTERVIEW, Event.CANCEL_FIRST_INTERVIEW): Stage.APPLIED,
    (Stage.FIRST_INTERVIEW, Event.FIRST_INTERVIEW_HELD): Stage.FIRST_DECISION,
    (Stage.FIRST_DECISION, Event.INVITE_SECOND_INTERVIEW): Stage.SECOND_INTERVIEW,
    (Stage.SECOND_INTERVIEW, Event.SECOND_INTERVIEW_HELD): Stage.FINAL_DECISION,
    (Stage.FINAL_DECISION, Event.MAKE_OFFER): Stage.OFFER,
    (Stage.OFFER, Event.OFFER_ACCEPTED): Stage.HIRED,
    (Stage.OFFER, Event.OFFER_DECLINED): Stage.DECLINED,
}
for _stage in OPEN_STAGES:
    TRANSITIONS[(_stage, Event.REJECT)] = Stage.REJECTED
    TRANSITIONS[(_stage, Event.WITHDRAW)] = Stage.WITHDRAWN

_EVENT_HINTS: dict[Event, str] = {
    Event.SCHEDULE_FIRST_INTERVIEW: "A first interview can only be scheduled for a new application.",
    Event.CANCEL_FIRST_INTERVIEW: "Only a first interview that has not been held can be cancelled.",
    Event.FIRST_INTERVIEW_HELD: "Only a scheduled first interview can be marked as held.",
    Event.INVITE_SECOND_INTERVIEW: "A candidate can be invited to the second interview only after "
    "the first interview's debrief.",
    Event.SECOND_INTERVIEW_HELD: "Only a second interview can be marked as held here.",
    Event.MAKE_OFFER: "An offer can only be made after the second interview, in the offer decision.",
    Event.OFFER_ACCEPTED: "Only an open offer can be accepted.",
    Event.OFFER_DECLINED: "Only an open offer can be declined.",
    Event.REJECT: "This application is already closed.",
    Event.WITHDRAW: "This application is already closed.",
}


def next_stage(stage: Stage | str, event: Event | str) -> Stage:
    """The stage after ``event``; raises IllegalTransition with a reason if not allowed."""
    stage, event = Stage(stage), Event(event)
    try:
        return TRANSITIONS[(stage, event)]
    except KeyError:
        raise IllegalTransition(
            f"Not possible while the application is at “{stage.label}”: {_EVENT_HINTS[event]}"
        ) from None


def path_to(target: Stage | str, *, closed_from: Stage | str | None = None) -> list[Stage]:
    """The stages an application enters on its way from APPLIED to ``target``, in order: the
    process's one path (OPEN_STAGES), then a closed ``target`` from ``closed_from`` — by
    default the one stage it can be reached from (hired and declined: the offer), else
    straight from APPLIED. The demo and the test factories walk this path."""
    target = Stage(target)
    if target.is_open:
        return list(OPEN_STAGES[1:OPEN_STAGES.index(target) + 1])
    if closed_from is None:
        sources = {from_stage for (from_stage, _event), to in TRANSITIONS.items() if to == target}
        closed_from = sources.pop() if len(sources) == 1 else Stage.APPLIED
    if (Stage(closed_from), target) not in {(f, to) for (f, _e), to in TRANSITIONS.items()}:
        raise IllegalTransition(f"“{target.label}” cannot follow “{Stage(closed_from).label}”.")
    return [*path_to(closed_from), target]


def allowed_events(stage: Stage | str) -> list[Event]:
    stage = Stage(stage)
    return [event for (from_stage, event) in TRANSITIONS if from_stage == stage]


# --- what a rejected candidate is told ------------------------------------------------------

# How far an application got; a later stage means further along.
PROGRESS: dict[Stage, int] = {
    Stage.APPLIED: 0,
    Stage.FIRST_INTERVIEW: 1,
    Stage.FIRST_DECISION: 2,
    Stage.SECOND_INTERVIEW: 3,
    Stage.FINAL_DECISION: 4,
    Stage.OFFER: 5,
    Stage.HIRED: 6,
}


def rejected_after(stage: Stage | str) -> str:
    """What a rejection at ``stage`` follows, for the candidate's email: ``application``
    (no interview held yet), ``first_interview`` or ``second_interview``."""
    stage = Stage(stage)
    if stage in (Stage.APPLIED, Stage.FIRST_INTERVIEW):
        return "application"
    if stage in (Stage.FIRST_DECISION, Stage.SECOND_INTERVIEW):
        return "first_interview"
    return "second_interview"


def another_preferred(stage: Stage | str, others_reached: Iterable[Stage | str]) -> bool:
    """Whether a candidate rejected at ``stage`` may truthfully be told that someone else was
    preferred: another application for the position got further (``others_reached``: the
    furthest stage each other application reached)."""
    mine = PROGRESS[Stage(stage)]
    return any(PROGRESS.get(Stage(other), -1) > mine for other in others_reached)
