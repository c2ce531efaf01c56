"""Factories that build data through the services, so tests start from real states."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hiring import services
from hiring.models import Application, Position, User
from hiring.pipeline import walk
from hiring.pipeline.walk import Step
from hiring.settings import get_policy
from hiring.walker import ServiceWalk

_counter = itertools.count(1)


def _started_before(held_at: datetime, *, hours: int) -> datetime:
    """A start ``hours`` before ``held_at`` but on the same company-local day: an interview
    that ran past midnight moves the answer date a day, which would make tests depend on the
    hour they run at."""
    local_midnight = held_at.astimezone(get_policy().tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(held_at - timedelta(hours=hours), local_midnight)


class Factory:
    def __init__(self, now: datetime):
        self.now = now

    def user(self, role: str = "recruiter", *, email: str | None = None, name: str | None = None,
             password: str = "correct horse battery") -> User:
        n = next(_counter)
        return services.create_user(email or f"{role}{n}@example.com", name or f"{role.title()} {n}", role,
                                    password, now=self.now - timedelta(days=400))

    def position(self, *, title: str = "Embedded Software Engineer", owner: User | None = None,
                 hiring_manager: User | None = None) -> Position:
        owner = owner or self.user("recruiter")
        hiring_manager = hiring_manager or self.user("manager")
        return services.create_position(title, department="Engineering", owner_id=owner.id,
                                        hiring_manager_id=hiring_manager.id, actor=owner,
                                        now=self.now - timedelta(days=300))

    def application(self, stage: str = "applied", *, position: Position | None = None,
                    at: datetime | None = None, panel: list[User] | None = None, language: str = "en",
                    recommendations: list[str] | None = None, email: str | None = None) -> Application:
        """An application that reached ``stage`` at ``at`` (default: now).

        Earlier steps happen two days apart before ``at`` (``pipeline.walk``, carried out by
        ``hiring.walker``). ``recommendations`` (one per panel member) are submitted after the
        interview that led to a decision stage.
        """
        at = at or self.now
        position = position or self.position()
        recruiter = position.owner
        manager = position.hiring_manager
        panel = panel or [self.user("interviewer"), self.user("interviewer")]
        n = next(_counter)
        path = walk.steps_to(stage)
        submitted, steps = walk.timed(path, at, [timedelta(days=2)] * len(path))
        application = services.submit_application(
            position, name=f"Candidate {n}", email=email or f"candidate{n}@example.org", language=language,
            actor=recruiter, applied_at=submitted, now=submitted)
        walker = _FactoryWalk(application, recruiter=recruiter, manager=manager, panel=panel,
                              recommendations=recommendations, steps=steps)
        for step in steps:
            walker.take(step)
        return application


class _FactoryWalk(ServiceWalk):
    """The factories' interviews: held at their step, with the ``recommendations`` asked for."""

    OFFER_RATIONALE = "Agreed with management."
    REJECT_RATIONALE = "Not a fit."
    DECLINE_NOTE = ""
    WITHDRAW_REASON = "Took another job."

    def __init__(self, application: Application, *, recruiter: User, manager: User, panel: list[User],
                 recommendations: list[str] | None, steps: list[Step]):
        super().__init__(application, recruiter=recruiter, manager=manager)
        self.panel, self.recommendations, self.steps = panel, recommendations, steps

    def schedule_first_interview(self, step: Step) -> None:
        # Unless this is the last step, it takes place an hour before it is marked held, on
        # the next step's day (the answer date told with the invitation then holds).
        later = self.steps[self.steps.index(step) + 1:]
        scheduled = _started_before(later[0].at, hours=1) if later else step.at + timedelta(days=3)
        self.interview = services.schedule_interview(
            self.application, round=1, scheduled_at=scheduled,
            panel_user_ids=[u.id for u in self.panel], location="Room 1", actor=self.recruiter, now=step.at)

    def first_interview_held(self, step: Step) -> None:
        services.record_interview_held(self.interview, held_at=step.at, actor=self.recruiter, now=step.at)
        self._feedback(step.at)

    def advance_rationale(self) -> str:
        given = [r for r in self.recommendations or [] if r]
        against = not given or (len(given) == len(self.panel) and not any(r.endswith("yes") for r in given))
        return "Agreed in the debrief." if against else ""

    def second_interview_held(self, step: Step) -> None:
        self.interview = services.schedule_interview(
            self.application, round=2, scheduled_at=_started_before(step.at, hours=2),
            panel_user_ids=[u.id for u in self.panel], location="Room 2", actor=self.recruiter,
            now=step.at - timedelta(hours=3))
        services.record_interview_held(self.interview, held_at=step.at, actor=self.recruiter, now=step.at)
        self._feedback(step.at)

    def _feedback(self, at: datetime) -> None:
        for member, recommendation in zip(self.panel, self.recommendations or [], strict=False):
            if recommendation:
                services.submit_feedback(self.interview, interviewer=member, recommendation=recommendation,
                                         now=at + timedelta(minutes=5))
