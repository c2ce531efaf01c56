"""The endpoints: each loads what it needs, checks who may see it, and calls one service.

Reads are built so a page costs the same number of SQL statements whatever its size:
many-to-one relations are joined, collections are loaded with one SELECT … IN each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import pipeline, queries, services
from ..extensions import db
from ..models import (
    Application,
    Decision,
    Feedback,
    Interview,
    OutboxEmail,
    PanelMember,
    Position,
    StageTotal,
    User,
)
from ..pipeline import Action, Flag, InvalidInput, NotAllowed, Policy
from ..settings import get_policy
from . import core, listing, schemas
from .core import ApiError, endpoint

APPLICATION_LOADS = (
    joinedload(Application.candidate),
    joinedload(Application.owner),
    joinedload(Application.position),
    # The interviews with their panels and feedback in one statement (a few rows each):
    # every statement is a round trip, and a list of 25 paid three for them.
    selectinload(Application.interviews).options(
        joinedload(Interview.panel).joinedload(PanelMember.user),
        joinedload(Interview.feedback).joinedload(Feedback.interviewer),
    ),
    selectinload(Application.decisions).joinedload(Decision.decided_by),
)
INTERVIEW_LOADS = (
    selectinload(Interview.panel).joinedload(PanelMember.user),
    selectinload(Interview.feedback).joinedload(Feedback.interviewer),
)


# --- loading and permission helpers --------------------------------------------------------


def _get(model, object_id: int, what: str, options: Sequence = ()):
    obj = None
    if 1 <= object_id <= schemas.ID_MAX:  # Flask's int converter accepts any size
        obj = db.session.scalar(select(model).where(model.id == object_id).options(*options))
    if obj is None:
        raise ApiError(404, "not_found", f"No {what} with id {object_id}.")
    return obj


def _visible_application(user: User, application_id: int, *actions: Action) -> Application:
    """An application ``user`` may see; any other is "not found", word for word as one that
    does not exist (a 403 would confirm the id to an interviewer who is not on its panel).
    With ``actions``, the user's role must also allow one of them (see _require)."""
    application = _get(Application, application_id, "application", APPLICATION_LOADS)
    if not services.can_view_application(user, application):
        raise ApiError(404, "not_found", f"No application with id {application_id}.")
    _require(user, *actions)
    return application


def _visible_interview(user: User, interview_id: int, *actions: Action) -> Interview:
    interview = _get(Interview, interview_id, "interview", INTERVIEW_LOADS)
    if not services.can_view_application(user, interview.application):
        raise ApiError(404, "not_found", f"No interview with id {interview_id}.")
    _require(user, *actions)
    return interview


def _require(user: User, *actions: Action) -> None:
    """Refuse early with 403, before the state of the application is even looked at, so a
    role that may never do this gets the same answer in every stage. _visible_application
    and _visible_interview call it after their check: an application one may not see is a
    404 whatever one's role. No actions: nothing to refuse."""
    if actions and not any(user.can(action) for action in actions):
        raise NotAllowed(f"Your role ({user.role}) may not do this.")


def _team_member(email: str, field: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        raise InvalidInput("Unknown team member.", {field: f"No active team member with the email {email}."})
    return user


def _team_members(emails: Sequence[str], field: str) -> list[User]:
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
    found = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(wanted)))}
    missing = [e for e in wanted if e not in found or not found[e].active]
    if missing:
        raise InvalidInput("Unknown team member.", {field: "No active team member with the email "
                                                    + ", ".join(missing) + "."})
    return [found[e] for e in wanted]


# --- presenters -------------------------------------------------------------------------------


def present_position(position: Position) -> schemas.PositionOut:
    return schemas.PositionOut(
        id=position.id, title=position.title, department=position.department, status=position.status,
        owner_email=position.owner.email if position.owner else None,
        hiring_manager_email=position.hiring_manager.email if position.hiring_manager else None,
        created_at=position.created_at,
    )


def present_interview(interview: Interview, user: User) -> schemas.InterviewOut:
    visible = services.visible_feedback(user, interview)
    return schemas.InterviewOut(
        id=interview.id, application_id=interview.application_id, round=interview.round,
        scheduled_at=interview.scheduled_at, duration_minutes=interview.duration_minutes,
        location=interview.location, video_link=interview.video_link, held_at=interview.held_at,
        cancelled_at=interview.cancelled_at,
        interviewer_emails=[member.user.email for member in interview.panel],
        feedback=[
            schemas.FeedbackOut(interviewer_email=f.interviewer.email, recommendation=f.recommendation,
                                notes=f.notes, submitted_at=f.submitted_at)
            for f in sorted(visible, key=lambda f: (f.submitted_at, f.id))
        ],
        feedback_hidden=len(visible) < len(interview.feedback),
    )


