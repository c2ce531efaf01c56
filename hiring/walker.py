"""The walk through the process (``pipeline.walk``) carried out through the verbs: the
demo and the test factories build their applications with it.

``ServiceWalk.take`` dispatches each step on its event to one method; the plain steps
(decisions, the offer's answer, a withdrawal) are the same for every caller, while the
interviews (when, which panel, what feedback) are the caller's own: the demo and the
factories each subclass this and say how their interviews go.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from . import services
from .models import Application, Interview, User
from .pipeline import Event, Stage
from .pipeline.walk import Step


class ServiceWalk(ABC):
    """Walks ``application`` through steps; ``recruiter`` acts, ``manager`` decides the offer."""

    ADVANCE_RATIONALE = "Strong fundamentals; invite."
    OFFER_RATIONALE = "Clear recommendation; offer agreed."
    REJECT_RATIONALE = "Another candidate fits the team better."
    DECLINE_NOTE = "Chose another offer."
    WITHDRAW_REASON = "Candidate accepted a position elsewhere."

    def __init__(self, application: Application, *, recruiter: User, manager: User):
        self.application = application
        self.recruiter = recruiter
        self.manager = manager
        self.interview: Interview | None = None

    def take(self, step: Step) -> None:
        handlers: dict[Event, Callable[[Step], None]] = {
            Event.SCHEDULE_FIRST_INTERVIEW: self.schedule_first_interview,
            Event.FIRST_INTERVIEW_HELD: self.first_interview_held,
            Event.INVITE_SECOND_INTERVIEW: self.invite_second_interview,
            Event.SECOND_INTERVIEW_HELD: self.second_interview_held,
            Event.MAKE_OFFER: self.make_offer,
            Event.OFFER_ACCEPTED: self.answer_offer,
            Event.OFFER_DECLINED: self.answer_offer,
            Event.REJECT: self.reject,
            Event.WITHDRAW: self.withdraw,
        }
        handlers[step.event](step)

    # --- the interviews: the caller's own ------------------------------------------------------

    @abstractmethod
    def schedule_first_interview(self, step: Step) -> None:
        ...

    @abstractmethod
    def first_interview_held(self, step: Step) -> None:
        ...

    @abstractmethod
    def second_interview_held(self, step: Step) -> None:
        ...

    # --- the plain steps ---------------------------------------------------------------------

    def invite_second_interview(self, step: Step) -> None:
        services.decide(self.application, outcome="advance", rationale=self.advance_rationale(), actor=self.recruiter,
                        now=step.at)

    def advance_rationale(self) -> str:
        return self.ADVANCE_RATIONALE

    def make_offer(self, step: Step) -> None:
        services.decide(self.application, outcome="advance", rationale=self.OFFER_RATIONALE, actor=self.manager,
                        now=step.at)

    def answer_offer(self, step: Step) -> None:
        accepted = step.event == Event.OFFER_ACCEPTED
        services.record_offer_response(self.application, accepted=accepted, note="" if accepted else self.DECLINE_NOTE,
                                       actor=self.recruiter, now=step.at)

    def reject(self, step: Step) -> None:
        services.decide(self.application, outcome="reject", rationale=self.REJECT_RATIONALE,
                        actor=self.rejected_by(), now=step.at)

    def rejected_by(self) -> User:
        """The offer decision is the hiring manager's; every earlier one the recruiter's."""
        return self.manager if self.application.stage == Stage.FINAL_DECISION else self.recruiter

    def withdraw(self, step: Step) -> None:
        services.withdraw(self.application, reason=self.WITHDRAW_REASON, actor=self.recruiter, now=step.at)
