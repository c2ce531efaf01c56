"""Loading an application for its page, the permission checks, and which steps fit."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from flask import abort
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ... import pipeline, services
from ...extensions import db
from ...models import Application, Decision, Feedback, Interview, PanelMember, Position, User, utcnow
from ...pipeline import Action, Step
from ...settings import get_policy


@cache
def _load_statements():
    """Built once: the application, its people and decisions in one statement; its
    interviews with their panels and feedback in a second (a handful of rows each).

    The interviews are read by a statement of their own and handed to the application
    (set_committed_value) rather than by selectinload: the nested eager loads below a
    selectinload cost the ORM about 0.7 ms per page in path bookkeeping alone, four times
    what the same rows cost read directly."""
    application = (
        select(Application)
        .where(Application.id == bindparam("application_id"))
        .options(
            joinedload(Application.candidate),
            joinedload(Application.owner),
            joinedload(Application.position).joinedload(Position.owner),
            joinedload(Application.position).joinedload(Position.hiring_manager),
            joinedload(Application.decisions).joinedload(Decision.decided_by),
        )
    )
    interviews = (
        select(Interview)
        .where(Interview.application_id == bindparam("application_id"))
        .order_by(Interview.id)  # as Application.interviews is ordered
        .options(
            joinedload(Interview.panel).joinedload(PanelMember.user),
            joinedload(Interview.feedback).joinedload(Feedback.interviewer),
        )
    )
    return application, interviews


def load(application_id: int) -> Application:
    """The application with everything the page shows, in a fixed number of queries."""
    application_statement, interviews_statement = _load_statements()
    params = {"application_id": application_id}
    application = db.session.scalars(application_statement, params).unique().one_or_none()
    if application is None:
        abort(404)
    interviews = db.session.scalars(interviews_statement, params).unique().all()
    set_committed_value(application, "interviews", list(interviews))
    if not services.can_view_application(current_user, application):
        abort(404)  # as for an id that does not exist: a 403 would confirm that this one does
    return application


def require(action: Action) -> None:
    if not current_user.can(action):
        abort(403)


def interview_of(application: Application, interview_id: int) -> Interview:
    interview = next((i for i in application.interviews if i.id == interview_id), None)
    if interview is None:
        abort(404)
    return interview


# --- which actions fit ----------------------------------------------------------------------
# Asked of pipeline.available_actions, which follows the services' own rules: the page never
# offers a step the service would refuse.


def _interview_facts(application: Application, user: User) -> list[pipeline.InterviewFacts]:
    return [pipeline.InterviewFacts(id=i.id, round=i.round, scheduled_at=i.scheduled_at,
                                    held=i.held_at is not None, cancelled=i.cancelled_at is not None,
                                    on_panel=user.id in i.panel_user_ids,
                                    gave_feedback=i.feedback_by(user.id) is not None)
            for i in application.interviews]


def available(application: Application, user: User, now: datetime) -> list[pipeline.Available]:
    return pipeline.available_actions(
        application.stage, user.role, now, get_policy(), user_id=user.id,
        hiring_manager_id=application.position.hiring_manager_id,
        interviews=_interview_facts(application, user), has_due_date=application.due_at is not None)


def find(application: Application, user: User, step: Step) -> pipeline.Available | None:
    return next((a for a in available(application, user, utcnow()) if a.step == step), None)