def _days_late(application: Application, policy: Policy) -> int:
    return days_late(application.state(), policy, core.now())


def days_late(state: pipeline.ApplicationState, policy: Policy, now: datetime) -> int:
    late = pipeline.late_since(state)
    if not pipeline.is_overdue(state, now) or late is None:
        return 0
    return max(1, pipeline.days_overdue(late, now, policy))


def present_application(application: Application, user: User, policy: Policy) -> schemas.ApplicationOut:
    candidate = application.candidate
    return schemas.ApplicationOut(
        id=application.id, position_id=application.position_id, position_title=application.position.title,
        candidate=schemas.CandidateOut(id=candidate.id, name=candidate.name, email=candidate.email,
                                       phone=candidate.phone, language=candidate.language),
        stage=application.stage, source=application.source, applied_at=application.applied_at,
        stage_entered_at=application.stage_entered_at, due_at=application.due_at,
        promised_by=pipeline.local_date(application.promised_at, policy) if application.promised_at else None,
        promise_moves=application.promise_moves or 0,
        days_late=_days_late(application, policy),
        flags=application.flags(core.now(), policy), version=application.version,
        owner_email=application.owner.email if application.owner else None,
        verdict=services.visible_verdict(user, application),
        competing_offer_deadline=application.competing_offer_deadline,
        extended_until=application.extended_until, extension_reason=application.extension_reason,
        closed_at=application.closed_at,
        interviews=[present_interview(i, user) for i in application.interviews],
        decisions=[
            schemas.DecisionOut(stage=d.stage, outcome=d.outcome,
                                decided_by=d.decided_by.email if d.decided_by else None,
                                decided_at=d.decided_at, rationale=d.rationale)
            # By id within the same instant: a decision and the answer to it may share a timestamp.
            for d in sorted(application.decisions, key=lambda d: (d.decided_at, d.id))
        ],
    )


def _reloaded(user: User, application_id: int) -> schemas.ApplicationOut:
    """The application as it is now, after a service changed it."""
    db.session.expire_all()
    application = _get(Application, application_id, "application", APPLICATION_LOADS)
    return present_application(application, user, get_policy())


def _reloaded_interview(user: User, interview_id: int) -> schemas.InterviewOut:
    """The interview as it is now, after a service changed it."""
    db.session.expire_all()
    return present_interview(_get(Interview, interview_id, "interview", INTERVIEW_LOADS), user)


# --- the document ---------------------------------------------------------------------------


@endpoint("GET", "/openapi.json", summary="This API's OpenAPI document", tag="meta", response=None, auth=False)
def openapi():
    """Generated from the endpoint registry and the pydantic schemas at request time."""
    from flask import current_app, jsonify

    return jsonify(core.openapi_document(current_app.config.get("COMPANY_NAME") or "Hiring"))


# --- positions ------------------------------------------------------------------------------


@endpoint("POST", "/positions", summary="Open a position", tag="positions", response=schemas.PositionOut,
          status=201, body=schemas.PositionCreate, errors=(403,), location="/positions/{id}",
          field_names={"owner_id": "owner_email", "hiring_manager_id": "hiring_manager_email"})
def create_position(user: User, body: schemas.PositionCreate):
    _require(user, Action.MANAGE_POSITIONS)
    errors: dict[str, str] = {}
    owner_id = manager_id = None
    for field in ("owner_email", "hiring_manager_email"):
        email = getattr(body, field)
        if email is None:
            continue
        try:
            member = _team_member(email, field)
        except InvalidInput as exc:
            errors.update(exc.fields)
            continue
        if field == "owner_email":
            owner_id = member.id
        else:
            manager_id = member.id
    if errors:
        raise InvalidInput("The position could not be created.", errors)
    position = services.create_position(body.title, department=body.department, owner_id=owner_id,
                                        hiring_manager_id=manager_id, actor=user, now=core.now())
    return present_position(position)


@endpoint("GET", "/positions", summary="List positions", tag="positions", response=schemas.PositionList,
          query=schemas.PositionQuery)
