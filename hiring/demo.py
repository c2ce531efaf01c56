"""The demo: the team everyone logs in as, and ~40 applications walked through the process.

``flask --app app demo`` loads it (``cli``); the large synthetic dataset of the benchmark
(``generator``) starts with the same team and the same password, listed here once, and
draws its names from the same lists.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from . import pipeline, services
from .models import Application, User
from .pipeline import OPEN_STAGES, Event, Stage, walk
from .pipeline.walk import Step
from .walker import ServiceWalk

DEMO_PASSWORD = "demo-password"
DEMO_USERS = [
    ("admin@example.com", "Ada Admin", "admin"),
    ("rita@example.com", "Rita Recruiter", "recruiter"),
    ("robin@example.com", "Robin Recruiter", "recruiter"),
    ("ivan@example.com", "Ivan Interviewer", "interviewer"),
    ("ines@example.com", "Ines Interviewer", "interviewer"),
    ("igor@example.com", "Igor Interviewer", "interviewer"),
    ("mona@example.com", "Mona Manager", "manager"),
]
DEMO_POSITIONS = [
    ("Embedded Software Engineer", "Engineering"),
    ("FPGA Developer", "Engineering"),
    ("Hardware Test Engineer", "Quality"),
    ("Technical Project Manager", "Projects"),
]
FIRST_NAMES = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hamid", "Ida", "Jonas", "Katrin",
               "Leon", "Mia", "Noah", "Olga", "Paul", "Quentin", "Rosa", "Samir", "Tara", "Uwe", "Vera",
               "Wen", "Xaver", "Yara", "Zoe", "Amir", "Birgit", "Chen", "Dilara", "Emil", "Fatima", "Georg",
               "Hanna", "Ilias", "Jana", "Kofi", "Lena", "Malte", "Nora", "Oskar", "Priya", "Rafael", "Sofia"]
LAST_NAMES = ["Schmidt", "Meyer", "Nguyen", "Kowalski", "Rossi", "Yilmaz", "Fischer", "Okafor", "Weber",
              "Hansen", "Novak", "Berger", "Lang", "Popescu", "Haas", "Santos", "Wagner", "Becker", "Hoffmann",
              "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun",
              "Kruger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Kaiser", "Fuchs", "Peters"]
# How far each demo application gets: a stage and how many days ago it entered it.
DEMO_PLAN = (
    [("applied", d) for d in (1, 3, 6, 10, 13, 15, 17)]
    + [("first_interview", d) for d in (2, 4, 5)]
    + [("first_decision", d) for d in (1, 3, 6, 7, 9, 12)]
    + [("second_interview", d) for d in (2, 5, 11, 13, 16)]
    + [("final_decision", d) for d in (1, 4, 6, 8, 10)]
    + [("offer", d) for d in (2, 6, 9)]
    + [("hired", 20), ("hired", 40), ("rejected", 5), ("rejected", 12), ("rejected", 30),
       ("declined", 15), ("withdrawn", 8), ("withdrawn", 25)]
)


def load_demo(now: datetime, seed: int = 7) -> dict[str, int]:
    """Build realistic histories through the services, with the clock moved back."""
    rng = random.Random(seed)
    users = {}
    for email, name, role in DEMO_USERS:
        users[email] = services.create_user(email, name, role, DEMO_PASSWORD, now=now - timedelta(days=120))
    admin = users["admin@example.com"]
    recruiters = [users["rita@example.com"], users["robin@example.com"]]
    interviewers = [users["ivan@example.com"], users["ines@example.com"], users["igor@example.com"]]
    manager = users["mona@example.com"]
    positions = [
        services.create_position(title, department=dept, owner_id=recruiters[i % 2].id,
                                 hiring_manager_id=manager.id, actor=admin, now=now - timedelta(days=100))
        for i, (title, dept) in enumerate(DEMO_POSITIONS)
    ]
    # The first 26 × 16 names, as before the lists were shared: the seeded demo stays the same.
    names = [(f, last) for f in FIRST_NAMES[:26] for last in LAST_NAMES[:16]]
    rng.shuffle(names)
    competing_done = False
    for index, (target, days_ago) in enumerate(DEMO_PLAN):
        first, last = names[index]
        position = positions[index % len(positions)]
        recruiter = position.owner
        entered = now - timedelta(days=days_ago, hours=rng.randint(1, 8))
        panel = rng.sample(interviewers, 2)
        application = _demo_walk(target, entered, position, recruiter, manager, panel, rng,
                                 name=f"{first} {last}",
                                 email=f"{first}.{last}.{index}@example.org".lower(),
                                 language="de" if index % 3 == 0 else "en")
        _catch_up_delay_notices(application, now)
        if not competing_done and application.stage == "first_decision" and days_ago <= 3:
            services.set_competing_offer(application, deadline=(now + timedelta(days=4)).date(),
                                         actor=recruiter, now=now - timedelta(hours=2))
            competing_done = True
    return {"users": len(users), "positions": len(positions), "applications": len(DEMO_PLAN)}


def _catch_up_delay_notices(application: Application, now: datetime) -> None:
    """What the scheduler would have done meanwhile: each promise that reached its morning
    with nobody acting got its delay notice then (the demo's histories are written one
    application at a time, with the clock moved back)."""
    from .settings import get_policy

    policy = get_policy()
    while application.is_open and pipeline.needs_delay_notice(application.stage, application.promised_at, now,
                                                              policy):
        moment = max(pipeline.delay_notice_at(application.promised_at, policy), application.updated_at)
        services.send_delay_notice(application, now=moment)


def _demo_walk(target: str, entered: datetime, position, recruiter: User, manager: User, panel: list[User],
               rng: random.Random, *, name: str, email: str, language: str) -> Application:
    """Walk one application to ``target``, arriving there at ``entered``."""
    order = list(OPEN_STAGES)  # the process's path, applied … offer
    # Where a closed target closes from (both choices are drawn, so the seeded demo stays the same).
    closed_from = {Stage.HIRED: Stage.OFFER, Stage.DECLINED: Stage.OFFER, Stage.REJECTED: rng.choice(order[:5]),
                   Stage.WITHDRAWN: rng.choice(order[:4])}.get(Stage(target))
    steps = walk.steps_to(target, closed_from=closed_from)
    # Each step takes a few days; the last one is reached at ``entered``.
    t, steps = walk.timed(steps, entered, [timedelta(days=rng.randint(3, 6)) for _ in steps])
    app = services.submit_application(position, name=name, email=email, language=language,
                                      talent_pool_consent=rng.random() < 0.3, actor=recruiter,
                                      applied_at=t, now=t)
    walker = _DemoWalk(app, recruiter=recruiter, manager=manager, panel=panel, rng=rng, target=target)
    for step in steps:
        walker.take(step)
    return app


class _DemoWalk(ServiceWalk):
    """The demo's interviews: held when they ended, with most of the panel's feedback."""

    def __init__(self, application: Application, *, recruiter: User, manager: User, panel: list[User],
                 rng: random.Random, target: str):
        super().__init__(application, recruiter=recruiter, manager=manager)
        self.panel, self.rng, self.target = panel, rng, target

    def take(self, step: Step) -> None:
        # An interview is recorded as held when it ended (before the step): one marked held days
        # after its slot moves the candidate's date, and made the demo's promises look broken.
        held = self._ended() if step.event in (Event.FIRST_INTERVIEW_HELD, Event.SECOND_INTERVIEW_HELD) else None
        # The scheduler ran meanwhile: a promise whose morning came before this step got its
        # delay notice then.
        _catch_up_delay_notices(self.application, held or step.at)
        super().take(step)

    def _ended(self) -> datetime:
        return self.interview.scheduled_at + timedelta(minutes=self.interview.duration_minutes)

    def schedule_first_interview(self, step: Step) -> None:
        # Held at the next step, at least 3 days on: the interview is scheduled before that
        # (an interview marked held before its date would be nonsense in the demo).
        ahead = self.rng.randint(2, 6) if self.target == "first_interview" else self.rng.randint(1, 2)
        self.interview = services.schedule_interview(
            self.application, round=1, scheduled_at=step.at + timedelta(days=ahead, hours=2),
            panel_user_ids=[u.id for u in self.panel], duration_minutes=60, location="Room Ada, Munich office",
            actor=self.recruiter, now=step.at)

    def first_interview_held(self, step: Step) -> None:
        self._held(self.panel, positive=True)

    def invite_second_interview(self, step: Step) -> None:
        super().invite_second_interview(step)
        if self.rng.random() < 0.7 or self.target != "second_interview":
            ahead = timedelta(days=self.rng.randint(1, 2), hours=1) if self.target != "second_interview" else \
                timedelta(days=self.rng.randint(0, 12), hours=1)
            self.interview = services.schedule_interview(
                self.application, round=2, scheduled_at=step.at + ahead,
                panel_user_ids=[u.id for u in self.panel] + [self.manager.id], duration_minutes=90,
                video_link="https://meet.example.com/interview-" + str(self.application.id), actor=self.recruiter,
                now=step.at)

    def second_interview_held(self, step: Step) -> None:
        self._held([*self.panel, self.manager], positive=None)

    def _held(self, panel: list[User], *, positive: bool | None) -> None:
        held = self._ended()
        services.record_interview_held(self.interview, held_at=held, actor=self.recruiter,
                                       now=held + timedelta(hours=2))
        _demo_feedback(self.interview, panel, held + timedelta(hours=2), self.rng,
                       positive=self.rng.random() < 0.7 if positive is None else positive)


def _demo_feedback(interview, panel: list[User], at: datetime, rng: random.Random, *, positive: bool) -> None:
    # Leave some feedback missing so the dashboard shows "awaiting feedback".
    for member in panel:
        if rng.random() < 0.15:
            continue
        recommendation = rng.choice(["yes", "strong_yes"]) if positive else rng.choice(["no", "yes", "strong_no"])
        services.submit_feedback(interview, interviewer=member, recommendation=recommendation,
                                 notes="Solid on C and RTOS basics; good questions about the team.",
                                 now=at + timedelta(minutes=30))
