"""Which actions a user may take on an application now (each a form on its page)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .access import Action, can
from .decisions import may_decide_offer
from .errors import require_aware
from .policy import Policy
from .stages import Role, Stage

# --- which actions a user may take now ---------------------------------------------------


class Step(enum.StrEnum):
    """The actions a person can take on an application (a form on its page)."""

    SCHEDULE_INTERVIEW = "schedule_interview"
    RESCHEDULE_INTERVIEW = "reschedule_interview"
    CANCEL_INTERVIEW = "cancel_interview"
    MARK_HELD = "mark_held"
    GIVE_FEEDBACK = "give_feedback"
    DECIDE = "decide"  # the debrief (advance or reject) at first_decision; reject at other stages
    OFFER_DECISION = "offer_decision"  # offer or reject at final_decision
    OFFER_RESPONSE = "offer_response"
    EXTEND_DEADLINE = "extend_deadline"
    COMPETING_OFFER = "competing_offer"
    WITHDRAW = "withdraw"
    LOG_CONTACT = "log_contact"
    ADD_REFERENCE = "add_reference"
    UPLOAD_DOCUMENT = "upload_document"


@dataclass(frozen=True)
class InterviewFacts:
    """What ``available_actions`` needs to know about one interview, as seen by one user."""

    id: int
    round: int
    scheduled_at: datetime
    held: bool = False
    cancelled: bool = False
    on_panel: bool = False  # the user sits on its panel
    gave_feedback: bool = False  # the user has given their feedback on it

    @property
    def upcoming(self) -> bool:
        return not self.held and not self.cancelled


@dataclass(frozen=True)
class Available:
    step: Step
    interview_id: int | None = None
    round: int | None = None
    outcomes: tuple[str, ...] = ()  # for DECIDE and OFFER_DECISION
    acting_for: bool = False  # an admin deciding the offer for the hiring manager says why


def available_actions(stage: Stage | str, role: Role | str, now: datetime, policy: Policy, *,
                      user_id: int | None = None, hiring_manager_id: int | None = None,
                      interviews: Iterable[InterviewFacts] = (), has_due_date: bool = True) -> list[Available]:
    """Every action ``role`` (the user ``user_id``) may take on an application at ``stage``
    at ``now``, by the same rules the services apply — the page offers these and no other.
    ``interviews`` in their order; ``has_due_date``: whether the application has an answer
    date now (only a date can be extended)."""
    require_aware(now)
    stage, role = Stage(stage), Role(role)
    interviews = list(interviews)
    manage = can(role, Action.MANAGE_APPLICATIONS)
    found: list[Available] = []
    if manage and stage == Stage.APPLIED:
        found.append(Available(Step.SCHEDULE_INTERVIEW, round=1))
    if manage and stage == Stage.SECOND_INTERVIEW and not any(i.round == 2 and not i.cancelled for i in interviews):
        found.append(Available(Step.SCHEDULE_INTERVIEW, round=2))
    for interview in interviews:
        if manage and stage.is_open and interview.upcoming:
            found.append(Available(Step.RESCHEDULE_INTERVIEW, interview.id, interview.round))
            found.append(Available(Step.CANCEL_INTERVIEW, interview.id, interview.round))
        held_from = Stage.FIRST_INTERVIEW if interview.round == 1 else Stage.SECOND_INTERVIEW
        if manage and interview.upcoming and stage == held_from and interview.scheduled_at <= now:
            found.append(Available(Step.MARK_HELD, interview.id, interview.round))
        if (can(role, Action.SUBMIT_FEEDBACK) and interview.on_panel and not interview.cancelled
                and not interview.gave_feedback and (interview.held or interview.scheduled_at <= now)):
            found.append(Available(Step.GIVE_FEEDBACK, interview.id, interview.round))
    if stage == Stage.FIRST_DECISION and can(role, Action.DECIDE):
        found.append(Available(Step.DECIDE, outcomes=("advance", "reject")))
    elif stage.is_open and stage not in (Stage.FINAL_DECISION, Stage.OFFER) and can(role, Action.DECIDE):
        found.append(Available(Step.DECIDE, outcomes=("reject",)))
    if stage == Stage.FINAL_DECISION and may_decide_offer(role, user_id, hiring_manager_id):
        found.append(Available(Step.OFFER_DECISION, outcomes=("advance", "reject"), acting_for=role == Role.ADMIN))
    if manage and stage == Stage.OFFER:
        found.append(Available(Step.OFFER_RESPONSE))
    if can(role, Action.EXTEND_DEADLINE) and stage.is_open and policy.days_for(stage) is not None and has_due_date:
        found.append(Available(Step.EXTEND_DEADLINE))
    if manage and stage.is_open:
        found.append(Available(Step.COMPETING_OFFER))
    if manage:
        found += [Available(Step.LOG_CONTACT), Available(Step.ADD_REFERENCE), Available(Step.UPLOAD_DOCUMENT)]
    if manage and stage.is_open:
        found.append(Available(Step.WITHDRAW))
    return found