def list_positions(user: User, query: schemas.PositionQuery):
    """Every role may read the positions (an interviewer needs their titles)."""
    conditions = [] if query.status is None else [Position.status == query.status]
    total = db.session.scalar(select(func.count()).select_from(Position).where(*conditions))
    positions = db.session.scalars(
        select(Position).where(*conditions)
        .options(joinedload(Position.owner), joinedload(Position.hiring_manager))
        .order_by(Position.id).limit(query.per_page).offset((query.page - 1) * query.per_page)
    ).all()
    return schemas.PositionList(items=[present_position(p) for p in positions], total=total, page=query.page,
                                per_page=query.per_page)


@endpoint("GET", "/positions/<int:position_id>", summary="One position", tag="positions",
          response=schemas.PositionOut)
def get_position(user: User, position_id: int):
    position = _get(Position, position_id, "position",
                    (joinedload(Position.owner), joinedload(Position.hiring_manager)))
    return present_position(position)


# --- applications ---------------------------------------------------------------------------


@endpoint("POST", "/applications", summary="Submit an application", tag="applications",
          response=schemas.ApplicationOut, status=201, body=schemas.ApplicationCreate, errors=(403, 409),
          location="/applications/{id}",
          field_names={"name": "candidate.name", "email": "candidate.email", "phone": "candidate.phone",
                       "language": "candidate.language"})
def create_application(user: User, body: schemas.ApplicationCreate):
    """A candidate who already applied elsewhere (same email) is reused; applying twice for
    the same position is a 409. The candidate gets a confirmation with the answer date."""
    _require(user, Action.MANAGE_APPLICATIONS)
    position = db.session.get(Position, body.position_id)
    if position is None:
        raise InvalidInput("Unknown position.", {"position_id": f"No position with id {body.position_id}."})
    candidate = body.candidate
    application = services.submit_application(
        position, name=candidate.name, email=candidate.email, phone=candidate.phone, language=candidate.language,
        talent_pool_consent=candidate.talent_pool_consent, applied_at=body.applied_at, source=body.source.value,
        actor=user, now=core.now())
    return _reloaded(user, application.id)


@cache
def _list_statements(flag: Flag | None, by_stage: bool, by_position: bool, everyone: bool):
    """The count and the page's ids of a list, built once per kind of filter (its values
    are bind parameters: ``viewer_id``, ``stage``, ``position_id``, queries.FLAG_BINDS,
    ``limit`` and ``offset``)."""
    conditions = []
    if not everyone:  # interviewers see only the applications on whose panel they sit
        panels = select(Interview.application_id).join(PanelMember, PanelMember.interview_id == Interview.id).where(
            PanelMember.user_id == bindparam("viewer_id"))
        conditions.append(Application.id.in_(panels))
    if by_stage:
        conditions.append(Application.stage == bindparam("stage"))
    if flag is not None:
        conditions.append(queries.flag_condition(flag, queries.FLAG_BINDS))
    if by_position:
        conditions.append(Application.position_id == bindparam("position_id"))
    if everyone and flag is None and not by_position:
        # Every application, or every one in a stage: the counts the triggers of migration
        # 9a3e5c7b1d24 keep, where counting read them all (25 ms at 1M on PostgreSQL).
        total = select(func.coalesce(func.sum(StageTotal.count), 0))
        if by_stage:
            total = total.where(StageTotal.stage == bindparam("stage"))
    else:
        total = select(func.count()).select_from(Application).where(*conditions)
    # The page's ids first: sorting bare ids stays inside the indexes (every index carries the
    # id), where sorting whole joined rows reads every matching row.
    newest_first = Application.id.desc()
    if flag == Flag.OVERDUE:
        # The overdue are read through their three indexes (queries.flag_condition) and
        # their ids sorted: 0.6 ms at 1M applications. Ordered by the bare id SQLite may
        # walk the whole table from the newest instead, testing each row (11 ms), when one
        # of those indexes has no statistics (an empty one never has). Same order.
        newest_first = (Application.id + 0).desc()
    columns = [Application.id]
    if flag == Flag.OVERDUE:
        # That read finds every overdue application anyway: it counts them too (the count
        # is taken before the LIMIT), where the count read them all a second time (1.1 ms
        # at 1M applications on PostgreSQL).
        columns.append(func.count().over())
    ids = (select(*columns).where(*conditions).order_by(newest_first)
           .limit(bindparam("limit", type_=Integer())).offset(bindparam("offset", type_=Integer())))
    return total, ids


@endpoint("GET", "/applications", summary="List applications", tag="applications",
          response=schemas.ApplicationList, query=schemas.ApplicationQuery)
