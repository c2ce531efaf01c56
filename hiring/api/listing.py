"""The application list as plain rows: what ``present_application`` shows, without ORM objects.

A page of 25 applications loaded as ORM objects built about a hundred instances (the
applications, candidates, positions, owners, interviews, panels, feedback, decisions and
their people) and cost most of the request. Here the same page is three statements of
plain rows: the applications with their candidate, position title and owner's email; their
interviews with panel and feedback; their decisions. Who may see which feedback and verdict
is still answered by ``services`` (the stand-ins below carry what it reads), and the
application's state by the model's own ``models.application_state``, so the answer is the same
as for one application (``GET /applications/<id>``), field for field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from .. import pipeline, services
from ..extensions import db
from ..models import (
    Application,
    Candidate,
    Decision,
    Feedback,
    Interview,
    PanelMember,
    Position,
    User,
    application_state,
)
from ..pipeline import Policy
from . import core


@dataclass(slots=True)
class FeedbackRow:
    id: int
    interviewer_id: int
    interviewer_email: str
    recommendation: str
    notes: str
    submitted_at: datetime


@dataclass(slots=True)
class InterviewRow:
    """What services.feedback_visible and visible_verdict read of an interview, and what
    the API shows of it."""

    id: int
    application_id: int
    round: int
    scheduled_at: datetime
    duration_minutes: int
    location: str
    video_link: str
    held_at: datetime | None
    cancelled_at: datetime | None
    panel_user_ids: list[int] = field(default_factory=list)
    panel_emails: list[str] = field(default_factory=list)
    feedback: list[FeedbackRow] = field(default_factory=list)

    def feedback_by(self, user_id: int) -> FeedbackRow | None:
        return next((f for f in self.feedback if f.interviewer_id == user_id), None)


@dataclass(slots=True)
class Verdicted:
    """What services.visible_verdict reads of an application."""

    verdict: str | None
    interviews: list[InterviewRow]


def _statements():
    return _statements_for(db.engine.dialect.name)


@cache
def _statements_for(dialect: str):
    def among(column):
        if dialect == "postgresql":
            # The page's ids as one array parameter: an expanding IN wrote and cast 25
            # placeholders into each of the three statements at every request.
            return column == any_(bindparam("ids", type_=ARRAY(Integer)))
        return column.in_(bindparam("ids", expanding=True))

    owner = aliased(User)
    applications = (
        select(Application.id, Application.position_id, Position.title.label("position_title"),
               Candidate.id.label("candidate_id"), Candidate.name, Candidate.email, Candidate.phone,
               Candidate.language, Application.stage, Application.source, Application.applied_at,
               Application.stage_entered_at, Application.due_at, Application.promised_at,
               Application.promise_moves, Application.version, owner.email.label("owner_email"),
               Application.verdict, Application.competing_offer_deadline, Application.extended_until,
               Application.extension_reason, Application.closed_at,
               # what Application.state reads besides the above
               Application.awaiting_feedback, Application.overdue_since, Application.automatic_delays,
               Application.interview_ends_at)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .join(Position, Position.id == Application.position_id)
        .outerjoin(owner, owner.id == Application.owner_id)
        .where(among(Application.id))
        .order_by(Application.id.desc())
    )
    member, interviewer = aliased(User), aliased(User)
    # Panel × feedback per interview (a few rows each), as the ORM's joined load read them.
    interviews = (
        select(Interview.id, Interview.application_id, Interview.round, Interview.scheduled_at,
               Interview.duration_minutes, Interview.location, Interview.video_link, Interview.held_at,
               Interview.cancelled_at, PanelMember.user_id, member.email,
               Feedback.id, Feedback.interviewer_id, interviewer.email, Feedback.recommendation, Feedback.notes,
               Feedback.submitted_at)
        .outerjoin(PanelMember, PanelMember.interview_id == Interview.id)
        .outerjoin(member, member.id == PanelMember.user_id)
        .outerjoin(Feedback, Feedback.interview_id == Interview.id)
        .outerjoin(interviewer, interviewer.id == Feedback.interviewer_id)
        .where(among(Interview.application_id))
        .order_by(Interview.id, PanelMember.user_id, Feedback.submitted_at, Feedback.id)
    )
    decisions = (
        select(Decision.application_id, Decision.stage, Decision.outcome, User.email, Decision.decided_at,
               Decision.rationale, Decision.id)
        .outerjoin(User, User.id == Decision.decided_by_id)
        .where(among(Decision.application_id))
        .order_by(Decision.decided_at, Decision.id)
    )
    return applications, interviews, decisions


def _interviews(ids: Sequence[int]) -> dict[int, list[InterviewRow]]:
    by_application: dict[int, list[InterviewRow]] = {}
    by_id: dict[int, InterviewRow] = {}
    for (id_, application_id, round_, scheduled_at, duration, location, video_link, held_at, cancelled_at,
         member_id, member_email, feedback_id, interviewer_id, interviewer_email, recommendation, notes,
         submitted_at) in db.session.execute(_statements()[1], {"ids": ids}):
        interview = by_id.get(id_)
        if interview is None:
            interview = by_id[id_] = InterviewRow(id_, application_id, round_, scheduled_at, duration, location,
                                                  video_link, held_at, cancelled_at)
            by_application.setdefault(application_id, []).append(interview)
        if member_id is not None and member_id not in interview.panel_user_ids:
            interview.panel_user_ids.append(member_id)
            interview.panel_emails.append(member_email)
        if feedback_id is not None and all(f.id != feedback_id for f in interview.feedback):
            interview.feedback.append(FeedbackRow(feedback_id, interviewer_id, interviewer_email, recommendation,
                                                  notes, submitted_at))
    return by_application


def _present_interview(interview: InterviewRow, user: Any) -> dict[str, Any]:
    visible = interview.feedback if services.feedback_visible(user, interview) else []
    return dict(
        id=interview.id, application_id=interview.application_id, round=interview.round,
        scheduled_at=interview.scheduled_at, duration_minutes=interview.duration_minutes,
        location=interview.location, video_link=interview.video_link, held_at=interview.held_at,
        cancelled_at=interview.cancelled_at, interviewer_emails=interview.panel_emails,
        feedback=[dict(interviewer_email=f.interviewer_email, recommendation=f.recommendation,
                       notes=f.notes, submitted_at=f.submitted_at)
                  for f in sorted(visible, key=lambda f: (f.submitted_at, f.id))],
        feedback_hidden=len(visible) < len(interview.feedback),
    )


def present_applications(ids: Sequence[int], user: Any, policy: Policy) -> list[dict[str, Any]]:
    """The applications with ``ids``, newest first, as ``endpoints.present_application``
    presents each: as the fields of schemas.ApplicationOut, for the caller to validate in
    one call (the whole page validated at once costs a fraction of a model built per
    application, interview, feedback and decision)."""
    if not ids:
        return []
    from .endpoints import days_late  # the same rule as for one application

    applications_statement, _, decisions_statement = _statements()
    ids = list(ids)
    rows = db.session.execute(applications_statement, {"ids": ids}).all()
    interviews = _interviews(ids)
    decisions: dict[int, list[dict[str, Any]]] = {}
    # In the statement's order, (decided_at, id): a decision and the answer to it may share a timestamp.
    for application_id, stage, outcome, decided_by, decided_at, rationale, _ in db.session.execute(
            decisions_statement, {"ids": ids}):
        decisions.setdefault(application_id, []).append(dict(
            stage=stage, outcome=outcome, decided_by=decided_by, decided_at=decided_at, rationale=rationale))
    items = []
    now = core.now()  # once per page (the clock's read cost more than a flag)
    for row in rows:
        state = application_state(row)  # the model's own reading of the row's columns
        own = interviews.get(row.id, [])
        items.append(dict(
            id=row.id, position_id=row.position_id, position_title=row.position_title,
            candidate=dict(id=row.candidate_id, name=row.name, email=row.email, phone=row.phone,
                           language=row.language),
            stage=row.stage, source=row.source, applied_at=row.applied_at, stage_entered_at=row.stage_entered_at,
            due_at=row.due_at,
            promised_by=pipeline.local_date(row.promised_at, policy) if row.promised_at else None,
            promise_moves=row.promise_moves or 0,
            days_late=days_late(state, policy, now),
            flags=pipeline.flags(state, now, policy), version=row.version,
            owner_email=row.owner_email,
            verdict=services.visible_verdict(user, Verdicted(row.verdict, own)),
            competing_offer_deadline=row.competing_offer_deadline,
            extended_until=row.extended_until, extension_reason=row.extension_reason, closed_at=row.closed_at,
            interviews=[_present_interview(i, user) for i in own],
            decisions=decisions.get(row.id, []),
        ))
    return items
