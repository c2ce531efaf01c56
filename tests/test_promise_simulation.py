"""The promise, simulated: 500 candidates over 180 days, a team that misses a third of
its deadlines, the real jobs every 15 simulated minutes. At no moment may an open
application's promised date lie in the past (no grace window): the delay notice goes out
on the promised morning, before the date passes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import and_, event, func, select

from hiring import pipeline, reminders, services
from hiring.extensions import db
from hiring.jobs import run_job
from hiring.models import Application, AuditEvent, OutboxEmail, Promise
from hiring.pipeline import Stage
from hiring.settings import get_policy

pytestmark = pytest.mark.slow

START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
DAYS = int(__import__('os').environ.get('SIM_DAYS', 180))
ARRIVAL_DAYS = 150  # applications arrive over the first 150 days; the rest lets them finish
STEP = timedelta(minutes=15)  # the scheduler's interval
OPEN = ("applied", "first_interview", "first_decision", "second_interview", "final_decision", "offer")
CANDIDATES = 500
MISS_RATE = 1 / 3
SEED = 20261122


@dataclass
class Plan:
    stage: str
    act_at: datetime
    due_at: datetime | None
    missed: bool


@pytest.fixture
def quick_commits(app):
    """Thousands of small commits: skip the disk flush per commit (the simulation measures
    behaviour, not durability). Same transactions, same isolation."""
    def relax(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("SET synchronous_commit TO off")
        cursor.close()
        if db.engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    event.listen(db.engine, "connect", relax)
    db.session.remove()
    db.engine.dispose()
    yield
    event.remove(db.engine, "connect", relax)


def test_no_candidate_waits_past_the_promised_date_without_hearing_from_us(app, quick_commits, capsys):
    rng = random.Random(SEED)
    recruiter = services.create_user("rita@example.com", "Rita Recruiter", "recruiter", now=START)
    manager = services.create_user("mona@example.com", "Mona Manager", "manager", now=START)
    panel = [services.create_user(f"i{n}@example.com", f"Interviewer {n}", "interviewer", now=START)
             for n in range(2)]
    positions = [services.create_position(title, owner_id=recruiter.id, hiring_manager_id=manager.id,
                                          actor=recruiter, now=START)
                 for title in ("Embedded Software Engineer", "FPGA Developer")]
    policy = get_policy()
    arrivals = sorted(START + timedelta(seconds=rng.uniform(0, ARRIVAL_DAYS * 86400)) for _ in range(CANDIDATES))

    plans: dict[int, Plan] = {}
    deadlines_met = deadlines_total = 0
    stranded: list[tuple[int, datetime, datetime]] = []  # (application, promised date, moment) in the past

    def plan_for(application: Application) -> Plan:
        entered, due = application.stage_entered_at, application.due_at
        if application.stage == Stage.OFFER:  # the candidate answers, in time
            return Plan("offer", entered + (due - entered) * rng.uniform(0.1, 0.9), due, False)
        missed = rng.random() < MISS_RATE
        if missed:
            act_at = due + timedelta(days=rng.uniform(0.2, 8))
        else:
            act_at = entered + (due - entered) * rng.uniform(0.05, 0.95)
        return Plan(application.stage, act_at, due, missed)

    def act(application: Application, now: datetime) -> None:
        nonlocal deadlines_met, deadlines_total
        stage = application.stage
        plan = plans[application.id]
        if stage != "offer":
            deadlines_total += 1
            deadlines_met += now <= plan.due_at
        if stage == "applied":
            if rng.random() < 0.6:
                services.schedule_interview(application, round=1, scheduled_at=now + timedelta(days=3),
                                            panel_user_ids=[u.id for u in panel], location="Room 1",
                                            actor=recruiter, now=now)
            else:
                services.decide(application, outcome="reject", rationale="Another candidate fits better.",
                                actor=recruiter, now=now)
        elif stage == "first_decision":
            outcome = "advance" if rng.random() < 0.5 else "reject"
            services.decide(application, outcome=outcome, rationale="Debriefed with the panel.", actor=recruiter,
                            now=now)
        elif stage == "second_interview":
            at = now + timedelta(hours=1)
            hold_by = pipeline.hold_by_date(application.stage_entered_at, policy,
                                            extended_until=application.extended_until)
            late = pipeline.local_date(at, policy) > hold_by  # a late team moves the date, with a reason
            services.schedule_interview(application, round=2, scheduled_at=at,
                                        panel_user_ids=[u.id for u in panel], location="Room 2",
                                        actor=recruiter, now=now,
                                        extend_until=pipeline.local_date(at, policy) if late else None,
                                        reason="We could not find a time earlier." if late else "")
        elif stage == "final_decision":
            outcome = "advance" if rng.random() < 0.6 else "reject"
            services.decide(application, outcome=outcome, rationale="Discussed with the panel.", actor=manager,
                            now=now)
        elif stage == "offer":
            services.record_offer_response(application, accepted=rng.random() < 0.8, actor=recruiter, now=now)

    def hold_due_interviews(application: Application, now: datetime) -> bool:
        interview = application.current_interview()
        if interview is None or interview.held_at is not None or interview.scheduled_at + timedelta(hours=1) > now:
            return False
        services.record_interview_held(interview, held_at=interview.scheduled_at + timedelta(hours=1),
                                       actor=recruiter, now=now)
        for member in panel:
            services.submit_feedback(interview, interviewer=member,
                                     recommendation=rng.choice(["yes", "strong_yes", "no"]), now=now)
        return True

    open_promise = and_(
        Application.stage.in_(["applied", "first_interview", "first_decision", "second_interview",
                               "final_decision"]),
        Application.promised_at.is_not(None),
    )

    def next_event(application: Application) -> datetime | None:
        """When the team (or the calendar) next does something to this application."""
        if application.stage not in OPEN:
            return None
        interview = application.current_interview()
        if application.stage in ("first_interview", "second_interview") and interview is not None \
                and interview.held_at is None:
            return interview.scheduled_at + timedelta(hours=1)
        if application.due_at is None:
            return None
        plan = plans.get(application.id)
        if plan is None or plan.stage != application.stage:
            plan = plans[application.id] = plan_for(application)
        return plan.act_at

    now = START
    end = START + timedelta(days=DAYS)
    arrival_index = 0
    step_number = 0
    agenda: dict[int, datetime] = {}  # application id → when it next needs the team
    while now <= end:
        while arrival_index < len(arrivals) and arrivals[arrival_index] <= now:
            n = arrival_index
            application = services.submit_application(
                positions[n % 2], name=f"Candidate {n}", email=f"c{n}@example.org",
                language="de" if n % 3 == 0 else "en", actor=recruiter, now=now)
            agenda[application.id] = next_event(application)
            arrival_index += 1
        for app_id in sorted(a for a, at in agenda.items() if at is not None and at <= now):
            application = db.session.get(Application, app_id)
            if not hold_due_interviews(application, now):
                act(application, now)
            agenda[app_id] = next_event(application)
        # The two 15-minute jobs, called as the scheduler's runner calls them (without its
        # per-run bookkeeping row, which would be most of the simulation's time).
        reminders.send_delay_notices(now)  # the job the promise rests on
        reminders.check_deadlines(now)
        if step_number % 4 == 0:  # hourly
            run_job("feedback-reminders", now)
            run_job("digest", now)
        if step_number % 96 == 0:  # daily (the relay's speed is not what is simulated)
            run_job("outbox", now)

        # Every moment: no open application's promised date lies in the past.
        for app_id, promised_at in db.session.execute(
            select(Application.id, Application.promised_at).where(open_promise, Application.promised_at < now)
        ):
            stranded.append((app_id, promised_at, now))
        now += STEP
        step_number += 1

    final_stage_counts = dict(db.session.execute(
        select(Application.stage, func.count()).group_by(Application.stage)).all())
    delay_notices = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                      .where(OutboxEmail.template == "delay_notice"))
    escalations = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                    .where(OutboxEmail.template == "stalled_notice"))
    candidate_emails = db.session.scalar(select(func.count()).select_from(OutboxEmail)
                                         .where(OutboxEmail.to_candidate.is_(True)))
    automatic = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.kind == "deadline_extended"))
    duplicates = db.session.scalar(select(func.count()).select_from(
        select(OutboxEmail.idempotency_key).group_by(OutboxEmail.idempotency_key)
        .having(func.count() > 1).subquery()))
    outcomes = dict(db.session.execute(select(Promise.outcome, func.count()).group_by(Promise.outcome)).all())
    told = sum(outcomes.values())
    resolved = outcomes.get("kept", 0) + outcomes.get("moved", 0) + outcomes.get("broken", 0)
    promise_kept_rate = outcomes.get("kept", 0) / resolved
    kept_rate = deadlines_met / deadlines_total
    with capsys.disabled():
        print(
            f"\npromise simulation: {CANDIDATES} candidates, {DAYS} days, seed {SEED}, jobs every {STEP}, "
            f"team misses {MISS_RATE:.0%} of deadlines at random\n"
            f"  team's own deadlines met: {kept_rate:.1%} ({deadlines_met}/{deadlines_total})\n"
            f"  dates told to candidates: {told}: kept {outcomes.get('kept', 0)}, moved {outcomes.get('moved', 0)}, "
            f"broken {outcomes.get('broken', 0)}, withdrawn {outcomes.get('withdrawn', 0)}, "
            f"open {outcomes.get(None, 0)}; promise-kept rate {promise_kept_rate:.1%}\n"
            f"  candidate emails: {candidate_emails}, automatic delay notices: {delay_notices}, "
            f"escalations: {escalations}\n"
            f"  moments with an open application's promised date in the past: {len(stranded)}\n"
            f"  final stages: {final_stage_counts}"
        )
    assert arrival_index == CANDIDATES
    assert 0.55 < kept_rate < 0.78  # the simulated team really misses about a third
    assert delay_notices > 0 and automatic >= delay_notices
    assert duplicates == 0
    assert outcomes.get("broken", 0) == 0
    assert stranded == []