def list_applications(user: User, query: schemas.ApplicationQuery):
    """Newest first. `flag` uses the same rules as the dashboard (computed in SQL)."""
    policy = get_policy()
    total_statement, ids_statement = _list_statements(query.flag, query.stage is not None,
                                                      query.position_id is not None, user.can(Action.VIEW_ALL))
    params = {"viewer_id": user.id, "stage": query.stage.value if query.stage is not None else None,
              "position_id": query.position_id, "limit": query.per_page,
              "offset": (query.page - 1) * query.per_page}
    if query.flag is not None:
        params.update(queries.flag_bind_values(core.now(), policy))
    rows = db.session.execute(ids_statement, params).all()
    ids = [row[0] for row in rows]
    if rows and len(rows[0]) > 1:
        total = rows[0][1]  # counted along (the overdue)
    else:  # counted apart, as is a page past the end
        total = db.session.scalar(total_statement, params)
    # Presented from plain rows (listing), as present_application presents one application,
    # and validated in one call.
    return schemas.ApplicationList.model_validate({"items": listing.present_applications(ids, user, policy),
                                                   "total": total, "page": query.page, "per_page": query.per_page})


@endpoint("GET", "/applications/<int:application_id>", summary="One application", tag="applications",
          response=schemas.ApplicationOut, errors=(403,))
def get_application(user: User, application_id: int):
    return present_application(_visible_application(user, application_id), user, get_policy())


@endpoint("GET", "/applications/<int:application_id>/emails", summary="Emails about an application",
          tag="applications", response=schemas.EmailList, errors=(403,))
def list_emails(user: User, application_id: int):
    """Every email queued for the application, to the candidate and to the team, oldest first."""
    application = _visible_application(user, application_id, Action.VIEW_EMAILS)
    emails = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.application_id == application.id)
        .order_by(OutboxEmail.created_at, OutboxEmail.id)
    ).all()
    return schemas.EmailList(items=[
        schemas.EmailOut(id=e.id, template=e.template, to=e.recipient, to_candidate=e.to_candidate,
                         subject=e.subject, status=e.status, attempts=e.attempts, created_at=e.created_at,
                         sent_at=e.sent_at, error=e.last_error)
        for e in emails
    ])


# --- interviews -----------------------------------------------------------------------------


@endpoint("POST", "/applications/<int:application_id>/interviews", summary="Schedule an interview",
          tag="interviews", response=schemas.InterviewOut, status=201, body=schemas.InterviewCreate,
          errors=(403, 409), field_names={"panel": "interviewer_emails"}, location="/interviews/{id}")
def schedule_interview(user: User, application_id: int, body: schemas.InterviewCreate):
    """Round 1 moves a new application to `first_interview`; round 2 follows the invitation.
    The candidate gets an invitation with a calendar file."""
    application = _visible_application(user, application_id, Action.MANAGE_APPLICATIONS)
    panel = _team_members(body.interviewer_emails, "interviewer_emails")
    interview = services.schedule_interview(
        application, round=body.round, scheduled_at=body.scheduled_at, panel_user_ids=[u.id for u in panel],
        duration_minutes=body.duration_minutes, location=body.location, video_link=body.video_link, actor=user,
        now=core.now(), expected_version=body.version, extend_until=body.extend_until, reason=body.reason)
    return _reloaded_interview(user, interview.id)


@endpoint("GET", "/interviews/<int:interview_id>", summary="One interview", tag="interviews",
          response=schemas.InterviewOut, errors=(403,))
def get_interview(user: User, interview_id: int):
    return present_interview(_visible_interview(user, interview_id), user)


@endpoint("POST", "/interviews/<int:interview_id>/held", summary="Mark an interview as held", tag="interviews",
          response=schemas.InterviewOut, body=schemas.InterviewHeld, errors=(403, 409))
def interview_held(user: User, interview_id: int, body: schemas.InterviewHeld):
    """The application moves to `first_decision` or `final_decision` and gets its answer date."""
    interview = _visible_interview(user, interview_id, Action.MANAGE_APPLICATIONS)
    services.record_interview_held(interview, held_at=body.held_at, actor=user, now=core.now(),
                                   expected_version=body.version)
    return _reloaded_interview(user, interview_id)


@endpoint("POST", "/interviews/<int:interview_id>/cancel", summary="Cancel an upcoming interview",
          tag="interviews", response=schemas.InterviewOut, body=schemas.InterviewCancel, errors=(403, 409))
def cancel_interview(user: User, interview_id: int, body: schemas.InterviewCancel):
    """A cancelled first interview returns the application to `applied` with a fresh answer
    date; the candidate gets a cancellation with a calendar update."""
    interview = _visible_interview(user, interview_id, Action.MANAGE_APPLICATIONS)
    services.cancel_interview(interview, reason=body.reason, actor=user, now=core.now(),
                              expected_version=body.version)
    return _reloaded_interview(user, interview_id)


