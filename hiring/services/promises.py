"""The date the candidate holds (``keep_promise``), brought up to date inside the verb
that changed the application, before the email telling it is rendered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import update

from .. import pipeline
from ..extensions import db
from ..models import (
    Application,
    Interview,
    Promise,
)
from ..pipeline import (
    Stage,
)
from ..settings import (
    get_policy,
)


def upcoming_interview(application: Application) -> Interview | None:
    """The interview of the current interview stage that has not been marked held."""
    if application.stage not in (Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW):
        return None
    interview = application.current_interview()
    if interview is None or interview.held_at is not None:
        return None
    return interview


def track_interview(application: Application) -> None:
    """Keep interview_ends_at on the interview nobody has yet marked held (the unrecorded
    flag); a new end may be announced anew."""
    interview = upcoming_interview(application)
    ends = None if interview is None else interview.scheduled_at + timedelta(minutes=interview.duration_minutes)
    if ends != application.interview_ends_at:
        application.interview_ends_at = ends
        application.unrecorded_notified_at = None


def keep_promise(application: Application, now: datetime, *, told_in: str, resolved_by: str,
                 answers: bool = False, new_date: date | None = None, automatic: bool = False) -> None:
    """Bring the date the candidate holds up to date after a change, before the email
    that tells it is rendered: the promise record, ``promised_at``, the team's ``due_at``.

    ``answers``: this change is what the current promise was about (a decision, the
    interview date it promised), so that promise is kept and a new one starts. Otherwise
    the current date stands or moves later (``pipeline.promise_date``). ``new_date`` is a
    date chosen by a person or the delay notice, already checked. Each promise that ends
    gets its outcome, each new one its row; the team deadline follows the promise."""
    policy = get_policy()
    stage = Stage(application.stage)
    current = application.promised_at
    current_day = pipeline.local_date(current, policy) if current is not None else None
    if new_date is None:
        interview = upcoming_interview(application)
        computed = pipeline.answer_date(
            stage, application.stage_entered_at, policy,
            interview_at=interview.scheduled_at if interview is not None else None,
            extended_until=application.extended_until)
        new_day = pipeline.promise_date(computed, now, policy, current=current_day, answers=answers,
                                        competing_offer_deadline=application.competing_offer_deadline)
    else:
        new_day = new_date
    changed = answers or new_day != current_day
    if current is not None and changed:
        moved = new_day is not None and not answers
        outcome = pipeline.promise_outcome(current, now, moved=moved, withdrawn=resolved_by == "withdrawn")
        db.session.execute(
            update(Promise).where(Promise.application_id == application.id, Promise.outcome.is_(None))
            .values(outcome=outcome.value, resolved_at=now, resolved_by=resolved_by),
            execution_options={"synchronize_session": False})
        application.promise_moves = (application.promise_moves or 0) + 1 if moved else 0
    elif current is None:
        application.promise_moves = 0
    if automatic:
        application.automatic_delays = (application.automatic_delays or 0) + 1
        application.overdue_since = application.overdue_since or application.due_at
    else:  # a person acted (or the promise was answered): the team is on its new deadline
        application.automatic_delays = 0
        application.overdue_since = None
    if new_day is not None and changed:
        application.promised_at = pipeline.end_of_day(new_day, policy)
        application.promise_made_at = now
        db.session.add(Promise(application_id=application.id, stage=stage.value, promised_for=new_day,
                               lapses_at=application.promised_at, told_at=now, told_in=told_in,
                               automatic=automatic))
    elif new_day is None:
        application.promised_at = None
    if stage == Stage.OFFER:  # the candidate's date to answer our offer
        due = application.extended_until or pipeline.base_due_at(stage, application.stage_entered_at, policy)
    elif application.promised_at is None:
        due = None
    elif changed:
        due = pipeline.team_due_at(new_day, now, policy)
    else:
        due = application.due_at
    if due != application.due_at:
        application.due_at = due
        application.due_soon_notified_at = None
        if not automatic:  # after a delay notice the team is still overdue, and was told so
            application.overdue_notified_at = None
    track_interview(application)
