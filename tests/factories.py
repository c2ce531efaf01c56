"""Factories that build data through the services, so tests start from real states."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hiring import services
from hiring.models import Application, Interview, Position, User
from hiring.pipeline import Event, walk
from hiring.settings import get_policy

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

        Earlier steps happen two days apart before ``at`` (``pipeline.walk``). ``recommendations`` (one per panel
        member) are submitted after the interview that led to a decision stage.
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
        interview: Interview | None = None
        for index, step in enumerate(steps):
            t = step.at
            if step.event == Event.SCHEDULE_FIRST_INTERVIEW:
                # Unless this is the last step, it takes place an hour before it is marked held, on
                # the next step's day (the answer date told with the invitation then holds).
                held_next = at if index + 1 == len(steps) - 1 else t + timedelta(days=2)
                scheduled = (t + timedelta(days=3) if index == len(steps) - 1
                             else _started_before(held_next, hours=1))
                interview = services.schedule_interview(
                    application, round=1, scheduled_at=scheduled,
                    panel_user_ids=[u.id for u in panel], location="Room 1", actor=recruiter, now=t)
            elif step.event == Event.FIRST_INTERVIEW_HELD:
                services.record_interview_held(interview, held_at=t, actor=recruiter, now=t)
                self._feedback(interview, panel, recommendations, t)
            elif step.event == Event.INVITE_SECOND_INTERVIEW:
                given = [r for r in recommendations or [] if r]
                against = not given or (len(given) == len(panel) and not any(r.endswith("yes") for r in given))
                services.decide(application, outcome="advance", actor=recruiter, now=t,
                                rationale="Agreed in the debrief." if against else "")
            elif step.event == Event.SECOND_INTERVIEW_HELD:
                interview = services.schedule_interview(
                    application, round=2, scheduled_at=_started_before(t, hours=2),
                    panel_user_ids=[u.id for u in panel], location="Room 2", actor=recruiter,
                    now=t - timedelta(hours=3))
                services.record_interview_held(interview, held_at=t, actor=recruiter, now=t)
                self._feedback(interview, panel, recommendations, t)
            elif step.event == Event.MAKE_OFFER:
                services.decide(application, outcome="advance", rationale="Agreed with management.",
                                actor=manager, now=t)
            elif step.event in (Event.OFFER_ACCEPTED, Event.OFFER_DECLINED):
                services.record_offer_response(application, accepted=step.event == Event.OFFER_ACCEPTED,
                                               actor=recruiter, now=t)
            elif step.event == Event.REJECT:
                services.decide(application, outcome="reject", rationale="Not a fit.", actor=recruiter, now=t)
            elif step.event == Event.WITHDRAW:
                services.withdraw(application, reason="Took another job.", actor=recruiter, now=t)
        return application

    def _feedback(self, interview: Interview, panel: list[User], recommendations: list[str] | None,
                  at: datetime) -> None:
        for member, recommendation in zip(panel, recommendations or [], strict=False):
            if recommendation:
                services.submit_feedback(interview, interviewer=member, recommendation=recommendation,
                                         now=at + timedelta(minutes=5))