@endpoint("POST", "/interviews/<int:interview_id>/feedback", summary="Submit your feedback", tag="interviews",
          response=schemas.InterviewOut, status=201, body=schemas.FeedbackCreate, errors=(403, 409))
def submit_feedback(user: User, interview_id: int, body: schemas.FeedbackCreate):
    """As the token's user, who must sit on the panel; once per interview. The answer shows
    the others' feedback, now that yours is in."""
    interview = _visible_interview(user, interview_id)
    services.submit_feedback(interview, interviewer=user, recommendation=body.recommendation, notes=body.notes,
                             now=core.now())
    return _reloaded_interview(user, interview_id)


# --- decisions and the rest of the process ----------------------------------------------------


@endpoint("POST", "/applications/<int:application_id>/decisions", summary="Advance or reject",
          tag="decisions", response=schemas.ApplicationOut, body=schemas.DecisionCreate, errors=(403, 409))
def decide(user: User, application_id: int, body: schemas.DecisionCreate):
    """In `first_decision`, advance invites to the second interview; in `final_decision`, advance
    makes the offer. Both outcomes in `final_decision` belong to the position's hiring manager
    (any manager while the position has none); an admin may decide for them with `acting_for`
    (403 for anyone else). Reject from any other open stage. A new application advances by
    scheduling its first interview instead (409). Advancing against a unanimous no, rejecting
    a unanimous yes, or deciding before any feedback needs a `rationale` (422)."""
    application = _visible_application(user, application_id, Action.DECIDE, Action.DECIDE_OFFER)
    services.decide(application, outcome=body.outcome, rationale=body.rationale,
                    candidate_feedback=body.candidate_feedback, decided_at=body.decided_at, actor=user,
                    now=core.now(), expected_version=body.version, acting_for=body.acting_for)
    return _reloaded(user, application_id)


@endpoint("POST", "/applications/<int:application_id>/offer-response", summary="Record the offer's answer",
          tag="decisions", response=schemas.ApplicationOut, body=schemas.OfferResponseCreate, errors=(403, 409))
def offer_response(user: User, application_id: int, body: schemas.OfferResponseCreate):
    """Accepted → `hired`; declined → `declined`."""
    application = _visible_application(user, application_id, Action.MANAGE_APPLICATIONS)
    services.record_offer_response(application, accepted=body.accepted, note=body.note, actor=user,
                                   now=core.now(), expected_version=body.version)
    return _reloaded(user, application_id)


@endpoint("POST", "/applications/<int:application_id>/extension", summary="Extend the answer date",
          tag="decisions", response=schemas.ApplicationOut, body=schemas.ExtensionCreate, errors=(403, 409))
def extension(user: User, application_id: int, body: schemas.ExtensionCreate):
    """A later answer date with a reason; the candidate is told."""
    application = _visible_application(user, application_id, Action.EXTEND_DEADLINE)
    services.extend_deadline(application, until=body.until, reason=body.reason, actor=user, now=core.now(),
                             expected_version=body.version)
    return _reloaded(user, application_id)


@endpoint("POST", "/applications/<int:application_id>/competing-offer", summary="Note a competing offer",
          tag="decisions", response=schemas.ApplicationOut, body=schemas.CompetingOfferCreate, errors=(403, 409))
def competing_offer(user: User, application_id: int, body: schemas.CompetingOfferCreate):
    """The candidate has another offer until `deadline`: the answer is due the day before at the
    latest, and the application is flagged `expedite`. `null` clears it."""
    application = _visible_application(user, application_id, Action.MANAGE_APPLICATIONS)
    services.set_competing_offer(application, deadline=body.deadline, actor=user, now=core.now(),
                                 expected_version=body.version)
    return _reloaded(user, application_id)


@endpoint("POST", "/applications/<int:application_id>/withdrawal", summary="The candidate withdrew",
          tag="decisions", response=schemas.ApplicationOut, body=schemas.WithdrawalCreate, errors=(403, 409))
def withdrawal(user: User, application_id: int, body: schemas.WithdrawalCreate):
    """Upcoming interviews are cancelled and the candidate gets a confirmation."""
    application = _visible_application(user, application_id, Action.MANAGE_APPLICATIONS)
    services.withdraw(application, reason=body.reason, actor=user, now=core.now(), expected_version=body.version)
    return _reloaded(user, application_id)
